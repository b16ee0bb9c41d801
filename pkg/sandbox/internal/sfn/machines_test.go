package sfn_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfnapi "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

const passMachine = `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`

func TestStateMachineLifecycle(t *testing.T) {
	e := setup(t)
	ctx := t.Context()
	arn := e.create(t, "deploy", passMachine)
	if arn != "arn:aws:states:us-east-1:111111111111:stateMachine:deploy" {
		t.Fatalf("ARN %s", arn)
	}
	// Creating it again identically is idempotent; differently is a conflict.
	again, err := e.client.CreateStateMachine(ctx, &sfnapi.CreateStateMachineInput{Name: aws.String("deploy"), Definition: aws.String(passMachine), RoleArn: aws.String(e.role)})
	if err != nil || aws.ToString(again.StateMachineArn) != arn {
		t.Fatalf("identical create: %v %v", again, err)
	}
	_, err = e.client.CreateStateMachine(ctx, &sfnapi.CreateStateMachineInput{Name: aws.String("deploy"),
		Definition: aws.String(`{"StartAt":"Q","States":{"Q":{"Type":"Pass","End":true}}}`), RoleArn: aws.String(e.role)})
	apiError(t, err, "StateMachineAlreadyExists")

	desc, err := e.client.DescribeStateMachine(ctx, &sfnapi.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(desc.Definition) != passMachine || aws.ToString(desc.RoleArn) != e.role || desc.Status != types.StateMachineStatusActive ||
		desc.Type != types.StateMachineTypeStandard || desc.LoggingConfiguration.Level != types.LogLevelOff || desc.CreationDate == nil {
		t.Fatalf("DescribeStateMachine = %+v", desc)
	}

	upd := `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"v":2},"End":true}}}`
	if _, err := e.client.UpdateStateMachine(ctx, &sfnapi.UpdateStateMachineInput{StateMachineArn: aws.String(arn), Definition: aws.String(upd),
		TracingConfiguration: &types.TracingConfiguration{Enabled: true}}); err != nil {
		t.Fatal(err)
	}
	desc, _ = e.client.DescribeStateMachine(ctx, &sfnapi.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if aws.ToString(desc.Definition) != upd || desc.TracingConfiguration == nil || !desc.TracingConfiguration.Enabled {
		t.Fatalf("after update: %+v", desc)
	}
	if out := e.wait(t, e.start(t, arn, "", `{}`)); aws.ToString(out.Output) != `{"v":2}` {
		t.Fatalf("execution of the updated definition output %s", aws.ToString(out.Output))
	}
	_, err = e.client.UpdateStateMachine(ctx, &sfnapi.UpdateStateMachineInput{StateMachineArn: aws.String(arn)})
	apiError(t, err, "MissingRequiredParameter")

	e.create(t, "another", passMachine)
	page, err := e.client.ListStateMachines(ctx, &sfnapi.ListStateMachinesInput{MaxResults: 1})
	if err != nil || len(page.StateMachines) != 1 || aws.ToString(page.StateMachines[0].Name) != "another" || page.NextToken == nil {
		t.Fatalf("first page: %+v %v", page, err)
	}
	page, err = e.client.ListStateMachines(ctx, &sfnapi.ListStateMachinesInput{NextToken: page.NextToken})
	if err != nil || len(page.StateMachines) != 1 || aws.ToString(page.StateMachines[0].Name) != "deploy" || page.NextToken != nil {
		t.Fatalf("second page: %+v %v", page, err)
	}
	// Another account sees none of them and may not describe them.
	prod := sfnapi.NewFromConfig(e.sb.AWSConfig("prod"))
	if page, err := prod.ListStateMachines(ctx, &sfnapi.ListStateMachinesInput{}); err != nil || len(page.StateMachines) != 0 {
		t.Fatalf("prod's list: %+v %v", page, err)
	}
	_, err = prod.DescribeStateMachine(ctx, &sfnapi.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	apiError(t, err, "AccessDeniedException")

	if _, err := e.client.DeleteStateMachine(ctx, &sfnapi.DeleteStateMachineInput{StateMachineArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DescribeStateMachine(ctx, &sfnapi.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	apiError(t, err, "StateMachineDoesNotExist")
	_, err = e.client.DescribeStateMachine(ctx, &sfnapi.DescribeStateMachineInput{StateMachineArn: aws.String("arn:aws:states:us-east-1:111111111111:activity:x")})
	apiError(t, err, "InvalidArn")
}

// TestDeleteWhileRunning: a state machine being deleted takes no new
// executions and goes once its running ones end.
func TestDeleteWhileRunning(t *testing.T) {
	e := setup(t)
	arn := e.create(t, "slow", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":30,"End":true}}}`)
	x := e.start(t, arn, "", `{}`)
	if _, err := e.client.DeleteStateMachine(t.Context(), &sfnapi.DeleteStateMachineInput{StateMachineArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	desc, err := e.client.DescribeStateMachine(t.Context(), &sfnapi.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if err != nil || desc.Status != types.StateMachineStatusDeleting {
		t.Fatalf("while running: %+v %v", desc, err)
	}
	_, err = e.client.StartExecution(t.Context(), &sfnapi.StartExecutionInput{StateMachineArn: aws.String(arn)})
	apiError(t, err, "StateMachineDeleting")
	if _, err := e.client.StopExecution(t.Context(), &sfnapi.StopExecutionInput{ExecutionArn: aws.String(x)}); err != nil {
		t.Fatal(err)
	}
	if out := e.wait(t, x); out.Status != types.ExecutionStatusAborted {
		t.Fatalf("running execution ended %s", out.Status)
	}
	_, err = e.client.DescribeStateMachine(t.Context(), &sfnapi.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	apiError(t, err, "StateMachineDoesNotExist")
}

func TestCreateStateMachineRefuses(t *testing.T) {
	e := setup(t)
	untrusted := createRole(t, e.sb, "LambdaOnlyRole", "lambda.amazonaws.com")
	task := func(resource string) string {
		return `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"` + resource + `","End":true}}}`
	}
	tests := []struct {
		name, machine, definition, role, code string
		// want are substrings of the message.
		want []string
	}{
		{name: "bad name", machine: "a b", definition: passMachine, code: "InvalidName"},
		{name: "role Step Functions cannot assume", definition: passMachine, role: untrusted, code: "AccessDeniedException",
			want: []string{"Neither the global service principal states.amazonaws.com, nor the regional one is authorized to assume the provided role."}},
		{name: "role that does not exist", definition: passMachine, role: "arn:aws:iam::111111111111:role/Nope", code: "AccessDeniedException"},
		{name: "not a role ARN", definition: passMachine, role: "arn:aws:iam::111111111111:user/bob", code: "InvalidArn"},
		{name: "not JSON", definition: `{"StartAt":`, code: "InvalidDefinition", want: []string{"INVALID_JSON_DESCRIPTION"}},
		{name: "missing StartAt", definition: `{"States":{"P":{"Type":"Pass","End":true}}}`, code: "InvalidDefinition",
			want: []string{"SCHEMA_VALIDATION_FAILED", "StartAt"}},
		{name: "JSONata", definition: `{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`, code: "InvalidDefinition",
			want: []string{"JSONata", "limit of the sandbox's local interpreter"}},
		{name: "Distributed Map ItemReader", code: "InvalidDefinition", want: []string{"ItemReader", "/States/M/ItemReader", "limit of the sandbox's local interpreter"},
			definition: `{"StartAt":"M","States":{"M":{"Type":"Map","ItemReader":{"Resource":"arn:aws:states:::s3:getObject","Parameters":{"Bucket":"b","Key":"k"}},
			  "ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`},
		{name: "waitForTaskToken", definition: task("arn:aws:states:::lambda:invoke.waitForTaskToken"), code: "InvalidDefinition",
			want: []string{".waitForTaskToken", "limit of the sandbox's local interpreter"}},
		{name: "service integration", definition: task("arn:aws:states:::lambda:invoke"), code: "InvalidDefinition",
			want: []string{"arn:aws:states:::lambda:invoke", "limit of the sandbox's local interpreter", "PayloadResponseOnly"}},
		{name: "activity", definition: task("arn:aws:states:us-east-1:111111111111:activity:approve"), code: "InvalidDefinition",
			want: []string{"activity", "limit of the sandbox's local interpreter"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, role := tt.machine, tt.role
			if name == "" {
				name = "refused-" + string(rune('a'+i))
			}
			if role == "" {
				role = e.role
			}
			_, err := e.client.CreateStateMachine(t.Context(), &sfnapi.CreateStateMachineInput{Name: aws.String(name), Definition: aws.String(tt.definition), RoleArn: aws.String(role)})
			msg := apiError(t, err, tt.code)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not say %q", msg, w)
				}
			}
		})
	}
	if page, err := e.client.ListStateMachines(t.Context(), &sfnapi.ListStateMachinesInput{}); err != nil || len(page.StateMachines) != 0 {
		t.Fatalf("refused state machines were created: %+v %v", page, err)
	}
}
