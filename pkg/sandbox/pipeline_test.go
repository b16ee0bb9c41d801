package sandbox_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	eventbridgetypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedulertypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// pipelineDefinition is Task -> Choice -> Wait -> Task: the second Task
// retried on Lambda.TooManyRequestsException and its typed error caught.
func pipelineDefinition(prepare, advance string) string {
	return `{"StartAt":"Prepare","States":{
	  "Prepare":{"Type":"Task","Resource":"` + prepare + `","Parameters":{"op":"echo","name.$":"$.name"},"ResultPath":"$.prepared","Next":"Ready?"},
	  "Ready?":{"Type":"Choice","Choices":[{"Variable":"$.prepared.hello","StringEquals":"go","Next":"Pause"}],"Default":"NotReady"},
	  "NotReady":{"Type":"Fail","Error":"NotReady"},
	  "Pause":{"Type":"Wait","Seconds":1,"Next":"Advance"},
	  "Advance":{"Type":"Task","Resource":"` + advance + `","Parameters":{"op":"error","name.$":"$.source"},
	    "Retry":[{"ErrorEquals":["Lambda.TooManyRequestsException"],"IntervalSeconds":1,"MaxAttempts":2,"BackoffRate":1}],
	    "Catch":[{"ErrorEquals":["NotFoundError"],"ResultPath":"$.error","Next":"Handled"}],"End":true},
	  "Handled":{"Type":"Pass","End":true}}}`
}

// waitExecution polls until the execution ends and returns its description.
func waitExecution(t *testing.T, sc *sfn.Client, arn string) *sfn.DescribeExecutionOutput {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		d, err := sc.DescribeExecution(t.Context(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != sfntypes.ExecutionStatusRunning {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s still running", arn)
		}
	}
}

// TestPipelineDoneWhen is the acceptance test, with the SDK: the
// state machine runs a real Go Lambda through Task -> Choice -> Wait -> Task,
// retries a throttle the sandbox injects, catches the function's typed
// error, and records AWS's history; an upload to a bucket with EventBridge
// on starts it through a rule with prefix and suffix matchers (a wrong
// suffix starts nothing); a schedule fires it; and a role without
// lambda:InvokeFunction fails the execution.
func TestPipelineDoneWhen(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	cfg := sb.AWSConfig("master")
	prepare := createGoFunction(t, sb, "prepare")
	advance := createGoFunction(t, sb, "advance")
	statesRole := serviceRole(t, sb, "pipeline-states", "states.amazonaws.com",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":["`+prepare+`","`+advance+`"]}]}`)
	sc := sfn.NewFromConfig(cfg)
	sm, err := sc.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("pipeline"), Definition: aws.String(pipelineDefinition(prepare, advance)),
		RoleArn: aws.String(statesRole)})
	if err != nil {
		t.Fatal(err)
	}
	machine := aws.ToString(sm.StateMachineArn)

	// Started by hand, with one throttle of the second function armed.
	sb.Faults().ThrottleLambda("advance", 1)
	ex, err := sc.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String("by-hand"),
		Input: aws.String(`{"name":"go","source":"console"}`)})
	if err != nil {
		t.Fatal(err)
	}
	d := waitExecution(t, sc, aws.ToString(ex.ExecutionArn))
	if d.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("execution %s: %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	var out struct {
		Prepared struct{ Hello string }
		Error    struct{ Error, Cause string }
	}
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil {
		t.Fatal(err)
	}
	if out.Prepared.Hello != "go" || out.Error.Error != "NotFoundError" || !strings.Contains(out.Error.Cause, "console was not found") {
		t.Errorf("output %s", aws.ToString(d.Output))
	}
	if took := d.StopDate.Sub(*d.StartDate); took < 2*time.Second {
		t.Errorf("the execution took %s; its Wait is 1s and its Retry interval 1s", took)
	}
	hist, err := sc.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: ex.ExecutionArn, MaxResults: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range hist.Events {
		types = append(types, string(e.Type))
	}
	want := []string{"ExecutionStarted",
		"TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionSucceeded", "TaskStateExited",
		"ChoiceStateEntered", "ChoiceStateExited", "WaitStateEntered", "WaitStateExited",
		"TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionFailed",
		"LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionFailed", "TaskStateExited",
		"PassStateEntered", "PassStateExited", "ExecutionSucceeded"}
	if strings.Join(types, " ") != strings.Join(want, " ") {
		t.Fatalf("history\n got %v\nwant %v", types, want)
	}
	if f := hist.Events[13].LambdaFunctionFailedEventDetails; f == nil || aws.ToString(f.Error) != "Lambda.TooManyRequestsException" {
		t.Errorf("throttled attempt %+v", f)
	}
	if f := hist.Events[16].LambdaFunctionFailedEventDetails; f == nil || aws.ToString(f.Error) != "NotFoundError" {
		t.Errorf("failed attempt %+v", f)
	}

	// An upload to the bucket starts it through a rule matching the key's suffix and the bucket's prefix.
	eventsRole := serviceRole(t, sb, "pipeline-events", "events.amazonaws.com",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"states:StartExecution","Resource":"`+machine+`"}]}`)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("configs-master")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("configs-master"),
		NotificationConfiguration: &s3types.NotificationConfiguration{EventBridgeConfiguration: &s3types.EventBridgeConfiguration{}}}); err != nil {
		t.Fatal(err)
	}
	eb := eventbridge.NewFromConfig(cfg)
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("on-upload"), EventPattern: aws.String(
		`{"source":["aws.s3"],"detail-type":["Object Created"],"detail":{"bucket":{"name":[{"prefix":"configs-"}]},"object":{"key":[{"suffix":".yaml"}]}}}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("on-upload"), Targets: []eventbridgetypes.Target{{
		Id: aws.String("run"), Arn: aws.String(machine), RoleArn: aws.String(eventsRole),
		InputTransformer: &eventbridgetypes.InputTransformer{InputPathsMap: map[string]string{"key": "$.detail.object.key"},
			InputTemplate: aws.String(`{"name":"go","source":<key>}`)}}}}); err != nil {
		t.Fatal(err)
	}
	executions := func() []sfntypes.ExecutionListItem {
		t.Helper()
		list, err := sc.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: sm.StateMachineArn})
		if err != nil {
			t.Fatal(err)
		}
		return list.Executions
	}
	for _, key := range []string{"stacker.json", "stacker.yaml"} {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("configs-master"), Key: aws.String(key), Body: strings.NewReader("namespace: x")}); err != nil {
			t.Fatal(err)
		}
	}
	var fromUpload string
	for deadline := time.Now().Add(10 * time.Second); fromUpload == ""; time.Sleep(20 * time.Millisecond) {
		if xs := executions(); len(xs) > 1 {
			fromUpload = aws.ToString(xs[0].ExecutionArn)
		} else if time.Now().After(deadline) {
			t.Fatalf("no execution from the upload; deliveries %+v", sb.Deliveries())
		}
	}
	if d := waitExecution(t, sc, fromUpload); d.Status != sfntypes.ExecutionStatusSucceeded || !strings.Contains(aws.ToString(d.Output), "stacker.yaml was not found") {
		t.Errorf("execution from the upload: %s %s", d.Status, aws.ToString(d.Output))
	}
	if n := len(executions()); n != 2 {
		t.Errorf("%d executions after the uploads; the .json upload must start none", n)
	}

	// A schedule fires it.
	schedulerRole := serviceRole(t, sb, "pipeline-scheduler", "scheduler.amazonaws.com",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"states:StartExecution","Resource":"`+machine+`"}]}`)
	schedc := scheduler.NewFromConfig(cfg)
	s, err := schedc.CreateSchedule(ctx, &scheduler.CreateScheduleInput{Name: aws.String("reconcile"), ScheduleExpression: aws.String("cron(0 6 ? * MON-FRI *)"),
		ScheduleExpressionTimezone: aws.String("Europe/London"), FlexibleTimeWindow: &schedulertypes.FlexibleTimeWindow{Mode: schedulertypes.FlexibleTimeWindowModeOff},
		Target: &schedulertypes.Target{Arn: aws.String(machine), RoleArn: aws.String(schedulerRole), Input: aws.String(`{"name":"go","source":"schedule"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := sb.Fire(aws.ToString(s.ScheduleArn))
	if err != nil || len(ds) != 1 || ds[0].Err != nil {
		t.Fatalf("Fire = %+v, %v", ds, err)
	}
	if d := waitExecution(t, sc, ds[0].Result); d.Status != sfntypes.ExecutionStatusSucceeded || !strings.Contains(aws.ToString(d.Output), "schedule was not found") {
		t.Errorf("scheduled execution: %s %s", d.Status, aws.ToString(d.Output))
	}

	// A role without lambda:InvokeFunction fails the execution at its first Task.
	denied := serviceRole(t, sb, "pipeline-denied", "states.amazonaws.com",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:*","Resource":"*"}]}`)
	sm2, err := sc.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("pipeline-denied"), Definition: aws.String(pipelineDefinition(prepare, advance)),
		RoleArn: aws.String(denied)})
	if err != nil {
		t.Fatal(err)
	}
	ex2, err := sc.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm2.StateMachineArn, Input: aws.String(`{"name":"go","source":"x"}`)})
	if err != nil {
		t.Fatal(err)
	}
	d = waitExecution(t, sc, aws.ToString(ex2.ExecutionArn))
	if d.Status != sfntypes.ExecutionStatusFailed || aws.ToString(d.Error) != "Lambda.AWSLambdaException" ||
		!strings.Contains(aws.ToString(d.Cause), "is not authorized to perform: lambda:InvokeFunction") ||
		!strings.Contains(aws.ToString(d.Cause), "Error Code: AccessDeniedException") {
		t.Errorf("execution without lambda:InvokeFunction: %s %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
}

// TestStepFunctionsBadInput: malformed definitions, unknown members and an
// input over 256 KB are refused as AWS refuses them.
func TestStepFunctionsBadInput(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	cfg := sb.AWSConfig("master")
	role := serviceRole(t, sb, "bad-input-states", "states.amazonaws.com", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"*"}]}`)
	sc := sfn.NewFromConfig(cfg)
	for _, tt := range []struct{ definition, code, msg string }{
		{`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}`, "InvalidDefinition", "INVALID_JSON_DESCRIPTION"},
		{`{"StartAt":"Missing","States":{"P":{"Type":"Pass","End":true}}}`, "InvalidDefinition", "SCHEMA_VALIDATION_FAILED"},
		{`{"StartAt":"P","States":{"P":{"Type":"Teleport","End":true}}}`, "InvalidDefinition", "SCHEMA_VALIDATION_FAILED"},
		{`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","End":true}}}`, "InvalidDefinition", "local interpreter"},
	} {
		_, err := sc.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("bad"), Definition: aws.String(tt.definition), RoleArn: aws.String(role)})
		if apiCode(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("definition %s: %v, want %s with %q", tt.definition, err, tt.code, tt.msg)
		}
	}
	sm, err := sc.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("ok"), RoleArn: aws.String(role),
		Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	big := `{"pad":"` + strings.Repeat("x", 262144) + `"}`
	_, err = sc.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(big)})
	if apiCode(err) != "ValidationException" || !strings.Contains(err.Error(), "Member must have length less than or equal to 262144") {
		t.Errorf("a 256 KB+ input: %v", err)
	}
	_, err = sc.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(`{"a":`)})
	if apiCode(err) != "InvalidExecutionInput" {
		t.Errorf("malformed input: %v", err)
	}
	eb := eventbridge.NewFromConfig(cfg)
	for _, p := range []string{`{"source":"aws.s3"}`, `{"detail":{"key":[{"suffix":3}]}}`, `{"source":[`, `{"detail":{"key":[{"prefix":"a","suffix":"b"}]}}`} {
		_, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("bad"), EventPattern: aws.String(p)})
		if apiCode(err) != "InvalidEventPatternException" || !strings.Contains(err.Error(), "Event pattern is not valid.") {
			t.Errorf("pattern %s: %v", p, err)
		}
	}
}
