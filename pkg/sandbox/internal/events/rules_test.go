package events_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

func code(t *testing.T, err error, want string) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	return ae.ErrorMessage()
}

// role creates a role of master that service may assume, with policy (a JSON
// statement list) as its permissions.
func role(t *testing.T, sb *sandbox.Sandbox, name, service, statements string) string {
	t.Helper()
	client := iam.NewFromConfig(sb.AWSConfig("master"))
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":%q},"Action":"sts:AssumeRole"}]}`, service)
	out, err := client.CreateRole(t.Context(), &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	if statements != "" {
		if _, err := client.PutRolePolicy(t.Context(), &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("p"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":` + statements + `}`)}); err != nil {
			t.Fatal(err)
		}
	}
	return aws.ToString(out.Role.Arn)
}

// pipeline is a state machine whose executions end with their input as output.
type pipeline struct {
	sb      *sandbox.Sandbox
	eb      *eventbridge.Client
	sfn     *sfn.Client
	machine string
	// startRole may start executions of the machine; noStartRole may not.
	startRole, noStartRole string
}

func newPipeline(t *testing.T) *pipeline {
	t.Helper()
	sb := sandboxtest.Start(t)
	p := &pipeline{sb: sb, eb: eventbridge.NewFromConfig(sb.AWSConfig("master")), sfn: sfn.NewFromConfig(sb.AWSConfig("master"))}
	statesRole := role(t, sb, "StatesRole", "states.amazonaws.com", "")
	out, err := p.sfn.CreateStateMachine(t.Context(), &sfn.CreateStateMachineInput{Name: aws.String("deploy"), RoleArn: aws.String(statesRole),
		Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	p.machine = aws.ToString(out.StateMachineArn)
	p.startRole = role(t, sb, "EventsStart", "events.amazonaws.com", `[{"Effect":"Allow","Action":"states:StartExecution","Resource":"`+p.machine+`"}]`)
	p.noStartRole = role(t, sb, "EventsNothing", "events.amazonaws.com", "")
	return p
}

// executions waits until the state machine has n executions and returns their inputs.
func (p *pipeline) executions(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := p.sfn.ListExecutions(t.Context(), &sfn.ListExecutionsInput{StateMachineArn: aws.String(p.machine)})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Executions) >= n {
			var inputs []string
			for _, x := range list.Executions {
				d, err := p.sfn.DescribeExecution(t.Context(), &sfn.DescribeExecutionInput{ExecutionArn: x.ExecutionArn})
				if err != nil {
					t.Fatal(err)
				}
				inputs = append(inputs, aws.ToString(d.Input))
			}
			if len(inputs) > n {
				t.Fatalf("%d executions, want %d: %v", len(inputs), n, inputs)
			}
			return inputs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d executions after 30s, want %d", len(list.Executions), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRulesAPI(t *testing.T) {
	p := newPipeline(t)
	ctx := t.Context()
	pattern := `{"source":["stackerless"],"detail-type":[{"prefix":"Run "}]}`
	out, err := p.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("runs"), EventPattern: aws.String(pattern), Description: aws.String("runs")})
	if err != nil || aws.ToString(out.RuleArn) != "arn:aws:events:us-east-1:111111111111:rule/runs" {
		t.Fatalf("PutRule: %v %v", out, err)
	}
	_, err = p.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("runs"), Targets: []types.Target{
		{Id: aws.String("deploy"), Arn: aws.String(p.machine), RoleArn: aws.String(p.startRole), InputPath: aws.String("$.detail")}}})
	if err != nil {
		t.Fatal(err)
	}
	desc, err := p.eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("runs")})
	if err != nil || aws.ToString(desc.EventPattern) != pattern || desc.State != types.RuleStateEnabled || aws.ToString(desc.EventBusName) != "default" {
		t.Fatalf("DescribeRule: %+v %v", desc, err)
	}
	targets, err := p.eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("runs")})
	if err != nil || len(targets.Targets) != 1 || aws.ToString(targets.Targets[0].InputPath) != "$.detail" || aws.ToString(targets.Targets[0].RoleArn) != p.startRole {
		t.Fatalf("ListTargetsByRule: %+v %v", targets, err)
	}
	if _, err := p.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("other"), EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
		t.Fatal(err)
	}
	rules, err := p.eb.ListRules(ctx, &eventbridge.ListRulesInput{NamePrefix: aws.String("ru")})
	if err != nil || len(rules.Rules) != 1 || aws.ToString(rules.Rules[0].Name) != "runs" {
		t.Fatalf("ListRules: %+v %v", rules, err)
	}

	// A matching event starts an execution with the target's input; a
	// different one starts nothing.
	put := func(detailType, detail string) {
		t.Helper()
		res, err := p.eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
			{Source: aws.String("stackerless"), DetailType: aws.String(detailType), Detail: aws.String(detail)}}})
		if err != nil || res.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %+v %v", res, err)
		}
	}
	put("Deploy Requested", `{"n":0}`)
	put("Run Requested", `{"n":1}`)
	if inputs := p.executions(t, 1); inputs[0] != `{"n":1}` {
		t.Fatalf("execution input %s", inputs[0])
	}
	d := p.sb.Deliveries()
	if len(d) != 1 || d[0].Err != nil || !strings.Contains(d[0].Result, ":execution:deploy:") || d[0].TargetID != "deploy" {
		t.Fatalf("deliveries = %+v", d)
	}

	// Disabled rules deliver nothing.
	if _, err := p.eb.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String("runs")}); err != nil {
		t.Fatal(err)
	}
	put("Run Requested", `{"n":2}`)
	if n := len(p.sb.Deliveries()); n != 1 {
		t.Fatalf("a disabled rule delivered: %d deliveries", n)
	}

	_, err = p.eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("runs")})
	code(t, err, "ValidationException")
	if _, err := p.eb.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String("runs"), Ids: []string{"deploy"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("runs")}); err != nil {
		t.Fatal(err)
	}
	_, err = p.eb.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("runs")})
	code(t, err, "ResourceNotFoundException")

	match, err := p.eb.TestEventPattern(ctx, &eventbridge.TestEventPatternInput{EventPattern: aws.String(`{"detail":{"key":[{"suffix":".yaml"}]}}`),
		Event: aws.String(`{"id":"1","account":"111111111111","source":"s","time":"2021-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail-type":"d","detail":{"key":"a.yaml"}}`)})
	if err != nil || !match.Result {
		t.Fatalf("TestEventPattern: %+v %v", match, err)
	}
}

func TestRulesRefuse(t *testing.T) {
	p := newPipeline(t)
	ctx := t.Context()
	tests := []struct {
		name string
		call func() error
		code string
		want string
	}{
		{"malformed pattern", func() error {
			_, err := p.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":"aws.s3"}`)})
			return err
		}, "InvalidEventPatternException", "Event pattern is not valid. Reason:"},
		{"unknown matcher", func() error {
			_, err := p.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":[{"prefixes":"aws."}]}`)})
			return err
		}, "InvalidEventPatternException", "Unrecognized match type prefixes"},
		{"neither pattern nor schedule", func() error {
			_, err := p.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r")})
			return err
		}, "ValidationException", "EventPattern or ScheduleExpression"},
		{"bad schedule", func() error {
			_, err := p.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), ScheduleExpression: aws.String("rate(5 minute)")})
			return err
		}, "ValidationException", "ScheduleExpression is not valid"},
		{"schedule on a custom bus", func() error {
			if _, err := p.eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("custom")}); err != nil {
				return err
			}
			_, err := p.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventBusName: aws.String("custom"), ScheduleExpression: aws.String("rate(5 minutes)")})
			return err
		}, "ValidationException", "only on the default event bus"},
		{"rule on a bus that does not exist", func() error {
			_, err := p.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventBusName: aws.String("nope"), EventPattern: aws.String(`{"source":["x"]}`)})
			return err
		}, "ResourceNotFoundException", "Event bus nope does not exist."},
		{"targets of a rule that does not exist", func() error {
			_, err := p.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("none"), Targets: []types.Target{{Id: aws.String("t"), Arn: aws.String(p.machine), RoleArn: aws.String(p.startRole)}}})
			return err
		}, "ResourceNotFoundException", "Rule none does not exist on EventBus default."},
		{"Step Functions target without a role", func() error {
			if _, err := p.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("ok"), EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
				return err
			}
			_, err := p.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("ok"), Targets: []types.Target{{Id: aws.String("t"), Arn: aws.String(p.machine)}}})
			return err
		}, "ValidationException", "RoleArn is required"},
		{"Input that is not JSON", func() error {
			_, err := p.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("ok"), Targets: []types.Target{{Id: aws.String("t"), Arn: aws.String(p.machine), RoleArn: aws.String(p.startRole), Input: aws.String("{")}}})
			return err
		}, "ValidationException", "Input is not valid JSON"},
		{"six targets", func() error {
			var ts []types.Target
			for i := range 6 {
				ts = append(ts, types.Target{Id: aws.String(fmt.Sprint("t", i)), Arn: aws.String(p.machine), RoleArn: aws.String(p.startRole)})
			}
			_, err := p.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("ok"), Targets: ts})
			return err
		}, "LimitExceededException", ""},
		{"unknown member", func() error {
			_, err := p.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("r")}, func(o *eventbridge.Options) {
				o.APIOptions = append(o.APIOptions, sandboxtest.ReplaceBody(`{"Name":"r","Pattern":"{}"}`))
			})
			return err
		}, "ValidationException", `Unknown parameter in input: "Pattern"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if msg := code(t, tt.call(), tt.code); !strings.Contains(msg, tt.want) {
				t.Fatalf("message %q does not say %q", msg, tt.want)
			}
		})
	}
}

// TestCustomBusAndTargetRole: events on a custom bus reach its rules; a
// target role that may not start executions starts none.
func TestCustomBusAndTargetRole(t *testing.T) {
	p := newPipeline(t)
	ctx := t.Context()
	if _, err := p.eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("runs")}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ name, role string }{{"allowed", p.startRole}, {"denied", p.noStartRole}} {
		if _, err := p.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(r.name), EventBusName: aws.String("runs"),
			EventPattern: aws.String(`{"detail":{"n":[{"numeric":[">",0]}]}}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := p.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(r.name), EventBusName: aws.String("runs"), Targets: []types.Target{
			{Id: aws.String("t"), Arn: aws.String(p.machine), RoleArn: aws.String(r.role), InputTransformer: &types.InputTransformer{
				InputPathsMap: map[string]string{"n": "$.detail.n"}, InputTemplate: aws.String(`{"count": <n>, "rule": "<aws.events.rule-name>"}`)}}}}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := p.eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{EventBusName: aws.String("runs"), Source: aws.String("s"), DetailType: aws.String("d"), Detail: aws.String(`{"n":3}`)},
		{Source: aws.String("s"), DetailType: aws.String("d"), Detail: aws.String(`{"n":4}`)}, // default bus: no rule
		{EventBusName: aws.String("missing"), Source: aws.String("s"), DetailType: aws.String("d"), Detail: aws.String(`{}`)},
	}})
	if err != nil || res.FailedEntryCount != 1 || aws.ToString(res.Entries[2].ErrorCode) != "ResourceNotFoundException" {
		t.Fatalf("PutEvents: %+v %v", res, err)
	}
	if inputs := p.executions(t, 1); inputs[0] != `{"count": 3, "rule": "allowed"}` {
		t.Fatalf("input %s", inputs[0])
	}
	var denied []sandbox.Delivery
	for _, d := range p.sb.Deliveries() {
		if strings.HasSuffix(d.RuleARN, "/denied") {
			denied = append(denied, d)
		}
	}
	if len(denied) != 1 || denied[0].Err == nil || !strings.Contains(denied[0].Err.Error(), "states:StartExecution") {
		t.Fatalf("denied deliveries = %+v", denied)
	}
}

// TestObjectCreatedStartsExecution: a bucket with EventBridge on sends
// "Object Created" to the default bus, where a prefix/suffix rule starts
// the state machine; a key with the wrong suffix starts nothing.
func TestObjectCreatedStartsExecution(t *testing.T) {
	p := newPipeline(t)
	ctx := t.Context()
	s3c := s3.NewFromConfig(p.sb.AWSConfig("master"), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("configs")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("configs"),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("configs"),
		NotificationConfiguration: &s3types.NotificationConfiguration{EventBridgeConfiguration: &s3types.EventBridgeConfiguration{}}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s3c.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("configs")}); err != nil || got.EventBridgeConfiguration == nil {
		t.Fatalf("GetBucketNotificationConfiguration: %+v %v", got, err)
	}
	pattern := `{"source":["aws.s3"],"detail-type":["Object Created"],"detail":{"bucket":{"name":["configs"]},"object":{"key":[{"prefix":"teams/"}]},"$or":[{"object":{"key":[{"suffix":".yaml"}]}},{"object":{"key":[{"suffix":".yml"}]}}]}}`
	if _, err := p.eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("on-upload"), EventPattern: aws.String(pattern)}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("on-upload"), Targets: []types.Target{
		{Id: aws.String("deploy"), Arn: aws.String(p.machine), RoleArn: aws.String(p.startRole)}}}); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"teams/a/stacker.json", "other/stacker.yaml", "teams/a/stacker.yaml"} {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("configs"), Key: aws.String(key), Body: strings.NewReader("namespace: x\n")}); err != nil {
			t.Fatal(err)
		}
	}
	inputs := p.executions(t, 1)
	var event struct {
		Source     string   `json:"source"`
		DetailType string   `json:"detail-type"`
		Account    string   `json:"account"`
		Region     string   `json:"region"`
		Resources  []string `json:"resources"`
		Detail     struct {
			Version string `json:"version"`
			Bucket  struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key       string `json:"key"`
				Size      int    `json:"size"`
				ETag      string `json:"etag"`
				VersionID string `json:"version-id"`
				Sequencer string `json:"sequencer"`
			} `json:"object"`
			RequestID string `json:"request-id"`
			Requester string `json:"requester"`
			SourceIP  string `json:"source-ip-address"`
			Reason    string `json:"reason"`
		} `json:"detail"`
	}
	if err := json.Unmarshal([]byte(inputs[0]), &event); err != nil {
		t.Fatal(err)
	}
	d := event.Detail
	if event.Source != "aws.s3" || event.DetailType != "Object Created" || event.Account != "111111111111" || event.Region != "us-east-1" ||
		len(event.Resources) != 1 || event.Resources[0] != "arn:aws:s3:::configs" || d.Version != "0" || d.Bucket.Name != "configs" ||
		d.Object.Key != "teams/a/stacker.yaml" || d.Object.Size != 13 || len(d.Object.ETag) != 32 || d.Object.VersionID == "" ||
		d.Object.Sequencer == "" || d.RequestID == "" || d.Requester != "111111111111" || d.SourceIP != "127.0.0.1" || d.Reason != "PutObject" {
		t.Fatalf("execution input %s", inputs[0])
	}
	// The execution's input is pinned to the object version written.
	head, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("configs"), Key: aws.String("teams/a/stacker.yaml")})
	if err != nil || aws.ToString(head.VersionId) != d.Object.VersionID {
		t.Fatalf("version %s, event says %s (%v)", aws.ToString(head.VersionId), d.Object.VersionID, err)
	}
	list, err := p.sfn.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(p.machine), StatusFilter: sfntypes.ExecutionStatusSucceeded})
	if err != nil || len(list.Executions) > 1 {
		t.Fatalf("executions: %+v %v", list, err)
	}

	// At-least-once delivery: the same event, delivered again, starts a
	// second execution with the same input (the same event id).
	var id struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(inputs[0]), &id); err != nil || id.ID == "" {
		t.Fatalf("event id in %s: %v", inputs[0], err)
	}
	again, err := p.sb.Redeliver(id.ID)
	if err != nil || len(again) != 1 || again[0].Err != nil || again[0].EventID != id.ID || again[0].Input != inputs[0] {
		t.Fatalf("Redeliver: %+v %v", again, err)
	}
	if inputs := p.executions(t, 2); inputs[0] != inputs[1] {
		t.Fatalf("redelivered input %s, first %s", inputs[0], inputs[1])
	}
	if _, err := p.sb.Redeliver("no-such-event"); err == nil {
		t.Fatal("Redeliver of an unknown event succeeded")
	}
}

// TestScheduledRuleAccepted: rules take schedules through the API (they fire
// on time, see TestScheduleFires: a real rate(1 minute) waits a minute).
func TestScheduledRuleAccepted(t *testing.T) {
	p := newPipeline(t)
	out, err := p.eb.PutRule(t.Context(), &eventbridge.PutRuleInput{Name: aws.String("nightly"), ScheduleExpression: aws.String("cron(0 2 * * ? *)")})
	if err != nil || aws.ToString(out.RuleArn) == "" {
		t.Fatalf("PutRule: %v %v", out, err)
	}
	desc, err := p.eb.DescribeRule(t.Context(), &eventbridge.DescribeRuleInput{Name: aws.String("nightly")})
	if err != nil || aws.ToString(desc.ScheduleExpression) != "cron(0 2 * * ? *)" || desc.EventPattern != nil {
		t.Fatalf("DescribeRule: %+v %v", desc, err)
	}
}
