package engine

import (
	"context"
	"time"
)

// Driver advances a run to its end in one process: the CLI's loop, and the
// tests', examples' and benchmarks'. (The serverless runtime drives the same
// Advance from a state machine instead, one step per Lambda invocation.)
type Driver struct {
	Engine *Engine
	// Interval is the poll interval: each stack in flight is polled one
	// interval after it went to CloudFormation, then every interval (the
	// Engine's PollInterval, when that is zero). Drive sleeps between two
	// Advances until the next stack's poll is due, never longer than Interval.
	Interval time.Duration
	// OnRetry, if set, hears each transient failure of an Advance; failures
	// counts them in a row.
	OnRetry func(failures int, err error)
	// OnStep, if set, hears how long each successful Advance took.
	OnStep func(took time.Duration)
}

// Drive advances run until it is done or waits only for approvals, starting a
// step whenever a stack's poll is due (Run.NextPoll). A step that fails on a transient error (throttling, server errors, network)
// is tried again on the same run after a random backoff of at most one
// interval (RetryDelay), however often: the engine fails a stack whose calls
// keep failing past Options.RetryFor. Drive returns an error only when ctx
// ends.
func (d *Driver) Drive(ctx context.Context, run *Run) error {
	eng := d.Engine
	if eng.PollInterval == 0 && d.Interval > 0 {
		withInterval := *eng
		withInterval.PollInterval = d.Interval
		eng = &withInterval
	}
	failures := 0
	for {
		started := time.Now()
		if err := eng.Advance(ctx, run); err != nil {
			if ctx.Err() != nil {
				return err
			}
			failures++
			if d.OnRetry != nil {
				d.OnRetry(failures, err)
			}
			if err := sleep(ctx, RetryDelay(failures, d.Interval)); err != nil {
				return err
			}
			continue
		}
		if d.OnStep != nil {
			d.OnStep(time.Since(started))
		}
		failures = 0
		if run.Done || run.Outcome().Status == StatusWaitingApproval {
			return nil
		}
		wait := d.Interval - time.Since(started)
		if next, ok := run.NextPoll(); ok {
			wait = min(time.Until(next), d.Interval)
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Status is where a run stands, for its drivers and reports.
type Status string

// Run statuses, as docs/runtime.md names them.
const (
	StatusRunning         Status = "running"
	StatusWaitingApproval Status = "waiting_approval"
	StatusDone            Status = "done"
	StatusFailed          Status = "failed"
)

// Outcome is where a run stands after an Advance.
type Outcome struct {
	Status Status
	// Failed and Awaiting name the failed stacks and those stopped for
	// approval, in plan order.
	Failed   []string
	Awaiting []string
	// InFlight counts the stacks CloudFormation is working on.
	InFlight int
}

// InFlight counts the stacks CloudFormation is working on (or that wait
// for a stack in progress), not counting those stopped for approval.
func (r *Run) InFlight() int {
	n := 0
	for _, s := range r.Stacks {
		if s.inFlight() && s.Phase != PhaseApproval {
			n++
		}
	}
	return n
}

// NextPoll is when the next Advance has a stack to poll: the earliest due
// poll (StackState.PollAt) of the stacks in flight, stacks stopped for
// approval aside (a decision, not CloudFormation, moves them on). A stack
// never polled yet is due at once (the zero time). ok is false when no stack
// is in flight.
func (r *Run) NextPoll() (next time.Time, ok bool) {
	for _, s := range r.Stacks {
		if !s.inFlight() || s.Phase == PhaseApproval {
			continue
		}
		if !ok || s.PollAt.Before(next) {
			next, ok = s.PollAt, true
		}
	}
	return next, ok
}

// Outcome says whether the run goes on, waits for approval, or ended, and
// how. After an Advance, a run with stacks stopped for approval and none in
// flight is waiting: what is left depends on the decisions. It is waiting
// even when other stacks failed; the failure shows once they are settled.
func (r *Run) Outcome() Outcome {
	o := Outcome{Failed: r.Failed(), Awaiting: r.AwaitingApproval(), InFlight: r.InFlight()}
	switch {
	case len(o.Awaiting) > 0 && o.InFlight == 0:
		o.Status = StatusWaitingApproval
	case !r.Done:
		o.Status = StatusRunning
	case len(o.Failed) > 0:
		o.Status = StatusFailed
	default:
		o.Status = StatusDone
	}
	return o
}
