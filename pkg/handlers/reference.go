package handlers

import (
	"time"

	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/runstate"
)

// referenceOf is the reference for a run as it stands at now: when it is not
// over, the next Advance is due at NextPollAt (wait_seconds from now), the
// earliest poll due among the stacks in flight, never later than poll after
// now (approvalPoll while only approvals are awaited).
func referenceOf(st *runstate.State, executionARN string, now time.Time, poll, approvalPoll time.Duration) *Reference {
	out := st.Run.Outcome()
	ref := &Reference{
		RunID: st.RunID, StateKey: runstate.StateKey(st.RunID), ExecutionARN: executionARN,
		Status: string(out.Status), Steps: st.Run.Steps, InFlight: out.InFlight, Awaiting: out.Awaiting, Failed: out.Failed,
	}
	switch out.Status {
	case engine.StatusDone, engine.StatusFailed:
		ref.Done = true
	case engine.StatusWaitingApproval:
		ref.NextPollAt, ref.WaitSeconds = nextAdvance(now, now.Add(approvalPoll), approvalPoll)
	default:
		next, ok := st.Run.NextPoll()
		if !ok {
			next = now.Add(poll)
		}
		ref.NextPollAt, ref.WaitSeconds = nextAdvance(now, next, poll)
	}
	return ref
}

// nextAdvance is when the next Advance starts, for the state machine's Wait,
// and how many seconds from now that is. Step Functions ignores a
// timestamp's fraction of a second (and a Wait's seconds are whole), so the
// time is rounded up to whole seconds: no stack is polled before its time.
// Bounded by bound after now, rounded down, so a Wait never exceeds bound.
func nextAdvance(now, next time.Time, bound time.Duration) (time.Time, int) {
	at := next.Truncate(time.Second)
	if at.Before(next) {
		at = at.Add(time.Second)
	}
	if latest := now.Add(bound).Truncate(time.Second); at.After(latest) {
		at = latest
	}
	wait := at.Sub(now)
	if wait <= 0 {
		return at.UTC(), 0
	}
	return at.UTC(), int((wait + time.Second - 1) / time.Second)
}
