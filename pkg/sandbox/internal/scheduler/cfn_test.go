package scheduler_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// scheduleTemplate is the serverless runtime's reconcile schedule as
// CloudFormation deploys it: a schedule in a group of its own starting the
// state machine with a fixed input, under a role Scheduler assumes.
const scheduleTemplate = `
Resources:
  StatesRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: states.amazonaws.com}, Action: sts:AssumeRole}]}
  Machine:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: !GetAtt StatesRole.Arn
      Definition: {StartAt: P, States: {P: {Type: Pass, End: true}}}
  SchedulerRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: scheduler.amazonaws.com}, Action: sts:AssumeRole}]}
      Policies: [{PolicyName: start, PolicyDocument: {Statement: [{Effect: Allow, Action: states:StartExecution, Resource: !Ref Machine}]}}]
  Group:
    Type: AWS::Scheduler::ScheduleGroup
    Properties: {Name: stackerless}
  Reconcile:
    Type: AWS::Scheduler::Schedule
    Properties:
      GroupName: !Ref Group
      ScheduleExpression: cron(0 6 ? * MON-FRI *)
      ScheduleExpressionTimezone: Europe/Berlin
      StartDate: '2026-01-01T00:00:00Z'
      FlexibleTimeWindow: {Mode: 'OFF'}
      Target:
        Arn: !Ref Machine
        RoleArn: !GetAtt SchedulerRole.Arn
        Input: '{"reconcile": true}'
        RetryPolicy: {MaximumRetryAttempts: '3'}
Outputs:
  Machine: {Value: !Ref Machine}
  Schedule: {Value: !Ref Reconcile}
  ScheduleArn: {Value: !GetAtt Reconcile.Arn}
  GroupArn: {Value: !GetAtt Group.Arn}
`

func TestCloudFormationSchedule(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	cfg := sb.AWSConfig("master")
	cfc := cloudformation.NewFromConfig(cfg)
	if _, err := cfc.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("sched"), TemplateBody: aws.String(scheduleTemplate),
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam}}); err != nil {
		t.Fatal(err)
	}
	st := sandboxtest.WaitStack(t, cfc, "sched")
	if st.StackStatus != cfntypes.StackStatusCreateComplete {
		t.Fatalf("stack %s: %s", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	out := map[string]string{}
	for _, o := range st.Outputs {
		out[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	if !strings.HasPrefix(out["Schedule"], "stackerless|sched-Reconcile-") || out["GroupArn"] != "arn:aws:scheduler:us-east-1:111111111111:schedule-group/stackerless" {
		t.Fatalf("outputs %v", out)
	}
	name := strings.TrimPrefix(out["Schedule"], "stackerless|")
	if out["ScheduleArn"] != "arn:aws:scheduler:us-east-1:111111111111:schedule/stackerless/"+name {
		t.Fatalf("schedule ARN %s", out["ScheduleArn"])
	}
	sc := scheduler.NewFromConfig(cfg)
	got, err := sc.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name), GroupName: aws.String("stackerless")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.ScheduleExpressionTimezone) != "Europe/Berlin" || got.StartDate == nil || got.StartDate.UTC().Format("2006-01-02") != "2026-01-01" ||
		got.Target.RetryPolicy == nil || aws.ToInt32(got.Target.RetryPolicy.MaximumRetryAttempts) != 3 {
		t.Errorf("GetSchedule = %+v", got)
	}

	ds, err := sb.Fire(out["ScheduleArn"])
	if err != nil || len(ds) != 1 || ds[0].Err != nil {
		t.Fatalf("Fire = %+v, %v", ds, err)
	}
	x, err := sfn.NewFromConfig(cfg).DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(ds[0].Result)})
	if err != nil || aws.ToString(x.Input) != `{"reconcile": true}` {
		t.Fatalf("execution %+v, %v", x, err)
	}

	// An update changes the schedule in place.
	updated := strings.Replace(scheduleTemplate, "cron(0 6 ? * MON-FRI *)", "rate(12 hours)", 1)
	if _, err := cfc.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("sched"), TemplateBody: aws.String(updated),
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam}}); err != nil {
		t.Fatal(err)
	}
	if st := sandboxtest.WaitStack(t, cfc, "sched"); st.StackStatus != cfntypes.StackStatusUpdateComplete {
		t.Fatalf("update: %s %s", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	got, err = sc.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name), GroupName: aws.String("stackerless")})
	if err != nil || aws.ToString(got.ScheduleExpression) != "rate(12 hours)" || aws.ToString(got.Arn) != out["ScheduleArn"] {
		t.Fatalf("after the update: %+v %v", got, err)
	}

	if _, err := cfc.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: st.StackId}); err != nil {
		t.Fatal(err)
	}
	if st := sandboxtest.WaitStack(t, cfc, aws.ToString(st.StackId)); st.StackStatus != cfntypes.StackStatusDeleteComplete {
		t.Fatalf("delete: %s %s", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	list, err := sc.ListSchedules(ctx, &scheduler.ListSchedulesInput{})
	if err != nil || len(list.Schedules) != 0 {
		t.Fatalf("schedules after delete: %+v %v", list, err)
	}
}
