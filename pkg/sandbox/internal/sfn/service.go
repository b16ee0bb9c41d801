// Package sfn is the sandbox's Step Functions: the JSON 1.0 API
// (AWSStepFunctions.*) for state machines and their executions, which run
// the definitions through aws-local-stepfunctions (package asl) with AWS's
// context object, Task defaults, error names and execution history.
//
// Task states whose Resource is a Lambda function ARN are run by a
// TaskInvoker with a session of the state machine's role, so the role's
// lambda:InvokeFunction permission decides as on AWS. What the local
// interpreter cannot run (JSONata, variables, Distributed Map, service
// integrations, activities, .waitForTaskToken) is refused at
// CreateStateMachine with a message saying it is a limit of the sandbox.
package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/asl"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// ServicePrincipal is the principal Step Functions assumes state machine roles as.
const ServicePrincipal = "states.amazonaws.com"

// Roles is what Step Functions needs of IAM for state machine roles.
type Roles interface {
	// PassRole authorizes the caller to hand roleARN to service (iam:PassRole).
	PassRole(call *awsapi.Call, roleARN, service string) error
	// AssumeServiceRole returns the identity service acts as in roleARN; false
	// when the role does not exist or does not trust service.
	AssumeServiceRole(roleARN, service, sessionName string) (awsapi.Caller, bool)
}

// errCannotAssume is Step Functions' answer for a role it cannot assume.
func errCannotAssume() error {
	return awsapi.AccessDenied("Neither the global service principal %s, nor the regional one is authorized to assume the provided role.", ServicePrincipal)
}

// Options configure a Service.
type Options struct {
	// Authorizer decides every API call (states:<Action>) and iam:PassRole.
	Authorizer awsapi.Authorizer
	// Roles checks state machine roles and issues their sessions. Required.
	Roles Roles
	// Tasks runs Task states; nil fails every Task with Lambda.ServiceException.
	Tasks TaskInvoker
	// Interpreter runs definitions. Required.
	Interpreter *asl.Interpreter
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service is the Step Functions API; it implements http.Handler.
type Service struct {
	opts     Options
	now      func() time.Time
	pageSize int
	// ctx ends the Task invocations still running when the service closes.
	ctx    context.Context
	cancel context.CancelFunc

	mu         sync.Mutex
	machines   map[string]*machine   // by ARN
	executions map[string]*execution // by ARN
}

// New returns a Step Functions service with no state machines.
func New(opts Options) *Service {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Service{opts: opts, now: now, pageSize: 100, ctx: ctx, cancel: cancel,
		machines: map[string]*machine{}, executions: map[string]*execution{}}
}

// Close stops running executions' Task invocations; the interpreter is
// closed by its owner.
func (s *Service) Close() { s.cancel() }

type handler func(s *Service, ctx context.Context, call *awsapi.Call, body []byte) (any, error)

var handlers = map[string]handler{
	"CreateStateMachine":   (*Service).createStateMachine,
	"DescribeStateMachine": (*Service).describeStateMachine,
	"UpdateStateMachine":   (*Service).updateStateMachine,
	"DeleteStateMachine":   (*Service).deleteStateMachine,
	"ListStateMachines":    (*Service).listStateMachines,
	"StartExecution":       (*Service).startExecution,
	"DescribeExecution":    (*Service).describeExecution,
	"ListExecutions":       (*Service).listExecutions,
	"StopExecution":        (*Service).stopExecution,
	"GetExecutionHistory":  (*Service).getExecutionHistory,
}

// ServeHTTP serves one authenticated JSON 1.0 request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	awsapi.ServeJSON(Descriptor, w, r, handlers, func(h handler, ctx context.Context, call *awsapi.Call, body []byte) (any, error) {
		return h(s, ctx, call, body)
	})
}

// decode reads a request body into v; members of the wrong type are a
// SerializationException, as AWS answers.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return awsapi.Errorf(http.StatusBadRequest, "SerializationException", "Unexpected value for member %q", te.Field)
		}
		return awsapi.Errorf(http.StatusBadRequest, "SerializationException", "%v", err)
	}
	return nil
}

// authorize checks states:<action> for the call on resource (an ARN or "*").
func (s *Service) authorize(call *awsapi.Call, action, resource, account string) error {
	if s.opts.Authorizer == nil {
		return nil
	}
	return s.opts.Authorizer.Authorize(call, "states:"+action, awsapi.Resource{ARN: resource, Account: account}, nil)
}

func validationf(format string, args ...any) error {
	return awsapi.Errorf(http.StatusBadRequest, "ValidationException", format, args...)
}

func missing(member string) error {
	return validationf("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
}

// epoch renders a time as JSON 1.0 timestamps are: seconds since the epoch.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// Do performs one API action for another part of the sandbox (CloudFormation's
// AWS::StepFunctions::StateMachine) as call.Caller, with the same checks as
// the HTTP API; input is what the action's JSON body would hold.
func (s *Service) Do(ctx context.Context, call *awsapi.Call, action string, input any) (map[string]any, error) {
	h := handlers[action]
	if h == nil {
		return nil, awsapi.Errorf(http.StatusBadRequest, "UnknownOperationException", "The sandbox's Step Functions does not support the operation %s.", action)
	}
	return awsapi.CallJSON(call, "states", action, input, func(c *awsapi.Call, body []byte) (any, error) { return h(s, ctx, c, body) })
}
