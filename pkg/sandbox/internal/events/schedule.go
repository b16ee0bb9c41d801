package events

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// schedule is a rule's ScheduleExpression: rate(N unit) or a six-field
// cron(minutes hours day-of-month month day-of-week year), in UTC.
type schedule struct {
	// rate is the period in minutes; 0 for cron.
	rate int
	cron *cronSpec
}

func invalidSchedule() error {
	return validationf("Parameter ScheduleExpression is not valid.")
}

func parseSchedule(expr string) (*schedule, error) {
	switch {
	case strings.HasPrefix(expr, "rate(") && strings.HasSuffix(expr, ")"):
		fields := strings.Fields(expr[len("rate(") : len(expr)-1])
		if len(fields) != 2 {
			return nil, invalidSchedule()
		}
		n, err := strconv.Atoi(fields[0])
		if err != nil || n < 1 {
			return nil, invalidSchedule()
		}
		unit := fields[1]
		// AWS wants the singular for 1 and the plural otherwise.
		if n == 1 && strings.HasSuffix(unit, "s") || n > 1 && !strings.HasSuffix(unit, "s") {
			return nil, invalidSchedule()
		}
		mult := map[string]int{"minute": 1, "hour": 60, "day": 24 * 60}[strings.TrimSuffix(unit, "s")]
		if mult == 0 {
			return nil, invalidSchedule()
		}
		return &schedule{rate: n * mult}, nil
	case strings.HasPrefix(expr, "cron(") && strings.HasSuffix(expr, ")"):
		c, err := parseCron(expr[len("cron(") : len(expr)-1])
		if err != nil {
			return nil, err
		}
		return &schedule{cron: c}, nil
	}
	return nil, invalidSchedule()
}

// next is the first firing after t; minute is how long a minute lasts
// (shortened by tests, for rates only).
func (sc *schedule) next(created, t time.Time, minute time.Duration) (time.Time, bool) {
	if sc.rate > 0 {
		period := time.Duration(sc.rate) * minute
		n := t.Sub(created)/period + 1
		return created.Add(n * period), true
	}
	return sc.cron.next(t)
}

// runSchedule fires a scheduled rule on time until stop is closed.
func (s *Service) runSchedule(r *rule, sc *schedule, stop chan struct{}, created time.Time) {
	defer s.wg.Done()
	last := created
	for {
		at, ok := sc.next(created, last, s.opts.Minute)
		if !ok {
			return
		}
		timer := time.NewTimer(max(at.Sub(s.now()), 0))
		select {
		case <-timer.C:
		case <-stop:
			timer.Stop()
			return
		case <-s.ctx.Done():
			timer.Stop()
			return
		}
		last = at
		s.fire(r, at)
	}
}

// fire delivers a rule's "Scheduled Event" to its targets.
func (s *Service) fire(r *rule, at time.Time) {
	s.mu.Lock()
	if r.state == "DISABLED" || r.bus.rules[r.name] != r {
		s.mu.Unlock()
		return
	}
	entry := Entry{EventID: newEventID(), Account: r.bus.key.account, Region: r.bus.key.region, EventBusName: r.bus.name,
		Source: "aws.events", DetailType: "Scheduled Event", Detail: "{}", Resources: []string{r.arn}, Time: at.UTC()}
	work := s.deliveriesFor(r, envelope(entry), entry.EventID)
	s.mu.Unlock()
	s.deliver(work)
}

// cronSpec is a parsed cron expression: the allowed values of each field.
type cronSpec struct {
	minutes, hours, doms, months, dows, years map[int]bool
	anyDOM, anyDOW                            bool
}

var monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
var dayNames = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}

func parseCron(expr string) (*cronSpec, error) {
	f := strings.Fields(expr)
	if len(f) != 6 {
		return nil, invalidSchedule()
	}
	// One of day-of-month and day-of-week must be "?".
	if (f[2] == "?") == (f[4] == "?") {
		return nil, invalidSchedule()
	}
	for _, field := range f {
		if strings.ContainsAny(field, "LW#") && strings.Trim(field, "ABCDEFGHIJKLMNOPQRSTUVWXYZ,-") != "" {
			return nil, validationf("Parameter ScheduleExpression is not valid: the sandbox does not fire cron expressions with L, W or # (%s); use rate() or plain fields", expr)
		}
	}
	c := &cronSpec{anyDOM: f[2] == "?", anyDOW: f[4] == "?"}
	var err error
	fields := []struct {
		dst      *map[int]bool
		text     string
		lo, hi   int
		names    map[string]int
		optional bool
	}{
		{&c.minutes, f[0], 0, 59, nil, false},
		{&c.hours, f[1], 0, 23, nil, false},
		{&c.doms, f[2], 1, 31, nil, true},
		{&c.months, f[3], 1, 12, monthNames, false},
		{&c.dows, f[4], 1, 7, dayNames, true},
		{&c.years, f[5], 1970, 2199, nil, false},
	}
	for _, fd := range fields {
		if fd.optional && fd.text == "?" {
			continue
		}
		if *fd.dst, err = parseCronField(fd.text, fd.lo, fd.hi, fd.names); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func parseCronField(text string, lo, hi int, names map[string]int) (map[int]bool, error) {
	out := map[int]bool{}
	value := func(s string) (int, error) {
		if n, ok := names[strings.ToUpper(s)]; ok {
			return n, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			return 0, invalidSchedule()
		}
		return n, nil
	}
	for _, part := range strings.Split(text, ",") {
		rng, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			var err error
			if step, err = strconv.Atoi(stepText); err != nil || step < 1 {
				return nil, invalidSchedule()
			}
		}
		from, to := lo, hi
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if from, err = value(a); err != nil {
				return nil, err
			}
			if to, err = value(b); err != nil {
				return nil, err
			}
		default:
			n, err := value(rng)
			if err != nil {
				return nil, err
			}
			from, to = n, n
			if hasStep {
				to = hi
			}
		}
		if from > to {
			return nil, invalidSchedule()
		}
		for v := from; v <= to; v += step {
			out[v] = true
		}
	}
	return out, nil
}

// next is the first time after t (at minute precision) the expression
// matches; false when it never will within five years.
func (c *cronSpec) next(t time.Time) (time.Time, bool) {
	t = t.UTC().Truncate(time.Minute).Add(time.Minute)
	hours, minutes := sortedSet(c.hours), sortedSet(c.minutes)
	for day := 0; day < 5*366; day++ {
		d := time.Date(t.Year(), t.Month(), t.Day()+day, 0, 0, 0, 0, time.UTC)
		if !c.years[d.Year()] || !c.months[int(d.Month())] {
			continue
		}
		if !c.anyDOM && !c.doms[d.Day()] || !c.anyDOW && !c.dows[int(d.Weekday())+1] {
			continue
		}
		for _, h := range hours {
			for _, m := range minutes {
				at := d.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
				if !at.Before(t) {
					return at, true
				}
			}
		}
	}
	return time.Time{}, false
}

func sortedSet(set map[int]bool) []int {
	out := make([]int, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	sort.Ints(out)
	return out
}

func sortStrings(s []string) { sort.Strings(s) }
