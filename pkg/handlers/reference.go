package handlers

import (
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/runstate"
)

// referenceOf is the reference for a run as it stands.
func referenceOf(st *runstate.State, executionARN string, poll, approvalPoll int) *Reference {
	out := st.Run.Outcome()
	ref := &Reference{
		RunID: st.RunID, StateKey: runstate.StateKey(st.RunID), ExecutionARN: executionARN,
		Status: string(out.Status), Steps: st.Run.Steps, InFlight: out.InFlight, Awaiting: out.Awaiting, Failed: out.Failed,
	}
	switch out.Status {
	case engine.StatusDone, engine.StatusFailed:
		ref.Done = true
	case engine.StatusWaitingApproval:
		ref.WaitSeconds = approvalPoll
	default:
		ref.WaitSeconds = poll
	}
	return ref
}
