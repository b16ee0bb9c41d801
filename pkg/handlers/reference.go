package handlers

import (
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/runstate"
)

// Reference is the run reference every step after Prepare receives and
// returns (docs/runtime.md): small, never the state.
type Reference struct {
	RunID        string `json:"run_id"`
	StateKey     string `json:"state_key"`
	ExecutionARN string `json:"execution_arn"`
	// Status is "running", "waiting_approval", "done" or "failed" after an
	// Advance; Prepare's "skipped" (with Reason) started nothing: a
	// scheduled run that found its config locked or frozen, or a second
	// execution for a config version that already has its run.
	Status      string   `json:"status"`
	Reason      string   `json:"reason,omitempty"`
	Done        bool     `json:"done"`
	WaitSeconds int      `json:"wait_seconds"`
	Steps       int      `json:"steps"`
	InFlight    int      `json:"in_flight,omitempty"`
	Awaiting    []string `json:"awaiting_approval,omitempty"`
	Failed      []string `json:"failed,omitempty"`
}

// Reference statuses Prepare returns; Advance returns engine.Status values.
const (
	StatusRunning = "running"
	StatusSkipped = "skipped"
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
