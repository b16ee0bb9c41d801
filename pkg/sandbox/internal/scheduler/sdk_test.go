package scheduler_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

type env struct {
	sb      *sandbox.Sandbox
	sched   *scheduler.Client
	sfn     *sfn.Client
	machine string
	role    string
}

// setup starts a sandbox with a Pass state machine and a role Scheduler may
// assume to start it.
func setup(t *testing.T) *env {
	t.Helper()
	sb := sandboxtest.Start(t)
	cfg := sb.AWSConfig("master")
	e := &env{sb: sb, sched: scheduler.NewFromConfig(cfg), sfn: sfn.NewFromConfig(cfg)}
	statesRole := role(t, sb, "states", "states.amazonaws.com", `{"Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"*"}]}`)
	sm, err := e.sfn.CreateStateMachine(t.Context(), &sfn.CreateStateMachineInput{Name: aws.String("nightly"), RoleArn: aws.String(statesRole),
		Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	e.machine = aws.ToString(sm.StateMachineArn)
	e.role = role(t, sb, "scheduler", "scheduler.amazonaws.com", `{"Statement":[{"Effect":"Allow","Action":"states:StartExecution","Resource":"`+e.machine+`"}]}`)
	return e
}

func role(t *testing.T, sb *sandbox.Sandbox, name, service, policy string) string {
	t.Helper()
	ic := iam.NewFromConfig(sb.AWSConfig("master"))
	out, err := ic.CreateRole(t.Context(), &iam.CreateRoleInput{RoleName: aws.String(name),
		AssumeRolePolicyDocument: aws.String(`{"Statement":[{"Effect":"Allow","Principal":{"Service":"` + service + `"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutRolePolicy(t.Context(), &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Role.Arn)
}

func (e *env) input(name, expr string) *scheduler.CreateScheduleInput {
	return &scheduler.CreateScheduleInput{Name: aws.String(name), ScheduleExpression: aws.String(expr),
		FlexibleTimeWindow: &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
		Target:             &types.Target{Arn: aws.String(e.machine), RoleArn: aws.String(e.role), Input: aws.String(`{"source":"<aws.scheduler.schedule-arn>"}`)}}
}

func (e *env) executions(t *testing.T) []sfntypes.ExecutionListItem {
	t.Helper()
	out, err := e.sfn.ListExecutions(t.Context(), &sfn.ListExecutionsInput{StateMachineArn: aws.String(e.machine)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Executions
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestScheduleAPI: create, read, list, update and delete a schedule with
// the SDK, and the errors Scheduler gives for bad input.
func TestScheduleAPI(t *testing.T) {
	e := setup(t)
	ctx := t.Context()
	in := e.input("nightly", "cron(0 3 * * ? *)")
	in.ScheduleExpressionTimezone = aws.String("Europe/Paris")
	in.Description = aws.String("reconcile")
	out, err := e.sched.CreateSchedule(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:scheduler:us-east-1:111111111111:schedule/default/nightly"; aws.ToString(out.ScheduleArn) != want {
		t.Fatalf("ScheduleArn %s, want %s", aws.ToString(out.ScheduleArn), want)
	}
	got, err := e.sched.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("nightly")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.GroupName) != "default" || got.State != types.ScheduleStateEnabled || aws.ToString(got.ScheduleExpressionTimezone) != "Europe/Paris" ||
		aws.ToString(got.Target.RoleArn) != e.role || got.FlexibleTimeWindow.Mode != types.FlexibleTimeWindowModeOff ||
		got.ActionAfterCompletion != types.ActionAfterCompletionNone || got.CreationDate == nil || aws.ToString(got.Description) != "reconcile" {
		t.Errorf("GetSchedule = %+v", got)
	}
	if _, err := e.sched.CreateSchedule(ctx, e.input("nightly", "rate(1 hour)")); apiCode(err) != "ConflictException" {
		t.Errorf("a second CreateSchedule: %v", err)
	}
	upd := &scheduler.UpdateScheduleInput{Name: aws.String("nightly"), ScheduleExpression: aws.String("rate(5 minutes)"), State: types.ScheduleStateDisabled,
		FlexibleTimeWindow: &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeFlexible, MaximumWindowInMinutes: aws.Int32(10)}, Target: in.Target}
	if _, err := e.sched.UpdateSchedule(ctx, upd); err != nil {
		t.Fatal(err)
	}
	list, err := e.sched.ListSchedules(ctx, &scheduler.ListSchedulesInput{State: types.ScheduleStateDisabled})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Schedules) != 1 || aws.ToString(list.Schedules[0].Name) != "nightly" || aws.ToString(list.Schedules[0].Target.Arn) != e.machine {
		t.Errorf("ListSchedules = %+v", list.Schedules)
	}
	if _, err := e.sched.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String("nightly")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sched.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("nightly")}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("GetSchedule after delete: %v", err)
	}

	// Members the API does not take, and members of the wrong type.
	for _, body := range []string{
		`{"ScheduleExpression":"rate(1 hour)","FlexibleTimeWindow":{"Mode":"OFF"},"Target":{"Arn":"` + e.machine + `","RoleArn":"` + e.role + `"},"Schedule":"x"}`,
		`{"ScheduleExpression":5,"FlexibleTimeWindow":{"Mode":"OFF"},"Target":{"Arn":"` + e.machine + `","RoleArn":"` + e.role + `"}}`,
		`{"ScheduleExpression":"rate(1 hour)"`,
	} {
		_, err := e.sched.CreateSchedule(ctx, e.input("raw", "rate(1 hour)"), func(o *scheduler.Options) {
			o.APIOptions = append(o.APIOptions, sandboxtest.ReplaceBody(body))
		})
		if apiCode(err) != "ValidationException" {
			t.Errorf("body %s: %v, want ValidationException", body, err)
		}
	}

	bad := []struct {
		name string
		edit func(*scheduler.CreateScheduleInput)
		code string
		msg  string
	}{
		{"expression", func(i *scheduler.CreateScheduleInput) { i.ScheduleExpression = aws.String("every day") }, "ValidationException", "Invalid Schedule Expression every day."},
		{"cron fields", func(i *scheduler.CreateScheduleInput) { i.ScheduleExpression = aws.String("cron(0 3 * * * *)") }, "ValidationException", "Invalid Schedule Expression"},
		{"time zone", func(i *scheduler.CreateScheduleInput) { i.ScheduleExpressionTimezone = aws.String("Mars/Olympus") }, "ValidationException", "Mars/Olympus"},
		{"window mode", func(i *scheduler.CreateScheduleInput) { i.FlexibleTimeWindow.Mode = "SOMETIMES" }, "ValidationException", "[OFF, FLEXIBLE]"},
		{"window without size", func(i *scheduler.CreateScheduleInput) {
			i.FlexibleTimeWindow.Mode = types.FlexibleTimeWindowModeFlexible
		}, "ValidationException", "MaximumWindowInMinutes"},
		{"role ARN", func(i *scheduler.CreateScheduleInput) { i.Target.RoleArn = aws.String("scheduler-role") }, "ValidationException", "target.roleArn"},
		{"name", func(i *scheduler.CreateScheduleInput) { i.Name = aws.String("a/b") }, "", ""},
		{"group", func(i *scheduler.CreateScheduleInput) { i.GroupName = aws.String("nope") }, "ResourceNotFoundException", "Schedule group nope does not exist."},
		{"unsupported target", func(i *scheduler.CreateScheduleInput) {
			i.Target.Arn = aws.String("arn:aws:sqs:us-east-1:111111111111:q")
		}, "ValidationException", "limit of the sandbox"},
		{"retry attempts", func(i *scheduler.CreateScheduleInput) {
			i.Target.RetryPolicy = &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(186)}
		}, "ValidationException", "between 0 and 185"},
		{"end before start", func(i *scheduler.CreateScheduleInput) {
			i.StartDate, i.EndDate = aws.Time(time.Now().Add(time.Hour)), aws.Time(time.Now())
		}, "ValidationException", "EndDate"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			in := e.input("bad", "rate(1 hour)")
			tt.edit(in)
			_, err := e.sched.CreateSchedule(ctx, in)
			if err == nil {
				t.Fatal("accepted")
			}
			if tt.code == "" {
				return // refused by the SDK or the router before the service
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.code || !strings.Contains(ae.ErrorMessage(), tt.msg) {
				t.Errorf("got %v, want %s containing %q", err, tt.code, tt.msg)
			}
		})
	}
}

// TestScheduleFires: a one-time schedule fires on time and starts the
// state machine as the target's role, with Scheduler's context attributes
// filled in; it is deleted after with ActionAfterCompletion DELETE.
func TestScheduleFires(t *testing.T) {
	e := setup(t)
	in := e.input("once", "at("+time.Now().UTC().Add(2500*time.Millisecond).Format("2006-01-02T15:04:05")+")")
	in.ActionAfterCompletion = types.ActionAfterCompletionDelete
	out, err := e.sched.CreateSchedule(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); len(e.executions(t)) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no execution started; invocations %+v", e.sb.ScheduleInvocations())
		}
	}
	x, err := e.sfn.DescribeExecution(t.Context(), &sfn.DescribeExecutionInput{ExecutionArn: e.executions(t)[0].ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"source":"` + aws.ToString(out.ScheduleArn) + `"}`; aws.ToString(x.Input) != want {
		t.Errorf("execution input %s, want %s", aws.ToString(x.Input), want)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, err := e.sched.GetSchedule(t.Context(), &scheduler.GetScheduleInput{Name: aws.String("once")})
		if apiCode(err) == "ResourceNotFoundException" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the one-time schedule was not deleted after it fired: %v", err)
		}
	}
}

// TestFireNow: Fire runs a schedule at once; a role that does not trust
// Scheduler, or may not start the state machine, fails the firing.
func TestFireNow(t *testing.T) {
	e := setup(t)
	ctx := t.Context()
	out, err := e.sched.CreateSchedule(ctx, e.input("weekly", "cron(0 6 ? * MON *)"))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := e.sb.Fire(aws.ToString(out.ScheduleArn))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Err != nil || !strings.HasPrefix(ds[0].Result, strings.Replace(e.machine, ":stateMachine:", ":execution:", 1)) {
		t.Fatalf("Fire = %+v", ds)
	}
	if n := len(e.executions(t)); n != 1 {
		t.Errorf("%d executions, want 1", n)
	}
	if _, err := e.sb.Fire("arn:aws:scheduler:us-east-1:111111111111:schedule/default/nope"); apiCode(err) != "" && !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Fire of a missing schedule: %v", err)
	} else if err == nil {
		t.Error("Fire of a missing schedule succeeded")
	}

	untrusted := role(t, e.sb, "lambda-only", "lambda.amazonaws.com", `{"Statement":[{"Effect":"Allow","Action":"states:StartExecution","Resource":"*"}]}`)
	noStart := role(t, e.sb, "no-start", "scheduler.amazonaws.com", `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	for _, tt := range []struct{ role, want string }{
		{untrusted, "cannot assume"},
		{noStart, "states:StartExecution"},
	} {
		in := e.input("denied", "rate(1 day)")
		in.Target.RoleArn = aws.String(tt.role)
		out, err := e.sched.CreateSchedule(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := e.sb.Fire(aws.ToString(out.ScheduleArn))
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 1 || ds[0].Err == nil || !strings.Contains(ds[0].Err.Error(), tt.want) {
			t.Errorf("firing as %s = %+v, want an error with %q", tt.role, ds, tt.want)
		}
		if _, err := e.sched.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String("denied")}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.executions(t)); n != 1 {
		t.Errorf("%d executions after denied firings, want 1", n)
	}
}
