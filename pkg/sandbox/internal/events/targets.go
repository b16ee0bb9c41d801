package events

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// maxTargets is EventBridge's limit of targets per rule.
const maxTargets = 5

// target is one target of a rule, as PutTargets takes and ListTargetsByRule gives it.
type target struct {
	ID               string            `json:"Id"`
	Arn              string            `json:"Arn"`
	RoleArn          string            `json:"RoleArn,omitempty"`
	Input            string            `json:"Input,omitempty"`
	InputPath        string            `json:"InputPath,omitempty"`
	InputTransformer *inputTransformer `json:"InputTransformer,omitempty"`
	RetryPolicy      json.RawMessage   `json:"RetryPolicy,omitempty"`
	DeadLetterConfig json.RawMessage   `json:"DeadLetterConfig,omitempty"`
}

type inputTransformer struct {
	InputPathsMap map[string]string `json:"InputPathsMap,omitempty"`
	InputTemplate string            `json:"InputTemplate"`
}

var (
	targetIDRE = regexp.MustCompile(`^[.\-_A-Za-z0-9]{1,64}$`)
	varNameRE  = regexp.MustCompile(`^[A-Za-z0-9_\-]+$`)
	// jsonPathRE is the JSONPath EventBridge accepts in InputPath and InputPathsMap.
	jsonPathRE = regexp.MustCompile(`^\$(\.[A-Za-z0-9_\-$@]+|\[\d+\]|\['[^']+'\])*$`)
)

// checkTarget validates a target as PutTargets does.
func checkTarget(t *target) error {
	switch {
	case !targetIDRE.MatchString(t.ID):
		return validationf("1 validation error detected: Value '%s' at 'targets.1.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+", t.ID)
	case !strings.HasPrefix(t.Arn, "arn:"):
		return validationf("Parameter %s is not valid. Reason: Provided Arn is not in correct format.", t.Arn)
	}
	given := 0
	for _, set := range []bool{t.Input != "", t.InputPath != "", t.InputTransformer != nil} {
		if set {
			given++
		}
	}
	if given > 1 {
		return validationf("Target %s: only one of Input, InputPath, or InputTransformer can be specified.", t.ID)
	}
	if t.Input != "" && !json.Valid([]byte(t.Input)) {
		return validationf("Target %s: Input is not valid JSON text.", t.ID)
	}
	if t.InputPath != "" && !jsonPathRE.MatchString(t.InputPath) {
		return validationf("Target %s: InputPath %s is not a valid JSON path.", t.ID, t.InputPath)
	}
	if tr := t.InputTransformer; tr != nil {
		if tr.InputTemplate == "" {
			return validationf("1 validation error detected: Value null at 'targets.1.member.inputTransformer.inputTemplate' failed to satisfy constraint: Member must not be null")
		}
		if len(tr.InputPathsMap) > 100 {
			return validationf("Target %s: InputPathsMap has more than 100 entries.", t.ID)
		}
		for k, p := range tr.InputPathsMap {
			if !varNameRE.MatchString(k) || strings.HasPrefix(k, "aws.") {
				return validationf("Target %s: InputPathsMap key %s is not valid.", t.ID, k)
			}
			if !jsonPathRE.MatchString(p) {
				return validationf("Target %s: InputPathsMap value %s is not a valid JSON path.", t.ID, p)
			}
		}
	}
	if strings.HasPrefix(t.Arn, "arn:aws:states:") && t.RoleArn == "" {
		return validationf("RoleArn is required for target %s.", t.ID)
	}
	return nil
}

func (s *Service) putTargets(call *awsapi.Call, body []byte) (any, error) {
	var in struct {
		Rule, EventBusName string
		Targets            []*target
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Targets) < 1 || len(in.Targets) > 10 {
		return nil, validationf("1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1")
	}
	for _, t := range in.Targets {
		if err := checkTarget(t); err != nil {
			return nil, err
		}
	}
	r, err := s.findRule(call, "PutTargets", in.Rule, in.EventBusName)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	targets := append([]*target(nil), r.targets...)
	for _, t := range in.Targets {
		replaced := false
		for i, old := range targets {
			if old.ID == t.ID {
				targets[i], replaced = t, true
			}
		}
		if !replaced {
			targets = append(targets, t)
		}
	}
	if len(targets) > maxTargets {
		return nil, awsapi.Errorf(http.StatusBadRequest, "LimitExceededException", "The requested resource exceeds the maximum number allowed.")
	}
	r.targets = targets
	return map[string]any{"FailedEntryCount": 0, "FailedEntries": []any{}}, nil
}

func (s *Service) removeTargets(call *awsapi.Call, body []byte) (any, error) {
	var in struct {
		Rule, EventBusName string
		Ids                []string
		Force              bool
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Ids) < 1 || len(in.Ids) > 100 {
		return nil, validationf("1 validation error detected: Value at 'ids' failed to satisfy constraint: Member must have length less than or equal to 100 and greater than or equal to 1")
	}
	r, err := s.findRule(call, "RemoveTargets", in.Rule, in.EventBusName)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	gone := map[string]bool{}
	for _, id := range in.Ids {
		gone[id] = true
	}
	kept := r.targets[:0:0]
	for _, t := range r.targets {
		if !gone[t.ID] {
			kept = append(kept, t)
		}
	}
	r.targets = kept
	return map[string]any{"FailedEntryCount": 0, "FailedEntries": []any{}}, nil
}

func (s *Service) listTargetsByRule(call *awsapi.Call, body []byte) (any, error) {
	var in struct {
		Rule, EventBusName string
		Limit              *int
		NextToken          *string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, err := s.findRule(call, "ListTargetsByRule", in.Rule, in.EventBusName)
	if err != nil {
		return nil, err
	}
	items := make([]any, len(r.targets))
	for i, t := range r.targets {
		items[i] = t
	}
	s.mu.Unlock()
	page, next, err := s.paginate(items, in.Limit, in.NextToken, "ListTargetsByRule")
	if err != nil {
		return nil, err
	}
	return withToken(map[string]any{"Targets": page}, next), nil
}

// delivery is one event bound for one target.
type delivery struct {
	rule    *rule
	ruleARN string
	target  target
	account string
	region  string
	eventID string
	event   map[string]any
	at      time.Time
}

// route finds the targets of the enabled rules on b that match entry. s.mu must be held.
func (s *Service) route(b *bus, entry Entry) []delivery {
	if b == nil {
		return nil
	}
	event := envelope(entry)
	data, _ := json.Marshal(event)
	decoded, err := decodeEvent(data)
	if err != nil {
		return nil
	}
	var out []delivery
	for _, name := range sortedRuleNames(b) {
		r := b.rules[name]
		if r.pattern == nil || r.state == "DISABLED" || !r.pattern.matches(decoded) {
			continue
		}
		out = append(out, s.deliveriesFor(r, event, entry.EventID)...)
	}
	return out
}

func (s *Service) deliveriesFor(r *rule, event map[string]any, eventID string) []delivery {
	out := make([]delivery, 0, len(r.targets))
	for _, t := range r.targets {
		out = append(out, delivery{rule: r, ruleARN: r.arn, target: *t, account: r.bus.key.account, region: r.bus.key.region,
			eventID: eventID, event: event, at: s.now()})
	}
	return out
}

func sortedRuleNames(b *bus) []string {
	names := make([]string, 0, len(b.rules))
	for n := range b.rules {
		names = append(names, n)
	}
	sortStrings(names)
	return names
}

// deliver sends each event to its target, in order, and records the outcome.
// A failed delivery never fails the PutEvents that caused it, as on AWS.
func (s *Service) deliver(work []delivery) []Delivery {
	out := make([]Delivery, 0, len(work))
	for _, d := range work {
		input, err := transform(d)
		result := ""
		if err == nil {
			result, err = s.send(d, input)
		}
		if err != nil {
			s.log.Warn("eventbridge delivery failed", "rule", d.ruleARN, "target", d.target.ID, "arn", d.target.Arn, "error", err)
		}
		rec := Delivery{RuleARN: d.ruleARN, TargetID: d.target.ID, TargetARN: d.target.Arn, EventID: d.eventID,
			Input: input, Result: result, Err: err, Time: d.at}
		out = append(out, rec)
		s.mu.Lock()
		s.deliveries = append(s.deliveries, rec)
		s.mu.Unlock()
	}
	return out
}

// send delivers one input to a target.
func (s *Service) send(d delivery, input string) (string, error) {
	switch {
	case strings.HasPrefix(d.target.Arn, "arn:aws:states:"):
		if s.opts.StepFunctions == nil || s.opts.Roles == nil {
			return "", fmt.Errorf("the sandbox has no Step Functions connected to EventBridge")
		}
		caller, ok := s.opts.Roles.AssumeServiceRole(d.target.RoleArn, ServicePrincipal, newEventID())
		if !ok {
			return "", fmt.Errorf("%s cannot assume the target's role %s", ServicePrincipal, d.target.RoleArn)
		}
		call := &awsapi.Call{Caller: &caller, Service: "states", Action: "StartExecution", Region: d.region, Secure: true,
			Time: s.now(), RequestID: strings.ToUpper(newEventID())}
		arn, _, err := s.opts.StepFunctions.StartExecutionAs(s.ctx, call, d.target.Arn, "", input)
		return arn, err
	case strings.HasPrefix(d.target.Arn, "arn:aws:lambda:"):
		if s.opts.Functions == nil {
			return "", fmt.Errorf("the sandbox does not serve Lambda to EventBridge yet")
		}
		return "", s.opts.Functions.InvokeAsync(s.ctx, d.target.Arn, []byte(input), d.ruleARN, d.account)
	}
	return "", fmt.Errorf("the sandbox's EventBridge delivers to Step Functions and Lambda targets only, not %s", d.target.Arn)
}

// transform computes a target's input from the event: Input as given, the
// value at InputPath, InputTransformer's template, or the whole event.
func transform(d delivery) (string, error) {
	t := d.target
	switch {
	case t.Input != "":
		return t.Input, nil
	case t.InputPath != "":
		v, ok := lookup(d.event, t.InputPath)
		if !ok {
			return "", fmt.Errorf("InputPath %s does not point to a value in the event", t.InputPath)
		}
		data, err := json.Marshal(v)
		return string(data), err
	case t.InputTransformer != nil:
		vars := map[string]any{}
		for k, p := range t.InputTransformer.InputPathsMap {
			if v, ok := lookup(d.event, p); ok {
				vars[k] = v
			}
		}
		eventJSON, _ := json.Marshal(d.event)
		vars["aws.events.rule-arn"] = d.ruleARN
		vars["aws.events.rule-name"] = d.rule.name
		vars["aws.events.event.ingestion-time"] = d.at.UTC().Format("2006-01-02T15:04:05Z")
		vars["aws.events.event"] = json.RawMessage(eventJSON)
		vars["aws.events.event.json"] = json.RawMessage(eventJSON)
		return render(t.InputTransformer.InputTemplate, vars), nil
	}
	data, err := json.Marshal(d.event)
	return string(data), err
}

// render fills an InputTemplate: a <var> inside a JSON string is replaced by
// the value's text (a string's characters, escaped for the string); outside,
// by the value as JSON (null when the path matched nothing).
func render(tmpl string, vars map[string]any) string {
	var b strings.Builder
	inString := false
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		switch {
		case c == '\\' && inString && i+1 < len(tmpl):
			b.WriteByte(c)
			b.WriteByte(tmpl[i+1])
			i++
			continue
		case c == '"':
			inString = !inString
		case c == '<':
			if end := strings.IndexByte(tmpl[i+1:], '>'); end > 0 {
				name := tmpl[i+1 : i+1+end]
				if v, known := vars[name]; known || varNameRE.MatchString(name) {
					b.WriteString(valueText(v, inString))
					i += end + 1
					continue
				}
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

func valueText(v any, inString bool) string {
	if !inString {
		data, err := json.Marshal(v)
		if err != nil {
			return "null"
		}
		return string(data)
	}
	if v == nil {
		return ""
	}
	text, ok := v.(string)
	if !ok {
		data, _ := json.Marshal(v)
		text = string(data)
	}
	quoted, _ := json.Marshal(text)
	return string(quoted[1 : len(quoted)-1])
}

// lookup evaluates a simple JSONPath ($, .name, [n], ['name']) in v.
func lookup(v any, path string) (any, bool) {
	rest := strings.TrimPrefix(path, "$")
	cur := v
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, "['"):
			end := strings.Index(rest, "']")
			if end < 0 {
				return nil, false
			}
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = m[rest[2:end]]; !ok {
				return nil, false
			}
			rest = rest[end+2:]
		case strings.HasPrefix(rest, "["):
			end := strings.IndexByte(rest, ']')
			n, err := strconv.Atoi(rest[1:max(end, 1)])
			arr, ok := cur.([]any)
			if end < 0 || err != nil || !ok || n < 0 || n >= len(arr) {
				return nil, false
			}
			cur, rest = arr[n], rest[end+1:]
		case strings.HasPrefix(rest, "."):
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = m[rest[:end]]; !ok {
				return nil, false
			}
			rest = rest[end:]
		default:
			return nil, false
		}
	}
	return cur, true
}
