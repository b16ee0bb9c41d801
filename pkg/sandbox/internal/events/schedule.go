package events

import (
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/schedexpr"
)

// schedule is a rule's ScheduleExpression: rate(N unit) or a six-field
// cron(minutes hours day-of-month month day-of-week year), in UTC.
type schedule struct{ expr *schedexpr.Expr }

func parseSchedule(expr string) (*schedule, error) {
	e, err := schedexpr.Parse(expr, false)
	var limit *schedexpr.LimitError
	switch {
	case errors.As(err, &limit):
		return nil, validationf("Parameter ScheduleExpression is not valid: %v", limit)
	case err != nil:
		return nil, validationf("Parameter ScheduleExpression is not valid.")
	}
	return &schedule{expr: e}, nil
}

// next is the first firing after t; minute is how long a minute lasts
// (shortened by tests, for rates only).
func (sc *schedule) next(created, t time.Time, minute time.Duration) (time.Time, bool) {
	return sc.expr.Next(created, t, time.UTC, minute)
}

// runSchedule fires a scheduled rule on time until stop is closed.
func (s *Service) runSchedule(r *rule, sc *schedule, stop chan struct{}, created time.Time) {
	defer s.wg.Done()
	schedexpr.Run(s.ctx, stop, s.now, created,
		func(after time.Time) (time.Time, bool) { return sc.next(created, after, s.opts.Minute) },
		func(at time.Time) { s.fire(r, at) })
}

// fire delivers a rule's "Scheduled Event" to its targets.
func (s *Service) fire(r *rule, at time.Time) {
	s.mu.Lock()
	if r.state == "DISABLED" || r.bus.rules[r.name] != r {
		s.mu.Unlock()
		return
	}
	work := s.scheduledEvent(r, at)
	s.mu.Unlock()
	s.deliver(work)
}

// scheduledEvent is the "Scheduled Event" of a rule firing at `at`, bound
// for its targets. s.mu must be held.
func (s *Service) scheduledEvent(r *rule, at time.Time) []delivery {
	entry := Entry{EventID: newEventID(), Account: r.bus.key.account, Region: r.bus.key.region, EventBusName: r.bus.name,
		Source: "aws.events", DetailType: "Scheduled Event", Detail: "{}", Resources: []string{r.arn}, Time: at.UTC()}
	return s.deliveriesFor(r, envelope(entry), entry.EventID)
}

// FireRule fires a rule with a ScheduleExpression now, as if its time had
// come (its timetable is unchanged), and returns the deliveries to its
// targets. A disabled rule fires too: the caller asked for it by name.
func (s *Service) FireRule(ruleARN string) ([]Delivery, error) {
	parts := strings.SplitN(ruleARN, ":", 6)
	if len(parts) != 6 || parts[2] != "events" || !strings.HasPrefix(parts[5], "rule/") {
		return nil, validationf("%s is not the ARN of an EventBridge rule.", ruleARN)
	}
	busName, name := "default", strings.TrimPrefix(parts[5], "rule/")
	if b, n, ok := strings.Cut(name, "/"); ok {
		busName, name = b, n
	}
	s.mu.Lock()
	b := s.buses[busKey{account: parts[4], region: parts[3], name: busName}]
	var r *rule
	if b != nil {
		r = b.rules[name]
	}
	if r == nil {
		s.mu.Unlock()
		return nil, noSuchRule(name, busName)
	}
	if r.sched == nil {
		s.mu.Unlock()
		return nil, validationf("Rule %s has no ScheduleExpression; only scheduled rules fire.", name)
	}
	work := s.scheduledEvent(r, s.now())
	s.mu.Unlock()
	return s.deliver(work), nil
}

func sortStrings(s []string) { sort.Strings(s) }
