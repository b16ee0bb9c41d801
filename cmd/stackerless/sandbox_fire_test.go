package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// TestSandboxFire: `stackerless sandbox fire` fires a scheduled rule of a
// running sandbox now, signed with the account's keys, and fails for
// another account's rule and for a target it cannot deliver to.
func TestSandboxFire(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	cfg := sb.AWSConfig("master")
	ic := iam.NewFromConfig(cfg)
	mkRole := func(name, service, policy string) string {
		out, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name),
			AssumeRolePolicyDocument: aws.String(`{"Statement":[{"Effect":"Allow","Principal":{"Service":"` + service + `"},"Action":"sts:AssumeRole"}]}`)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(policy)}); err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Role.Arn)
	}
	statesRole := mkRole("states", "states.amazonaws.com", `{"Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"*"}]}`)
	sm, err := sfn.NewFromConfig(cfg).CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("m"), RoleArn: aws.String(statesRole),
		Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	eventsRole := mkRole("events", "events.amazonaws.com", `{"Statement":[{"Effect":"Allow","Action":"states:StartExecution","Resource":"*"}]}`)
	eb := eventbridge.NewFromConfig(cfg)
	rule := func(name, role string) string {
		out, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), ScheduleExpression: aws.String("rate(7 days)")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: []ebtypes.Target{
			{Id: aws.String("run"), Arn: sm.StateMachineArn, RoleArn: aws.String(role)}}}); err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.RuleArn)
	}
	weekly := rule("weekly", eventsRole)
	broken := rule("broken", statesRole) // a role EventBridge cannot assume

	fire := func(account, arn string) (string, error) {
		a, _ := sb.Account(account)
		t.Setenv("AWS_ACCESS_KEY_ID", a.AccessKeyID)
		t.Setenv("AWS_SECRET_ACCESS_KEY", a.SecretAccessKey)
		t.Setenv("AWS_SESSION_TOKEN", "")
		t.Setenv("AWS_REGION", "us-east-1")
		t.Setenv("AWS_CONFIG_FILE", "/dev/null")
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
		var out bytes.Buffer
		cmd := newRootCommand()
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs([]string{"sandbox", "fire", arn, "--endpoint-url", sb.URL()})
		err := cmd.ExecuteContext(ctx)
		return out.String(), err
	}
	out, err := fire("master", weekly)
	if err != nil || !strings.HasPrefix(out, aws.ToString(sm.StateMachineArn)+"\t"+strings.Replace(aws.ToString(sm.StateMachineArn), ":stateMachine:", ":execution:", 1)) {
		t.Fatalf("fire: %v\n%s", err, out)
	}
	if _, err := fire("prod", weekly); err == nil || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Errorf("fire from another account: %v", err)
	}
	if out, err := fire("master", broken); err == nil || !strings.Contains(out, "failed: events.amazonaws.com cannot assume") {
		t.Errorf("fire of an undeliverable rule: %v\n%s", err, out)
	}
	if _, err := fire("master", "arn:aws:events:us-east-1:111111111111:rule/nope"); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("fire of a missing rule: %v", err)
	}
	list, err := sfn.NewFromConfig(cfg).ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: sm.StateMachineArn})
	if err != nil || len(list.Executions) != 1 {
		t.Errorf("executions: %+v %v", list, err)
	}
}
