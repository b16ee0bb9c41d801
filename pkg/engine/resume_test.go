package engine_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/stackerless/stackerless/pkg/engine"
)

// diamond is a -> (b, c) -> d, with values flowing through output lookups.
func diamond(namespace string) string {
	return `namespace: ` + namespace + `
tags: {}
stacks:
  - name: a
    template_path: echo.yaml
    variables:
      In: from-a
  - name: b
    template_path: echo.yaml
    variables:
      In: ${output a::Out}-b
  - name: c
    template_path: echo.yaml
    variables:
      In: ${output a::Out}-c
  - name: d
    template_path: echo.yaml
    variables:
      In: ${output b::Out}+${output c::Out}
`
}

// outcome is what must not depend on how a run was driven.
type outcome struct {
	Name, Reason string
	State        engine.State
	Outputs      map[string]string
	Requires     []string
	Attempt      int
}

func outcomes(run *engine.Run) []outcome {
	var out []outcome
	for _, s := range run.Stacks {
		out = append(out, outcome{Name: s.Name, Reason: s.Reason, State: s.State, Outputs: s.Outputs, Requires: s.Requires, Attempt: s.Attempt})
	}
	return out
}

// TestResumeThroughJSON drives the same build twice: once with the run in
// memory (the CLI) and once serialising it to JSON and back between every
// Advance (the Lambda runtime). Both must end the same.
func TestResumeThroughJSON(t *testing.T) {
	w := newWorld(t)

	p1, inMemory := w.plan(diamond("mem"), engine.Build)
	e1, _ := newEngine(p1)
	finish(t, e1, inMemory)

	p2, run := w.plan(diamond("json"), engine.Build)
	saved, err := json.Marshal(run)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for steps := 0; ; steps++ {
		// Every step starts from a fresh engine and project, as a new
		// Lambda invocation would, with only the JSON carried over.
		var r engine.Run
		if err := json.Unmarshal(saved, &r); err != nil {
			t.Fatal(err)
		}
		if r.Done {
			if got, want := outcomes(&r), outcomes(inMemory); !reflect.DeepEqual(got, want) {
				t.Errorf("resumed run ended as\n%+v\nin-memory run as\n%+v", got, want)
			}
			if got := r.Stack("d").Outputs["Out"]; got != "from-a-b+from-a-c" {
				t.Errorf("d's output %q: lookups did not carry values across steps", got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not done after %d steps: %s", steps, statusLines(&r))
		}
		p := p2
		if steps > 0 {
			p = w.load(diamond("json"))
		}
		e, _ := newEngine(p)
		if err := e.Advance(t.Context(), &r); err != nil {
			t.Fatalf("advance: %v", err)
		}
		saved, err = json.Marshal(roundTrip(t, &r))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLambdaRetry replays an Advance from the same saved state, as a Lambda
// retry after a lost response does: CloudFormation must see one operation
// (ClientRequestToken), and both copies of the run must follow the same stack.
func TestLambdaRetry(t *testing.T) {
	w := newWorld(t)
	config := func(template string) string {
		return `namespace: retry
tags:
  sandbox:duration: 300ms
stacks:
  - name: solo
    template_path: ` + template + `
    variables:
      In: x
`
	}
	c := cfnClient(w, "master")

	replay := func(t *testing.T, template, reason string) {
		p, run := w.plan(config(template), engine.Build)
		saved, err := json.Marshal(run)
		if err != nil {
			t.Fatal(err)
		}
		// Both copies step before either finishes: the retry runs while
		// CloudFormation still works on the first copy's request.
		var ids []string
		var runs []*engine.Run
		var engines []*engine.Engine
		for i := range 2 {
			var r engine.Run
			if err := json.Unmarshal(saved, &r); err != nil {
				t.Fatal(err)
			}
			e, rec := newEngine(p)
			if err := e.Advance(t.Context(), &r); err != nil {
				t.Fatalf("advance %d: %v", i, err)
			}
			rec.expect(t, "solo: submitted ("+reason+")")
			runs, engines = append(runs, &r), append(engines, e)
		}
		for i, r := range runs {
			finish(t, engines[i], r)
			if s := r.Stack("solo"); s.String() != "solo: complete ("+reason+")" {
				t.Errorf("copy %d ended as %s", i, s)
			}
			ids = append(ids, r.Stack("solo").StackID)
		}
		if ids[0] != ids[1] || ids[0] == "" {
			t.Errorf("the replayed step followed stack %q, the first %q", ids[1], ids[0])
		}
	}

	t.Run("create", func(t *testing.T) {
		replay(t, "echo.yaml", "creating new stack")
		list, err := c.ListStacks(t.Context(), &cloudformation.ListStacksInput{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range list.StackSummaries {
			if aws.ToString(s.StackName) == "retry-solo" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d stacks named retry-solo, want 1", n)
		}
		events := stackEvents(t.Context(), t, c, "retry-solo")
		if count(events, "CREATE_IN_PROGRESS") != 1 || count(events, "CREATE_COMPLETE") != 1 {
			t.Errorf("stack events %v, want one create", events)
		}
	})
	t.Run("update", func(t *testing.T) {
		replay(t, "echo2.yaml", "updating existing stack")
		events := stackEvents(t.Context(), t, c, "retry-solo")
		if n := count(events, "UPDATE_IN_PROGRESS"); n != 1 {
			t.Errorf("stack events %v: %d updates, want 1", events, n)
		}
	})
}

// TestTransientFaults: throttling that outlasts the SDK's retries makes
// Advance fail without touching the run; the run then goes on. Throttling
// of some calls is absorbed by the SDK's retries.
func TestTransientFaults(t *testing.T) {
	w := newWorld(t)
	faults := w.sb.Faults()

	t.Run("throttled DescribeStacks", func(t *testing.T) {
		p, run := w.plan(diamond("throttle"), engine.Build)
		e, _ := newEngine(p)
		check := func(when string) {
			t.Helper()
			before, _ := json.Marshal(run.Stacks)
			if err := faults.Throttle("cloudformation:DescribeStacks", 1); err != nil {
				t.Fatal(err)
			}
			err := e.Advance(t.Context(), run)
			if err == nil || !strings.Contains(err.Error(), "Throttling") {
				t.Errorf("%s: advance under throttling returned %v, want the throttling error", when, err)
			}
			if after, _ := json.Marshal(run.Stacks); string(after) != string(before) {
				t.Errorf("%s: a failed advance changed the stacks:\n%s\n%s", when, before, after)
			}
			if run.Done {
				t.Errorf("%s: run done after a failed advance", when)
			}
			if err := faults.Throttle("cloudformation:DescribeStacks", 0); err != nil {
				t.Fatal(err)
			}
		}
		check("before any stack started")
		if err := e.Advance(t.Context(), run); err != nil {
			t.Fatal(err)
		}
		if s := run.Stack("a"); s.State != engine.Submitted {
			t.Fatalf("a is %s after the first advance", s)
		}
		check("while a is in flight")
		finish(t, e, run)
		for _, s := range run.Stacks {
			if s.State != engine.Complete {
				t.Errorf("%s", s)
			}
		}
	})

	t.Run("a share of all CloudFormation calls throttled", func(t *testing.T) {
		if err := faults.Throttle("cloudformation:*", 0.3); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = faults.Throttle("cloudformation:*", 0) }()
		p, run := w.plan(diamond("partial"), engine.Build)
		e, _ := newEngine(p)
		failures := 0
		for deadline := time.Now().Add(20 * time.Second); !run.Done; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("not done: %s", statusLines(run))
			}
			if err := e.Advance(t.Context(), run); err != nil {
				failures++
			}
		}
		for _, s := range run.Stacks {
			if s.State != engine.Complete {
				t.Errorf("%s", s)
			}
		}
		if failures > 0 {
			t.Errorf("%d of %d steps failed: the SDK's retries should absorb the throttling", failures, run.Steps)
		}
	})
}

// TestDependentsStartNextAdvance: a dependent starts in the Advance that sees
// its dependency complete, while an unrelated slow stack is still running
// (no waves).
func TestDependentsStartNextAdvance(t *testing.T) {
	w := newWorld(t)
	p, run := w.plan(`namespace: nowave
stacks:
  - name: slow
    template_path: echo.yaml
    tags:
      sandbox:duration: 600ms
  - name: slow-child
    template_path: echo.yaml
    requires: [slow]
  - name: fast
    template_path: echo.yaml
    tags:
      sandbox:duration: 20ms
  - name: fast-child
    template_path: echo.yaml
    requires: [fast]
`, engine.Build)
	e, _ := newEngine(p)
	checked := false
	for deadline := time.Now().Add(20 * time.Second); !run.Done; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not done: %s", statusLines(run))
		}
		wasFast := run.Stack("fast").State
		if err := e.Advance(t.Context(), run); err != nil {
			t.Fatal(err)
		}
		if wasFast == engine.Submitted && run.Stack("fast").State == engine.Complete {
			checked = true
			if s := run.Stack("fast-child"); s.State != engine.Submitted {
				t.Errorf("in the advance that saw fast complete, %s", s)
			}
			if s := run.Stack("slow"); s.State != engine.Submitted {
				t.Errorf("slow should still be running when fast completes: %s", s)
			}
		}
	}
	if !checked {
		t.Error("never saw fast complete")
	}
	for _, s := range run.Stacks {
		if s.State != engine.Complete {
			t.Errorf("%s", s)
		}
	}
}

// TestPollSchedule: with a poll interval, each stack in flight is polled on
// its own schedule: first one interval (and a twentieth) after its operation
// was sent, then every interval from that, however late a poll comes; an
// Advance before a stack's time leaves it alone, and NextPoll says when the
// next is due.
func TestPollSchedule(t *testing.T) {
	const interval = 200 * time.Millisecond
	w := newWorld(t)
	p, run := w.plan(`namespace: schedule
stacks:
  - name: slow
    template_path: echo.yaml
    tags:
      sandbox:duration: 30s
`, engine.Build)
	e, _ := newEngine(p)
	e.PollInterval = interval
	advance := func() time.Time {
		t.Helper()
		if err := e.Advance(t.Context(), run); err != nil {
			t.Fatal(err)
		}
		return time.Now()
	}
	s := run.Stack("slow")
	after := advance()
	if s.State != engine.Submitted {
		t.Fatalf("after the first Advance: %s", s)
	}
	if first := s.PollAt; first.Before(s.Started.Add(interval+interval/20)) || first.After(after.Add(interval+interval/20)) {
		t.Errorf("first poll due %s after the stack was sent; want one interval and a twentieth (%s)", first.Sub(s.Started), interval+interval/20)
	}
	if next, ok := run.NextPoll(); !ok || !next.Equal(s.PollAt) {
		t.Errorf("NextPoll = %s, %v; want the stack's %s", next, ok, s.PollAt)
	}

	due := s.PollAt
	advance()
	if !s.PollAt.Equal(due) {
		t.Errorf("an Advance before the stack's time polled it: next poll moved from %s to %s", due, s.PollAt)
	}

	// Polled 2.5 intervals late: the schedule keeps its phase.
	time.Sleep(time.Until(due.Add(5 * interval / 2)))
	now := advance()
	late := s.PollAt.Sub(due)
	if late%interval != 0 || !s.PollAt.After(now.Add(-interval/2)) || s.PollAt.After(now.Add(interval)) {
		t.Errorf("polled at %s (due %s): next due %s after the missed one; want the next whole interval after now",
			now.Sub(due), interval, late)
	}
	if s.State != engine.Submitted {
		t.Fatalf("a 30 s stack is %s", s)
	}
}
