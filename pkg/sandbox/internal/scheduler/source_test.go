package scheduler_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
)

// Scheduler assumes a target's role naming the schedule's account and group
// as the source, as CDK's scheduler target roles require
// (aws:SourceAccount, aws:SourceArn of the schedule group): the role works
// for schedules of its group only.
func TestTargetRoleTrustsTheSourceGroup(t *testing.T) {
	e := setup(t)
	ctx := t.Context()
	ic := iam.NewFromConfig(e.sb.AWSConfig("master"))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"scheduler.amazonaws.com"},"Action":"sts:AssumeRole",` +
		`"Condition":{"StringEquals":{"aws:SourceAccount":"111111111111","aws:SourceArn":"arn:aws:scheduler:us-east-1:111111111111:schedule-group/default"}}}]}`
	out, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("default-group-only"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("default-group-only"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Statement":[{"Effect":"Allow","Action":"states:StartExecution","Resource":"` + e.machine + `"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sched.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String("other")}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ group, wantErr string }{{"default", ""}, {"other", "cannot assume"}} {
		in := e.input("nightly-"+tt.group, "cron(0 3 * * ? *)")
		in.GroupName = aws.String(tt.group)
		in.Target.RoleArn = out.Role.Arn
		sc, err := e.sched.CreateSchedule(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := e.sb.Fire(aws.ToString(sc.ScheduleArn))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case len(ds) != 1:
			t.Errorf("group %s: deliveries %+v", tt.group, ds)
		case tt.wantErr == "" && ds[0].Err != nil:
			t.Errorf("group %s: %v", tt.group, ds[0].Err)
		case tt.wantErr != "" && (ds[0].Err == nil || !strings.Contains(ds[0].Err.Error(), tt.wantErr)):
			t.Errorf("group %s: %v, want an error with %q", tt.group, ds[0].Err, tt.wantErr)
		}
	}
	if n := len(e.executions(t)); n != 1 {
		t.Errorf("%d executions, want 1", n)
	}
}
