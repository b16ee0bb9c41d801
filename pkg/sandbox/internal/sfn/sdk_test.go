package sfn_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	sfnapi "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/sfn"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// fakeLambda stands in for the sandbox's Lambda Invoke (sfn.TaskInvoker):
// it records each call and answers with the function registered for the ARN.
type fakeLambda struct {
	mu    sync.Mutex
	calls []taskCall
	fns   map[string]func(n int, payload []byte) ([]byte, error)
}

type taskCall struct {
	function, caller string
	payload          []byte
}

func (f *fakeLambda) InvokeTask(ctx context.Context, call *awsapi.Call, functionARN string, payload []byte) ([]byte, error) {
	f.mu.Lock()
	f.calls = append(f.calls, taskCall{function: functionARN, caller: call.Caller.ARN, payload: payload})
	n := 0
	for _, c := range f.calls {
		if c.function == functionARN {
			n++
		}
	}
	fn := f.fns[functionARN]
	f.mu.Unlock()
	if fn == nil {
		return nil, awsapi.Errorf(http.StatusNotFound, "ResourceNotFoundException", "Function not found: %s", functionARN)
	}
	return fn(n, payload)
}

func (f *fakeLambda) callsTo(function string) []taskCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []taskCall
	for _, c := range f.calls {
		if c.function == function {
			out = append(out, c)
		}
	}
	return out
}

const fnARN = "arn:aws:lambda:us-east-1:111111111111:function:"

type env struct {
	sb     *sandbox.Sandbox
	client *sfnapi.Client
	lambda *fakeLambda
	role   string
}

func setup(t testing.TB) *env {
	t.Helper()
	fake := &fakeLambda{fns: map[string]func(int, []byte) ([]byte, error){}}
	sb := sandboxtest.Start(t, func(o *sandbox.Options) { o.Tasks = fake })
	e := &env{sb: sb, client: sfnapi.NewFromConfig(sb.AWSConfig("master")), lambda: fake}
	e.role = createRole(t, sb, "StatesRole", "states.amazonaws.com")
	return e
}

// createRole creates a role in master that service may assume, allowed to invoke functions.
func createRole(t testing.TB, sb *sandbox.Sandbox, name, service string) string {
	t.Helper()
	client := iam.NewFromConfig(sb.AWSConfig("master"))
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":%q},"Action":"sts:AssumeRole"}]}`, service)
	out, err := client.CreateRole(t.Context(), &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	_, err = client.PutRolePolicy(t.Context(), &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("invoke"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"*"}]}`)})
	if err != nil {
		t.Fatalf("PutRolePolicy: %v", err)
	}
	return aws.ToString(out.Role.Arn)
}

func (e *env) create(t testing.TB, name, definition string) string {
	t.Helper()
	out, err := e.client.CreateStateMachine(t.Context(), &sfnapi.CreateStateMachineInput{
		Name: aws.String(name), Definition: aws.String(definition), RoleArn: aws.String(e.role)})
	if err != nil {
		t.Fatalf("CreateStateMachine: %v", err)
	}
	return aws.ToString(out.StateMachineArn)
}

func (e *env) start(t testing.TB, machine, name, input string) string {
	t.Helper()
	in := &sfnapi.StartExecutionInput{StateMachineArn: aws.String(machine), Input: aws.String(input)}
	if name != "" {
		in.Name = aws.String(name)
	}
	out, err := e.client.StartExecution(t.Context(), in)
	if err != nil {
		t.Fatalf("StartExecution: %v", err)
	}
	return aws.ToString(out.ExecutionArn)
}

// wait polls DescribeExecution until the execution has ended.
func (e *env) wait(t testing.TB, execution string) *sfnapi.DescribeExecutionOutput {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := e.client.DescribeExecution(t.Context(), &sfnapi.DescribeExecutionInput{ExecutionArn: aws.String(execution)})
		if err != nil {
			t.Fatalf("DescribeExecution: %v", err)
		}
		if out.Status != types.ExecutionStatusRunning {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s still running", execution)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) history(t testing.TB, execution string) []types.HistoryEvent {
	t.Helper()
	var events []types.HistoryEvent
	p := sfnapi.NewGetExecutionHistoryPaginator(e.client, &sfnapi.GetExecutionHistoryInput{ExecutionArn: aws.String(execution), MaxResults: 1000})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("GetExecutionHistory: %v", err)
		}
		events = append(events, page.Events...)
	}
	return events
}

func eventTypes(events []types.HistoryEvent) []string {
	out := make([]string, len(events))
	for i, ev := range events {
		out[i] = string(ev.Type)
	}
	return out
}

// apiError asserts err is an API error with code, and returns its message.
func apiError(t testing.TB, err error, code string) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("got %v, want %s", err, code)
	}
	return ae.ErrorMessage()
}

// pipeline is Task -> Choice -> Wait -> Task, the second Task retried on
// Lambda.TooManyRequestsException and its typed error caught.
const pipeline = `{
  "StartAt": "Prepare",
  "States": {
    "Prepare": {"Type": "Task", "Resource": "` + fnARN + `prepare",
      "Parameters": {"input.$": "$", "exec.$": "$$.Execution.Id", "name.$": "$$.Execution.Name", "role.$": "$$.Execution.RoleArn",
        "sm.$": "$$.StateMachine.Id", "smName.$": "$$.StateMachine.Name", "state.$": "$$.State.Name", "entered.$": "$$.State.EnteredTime",
        "started.$": "$$.Execution.StartTime", "ctxInput.$": "$$.Execution.Input"},
      "ResultPath": "$.prepared", "Next": "Ready?"},
    "Ready?": {"Type": "Choice", "Choices": [{"Variable": "$.prepared.ready", "BooleanEquals": true, "Next": "Pause"}], "Default": "NotReady"},
    "NotReady": {"Type": "Fail", "Error": "NotReady", "Cause": "prepare said no"},
    "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Advance"},
    "Advance": {"Type": "Task", "Resource": "` + fnARN + `advance",
      "Parameters": {"retry.$": "$$.State.RetryCount"},
      "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1}],
      "Catch": [{"ErrorEquals": ["NegativeError"], "ResultPath": "$.error", "Next": "Handled"}],
      "End": true},
    "Handled": {"Type": "Pass", "End": true}
  }
}`

func TestExecutionRunsTaskChoiceWaitTask(t *testing.T) {
	e := setup(t)
	e.lambda.fns[fnARN+"prepare"] = func(int, []byte) ([]byte, error) { return []byte(`{"ready":true}`), nil }
	negative := `{"errorType":"NegativeError","errorMessage":"below zero"}`
	e.lambda.fns[fnARN+"advance"] = func(n int, _ []byte) ([]byte, error) {
		if n == 1 {
			return nil, awsapi.Errorf(http.StatusTooManyRequests, "TooManyRequestsException", "Rate Exceeded.")
		}
		return nil, &sfn.FunctionError{Payload: []byte(negative)}
	}
	machine := e.create(t, "pipeline", pipeline)
	execARN := e.start(t, machine, "run-1", `{"config":"stacker.yaml"}`)
	if want := strings.Replace(machine, ":stateMachine:", ":execution:", 1) + ":run-1"; execARN != want {
		t.Fatalf("execution ARN %s, want %s", execARN, want)
	}
	desc := e.wait(t, execARN)
	if desc.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("status %s (%s: %s)", desc.Status, aws.ToString(desc.Error), aws.ToString(desc.Cause))
	}
	if d := desc.StopDate.Sub(*desc.StartDate); d < time.Second {
		t.Errorf("execution took %s; the Wait state waits 1s", d)
	}
	var out struct {
		Config   string
		Prepared struct{ Ready bool }
		Error    struct{ Error, Cause string }
	}
	if err := json.Unmarshal([]byte(aws.ToString(desc.Output)), &out); err != nil {
		t.Fatal(err)
	}
	if out.Config != "stacker.yaml" || !out.Prepared.Ready || out.Error.Error != "NegativeError" || out.Error.Cause != negative {
		t.Errorf("output = %s", aws.ToString(desc.Output))
	}

	// The Task got the context object and a session of the state machine's role.
	prep := e.lambda.callsTo(fnARN + "prepare")
	if len(prep) != 1 || !strings.HasPrefix(prep[0].caller, "arn:aws:sts::111111111111:assumed-role/StatesRole/") {
		t.Fatalf("prepare calls = %+v", prep)
	}
	var ctx struct {
		Input                                                 struct{ Config string }
		Exec, Name, Role, Sm, SmName, State, Entered, Started string
		CtxInput                                              struct{ Config string }
	}
	if err := json.Unmarshal(prep[0].payload, &ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Input.Config != "stacker.yaml" || ctx.Exec != execARN || ctx.Name != "run-1" || ctx.Role != e.role || ctx.Sm != machine ||
		ctx.SmName != "pipeline" || ctx.State != "Prepare" || ctx.CtxInput.Config != "stacker.yaml" {
		t.Errorf("context in Parameters = %s", prep[0].payload)
	}
	for _, ts := range []string{ctx.Entered, ctx.Started} {
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("context timestamp %q: %v", ts, err)
		}
	}
	adv := e.lambda.callsTo(fnARN + "advance")
	if len(adv) != 2 || string(adv[0].payload) != `{"retry":0}` || string(adv[1].payload) != `{"retry":1}` {
		t.Errorf("advance calls = %+v", adv)
	}

	events := e.history(t, execARN)
	want := []string{"ExecutionStarted",
		"TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionSucceeded", "TaskStateExited",
		"ChoiceStateEntered", "ChoiceStateExited", "WaitStateEntered", "WaitStateExited",
		"TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionFailed",
		"LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionFailed", "TaskStateExited",
		"PassStateEntered", "PassStateExited", "ExecutionSucceeded"}
	if got := eventTypes(events); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("history:\n got %v\nwant %v", got, want)
	}
	for i, ev := range events {
		wantPrev := int64(i)
		if i == 1 {
			wantPrev = 0 // the first state's entry links to no event, as on AWS
		}
		if ev.Id != int64(i+1) || ev.PreviousEventId != wantPrev || ev.Timestamp == nil {
			t.Errorf("event %d: id %d previous %d timestamp %v", i, ev.Id, ev.PreviousEventId, ev.Timestamp)
		}
	}
	started := events[0].ExecutionStartedEventDetails
	if started == nil || aws.ToString(started.Input) != `{"config":"stacker.yaml"}` || aws.ToString(started.RoleArn) != e.role {
		t.Errorf("ExecutionStarted details = %+v", started)
	}
	if d := events[2].LambdaFunctionScheduledEventDetails; d == nil || aws.ToString(d.Resource) != fnARN+"prepare" {
		t.Errorf("LambdaFunctionScheduled details = %+v", d)
	}
	if d := events[13].LambdaFunctionFailedEventDetails; d == nil || aws.ToString(d.Error) != "Lambda.TooManyRequestsException" ||
		!strings.Contains(aws.ToString(d.Cause), "Rate Exceeded.") {
		t.Errorf("throttled invocation = %+v", d)
	}
	if d := events[16].LambdaFunctionFailedEventDetails; d == nil || aws.ToString(d.Error) != "NegativeError" || aws.ToString(d.Cause) != negative {
		t.Errorf("failed invocation = %+v", d)
	}
	if d := events[1].StateEnteredEventDetails; d == nil || aws.ToString(d.Name) != "Prepare" {
		t.Errorf("TaskStateEntered details = %+v", d)
	}

	// Without execution data, inputs and outputs are left out.
	page, err := e.client.GetExecutionHistory(t.Context(), &sfnapi.GetExecutionHistoryInput{ExecutionArn: aws.String(execARN),
		IncludeExecutionData: aws.Bool(false), ReverseOrder: true, MaxResults: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 2 || page.Events[0].Type != types.HistoryEventTypeExecutionSucceeded || page.NextToken == nil ||
		page.Events[0].ExecutionSucceededEventDetails == nil || page.Events[0].ExecutionSucceededEventDetails.Output != nil {
		t.Errorf("reverse page without data = %+v", page.Events)
	}
}

// TestTaskFailures: each way a Task's function can fail reaches the state
// machine under AWS's error name.
func TestTaskFailures(t *testing.T) {
	e := setup(t)
	hung := make(chan struct{})
	t.Cleanup(func() { close(hung) })
	tests := []struct {
		name      string
		timeout   string
		fn        func(int, []byte) ([]byte, error)
		wantError string
		wantCause string
		lastEvent types.HistoryEventType
	}{
		{name: "handler error keeps its type", fn: func(int, []byte) ([]byte, error) {
			return nil, &sfn.FunctionError{Payload: []byte(`{"errorType":"ConfigError","errorMessage":"bad key"}`)}
		}, wantError: "ConfigError", wantCause: `{"errorType":"ConfigError","errorMessage":"bad key"}`, lastEvent: types.HistoryEventTypeLambdaFunctionFailed},
		{name: "crash is Lambda.Unknown", fn: func(int, []byte) ([]byte, error) {
			return nil, &sfn.FunctionError{Payload: []byte(`{"errorType":"Runtime.ExitError","errorMessage":"exit status 2"}`), Unknown: true}
		}, wantError: "Lambda.Unknown", wantCause: "The cause could not be determined because Lambda did not return an error type.", lastEvent: types.HistoryEventTypeLambdaFunctionFailed},
		{name: "no error type is Lambda.Unknown", fn: func(int, []byte) ([]byte, error) {
			return nil, &sfn.FunctionError{Payload: []byte(`{"errorMessage":"Task timed out after 3.00 seconds"}`)}
		}, wantError: "Lambda.Unknown", wantCause: "Task timed out after 3.00 seconds", lastEvent: types.HistoryEventTypeLambdaFunctionFailed},
		{name: "service error", fn: func(int, []byte) ([]byte, error) {
			return nil, awsapi.AccessDenied("User: x is not authorized to perform: lambda:InvokeFunction")
		}, wantError: "Lambda.AWSLambdaException", wantCause: "not authorized to perform: lambda:InvokeFunction (Service: AWSLambda; Status Code: 403; Error Code: AccessDeniedException;", lastEvent: types.HistoryEventTypeLambdaFunctionFailed},
		{name: "past TimeoutSeconds", timeout: `"TimeoutSeconds": 1,`, fn: func(int, []byte) ([]byte, error) {
			<-hung // answers only once the test is over
			return []byte(`{}`), nil
		}, wantError: "States.Timeout", lastEvent: types.HistoryEventTypeLambdaFunctionTimedOut},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := fmt.Sprintf("%sf%d", fnARN, i)
			e.lambda.mu.Lock()
			e.lambda.fns[fn] = tt.fn
			e.lambda.mu.Unlock()
			def := fmt.Sprintf(`{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":%q,%s
			  "Catch":[{"ErrorEquals":["States.TaskFailed"],"Next":"TaskFailed"}],"End":true},"TaskFailed":{"Type":"Fail","Error":"CaughtAsTaskFailed"}}}`, fn, tt.timeout)
			machine := e.create(t, fmt.Sprintf("failures-%d", i), def)
			desc := e.wait(t, e.start(t, machine, "", `{}`))
			wantError := tt.wantError
			if tt.wantError != "States.Timeout" {
				// States.TaskFailed catches every Task failure but a timeout.
				wantError = "CaughtAsTaskFailed"
			}
			if desc.Status != types.ExecutionStatusFailed || aws.ToString(desc.Error) != wantError {
				t.Fatalf("status %s error %q cause %q, want FAILED %q", desc.Status, aws.ToString(desc.Error), aws.ToString(desc.Cause), wantError)
			}
			events := e.history(t, aws.ToString(desc.ExecutionArn))
			var failed *types.HistoryEvent
			for i := range events {
				if events[i].Type == tt.lastEvent {
					failed = &events[i]
				}
			}
			if failed == nil {
				t.Fatalf("no %s in %v", tt.lastEvent, eventTypes(events))
			}
			var gotError, gotCause string
			if d := failed.LambdaFunctionFailedEventDetails; d != nil {
				gotError, gotCause = aws.ToString(d.Error), aws.ToString(d.Cause)
			}
			if d := failed.LambdaFunctionTimedOutEventDetails; d != nil {
				gotError = aws.ToString(d.Error)
			}
			if gotError != tt.wantError || !strings.Contains(gotCause, tt.wantCause) {
				t.Errorf("%s: error %q cause %q, want %q containing %q", tt.lastEvent, gotError, gotCause, tt.wantError, tt.wantCause)
			}
		})
	}
}

func TestStartExecutionNames(t *testing.T) {
	e := setup(t)
	machine := e.create(t, "waiter", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":30,"End":true}}}`)
	first := e.start(t, machine, "nightly", `{"a":1}`)
	// The same name and input while it runs: the same execution.
	out, err := e.client.StartExecution(t.Context(), &sfnapi.StartExecutionInput{StateMachineArn: aws.String(machine), Name: aws.String("nightly"), Input: aws.String(`{"a":1}`)})
	if err != nil || aws.ToString(out.ExecutionArn) != first {
		t.Fatalf("same name and input: %v %v", out, err)
	}
	_, err = e.client.StartExecution(t.Context(), &sfnapi.StartExecutionInput{StateMachineArn: aws.String(machine), Name: aws.String("nightly"), Input: aws.String(`{"a":2}`)})
	apiError(t, err, "ExecutionAlreadyExists")

	stop, err := e.client.StopExecution(t.Context(), &sfnapi.StopExecutionInput{ExecutionArn: aws.String(first), Error: aws.String("Operator"), Cause: aws.String("not tonight")})
	if err != nil || stop.StopDate == nil {
		t.Fatalf("StopExecution: %v", err)
	}
	desc := e.wait(t, first)
	if desc.Status != types.ExecutionStatusAborted || aws.ToString(desc.Error) != "Operator" || aws.ToString(desc.Cause) != "not tonight" {
		t.Fatalf("after stop: %s %q %q", desc.Status, aws.ToString(desc.Error), aws.ToString(desc.Cause))
	}
	events := e.history(t, first)
	if last := events[len(events)-1]; last.Type != types.HistoryEventTypeExecutionAborted || aws.ToString(last.ExecutionAbortedEventDetails.Error) != "Operator" {
		t.Fatalf("history ends %v", eventTypes(events))
	}
	// Once closed, the name is taken whatever the input.
	_, err = e.client.StartExecution(t.Context(), &sfnapi.StartExecutionInput{StateMachineArn: aws.String(machine), Name: aws.String("nightly"), Input: aws.String(`{"a":1}`)})
	apiError(t, err, "ExecutionAlreadyExists")

	// ListExecutions pages, newest first, and filters by status.
	second := e.start(t, machine, "second", `{}`)
	page, err := e.client.ListExecutions(t.Context(), &sfnapi.ListExecutionsInput{StateMachineArn: aws.String(machine), MaxResults: 1})
	if err != nil || len(page.Executions) != 1 || aws.ToString(page.Executions[0].ExecutionArn) != second || page.NextToken == nil {
		t.Fatalf("first page: %+v %v", page, err)
	}
	page, err = e.client.ListExecutions(t.Context(), &sfnapi.ListExecutionsInput{StateMachineArn: aws.String(machine), NextToken: page.NextToken})
	if err != nil || len(page.Executions) != 1 || aws.ToString(page.Executions[0].ExecutionArn) != first || page.NextToken != nil {
		t.Fatalf("second page: %+v %v", page, err)
	}
	page, err = e.client.ListExecutions(t.Context(), &sfnapi.ListExecutionsInput{StateMachineArn: aws.String(machine), StatusFilter: types.ExecutionStatusAborted})
	if err != nil || len(page.Executions) != 1 || aws.ToString(page.Executions[0].Name) != "nightly" {
		t.Fatalf("ABORTED filter: %+v %v", page, err)
	}
	_, err = e.client.ListExecutions(t.Context(), &sfnapi.ListExecutionsInput{StateMachineArn: aws.String(machine), NextToken: aws.String("bogus")})
	apiError(t, err, "InvalidToken")
}

func TestStartExecutionBadInput(t *testing.T) {
	e := setup(t)
	machine := e.create(t, "pass", `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)
	tests := []struct {
		name, execName, input, code string
	}{
		{"input not JSON", "", `{"a":`, "InvalidExecutionInput"},
		{"input of 256 KiB and more", "", `{"a":"` + strings.Repeat("x", 262144) + `"}`, "ValidationException"},
		{"name with a space", "two words", `{}`, "InvalidName"},
		{"name too long", strings.Repeat("n", 81), `{}`, "InvalidName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &sfnapi.StartExecutionInput{StateMachineArn: aws.String(machine), Input: aws.String(tt.input)}
			if tt.execName != "" {
				in.Name = aws.String(tt.execName)
			}
			_, err := e.client.StartExecution(t.Context(), in)
			apiError(t, err, tt.code)
		})
	}
	_, err := e.client.StartExecution(t.Context(), &sfnapi.StartExecutionInput{StateMachineArn: aws.String(machine + "-gone")})
	apiError(t, err, "StateMachineDoesNotExist")
	_, err = e.client.DescribeExecution(t.Context(), &sfnapi.DescribeExecutionInput{ExecutionArn: aws.String("arn:aws:states:us-east-1:111111111111:stateMachine:pass")})
	apiError(t, err, "InvalidArn")
	_, err = e.client.StartExecution(t.Context(), &sfnapi.StartExecutionInput{StateMachineArn: aws.String(machine)},
		func(o *sfnapi.Options) {
			o.APIOptions = append(o.APIOptions, sandboxtest.ReplaceBody(`{"stateMachineArn":"`+machine+`","inputs":"{}"}`))
		})
	if msg := apiError(t, err, "ValidationException"); !strings.Contains(msg, `"inputs"`) {
		t.Errorf("unknown member message %q", msg)
	}
}

func TestHistoryLimitFailsExecution(t *testing.T) {
	e := setup(t)
	machine := e.create(t, "spin", `{"StartAt":"Spin","States":{"Spin":{"Type":"Pass","Next":"Again"},"Again":{"Type":"Choice","Choices":[{"Variable":"$.stop","IsPresent":true,"Next":"Done"}],"Default":"Spin"},"Done":{"Type":"Succeed"}}}`)
	desc := e.wait(t, e.start(t, machine, "", `{}`))
	if desc.Status != types.ExecutionStatusFailed || aws.ToString(desc.Error) != "States.Runtime" ||
		aws.ToString(desc.Cause) != "The execution reached the maximum number of history events (25000)." {
		t.Fatalf("status %s error %q cause %q", desc.Status, aws.ToString(desc.Error), aws.ToString(desc.Cause))
	}
	page, err := e.client.GetExecutionHistory(t.Context(), &sfnapi.GetExecutionHistoryInput{ExecutionArn: desc.ExecutionArn, ReverseOrder: true, MaxResults: 2})
	if err != nil {
		t.Fatal(err)
	}
	last, before := page.Events[0], page.Events[1]
	if last.Id != 25000 || last.PreviousEventId != 24999 || last.Type != types.HistoryEventTypeExecutionFailed || before.Id != 24999 {
		t.Fatalf("last events: %d %s (prev %d), %d %s", last.Id, last.Type, last.PreviousEventId, before.Id, before.Type)
	}
	if n := len(e.history(t, aws.ToString(desc.ExecutionArn))); n != 25000 {
		t.Fatalf("%d events, want 25000", n)
	}
}
