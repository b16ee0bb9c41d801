// Package engine deploys a stacker plan one short step at a time. Its unit of
// work is Advance(run): poll the stacks CloudFormation is working on, start
// the stacks whose dependencies are done, fail the dependents of failed
// stacks, and say whether the run is over. The run is plain JSON, so the CLI
// can keep it in memory between steps and the serverless runtime in S3.
package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Action is what a run does to its stacks.
type Action string

// The actions a run can perform.
const (
	Build   Action = "build"
	Destroy Action = "destroy"
	Diff    Action = "diff"
)

// State is stacker's step status name.
type State string

// Step states, with stacker's names: a stack is pending until started,
// submitted while CloudFormation works on it, then complete, skipped or failed.
const (
	Pending   State = "pending"
	Submitted State = "submitted"
	Complete  State = "complete"
	Skipped   State = "skipped"
	Failed    State = "failed"
)

// Terminal reports whether the step is over.
func (s State) Terminal() bool { return s == Complete || s == Skipped || s == Failed }

// OK reports whether dependents may go on after this state.
func (s State) OK() bool { return s == Complete || s == Skipped }

// Phase says which CloudFormation operation a started stack is waiting on.
type Phase string

// Phases of a started stack.
const (
	PhaseNone             Phase = ""
	PhaseCreate           Phase = "create"
	PhaseUpdate           Phase = "update"
	PhaseDeleteToRecreate Phase = "delete-to-recreate"
	PhaseContinueRollback Phase = "continue-rollback"
	PhaseChangeSet        Phase = "change-set"
	PhaseApproval         Phase = "approval"
	PhaseDestroy          Phase = "destroy"
)

// Run is the whole state of one execution.
type Run struct {
	ID      string        `json:"id"`
	Action  Action        `json:"action"`
	Stacks  []*StackState `json:"stacks"`
	Started time.Time     `json:"started"`
	// Done is set once every stack is terminal, or the run stopped for approval.
	Done bool `json:"done"`
	// Steps counts Advance calls, for reports and benchmarks.
	Steps int `json:"steps"`
	// Options are the run's switches, kept with it so that whoever advances
	// the run next (another Lambda invocation) deploys it the same way.
	Options Options `json:"options"`
	// StackPages is how many pages the last listing of each account's
	// stacks took ("profile|region"), to tell when listing pays off.
	StackPages map[string]int `json:"stack_pages,omitempty"`

	byName map[string]*StackState
	// snap is the current Advance's view of the stacks it listed.
	snap *snapshot
}

// StackState is one stack's step within a run.
type StackState struct {
	Name    string `json:"name"`
	FQN     string `json:"fqn"`
	Profile string `json:"profile,omitempty"`
	Region  string `json:"region,omitempty"`
	// Requires lists the steps that must end first: dependencies for build
	// and diff, dependents for destroy.
	Requires []string `json:"requires,omitempty"`

	State  State  `json:"state"`
	Reason string `json:"reason,omitempty"`
	Phase  Phase  `json:"phase,omitempty"`
	// Attempt counts operations started on this stack in this run; it feeds
	// the request tokens so that a retried Advance never acts twice.
	Attempt   int               `json:"attempt,omitempty"`
	StackID   string            `json:"stack_id,omitempty"`
	ChangeSet string            `json:"change_set,omitempty"`
	Outputs   map[string]string `json:"outputs,omitempty"`
	// OpStarted is when the current CloudFormation operation was started.
	OpStarted time.Time `json:"op_started,omitzero"`
	// PollAt is when the step is next due to be polled while in flight: one
	// poll interval after its current operation went to CloudFormation, then
	// every interval (Engine.PollInterval). Zero means at the next Advance.
	PollAt time.Time `json:"poll_at,omitzero"`
	// EventsSince is the time of the newest stack event already reported.
	EventsSince time.Time `json:"events_since,omitzero"`
	// RollbackReported records that the rolling-back status was shown.
	RollbackReported bool `json:"rollback_reported,omitempty"`
	// Diff holds what diff found, for reports.
	Diff string `json:"diff,omitempty"`
	// ChangeSetType is CREATE or UPDATE while a change set is pending.
	ChangeSetType string `json:"change_set_type,omitempty"`
	// Sent records the parameters (kept values spelled out) and declared
	// outputs of the template sent with a pending change set, for the
	// parameter diff and diff's inferred outputs.
	Sent *Sent `json:"sent,omitempty"`
	// SettingsPending marks a stack created through a change set, which
	// carries neither termination protection nor a stack policy: they are
	// applied once the creation completes.
	SettingsPending bool `json:"settings_pending,omitempty"`
	// Approved is set when a stopped change set may be executed.
	Approved bool `json:"approved,omitempty"`
	// FailureReason is CloudFormation's reason for the first failed resource.
	FailureReason string `json:"failure_reason,omitempty"`
	// RetryUntil is set while the step fails on transient errors: past it,
	// the stack fails with the error (Options.RetryFor).
	RetryUntil time.Time `json:"retry_until,omitzero"`
	// Started is when the step first went to CloudFormation, Ended when it
	// became terminal, for reports.
	Started time.Time `json:"started,omitzero"`
	Ended   time.Time `json:"ended,omitzero"`
	// ApprovalSince is when the step stopped for approval, ApprovalSummary
	// what its change set would do: what a person decides on.
	ApprovalSince   time.Time `json:"approval_since,omitzero"`
	ApprovalSummary string    `json:"approval_summary,omitempty"`
	// SecretDigests are SHA-256 digests of the values given to NoEcho
	// parameters (SecretDigest), so reports can mask outputs repeating them.
	SecretDigests []string `json:"secret_digests,omitempty"`
	// CreateUnanswered records a CreateStack that got no answer: it may
	// have created the stack, so the retry sends it again with the same
	// token to find out.
	CreateUnanswered bool `json:"create_unanswered,omitempty"`

	Spec Spec `json:"spec"`
}

// Sent is what a change set was computed from.
type Sent struct {
	OldParameters map[string]string `json:"old_parameters,omitempty"`
	Parameters    map[string]string `json:"parameters,omitempty"`
	OutputValues  map[string]string `json:"output_values,omitempty"`
}

// Spec is what the config says about a stack that decides how it is deployed.
type Spec struct {
	Enabled               bool `json:"enabled"`
	Locked                bool `json:"locked,omitempty"`
	Forced                bool `json:"forced,omitempty"`
	Protected             bool `json:"protected,omitempty"`
	WaitInProgress        bool `json:"wait_in_progress,omitempty"`
	TerminationProtection bool `json:"termination_protection,omitempty"`
	HasTemplate           bool `json:"has_template,omitempty"`
	// StackPolicy is the body of stack_policy_path, set before executing
	// change sets (which cannot carry one).
	StackPolicy string            `json:"stack_policy,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// Stack returns the step for name, or nil.
// It indexes the steps on first use; the index is rebuilt when Stacks
// changes length (steps are never renamed).
func (r *Run) Stack(name string) *StackState {
	if len(r.byName) != len(r.Stacks) {
		r.byName = make(map[string]*StackState, len(r.Stacks))
		for _, s := range r.Stacks {
			r.byName[s.Name] = s
		}
	}
	return r.byName[name]
}

// Failed returns the names of the failed steps, in plan order.
func (r *Run) Failed() []string {
	var out []string
	for _, s := range r.Stacks {
		if s.State == Failed {
			out = append(out, s.Name)
		}
	}
	return out
}

// AwaitingApproval returns the steps stopped before executing a change set.
func (r *Run) AwaitingApproval() []string {
	var out []string
	for _, s := range r.Stacks {
		if s.Phase == PhaseApproval && !s.State.Terminal() {
			out = append(out, s.Name)
		}
	}
	return out
}

// token is a ClientRequestToken unique to (run, stack, attempt, operation):
// CloudFormation answers a repeated call with the same token as it answered
// the first, so a retried Advance cannot create or update twice.
func (r *Run) token(s *StackState, op string) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d\x00%s", r.ID, s.FQN, s.Attempt, op)))
	return "stackerless-" + op + "-" + hex.EncodeToString(sum[:12])
}

// changeSetName names a change set after the run and stack, so a retried step
// finds its own change set. Names must start with a letter.
func (r *Run) changeSetName(s *StackState) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d", r.ID, s.FQN, s.Attempt)))
	return "stackerless-" + hex.EncodeToString(sum[:10])
}

// String is the status line stacker prints: "name: state (reason)".
func (s *StackState) String() string {
	if s.Reason == "" {
		return fmt.Sprintf("%s: %s", s.Name, s.State)
	}
	return fmt.Sprintf("%s: %s (%s)", s.Name, s.State, s.Reason)
}

// FailedSummary is stacker's closing line for a failed run.
func FailedSummary(names []string) string {
	return "The following steps failed: " + strings.Join(names, ", ")
}
