package scheduler

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/schedexpr"
)

// Invocation is one firing of a schedule: the target it called, with what
// input, and the result (an execution ARN) or why it failed.
type Invocation struct {
	ScheduleARN, TargetARN string
	Input                  string
	Result                 string
	Err                    error
	// ScheduledTime is the time the firing was due; Time when it was made.
	ScheduledTime, Time time.Time
}

// Invocations returns the firings so far, in order.
func (s *Service) Invocations() []Invocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Invocation(nil), s.invocations...)
}

// reschedule starts or stops a schedule's timer after a change. s.mu must be held.
func (s *Service) reschedule(sc *schedule) {
	if sc.stop != nil {
		close(sc.stop)
		sc.stop = nil
	}
	if sc.in.State != "ENABLED" || s.ctx.Err() != nil {
		return
	}
	sc.stop = make(chan struct{})
	s.wg.Add(1)
	go s.run(sc, sc.stop)
}

// window is when a schedule may fire: its StartDate and EndDate, which a
// one-time schedule ignores.
func (sc *schedule) window() (start, end time.Time) {
	if sc.expr.Kind == schedexpr.At {
		return time.Time{}, time.Time{}
	}
	if sc.in.StartDate != nil {
		start = fromEpoch(*sc.in.StartDate)
	}
	if sc.in.EndDate != nil {
		end = fromEpoch(*sc.in.EndDate)
	}
	return start, end
}

func fromEpoch(f float64) time.Time { return time.UnixMilli(int64(f * 1000)) }

// run fires a schedule on time until stop is closed, the schedule ends, or
// the service closes.
func (s *Service) run(sc *schedule, stop chan struct{}) {
	defer s.wg.Done()
	s.mu.Lock()
	expr, loc := sc.expr, sc.loc
	start, end := sc.window()
	anchor := sc.created
	if !start.IsZero() {
		anchor = start
	}
	s.mu.Unlock()
	next := func(after time.Time) (time.Time, bool) {
		at, ok := expr.Next(anchor, after, loc, time.Minute)
		for ok && at.Before(start) {
			at, ok = expr.Next(anchor, at, loc, time.Minute)
		}
		return at, ok && (end.IsZero() || !at.After(end))
	}
	schedexpr.Run(s.ctx, stop, s.now, s.now(), next, func(at time.Time) {
		s.mu.Lock()
		current := sc.stop == stop
		s.mu.Unlock()
		if current {
			s.fire(sc, at)
		}
	})
}

// Fire fires the schedule with this ARN now, as if its time had come (its
// timetable is unchanged; a disabled schedule fires too: the caller asked
// for it by name), and returns the invocation.
func (s *Service) Fire(scheduleARN string) (Invocation, error) {
	parts := strings.SplitN(scheduleARN, ":", 6)
	if len(parts) != 6 || parts[2] != "scheduler" || !strings.HasPrefix(parts[5], "schedule/") {
		return Invocation{}, validationf("%s is not the ARN of a schedule (arn:aws:scheduler:<region>:<account>:schedule/<group>/<name>).", scheduleARN)
	}
	groupName, name, ok := strings.Cut(strings.TrimPrefix(parts[5], "schedule/"), "/")
	if !ok {
		return Invocation{}, validationf("%s is not the ARN of a schedule (arn:aws:scheduler:<region>:<account>:schedule/<group>/<name>).", scheduleARN)
	}
	s.mu.Lock()
	var sc *schedule
	if g := s.groups[groupKey{account: parts[4], region: parts[3], name: groupName}]; g != nil {
		sc = g.schedules[name]
	}
	s.mu.Unlock()
	if sc == nil {
		return Invocation{}, noSuchSchedule(name)
	}
	return s.fire(sc, s.now()), nil
}

// fire invokes a schedule's target for the firing due at `at`, records the
// invocation, and deletes a finished one-time schedule whose
// ActionAfterCompletion is DELETE.
func (s *Service) fire(sc *schedule, at time.Time) Invocation {
	s.mu.Lock()
	t := *sc.in.Target
	arn := sc.arn
	deleteAfter := sc.in.ActionAfterCompletion == "DELETE" && sc.expr.Kind == schedexpr.At
	group := sc.group.key
	s.mu.Unlock()

	executionID := awsapi.NewUUID()
	input := ""
	if t.Input != nil {
		input = contextAttributes(*t.Input, arn, at, executionID)
	}
	inv := Invocation{ScheduleARN: arn, TargetARN: t.Arn, Input: input, ScheduledTime: at, Time: s.now()}
	inv.Result, inv.Err = s.invoke(t, group, input)
	if inv.Err != nil {
		s.log.Warn("scheduler invocation failed", "schedule", arn, "target", t.Arn, "error", inv.Err)
	}
	s.mu.Lock()
	s.invocations = append(s.invocations, inv)
	if deleteAfter {
		s.remove(sc)
	}
	s.mu.Unlock()
	return inv
}

// invoke calls the target as a session of its role. As on AWS, Scheduler
// names the schedule's group and account as the source (CDK's target roles
// trust it only for them).
func (s *Service) invoke(t target, group groupKey, input string) (string, error) {
	region := group.region
	source := map[string]string{"aws:SourceAccount": group.account, "aws:SourceArn": group.arn()}
	caller, ok := s.opts.Roles.AssumeServiceRoleFrom(t.RoleArn, ServicePrincipal, awsapi.NewUUID(), source)
	if !ok {
		return "", fmt.Errorf("%s cannot assume the target's role %s: the role does not exist or does not trust it", ServicePrincipal, t.RoleArn)
	}
	call := &awsapi.Call{Caller: &caller, Region: region, Secure: true, Time: s.now(), RequestID: awsapi.NewUUID()}
	switch {
	case machineARNRE.MatchString(t.Arn):
		if s.opts.StepFunctions == nil {
			return "", fmt.Errorf("the sandbox has no Step Functions connected to Scheduler")
		}
		if input == "" {
			input = "{}"
		}
		call.Service, call.Action = "states", "StartExecution"
		arn, _, err := s.opts.StepFunctions.StartExecutionAs(s.ctx, call, t.Arn, "", input)
		return arn, err
	case functionARNRE.MatchString(t.Arn):
		if s.opts.Functions == nil {
			return "", fmt.Errorf("the sandbox has no Lambda connected to Scheduler")
		}
		if input == "" {
			input = "{}"
		}
		call.Service, call.Action = "lambda", "Invoke"
		return "", s.opts.Functions.InvokeAsyncAs(s.ctx, call, t.Arn, []byte(input))
	}
	return "", awsapi.Errorf(http.StatusBadRequest, "ValidationException", "the sandbox's Scheduler cannot deliver to %s", t.Arn)
}

// contextAttributes fills Scheduler's context attributes in a target's Input.
func contextAttributes(input, scheduleARN string, at time.Time, executionID string) string {
	return strings.NewReplacer(
		"<aws.scheduler.schedule-arn>", scheduleARN,
		"<aws.scheduler.scheduled-time>", at.UTC().Format(time.RFC3339),
		"<aws.scheduler.execution-id>", executionID,
		"<aws.scheduler.attempt-number>", strconv.Itoa(1),
	).Replace(input)
}
