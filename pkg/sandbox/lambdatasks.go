package sandbox

import (
	"context"
	"encoding/json"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/lambda"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/sfn"
)

// lambdaTasks runs Step Functions Task states with the sandbox's Lambda:
// a synchronous Invoke as the state machine's role session.
type lambdaTasks struct{ svc *lambda.Service }

func (t lambdaTasks) InvokeTask(ctx context.Context, call *awsapi.Call, functionARN string, payload []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res, err := t.svc.Invoke(call, lambda.InvokeInput{FunctionName: functionARN, Payload: payload})
	if err != nil {
		e := awsapi.AsError(err)
		if e.Code == "AccessDenied" {
			// The exception name Lambda's clients see, as Step Functions reports it.
			e = &awsapi.Error{Status: e.Status, Code: "AccessDeniedException", Message: e.Message}
		}
		return nil, e
	}
	if res.FunctionError == "" {
		return res.Payload, nil
	}
	var doc struct {
		ErrorType string `json:"errorType"`
	}
	_ = json.Unmarshal(res.Payload, &doc)
	// A timeout or a crash has no error type of the function's own.
	unknown := doc.ErrorType == "Sandbox.Timedout" || doc.ErrorType == "Runtime.ExitError"
	return nil, &sfn.FunctionError{Payload: res.Payload, Unknown: unknown}
}

// lambdaTargets delivers EventBridge rules' events to Lambda targets: an
// Event invocation by events.amazonaws.com, which the function's resource
// policy must allow for the rule.
type lambdaTargets struct{ svc *lambda.Service }

func (t lambdaTargets) InvokeAsync(ctx context.Context, functionARN string, payload []byte, sourceARN, sourceAccount string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	call := &awsapi.Call{Caller: &awsapi.Caller{Service: "events.amazonaws.com"}, Service: "lambda", Action: "Invoke", Secure: true,
		Time: time.Now(), RequestID: awsapi.NewUUID()}
	_, err := t.svc.Invoke(call, lambda.InvokeInput{FunctionName: functionARN, Payload: payload, InvocationType: "Event",
		SourceKeys: map[string]string{"aws:SourceArn": sourceARN, "aws:SourceAccount": sourceAccount}})
	return err
}

// lambdaAsRole invokes functions for Scheduler: an Event invocation as a
// session of the target's role, whose lambda:InvokeFunction decides.
type lambdaAsRole struct{ svc *lambda.Service }

func (t lambdaAsRole) InvokeAsyncAs(ctx context.Context, call *awsapi.Call, functionARN string, payload []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err := t.svc.Invoke(call, lambda.InvokeInput{FunctionName: functionARN, Payload: payload, InvocationType: "Event"})
	return err
}
