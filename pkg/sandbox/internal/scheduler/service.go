// Package scheduler is the sandbox's EventBridge Scheduler: the REST-JSON
// API (signing name "scheduler") for schedules and schedule groups, and the
// timers that fire enabled schedules on time (rate, cron in a time zone,
// one-time at) into their target: a Step Functions StartExecution or a
// Lambda Invoke, made with a session of the target's RoleArn assumed as
// scheduler.amazonaws.com, so the role's trust and permissions decide as on
// AWS. Fire runs a schedule now, for tests and `stackerless sandbox fire`.
package scheduler

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"
	// Schedules name IANA time zones; the binary must not depend on the host's zoneinfo.
	_ "time/tzdata"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// ServicePrincipal is the principal Scheduler assumes target roles as.
const ServicePrincipal = "scheduler.amazonaws.com"

// Roles is what Scheduler needs of IAM for target roles.
type Roles interface {
	// PassRole authorizes the caller to hand roleARN to service (iam:PassRole).
	PassRole(call *awsapi.Call, roleARN, service string) error
	// AssumeServiceRoleFrom returns the identity service acts as in
	// roleARN, sending the source condition keys (aws:SourceAccount,
	// aws:SourceArn); false when the role does not exist or does not trust
	// service with them.
	AssumeServiceRoleFrom(roleARN, service, sessionName string, source map[string]string) (awsapi.Caller, bool)
}

// ExecutionStarter starts Step Functions executions (the sandbox's Step Functions).
type ExecutionStarter interface {
	// StartExecutionAs starts an execution as call.Caller, authorizing
	// states:StartExecution; an empty name gets a generated one.
	StartExecutionAs(ctx context.Context, call *awsapi.Call, machineARN, name, input string) (string, time.Time, error)
}

// FunctionInvoker invokes Lambda functions asynchronously (InvocationType
// Event) as call.Caller, authorizing lambda:InvokeFunction.
type FunctionInvoker interface {
	InvokeAsyncAs(ctx context.Context, call *awsapi.Call, functionARN string, payload []byte) error
}

// Options configure a Service.
type Options struct {
	// Authorizer decides every API call (scheduler:<Action>).
	Authorizer awsapi.Authorizer
	// Roles checks iam:PassRole and issues target roles' sessions. Required.
	Roles Roles
	// StepFunctions and Functions deliver to targets; without one, firings
	// of that kind of target fail (and are logged).
	StepFunctions ExecutionStarter
	Functions     FunctionInvoker
	Logger        *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service is the Scheduler API; it implements http.Handler.
type Service struct {
	opts     Options
	now      func() time.Time
	log      *slog.Logger
	pageSize int
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu          sync.Mutex
	groups      map[groupKey]*group
	invocations []Invocation
}

// New returns a Scheduler with a default schedule group in every account and region.
func New(opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{opts: opts, now: opts.Now, log: opts.Logger, pageSize: 100, ctx: ctx, cancel: cancel, groups: map[groupKey]*group{}}
}

// Close stops the timers and waits for firings under way.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}

// routes are Scheduler's operations as its API reference and the SDK's
// serializers give them.
var routes = awsapi.NewRESTJSONRoutes("ValidationException",
	awsapi.RESTRoute{Name: "CreateSchedule", Method: http.MethodPost, URI: "/schedules/{Name}", Status: 200, Body: scheduleMembers},
	awsapi.RESTRoute{Name: "UpdateSchedule", Method: http.MethodPut, URI: "/schedules/{Name}", Status: 200, Body: scheduleMembers},
	awsapi.RESTRoute{Name: "GetSchedule", Method: http.MethodGet, URI: "/schedules/{Name}", Status: 200},
	awsapi.RESTRoute{Name: "DeleteSchedule", Method: http.MethodDelete, URI: "/schedules/{Name}", Status: 200},
	awsapi.RESTRoute{Name: "ListSchedules", Method: http.MethodGet, URI: "/schedules", Status: 200},
	awsapi.RESTRoute{Name: "CreateScheduleGroup", Method: http.MethodPost, URI: "/schedule-groups/{Name}", Status: 200, Body: []string{"ClientToken", "Tags"}},
	awsapi.RESTRoute{Name: "GetScheduleGroup", Method: http.MethodGet, URI: "/schedule-groups/{Name}", Status: 200},
	awsapi.RESTRoute{Name: "DeleteScheduleGroup", Method: http.MethodDelete, URI: "/schedule-groups/{Name}", Status: 200},
	awsapi.RESTRoute{Name: "ListScheduleGroups", Method: http.MethodGet, URI: "/schedule-groups", Status: 200},
)

var scheduleMembers = []string{"ActionAfterCompletion", "ClientToken", "Description", "EndDate", "FlexibleTimeWindow", "GroupName",
	"KmsKeyArn", "ScheduleExpression", "ScheduleExpressionTimezone", "StartDate", "State", "Target"}

// Operation names the operation of a request, "" when none matches.
func Operation(r *http.Request) string { return routes.Operation(r) }

// request is one operation's input: path label, query and JSON body.
type request struct {
	name  string
	query url.Values
	body  []byte
}

type handler func(s *Service, call *awsapi.Call, q request) (any, error)

var handlers = map[string]handler{
	"CreateSchedule":      (*Service).createSchedule,
	"UpdateSchedule":      (*Service).updateSchedule,
	"GetSchedule":         (*Service).getSchedule,
	"DeleteSchedule":      (*Service).deleteSchedule,
	"ListSchedules":       (*Service).listSchedules,
	"CreateScheduleGroup": (*Service).createGroup,
	"GetScheduleGroup":    (*Service).getGroup,
	"DeleteScheduleGroup": (*Service).deleteGroup,
	"ListScheduleGroups":  (*Service).listGroups,
}

// ServeHTTP serves one authenticated REST-JSON request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, ok := routes.Read(w, r)
	if !ok {
		return
	}
	call, op, body := req.Call, req.Op, req.Body
	var members map[string]json.RawMessage
	if err := routes.Decode(op, body, &members); err != nil {
		awsapi.WriteRESTJSONError(w, call, err)
		return
	}
	out, err := handlers[op.Name](s, call, request{name: req.Labels["Name"], query: r.URL.Query(), body: body})
	if err != nil {
		awsapi.WriteRESTJSONError(w, call, err)
		return
	}
	awsapi.WriteRESTJSON(w, call, op.Status, out)
}

// Do performs one API action for another part of the sandbox
// (CloudFormation's AWS::Scheduler::* resources) as call.Caller. input holds
// the operation's members as the SDK names them: Name and, for reads and
// deletes, GroupName go where the HTTP API takes them.
func (s *Service) Do(call *awsapi.Call, action string, input map[string]any) (map[string]any, error) {
	h := handlers[action]
	if h == nil {
		return nil, awsapi.Errorf(http.StatusBadRequest, "UnknownOperationException", "The sandbox's Scheduler does not support the operation %s.", action)
	}
	body := map[string]any{}
	q := request{query: url.Values{}}
	for k, v := range input {
		switch {
		case k == "Name":
			q.name, _ = v.(string)
		case k == "GroupName" && (action == "GetSchedule" || action == "DeleteSchedule"):
			if g, _ := v.(string); g != "" {
				q.query.Set("groupName", g)
			}
		default:
			body[k] = v
		}
	}
	return awsapi.CallJSON(call, "scheduler", action, body, func(c *awsapi.Call, data []byte) (any, error) {
		q.body = data
		return h(s, c, q)
	})
}

func validationf(format string, args ...any) error {
	return awsapi.Errorf(http.StatusBadRequest, "ValidationException", format, args...)
}

func notFound(format string, args ...any) error {
	return awsapi.Errorf(http.StatusNotFound, "ResourceNotFoundException", format, args...)
}

func conflict(format string, args ...any) error {
	return awsapi.Errorf(http.StatusConflict, "ConflictException", format, args...)
}

// decode reads a request body into v; members of the wrong type are a
// ValidationException, as Scheduler answers.
func decode(body []byte, v any) error {
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		if te, ok := err.(*json.UnmarshalTypeError); ok {
			return validationf("Invalid value for member %s: cannot deserialize a JSON %s", te.Field, te.Value)
		}
		return validationf("Could not parse request body into json: %v", err)
	}
	return nil
}

func (s *Service) authorize(call *awsapi.Call, action, arn, account string) error {
	if s.opts.Authorizer == nil {
		return nil
	}
	return s.opts.Authorizer.Authorize(call, "scheduler:"+action, awsapi.Resource{ARN: arn, Account: account}, nil)
}

// epoch renders a time as REST-JSON body timestamps are: seconds since the epoch.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }
