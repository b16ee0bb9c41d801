// Package schedexpr parses and evaluates the schedule expressions of
// EventBridge rules and EventBridge Scheduler: rate(N unit), the six-field
// cron(minutes hours day-of-month month day-of-week year) and Scheduler's
// one-time at(yyyy-mm-ddThh:mm:ss). Cron and at are read in a time zone.
package schedexpr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrInvalid is returned for an expression AWS refuses; each service words
// its own error for it.
var ErrInvalid = errors.New("invalid schedule expression")

// LimitError is returned for an expression valid on AWS that the sandbox
// cannot fire (cron's L, W and #).
type LimitError struct{ Expr string }

func (e *LimitError) Error() string {
	return fmt.Sprintf("the sandbox does not fire cron expressions with L, W or # (%s); use rate() or plain fields", e.Expr)
}

// Kind is the form of an expression.
type Kind int

const (
	Rate Kind = iota + 1
	Cron
	At
)

// Expr is a parsed schedule expression.
type Expr struct {
	Kind Kind
	// minutes is a rate's period.
	minutes int
	cron    *cronSpec
	// at holds a one-time schedule's wall clock, read in the schedule's zone.
	at time.Time
}

// Parse reads a rate() or cron() expression, and at() when allowAt.
func Parse(expr string, allowAt bool) (*Expr, error) {
	inner := func(prefix string) (string, bool) {
		if strings.HasPrefix(expr, prefix+"(") && strings.HasSuffix(expr, ")") {
			return expr[len(prefix)+1 : len(expr)-1], true
		}
		return "", false
	}
	if body, ok := inner("rate"); ok {
		n, err := parseRate(body)
		if err != nil {
			return nil, err
		}
		return &Expr{Kind: Rate, minutes: n}, nil
	}
	if body, ok := inner("cron"); ok {
		c, err := parseCron(expr, body)
		if err != nil {
			return nil, err
		}
		return &Expr{Kind: Cron, cron: c}, nil
	}
	if body, ok := inner("at"); ok && allowAt {
		t, err := time.Parse("2006-01-02T15:04:05", body)
		if err != nil {
			return nil, ErrInvalid
		}
		return &Expr{Kind: At, at: t}, nil
	}
	return nil, ErrInvalid
}

func parseRate(body string) (int, error) {
	fields := strings.Fields(body)
	if len(fields) != 2 {
		return 0, ErrInvalid
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil || n < 1 {
		return 0, ErrInvalid
	}
	unit := fields[1]
	// AWS wants the singular for 1 and the plural otherwise.
	if n == 1 && strings.HasSuffix(unit, "s") || n > 1 && !strings.HasSuffix(unit, "s") {
		return 0, ErrInvalid
	}
	mult := map[string]int{"minute": 1, "hour": 60, "day": 24 * 60}[strings.TrimSuffix(unit, "s")]
	if mult == 0 {
		return 0, ErrInvalid
	}
	return n * mult, nil
}

// AtTime is a one-time schedule's instant in loc.
func (e *Expr) AtTime(loc *time.Location) time.Time {
	a := e.at
	return time.Date(a.Year(), a.Month(), a.Day(), a.Hour(), a.Minute(), a.Second(), 0, loc)
}

// Next is the first firing strictly after `after`: a rate fires every
// period from anchor, a minute lasting `minute` (tests shorten it); cron and
// at are read in loc. false when it never fires again (within five years
// for cron).
func (e *Expr) Next(anchor, after time.Time, loc *time.Location, minute time.Duration) (time.Time, bool) {
	switch e.Kind {
	case Rate:
		period := time.Duration(e.minutes) * minute
		if after.Before(anchor) {
			return anchor.Add(period), true
		}
		n := after.Sub(anchor)/period + 1
		return anchor.Add(n * period), true
	case Cron:
		return e.cron.next(after, loc)
	case At:
		at := e.AtTime(loc)
		return at, at.After(after)
	}
	return time.Time{}, false
}

// cronSpec is a parsed cron expression: the allowed values of each field.
type cronSpec struct {
	minutes, hours, doms, months, dows, years map[int]bool
	anyDOM, anyDOW                            bool
}

var monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
var dayNames = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}

func parseCron(expr, body string) (*cronSpec, error) {
	f := strings.Fields(body)
	if len(f) != 6 {
		return nil, ErrInvalid
	}
	// One of day-of-month and day-of-week must be "?".
	if (f[2] == "?") == (f[4] == "?") {
		return nil, ErrInvalid
	}
	for _, field := range f {
		if usesLimitSyntax(field) {
			return nil, &LimitError{Expr: expr}
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

// usesLimitSyntax reports whether a cron field uses L, W or #, once month
// and day names (JUL, WED) are set aside.
func usesLimitSyntax(field string) bool {
	rest := strings.ToUpper(field)
	for name := range monthNames {
		rest = strings.ReplaceAll(rest, name, "")
	}
	for name := range dayNames {
		rest = strings.ReplaceAll(rest, name, "")
	}
	return strings.ContainsAny(rest, "LW#")
}

func parseCronField(text string, lo, hi int, names map[string]int) (map[int]bool, error) {
	out := map[int]bool{}
	value := func(s string) (int, error) {
		if n, ok := names[strings.ToUpper(s)]; ok {
			return n, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			return 0, ErrInvalid
		}
		return n, nil
	}
	for _, part := range strings.Split(text, ",") {
		rng, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			var err error
			if step, err = strconv.Atoi(stepText); err != nil || step < 1 {
				return nil, ErrInvalid
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
			return nil, ErrInvalid
		}
		for v := from; v <= to; v += step {
			out[v] = true
		}
	}
	return out, nil
}

// next is the first time after t (at minute precision) the expression
// matches in loc; false when it never will within five years. A wall time
// a daylight-saving change skips fires at the instant time.Date gives it.
func (c *cronSpec) next(t time.Time, loc *time.Location) (time.Time, bool) {
	t = t.In(loc)
	hours, minutes := sortedSet(c.hours), sortedSet(c.minutes)
	for day := 0; day < 5*366; day++ {
		d := time.Date(t.Year(), t.Month(), t.Day()+day, 0, 0, 0, 0, loc)
		if !c.years[d.Year()] || !c.months[int(d.Month())] {
			continue
		}
		if !c.anyDOM && !c.doms[d.Day()] || !c.anyDOW && !c.dows[int(d.Weekday())+1] {
			continue
		}
		for _, h := range hours {
			for _, m := range minutes {
				at := time.Date(d.Year(), d.Month(), d.Day(), h, m, 0, 0, loc)
				if at.After(t) {
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
	slices.Sort(out)
	return out
}

// Run fires on time until next has no further firing, stop is closed or
// ctx ends: it waits (on the real clock, from now's time) for each time next
// gives after the previous one, starting after `from`, and calls fire with it.
func Run(ctx context.Context, stop <-chan struct{}, now func() time.Time, from time.Time,
	next func(after time.Time) (time.Time, bool), fire func(at time.Time)) {
	last := from
	for {
		at, ok := next(last)
		if !ok {
			return
		}
		timer := time.NewTimer(max(at.Sub(now()), 0))
		select {
		case <-timer.C:
		case <-stop:
			timer.Stop()
			return
		case <-ctx.Done():
			timer.Stop()
			return
		}
		last = at
		fire(at)
	}
}
