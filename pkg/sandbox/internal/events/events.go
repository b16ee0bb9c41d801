// Package events is the sandbox's EventBridge: the JSON 1.1 API for event
// buses, rules (event patterns and schedules) and targets, and PutEvents,
// which records every accepted entry and delivers it to the targets of the
// rules it matches: Step Functions state machines (StartExecution as the
// target's role) and Lambda functions (through FunctionInvoker).
package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// ServicePrincipal is the principal EventBridge assumes target roles as.
const ServicePrincipal = "events.amazonaws.com"

// Entry is one accepted event.
type Entry struct {
	EventID      string
	Account      string
	Region       string
	EventBusName string
	Source       string
	DetailType   string
	Detail       string
	Resources    []string
	Time         time.Time
}

// Roles issues the sessions of target roles.
type Roles interface {
	// AssumeServiceRole returns the identity service acts as in roleARN; false
	// when the role does not exist or does not trust service.
	AssumeServiceRole(roleARN, service, sessionName string) (awsapi.Caller, bool)
}

// ExecutionStarter starts Step Functions executions (the sandbox's Step Functions).
type ExecutionStarter interface {
	// StartExecutionAs starts an execution as call.Caller, authorizing
	// states:StartExecution; an empty name gets a generated one.
	StartExecutionAs(ctx context.Context, call *awsapi.Call, machineARN, name, input string) (string, time.Time, error)
}

// FunctionInvoker invokes Lambda functions asynchronously for a rule; the
// function's resource policy must let events.amazonaws.com invoke it with
// the rule as aws:SourceArn.
type FunctionInvoker interface {
	InvokeAsync(ctx context.Context, functionARN string, payload []byte, sourceARN, sourceAccount string) error
}

// Options configure a Service.
type Options struct {
	Authorizer awsapi.Authorizer
	// Roles, StepFunctions and Functions deliver to targets; without one,
	// deliveries to that kind of target fail (and are logged).
	Roles         Roles
	StepFunctions ExecutionStarter
	Functions     FunctionInvoker
	Logger        *slog.Logger
	Now           func() time.Time
	// Minute is how long a schedule's minute lasts (default time.Minute);
	// tests shorten it.
	Minute time.Duration
}

// Service is the EventBridge API; it implements http.Handler.
type Service struct {
	opts     Options
	now      func() time.Time
	log      *slog.Logger
	pageSize int
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu         sync.Mutex
	entries    []Entry
	buses      map[busKey]*bus
	deliveries []Delivery
}

// New returns an EventBridge with a default bus in every account and region.
func New(opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Minute <= 0 {
		opts.Minute = time.Minute
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{opts: opts, now: opts.Now, log: opts.Logger, pageSize: 100, ctx: ctx, cancel: cancel, buses: map[busKey]*bus{}}
}

// Close stops the schedules and waits for their deliveries.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}

// Entries returns the accepted events in arrival order.
func (s *Service) Entries() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Entry(nil), s.entries...)
}

// Delivery is one attempt to deliver an event to a target.
type Delivery struct {
	RuleARN, TargetID, TargetARN string
	EventID                      string
	Input                        string
	// Result is what the target returned (an execution ARN); Err why it failed.
	Result string
	Err    error
	Time   time.Time
}

// Deliveries returns the delivery attempts so far, in order.
func (s *Service) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

type handler = awsapi.JSONAction[*Service]

var handlers = map[string]handler{
	"PutEvents":         (*Service).putEvents,
	"PutRule":           (*Service).putRule,
	"DescribeRule":      (*Service).describeRule,
	"DeleteRule":        (*Service).deleteRule,
	"ListRules":         (*Service).listRules,
	"EnableRule":        (*Service).enableRule,
	"DisableRule":       (*Service).disableRule,
	"PutTargets":        (*Service).putTargets,
	"RemoveTargets":     (*Service).removeTargets,
	"ListTargetsByRule": (*Service).listTargetsByRule,
	"TestEventPattern":  (*Service).testEventPattern,
	"CreateEventBus":    (*Service).createEventBus,
	"DeleteEventBus":    (*Service).deleteEventBus,
	"DescribeEventBus":  (*Service).describeEventBus,
	"ListEventBuses":    (*Service).listEventBuses,
}

// ServeHTTP serves one authenticated JSON 1.1 request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	awsapi.ServeJSONActions(Descriptor, w, r, s, handlers)
}

// Do performs one API action for another part of the sandbox
// (CloudFormation's AWS::Events::* resources) as call.Caller.
func (s *Service) Do(call *awsapi.Call, action string, input any) (map[string]any, error) {
	h := handlers[action]
	if h == nil {
		return nil, awsapi.UnknownOperation(Descriptor, action)
	}
	return awsapi.CallJSON(call, "events", action, input, func(c *awsapi.Call, body []byte) (any, error) { return h(s, c, body) })
}

func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return awsapi.Errorf(http.StatusBadRequest, "SerializationException", "Start of structure or map found where not expected: %v", err)
	}
	return nil
}

func validationf(format string, args ...any) error {
	return awsapi.Errorf(http.StatusBadRequest, "ValidationException", format, args...)
}

func (s *Service) authorize(call *awsapi.Call, action, arn, account string) error {
	if s.opts.Authorizer == nil {
		return nil
	}
	return s.opts.Authorizer.Authorize(call, "events:"+action, awsapi.Resource{ARN: arn, Account: account}, nil)
}

type putEventsInput struct {
	Entries []struct {
		Source       string
		DetailType   string
		Detail       string
		Resources    []string
		EventBusName string
		Time         *float64
		TraceHeader  string
	}
	EndpointId string
}

type resultEntry struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:",omitempty"`
	ErrorMessage string `json:",omitempty"`
}

func (s *Service) putEvents(call *awsapi.Call, body []byte) (any, error) {
	var in putEventsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if len(in.Entries) < 1 || len(in.Entries) > 10 {
		return nil, validationf("1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1")
	}
	keys := make([]busKey, len(in.Entries))
	seen := map[busKey]bool{}
	for i, e := range in.Entries {
		keys[i] = resolveBus(call, e.EventBusName)
		if k := keys[i]; !seen[k] {
			seen[k] = true
			if err := s.authorize(call, "PutEvents", k.arn(), k.account); err != nil {
				return nil, err
			}
		}
	}
	results := make([]resultEntry, 0, len(in.Entries))
	failed := 0
	var work []delivery
	s.mu.Lock()
	for i, e := range in.Entries {
		code, msg := validate(e.Source, e.DetailType, e.Detail)
		b := s.busFor(keys[i])
		if code == "" && b == nil {
			code, msg = "ResourceNotFoundException", "Event bus "+keys[i].name+" does not exist."
		}
		if code != "" {
			failed++
			results = append(results, resultEntry{ErrorCode: code, ErrorMessage: msg})
			continue
		}
		t := s.now().UTC()
		if e.Time != nil {
			t = time.UnixMilli(int64(*e.Time * 1000)).UTC()
		}
		entry := Entry{
			EventID: newEventID(), Account: call.Caller.Account, Region: call.Region, EventBusName: b.name,
			Source: e.Source, DetailType: e.DetailType, Detail: e.Detail, Resources: e.Resources, Time: t,
		}
		s.entries = append(s.entries, entry)
		results = append(results, resultEntry{EventID: entry.EventID})
		work = append(work, s.route(b, entry)...)
	}
	s.mu.Unlock()
	s.deliver(work)
	return map[string]any{"FailedEntryCount": failed, "Entries": results}, nil
}

// Publish puts an event on an account's default bus as an AWS service does
// (S3's "Object Created"): it is recorded and routed like PutEvents entries.
func (s *Service) Publish(account, region, source, detailType string, resources []string, detail any, at time.Time) (string, error) {
	data, err := json.Marshal(detail)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	b := s.busFor(busKey{account: account, region: region, name: "default"})
	entry := Entry{EventID: newEventID(), Account: account, Region: region, EventBusName: "default",
		Source: source, DetailType: detailType, Detail: string(data), Resources: resources, Time: at.UTC()}
	s.entries = append(s.entries, entry)
	work := s.route(b, entry)
	s.mu.Unlock()
	s.deliver(work)
	return entry.EventID, nil
}

// envelope is an event as rules match it and targets receive it.
func envelope(e Entry) map[string]any {
	var detail any = map[string]any{}
	if e.Detail != "" {
		_ = json.Unmarshal([]byte(e.Detail), &detail)
	}
	resources := e.Resources
	if resources == nil {
		resources = []string{}
	}
	return map[string]any{
		"version": "0", "id": e.EventID, "detail-type": e.DetailType, "source": e.Source, "account": e.Account,
		"time": e.Time.UTC().Format("2006-01-02T15:04:05Z"), "region": e.Region, "resources": resources, "detail": detail,
	}
}

// validate checks one entry as EventBridge does, per entry rather than for the call.
func validate(source, detailType, detail string) (code, msg string) {
	switch {
	case source == "":
		return "InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."
	case detailType == "":
		return "InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."
	case detail == "":
		return "InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(detail), &obj); err != nil {
		return "MalformedDetail", "Detail is malformed."
	}
	return "", ""
}

func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// busKey names a bus: its account, region and name.
type busKey struct{ account, region, name string }

func (k busKey) arn() string {
	return "arn:aws:events:" + k.region + ":" + k.account + ":event-bus/" + k.name
}

// resolveBus reads an EventBusName parameter: a name (default "default") or a bus ARN.
func resolveBus(call *awsapi.Call, nameOrARN string) busKey {
	k := busKey{account: call.Caller.Account, region: call.Region, name: nameOrARN}
	if strings.HasPrefix(nameOrARN, "arn:") {
		parts := strings.SplitN(nameOrARN, ":", 6)
		if len(parts) == 6 {
			k = busKey{account: parts[4], region: parts[3], name: strings.TrimPrefix(parts[5], "event-bus/")}
		}
	}
	if k.name == "" {
		k.name = "default"
	}
	return k
}

// bus is one event bus and its rules; guarded by Service.mu.
type bus struct {
	key     busKey
	name    string
	arn     string
	created time.Time
	rules   map[string]*rule
}

// busFor returns a bus, creating an account's default bus on first use; nil
// for a custom bus that does not exist. s.mu must be held.
func (s *Service) busFor(k busKey) *bus {
	if b := s.buses[k]; b != nil {
		return b
	}
	if k.name != "default" {
		return nil
	}
	b := &bus{key: k, name: k.name, arn: k.arn(), created: s.now(), rules: map[string]*rule{}}
	s.buses[k] = b
	return b
}

// Redeliver delivers an accepted event again, with the same event ID, to
// the targets of the rules it matches now, as EventBridge's at-least-once
// delivery sometimes does on AWS; it returns the new deliveries.
func (s *Service) Redeliver(eventID string) ([]Delivery, error) {
	s.mu.Lock()
	var work []delivery
	found := false
	for _, e := range s.entries {
		if e.EventID == eventID {
			found = true
			work = s.route(s.buses[busKey{account: e.Account, region: e.Region, name: e.EventBusName}], e)
			break
		}
	}
	s.mu.Unlock()
	if !found {
		return nil, awsapi.Errorf(http.StatusBadRequest, "ResourceNotFoundException", "No event %s was accepted.", eventID)
	}
	return s.deliver(work), nil
}
