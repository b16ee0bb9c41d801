package events

import (
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// rule is one rule of a bus; guarded by Service.mu.
type rule struct {
	bus         *bus
	name, arn   string
	patternText string
	pattern     *pattern
	schedule    string
	sched       *schedule
	state       string
	description string
	roleARN     string
	targets     []*target // in the order they were put
	// stopTimer ends the schedule's goroutine; nil without one.
	stopTimer chan struct{}
}

var nameRE = regexp.MustCompile(`^[.\-_A-Za-z0-9]{1,64}$`)

func ruleARN(b *bus, name string) string {
	if b.name == "default" {
		return "arn:aws:events:" + b.key.region + ":" + b.key.account + ":rule/" + name
	}
	return "arn:aws:events:" + b.key.region + ":" + b.key.account + ":rule/" + b.name + "/" + name
}

func noSuchRule(name, busName string) error {
	return awsapi.Errorf(http.StatusBadRequest, "ResourceNotFoundException", "Rule %s does not exist on EventBus %s.", name, busName)
}

func noSuchBus(name string) error {
	return awsapi.Errorf(http.StatusBadRequest, "ResourceNotFoundException", "Event bus %s does not exist.", name)
}

// findRule resolves a rule by name on a bus and authorizes action on it.
// It takes s.mu; the caller must release it.
func (s *Service) findRule(call *awsapi.Call, action, name, busName string) (*rule, error) {
	if name == "" {
		return nil, validationf("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	k := resolveBus(call, busName)
	s.mu.Lock()
	b := s.busFor(k)
	if b == nil {
		s.mu.Unlock()
		return nil, noSuchBus(k.name)
	}
	arn := ruleARN(b, name)
	s.mu.Unlock()
	if err := s.authorize(call, action, arn, k.account); err != nil {
		return nil, err
	}
	s.mu.Lock()
	r := b.rules[name]
	if r == nil {
		s.mu.Unlock()
		return nil, noSuchRule(name, b.name)
	}
	return r, nil
}

type putRuleInput struct {
	Name               string
	EventBusName       string
	EventPattern       *string
	ScheduleExpression string
	State              string
	Description        string
	RoleArn            string
	Tags               []struct{ Key, Value string }
}

func (s *Service) putRule(call *awsapi.Call, body []byte) (any, error) {
	var in putRuleInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if !nameRE.MatchString(in.Name) {
		return nil, validationf("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+", in.Name)
	}
	if in.EventPattern == nil && in.ScheduleExpression == "" {
		return nil, validationf("Parameter(s) EventPattern or ScheduleExpression must be specified.")
	}
	state := in.State
	switch state {
	case "":
		state = "ENABLED"
	case "ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS":
	default:
		return nil, validationf("1 validation error detected: Value '%s' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]", state)
	}
	var pat *pattern
	if in.EventPattern != nil {
		var err error
		if pat, err = parsePattern(*in.EventPattern); err != nil {
			return nil, err
		}
	}
	var sched *schedule
	if in.ScheduleExpression != "" {
		var err error
		if sched, err = parseSchedule(in.ScheduleExpression); err != nil {
			return nil, err
		}
	}
	k := resolveBus(call, in.EventBusName)
	if sched != nil && k.name != "default" {
		return nil, validationf("ScheduleExpression is supported only on the default event bus.")
	}
	s.mu.Lock()
	b := s.busFor(k)
	if b == nil {
		s.mu.Unlock()
		return nil, noSuchBus(k.name)
	}
	arn := ruleARN(b, in.Name)
	s.mu.Unlock()
	if err := s.authorize(call, "PutRule", arn, k.account); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := b.rules[in.Name]
	if r == nil {
		r = &rule{bus: b, name: in.Name, arn: arn}
		b.rules[in.Name] = r
	}
	r.pattern, r.patternText = pat, ""
	if in.EventPattern != nil {
		r.patternText = *in.EventPattern
	}
	r.schedule, r.sched = in.ScheduleExpression, sched
	r.state, r.description, r.roleARN = state, in.Description, in.RoleArn
	s.reschedule(r)
	return map[string]any{"RuleArn": arn}, nil
}

func (r *rule) describe() map[string]any {
	out := map[string]any{"Name": r.name, "Arn": r.arn, "State": r.state, "EventBusName": r.bus.name}
	if r.patternText != "" {
		out["EventPattern"] = r.patternText
	}
	if r.schedule != "" {
		out["ScheduleExpression"] = r.schedule
	}
	if r.description != "" {
		out["Description"] = r.description
	}
	if r.roleARN != "" {
		out["RoleArn"] = r.roleARN
	}
	return out
}

type ruleNameInput struct {
	Name         string
	EventBusName string
	Force        bool
}

func (s *Service) describeRule(call *awsapi.Call, body []byte) (any, error) {
	var in ruleNameInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, err := s.findRule(call, "DescribeRule", in.Name, in.EventBusName)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := r.describe()
	out["CreatedBy"] = r.bus.key.account
	return out, nil
}

func (s *Service) deleteRule(call *awsapi.Call, body []byte) (any, error) {
	var in ruleNameInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, err := s.findRule(call, "DeleteRule", in.Name, in.EventBusName)
	if err != nil {
		if awsapi.AsError(err).Code == "ResourceNotFoundException" && strings.HasPrefix(awsapi.AsError(err).Message, "Rule ") {
			return map[string]any{}, nil // deleting a rule that is gone succeeds
		}
		return nil, err
	}
	defer s.mu.Unlock()
	if len(r.targets) > 0 {
		return nil, validationf("Rule can't be deleted since it has targets.")
	}
	r.state = "DISABLED"
	s.reschedule(r)
	delete(r.bus.rules, r.name)
	return map[string]any{}, nil
}

func (s *Service) setState(call *awsapi.Call, body []byte, action, state string) (any, error) {
	var in ruleNameInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	r, err := s.findRule(call, action, in.Name, in.EventBusName)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	r.state = state
	s.reschedule(r)
	return map[string]any{}, nil
}

func (s *Service) enableRule(call *awsapi.Call, body []byte) (any, error) {
	return s.setState(call, body, "EnableRule", "ENABLED")
}

func (s *Service) disableRule(call *awsapi.Call, body []byte) (any, error) {
	return s.setState(call, body, "DisableRule", "DISABLED")
}

type listInput struct {
	NamePrefix   string
	EventBusName string
	Limit        *int
	NextToken    *string
}

func (s *Service) listRules(call *awsapi.Call, body []byte) (any, error) {
	var in listInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	k := resolveBus(call, in.EventBusName)
	if err := s.authorize(call, "ListRules", "arn:aws:events:"+k.region+":"+k.account+":rule/*", k.account); err != nil {
		return nil, err
	}
	s.mu.Lock()
	b := s.busFor(k)
	if b == nil {
		s.mu.Unlock()
		return nil, noSuchBus(k.name)
	}
	names := make([]string, 0, len(b.rules))
	for name := range b.rules {
		if strings.HasPrefix(name, in.NamePrefix) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	items := make([]any, len(names))
	for i, n := range names {
		items[i] = b.rules[n].describe()
	}
	s.mu.Unlock()
	page, next, err := s.paginate(items, in.Limit, in.NextToken, "ListRules")
	if err != nil {
		return nil, err
	}
	return withToken(map[string]any{"Rules": page}, next), nil
}

func (s *Service) testEventPattern(call *awsapi.Call, body []byte) (any, error) {
	var in struct{ EventPattern, Event *string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.EventPattern == nil || in.Event == nil {
		return nil, validationf("1 validation error detected: Value null at 'eventPattern' failed to satisfy constraint: Member must not be null")
	}
	p, err := parsePattern(*in.EventPattern)
	if err != nil {
		return nil, err
	}
	event, err := decodeEvent([]byte(*in.Event))
	if err != nil {
		return nil, validationf("Parameter Event is not valid: %v", err)
	}
	for _, f := range []string{"id", "account", "source", "time", "region", "resources", "detail-type"} {
		if _, ok := event[f]; !ok {
			return nil, validationf("Parameter Event is not valid. Reason: Provided Event is missing required field %s.", f)
		}
	}
	return map[string]any{"Result": p.matches(event)}, nil
}

// Buses.

var busNameRE = regexp.MustCompile(`^[/.\-_A-Za-z0-9]{1,256}$`)

func (s *Service) createEventBus(call *awsapi.Call, body []byte) (any, error) {
	var in struct {
		Name, EventSourceName, Description, KmsKeyIdentifier string
		DeadLetterConfig, LogConfig                          any
		Tags                                                 []struct{ Key, Value string }
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if !busNameRE.MatchString(in.Name) || strings.HasPrefix(in.Name, "aws.") {
		return nil, validationf("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+", in.Name)
	}
	if in.Name == "default" {
		return nil, awsapi.Errorf(http.StatusBadRequest, "ResourceAlreadyExistsException", "Event bus default already exists.")
	}
	k := busKey{account: call.Caller.Account, region: call.Region, name: in.Name}
	if err := s.authorize(call, "CreateEventBus", k.arn(), k.account); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buses[k] != nil {
		return nil, awsapi.Errorf(http.StatusBadRequest, "ResourceAlreadyExistsException", "Event bus %s already exists.", in.Name)
	}
	s.buses[k] = &bus{key: k, name: in.Name, arn: k.arn(), created: s.now(), rules: map[string]*rule{}}
	return map[string]any{"EventBusArn": k.arn()}, nil
}

func (s *Service) deleteEventBus(call *awsapi.Call, body []byte) (any, error) {
	var in struct{ Name string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Name == "default" {
		return nil, validationf("Cannot delete event bus default.")
	}
	k := busKey{account: call.Caller.Account, region: call.Region, name: in.Name}
	if err := s.authorize(call, "DeleteEventBus", k.arn(), k.account); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.buses[k]; b != nil {
		for _, r := range b.rules {
			r.state = "DISABLED"
			s.reschedule(r)
		}
		delete(s.buses, k)
	}
	return map[string]any{}, nil
}

func busOut(b *bus) map[string]any {
	return map[string]any{"Name": b.name, "Arn": b.arn, "CreationTime": float64(b.created.UnixMilli()) / 1000}
}

func (s *Service) describeEventBus(call *awsapi.Call, body []byte) (any, error) {
	var in struct{ Name string }
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	k := resolveBus(call, in.Name)
	if err := s.authorize(call, "DescribeEventBus", k.arn(), k.account); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.busFor(k)
	if b == nil {
		return nil, noSuchBus(k.name)
	}
	return busOut(b), nil
}

func (s *Service) listEventBuses(call *awsapi.Call, body []byte) (any, error) {
	var in listInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := s.authorize(call, "ListEventBuses", "*", call.Caller.Account); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.busFor(busKey{account: call.Caller.Account, region: call.Region, name: "default"})
	var buses []*bus
	for k, b := range s.buses {
		if k.account == call.Caller.Account && k.region == call.Region && strings.HasPrefix(k.name, in.NamePrefix) {
			buses = append(buses, b)
		}
	}
	sort.Slice(buses, func(i, j int) bool { return buses[i].name < buses[j].name })
	items := make([]any, len(buses))
	for i, b := range buses {
		items[i] = busOut(b)
	}
	s.mu.Unlock()
	page, next, err := s.paginate(items, in.Limit, in.NextToken, "ListEventBuses")
	if err != nil {
		return nil, err
	}
	return withToken(map[string]any{"EventBuses": page}, next), nil
}

// paginate cuts one page; tokens carry the operation and an offset.
func (s *Service) paginate(items []any, limit *int, token *string, op string) ([]any, string, error) {
	size := s.pageSize
	if limit != nil {
		if *limit < 1 || *limit > 100 {
			return nil, "", validationf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100", *limit)
		}
		size = *limit
	}
	t := ""
	if token != nil {
		t = *token
	}
	page, next, ok := awsapi.Paginate(items, size, t, op)
	if !ok {
		return nil, "", validationf("The NextToken provided is invalid.")
	}
	return page, next, nil
}

func withToken(out map[string]any, next string) map[string]any {
	if next != "" {
		out["NextToken"] = next
	}
	return out
}

// reschedule starts or stops a rule's schedule to fit its state. s.mu must be held.
func (s *Service) reschedule(r *rule) {
	if r.stopTimer != nil {
		close(r.stopTimer)
		r.stopTimer = nil
	}
	if r.sched == nil || r.state == "DISABLED" || s.ctx.Err() != nil {
		return
	}
	stop := make(chan struct{})
	r.stopTimer = stop
	s.wg.Add(1)
	go s.runSchedule(r, r.sched, stop, s.now())
}
