package sfn

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/asl"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

const (
	statusRunning   = "RUNNING"
	statusSucceeded = "SUCCEEDED"
	statusFailed    = "FAILED"
	statusTimedOut  = "TIMED_OUT"
	statusAborted   = "ABORTED"
)

// maxPayload is AWS's limit on execution input and state data (256 KiB).
const maxPayload = 262144

// execution is one run of a state machine; guarded by Service.mu.
type execution struct {
	arn, name string
	machine   *machine
	def       *definition
	roleARN   string
	input     string
	status    string
	start     time.Time
	stop      time.Time
	output    *string
	errName   *string
	cause     *string

	history *history
	run     *asl.Run
	// pending are the Task invocations under way, by the bridge's call ID.
	pending map[int]string
	// lastState is the state last entered (for a Fail state's error fields).
	lastState string
	done      chan struct{}
}

// ExecutionARN is the ARN of an execution of a state machine.
func ExecutionARN(machineARN, name string) string {
	return strings.Replace(machineARN, ":stateMachine:", ":execution:", 1) + ":" + name
}

func parseExecutionARN(arn string) (machineARN, account string, err error) {
	parts := strings.Split(arn, ":")
	if len(parts) != 8 || parts[0] != "arn" || parts[2] != "states" || parts[5] != "execution" {
		return "", "", awsapi.Errorf(http.StatusBadRequest, "InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	return StateMachineARN(parts[3], parts[4], parts[6]), parts[4], nil
}

type startExecutionInput struct {
	StateMachineArn *string
	Name            *string
	Input           *string
	TraceHeader     string
}

func (s *Service) startExecution(ctx context.Context, call *awsapi.Call, body []byte) (any, error) {
	var in startExecutionInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	name, input := "", "{}"
	if in.Name != nil {
		name = *in.Name
	}
	if in.Input != nil {
		input = *in.Input
	}
	if in.StateMachineArn == nil {
		return nil, missing("stateMachineArn")
	}
	arn, start, err := s.StartExecutionAs(ctx, call, *in.StateMachineArn, name, input)
	if err != nil {
		return nil, err
	}
	return map[string]any{"executionArn": arn, "startDate": epoch(start)}, nil
}

// StartExecutionAs starts an execution as call.Caller (an API caller, or
// the session of an EventBridge target's role), with StartExecution's rules:
// states:StartExecution on the state machine, name rules, and a name
// already used returns that execution while it runs with the same input and
// is ExecutionAlreadyExists otherwise. An empty name gets a UUID.
func (s *Service) StartExecutionAs(ctx context.Context, call *awsapi.Call, machineARN, name, input string) (string, time.Time, error) {
	if _, account, _, err := parseStateMachineARN(machineARN); err != nil {
		return "", time.Time{}, err
	} else if err := s.authorize(call, "StartExecution", machineARN, account); err != nil {
		return "", time.Time{}, err
	}
	if name == "" {
		name = newRevision()
	} else if !validName(name) {
		return "", time.Time{}, invalidName(name)
	}
	if len(input) > maxPayload {
		return "", time.Time{}, validationf("1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to %d", maxPayload)
	}
	if !json.Valid([]byte(input)) {
		var v any
		err := json.Unmarshal([]byte(input), &v)
		return "", time.Time{}, awsapi.Errorf(http.StatusBadRequest, "InvalidExecutionInput", "Invalid State Machine Execution Input: '%v'", err)
	}
	// Start the interpreter before taking the lock: its first start takes a while.
	if err := s.opts.Interpreter.Ready(ctx); err != nil {
		return "", time.Time{}, awsapi.Errorf(http.StatusInternalServerError, "InternalFailure", "The sandbox's local interpreter (aws-local-stepfunctions) is not available: %v", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.machines[machineARN]
	if m == nil {
		return "", time.Time{}, awsapi.Errorf(http.StatusBadRequest, "StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", machineARN)
	}
	if m.deleting {
		return "", time.Time{}, awsapi.Errorf(http.StatusBadRequest, "StateMachineDeleting", "State machine is being deleted: '%s'", machineARN)
	}
	arn := ExecutionARN(machineARN, name)
	if x := s.executions[arn]; x != nil {
		if x.status == statusRunning && x.input == input {
			return arn, x.start, nil
		}
		return "", time.Time{}, awsapi.Errorf(http.StatusBadRequest, "ExecutionAlreadyExists", "Execution Already Exists: '%s'", arn)
	}
	x := &execution{arn: arn, name: name, machine: m, def: m.def, roleARN: m.roleARN, input: input, status: statusRunning,
		start: s.now(), history: newHistory(), pending: map[int]string{}, done: make(chan struct{})}
	s.executions[arn] = x
	m.executions = append(m.executions, x)
	x.history.add(x.start, "ExecutionStarted", "executionStartedEventDetails",
		map[string]any{"input": input, "inputDetails": truncated(false), "roleArn": x.roleARN})

	run, err := s.opts.Interpreter.Start(ctx, asl.Spec{
		Definition: x.def.forInterpreter,
		Input:      json.RawMessage(input),
		Context: map[string]any{
			"Execution":    map[string]any{"Id": arn, "Name": name, "RoleArn": x.roleARN, "StartTime": x.start.UTC().Format("2006-01-02T15:04:05.000Z"), "RedriveCount": 0},
			"StateMachine": map[string]any{"Id": m.arn, "Name": m.name},
		},
		MaxStateEntries: bridgeStateLimit,
		OnEvent:         func(e asl.Event) { s.onEvent(x, e) },
		OnTask:          func(c asl.TaskCall) { s.onTask(x, c) },
		OnDone:          func() { s.onDone(x) },
	})
	if err != nil {
		s.finish(x, statusFailed, "ExecutionFailed", "executionFailedEventDetails", map[string]any{"error": "States.Runtime", "cause": err.Error()})
		return arn, x.start, nil
	}
	x.run = run
	return arn, x.start, nil
}

// bridgeStateLimit bounds the states an execution enters in the bridge:
// each entry adds at least two history events, so by then the execution has
// passed AWS's 25,000 events and been failed here.
const bridgeStateLimit = maxHistoryEvents/2 + 100

// finish closes an execution with its last event. s.mu must be held.
func (s *Service) finish(x *execution, status, typ, key string, details map[string]any) {
	if x.status != statusRunning {
		return
	}
	x.history.add(s.now(), typ, key, details)
	s.close(x, status, details)
}

// close records the end of an execution. s.mu must be held.
func (s *Service) close(x *execution, status string, details map[string]any) {
	x.status = status
	x.stop = s.now()
	str := func(k string) *string {
		if v, ok := details[k].(string); ok {
			return &v
		}
		return nil
	}
	x.output, x.errName, x.cause = str("output"), str("error"), str("cause")
	x.pending = map[int]string{}
	close(x.done)
	s.removeIfIdle(x.machine)
}

func (s *Service) onDone(x *execution) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finish(x, statusFailed, "ExecutionFailed", "executionFailedEventDetails",
		map[string]any{"error": "States.Runtime", "cause": "The sandbox's local interpreter ended the execution without a result."})
}

// onTask runs a Task's Lambda function as the state machine's role.
func (s *Service) onTask(x *execution, c asl.TaskCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if x.status != statusRunning {
		return
	}
	task := x.def.tasks[c.State]
	scheduled := map[string]any{"resource": task.resource, "input": string(c.Input), "inputDetails": truncated(false)}
	if task.timeout > 0 {
		scheduled["timeoutInSeconds"] = task.timeout
	}
	now := s.now()
	x.record(s, now, "LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", scheduled)
	x.record(s, now, "LambdaFunctionStarted", "", nil)
	if x.status != statusRunning {
		return
	}
	x.pending[c.ID] = c.State
	call := &awsapi.Call{Service: "lambda", Action: "Invoke", Region: x.machine.region, Secure: true, Time: now, RequestID: strings.ToUpper(newRevision())}
	go s.invoke(x, x.run, c, call, task.resource, x.roleARN)
}

func (s *Service) invoke(x *execution, run *asl.Run, c asl.TaskCall, call *awsapi.Call, resource, roleARN string) {
	out, fail := s.runTask(call, resource, roleARN, c.Input)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := x.pending[c.ID]; !ok || x.status != statusRunning {
		return // timed out, or the execution ended: the result goes nowhere, as on AWS
	}
	delete(x.pending, c.ID)
	if fail != nil {
		x.record(s, s.now(), "LambdaFunctionFailed", "lambdaFunctionFailedEventDetails", map[string]any{"error": fail.name, "cause": fail.cause})
		run.Fail(c.ID, fail.name, fail.cause)
		return
	}
	x.record(s, s.now(), "LambdaFunctionSucceeded", "lambdaFunctionSucceededEventDetails", map[string]any{"output": string(out), "outputDetails": truncated(false)})
	if err := run.Succeed(c.ID, out); err != nil {
		run.Fail(c.ID, "States.Runtime", err.Error())
	}
}

// runTask assumes the role and invokes the function; the failure is named as
// the state machine sees it.
func (s *Service) runTask(call *awsapi.Call, resource, roleARN string, input json.RawMessage) (json.RawMessage, *taskFailure) {
	caller, ok := s.opts.Roles.AssumeServiceRole(roleARN, ServicePrincipal, newRevision())
	if !ok {
		return nil, &taskFailure{name: "States.TaskFailed", cause: awsapi.AsError(errCannotAssume()).Message}
	}
	call.Caller = &caller
	if s.opts.Tasks == nil {
		return nil, &taskFailure{name: "Lambda.ServiceException", cause: "The sandbox has no Lambda service connected to Step Functions to run " + resource}
	}
	out, err := s.opts.Tasks.InvokeTask(s.ctx, call, resource, input)
	if err != nil {
		f := failureOf(err)
		return nil, &f
	}
	switch {
	case len(out) == 0:
		out = json.RawMessage("null")
	case !json.Valid(out):
		return nil, &taskFailure{name: "States.Runtime", cause: fmt.Sprintf("The Lambda function %s returned a payload that is not JSON.", resource)}
	case len(out) > maxPayload:
		return nil, &taskFailure{name: "States.DataLimitExceeded", cause: fmt.Sprintf("The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", resource)}
	}
	return out, nil
}

// lookupExecution finds an execution by ARN and authorizes action on it.
func (s *Service) lookupExecution(call *awsapi.Call, action string, arn *string) (*execution, error) {
	if arn == nil {
		return nil, missing("executionArn")
	}
	_, account, err := parseExecutionARN(*arn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(call, action, *arn, account); err != nil {
		return nil, err
	}
	s.mu.Lock()
	x := s.executions[*arn]
	s.mu.Unlock()
	if x == nil {
		return nil, awsapi.Errorf(http.StatusBadRequest, "ExecutionDoesNotExist", "Execution Does Not Exist: '%s'", *arn)
	}
	return x, nil
}

func (s *Service) describeExecution(_ context.Context, call *awsapi.Call, body []byte) (any, error) {
	var in struct {
		ExecutionArn *string
		IncludedData string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	x, err := s.lookupExecution(call, "DescribeExecution", in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]any{
		"executionArn": x.arn, "stateMachineArn": x.machine.arn, "name": x.name, "status": x.status,
		"startDate": epoch(x.start), "input": x.input, "inputDetails": map[string]bool{"included": true},
		"redriveCount": 0, "redriveStatus": "NOT_REDRIVABLE",
	}
	if x.status != statusRunning {
		out["stopDate"] = epoch(x.stop)
	}
	if x.output != nil {
		out["output"], out["outputDetails"] = *x.output, map[string]bool{"included": true}
	}
	if x.errName != nil {
		out["error"] = *x.errName
	}
	if x.cause != nil {
		out["cause"] = *x.cause
	}
	return out, nil
}

func (s *Service) listExecutions(_ context.Context, call *awsapi.Call, body []byte) (any, error) {
	var in struct {
		StateMachineArn *string
		StatusFilter    string
		MapRunArn       string
		RedriveFilter   string
		pageInput
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	switch in.StatusFilter {
	case "", statusRunning, statusSucceeded, statusFailed, statusTimedOut, statusAborted, "PENDING_REDRIVE":
	default:
		return nil, validationf("1 validation error detected: Value '%s' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]", in.StatusFilter)
	}
	m, err := s.lookupMachine(call, "ListExecutions", in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	var items []any
	for i := len(m.executions) - 1; i >= 0; i-- { // newest first
		x := m.executions[i]
		if in.StatusFilter != "" && x.status != in.StatusFilter {
			continue
		}
		item := map[string]any{"executionArn": x.arn, "stateMachineArn": m.arn, "name": x.name, "status": x.status, "startDate": epoch(x.start)}
		if x.status != statusRunning {
			item["stopDate"] = epoch(x.stop)
		}
		items = append(items, item)
	}
	s.mu.Unlock()
	page, next, err := s.paginate(items, in.pageInput, "ListExecutions")
	if err != nil {
		return nil, err
	}
	if page == nil {
		page = []any{}
	}
	out := map[string]any{"executions": page}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (s *Service) stopExecution(_ context.Context, call *awsapi.Call, body []byte) (any, error) {
	var in struct {
		ExecutionArn *string
		Error        *string
		Cause        *string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.Error != nil && len(*in.Error) > 256 {
		return nil, validationf("1 validation error detected: Value at 'error' failed to satisfy constraint: Member must have length less than or equal to 256")
	}
	if in.Cause != nil && len(*in.Cause) > 32768 {
		return nil, validationf("1 validation error detected: Value at 'cause' failed to satisfy constraint: Member must have length less than or equal to 32768")
	}
	x, err := s.lookupExecution(call, "StopExecution", in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if x.status == statusRunning {
		details := map[string]any{}
		if in.Error != nil {
			details["error"] = *in.Error
		}
		if in.Cause != nil {
			details["cause"] = *in.Cause
		}
		s.finish(x, statusAborted, "ExecutionAborted", "executionAbortedEventDetails", details)
		if x.run != nil {
			x.run.Stop()
		}
	}
	return map[string]any{"stopDate": epoch(x.stop)}, nil
}

func truncated(b bool) map[string]bool { return map[string]bool{"truncated": b} }
