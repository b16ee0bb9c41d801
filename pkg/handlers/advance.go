package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/cfn"
	"github.com/stackerless/stackerless/pkg/deploy"
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/runstate"
)

// Loader loads the project a run deploys from what its state pins (the
// bundle Prepare kept): the same files at every step.
type Loader interface {
	Load(ctx context.Context, st *runstate.State) (*deploy.Project, error)
}

// Defaults of the Advance settings.
const (
	DefaultPollSeconds         = 5
	DefaultApprovalPollSeconds = 60
	DefaultApprovalExpiry      = 24 * time.Hour
	DefaultPollParallel        = 32
)

// Advance performs one engine step of a run per invocation.
type Advance struct {
	Store  *runstate.Store
	Loader Loader
	// Events receives the run's events; nil emits none.
	Events *Emitter
	// PollSeconds is each in-flight stack's poll interval
	// (engine.Engine.PollInterval), so the longest wait between two
	// Advances; ApprovalPollSeconds is the wait while only approvals are
	// awaited.
	PollSeconds, ApprovalPollSeconds int
	// ApprovalExpiry fails a stack whose approval has not come in time.
	ApprovalExpiry time.Duration
	// Approvers are the principal ids (aws:userid) whose decisions count;
	// an entry ending in ":" admits every session of that role id.
	Approvers []string
	// PollParallel bounds the stacks polled at once.
	PollParallel int
	Log          *slog.Logger
}

func (h *Advance) log() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Handle advances the run ref names by one step, or, when ref is older than
// the stored run (a replayed invocation), returns where the run stands
// without acting. Its errors are the contract's types, unwrapped:
// ConflictError when a concurrent invocation saved first, TransientError
// when AWS failed after the SDK's retries (the step's progress is saved),
// RunNotFoundError; anything else fails the run.
func (h *Advance) Handle(ctx context.Context, ref Reference) (*Reference, error) {
	out, err := h.advance(ctx, ref)
	if err != nil {
		err = classify(err)
		h.log().ErrorContext(ctx, "advance failed", "run_id", ref.RunID, "error_type", fmt.Sprintf("%T", err), "error", err.Error())
		return nil, err
	}
	h.log().InfoContext(ctx, "advanced", "run_id", out.RunID, "steps", out.Steps, "status", out.Status, "in_flight", out.InFlight)
	return out, nil
}

func (h *Advance) reference(st *runstate.State, executionARN string) *Reference {
	return referenceOf(st, executionARN, time.Now(), h.pollInterval(), time.Duration(orDefault(h.ApprovalPollSeconds, DefaultApprovalPollSeconds))*time.Second)
}

func (h *Advance) pollInterval() time.Duration {
	return time.Duration(orDefault(h.PollSeconds, DefaultPollSeconds)) * time.Second
}

func (h *Advance) advance(ctx context.Context, ref Reference) (*Reference, error) {
	if ref.RunID == "" {
		return nil, &ConfigError{Err: errors.New("advance: the input names no run_id")}
	}
	st, etag, err := h.Store.LoadState(ctx, ref.RunID)
	if err != nil {
		return nil, err
	}
	if ref.Steps < st.Run.Steps {
		return h.reference(st, ref.ExecutionARN), nil // a replay: the step took effect
	}
	if o := st.Run.Outcome(); o.Status == engine.StatusDone || o.Status == engine.StatusFailed {
		return h.reference(st, ref.ExecutionARN), nil
	}
	before := snapshot(st.Run)
	decided, err := h.decide(ctx, st)
	if err != nil {
		return nil, err
	}
	proj, err := h.Loader.Load(ctx, st)
	if err != nil {
		return nil, err
	}
	eng := &engine.Engine{Clients: proj, Preparer: proj, Reporter: &logReporter{ctx: ctx, log: h.log()}, Log: nil,
		PollParallel: orDefault(h.PollParallel, DefaultPollParallel), PollInterval: h.pollInterval()}
	stepErr := eng.Advance(ctx, st.Run)
	if stepErr != nil && !engine.IsTransient(stepErr) {
		return nil, stepErr
	}
	// A transient failure leaves the run consistent (engine.Advance): its
	// progress is saved, then the state machine retries.
	st.Updated = time.Now().UTC()
	if _, err := h.Store.SaveState(ctx, st, etag); err != nil {
		return nil, err
	}
	if err := h.Events.Emit(ctx, h.events(st, before, decided)...); err != nil {
		h.log().WarnContext(ctx, "events not emitted", "run_id", st.RunID, "error", err.Error())
	}
	if stepErr != nil {
		return nil, &TransientError{Err: stepErr}
	}
	return h.reference(st, ref.ExecutionARN), nil
}

// decide applies the decisions recorded for stacks stopped for approval,
// and fails those whose approval expired. It returns the stacks it settled.
func (h *Advance) decide(ctx context.Context, st *runstate.State) ([]string, error) {
	var settled []string
	expiry := orDefault(h.ApprovalExpiry, DefaultApprovalExpiry)
	for _, name := range st.Run.AwaitingApproval() {
		decisions, err := h.Store.Decisions(ctx, st.RunID, name)
		if err != nil {
			return nil, err
		}
		d, ok := h.decision(decisions)
		now := time.Now().UTC()
		switch {
		case ok && d.Decision == runstate.Approve:
			err = st.Run.Approve(name)
		case ok:
			err = st.Run.Decline(name, "change set rejected by "+d.By+comment(d))
		case now.Sub(st.Run.Stack(name).ApprovalSince) >= expiry:
			d = runstate.Decision{Decision: "expired"}
			err = st.Run.Decline(name, fmt.Sprintf("approval expired after %s", expiry))
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		if st.Approvals == nil {
			st.Approvals = map[string]*runstate.Approval{}
		}
		s := st.Run.Stack(name)
		st.Approvals[name] = &runstate.Approval{Since: s.ApprovalSince, Summary: s.ApprovalSummary, Decision: d.Decision, By: d.By, Decided: now}
		settled = append(settled, name)
		h.log().InfoContext(ctx, "approval settled", "run_id", st.RunID, "stack", name, "decision", d.Decision, "by", d.By)
	}
	return settled, nil
}

func comment(d runstate.Decision) string {
	if d.Comment == "" {
		return ""
	}
	return ": " + d.Comment
}

// decision picks the decision that counts among those recorded: only
// allowed approvers' count, and one rejection outweighs any approval.
func (h *Advance) decision(ds []runstate.Decision) (runstate.Decision, bool) {
	var approval *runstate.Decision
	for i, d := range ds {
		if !h.allowed(d.By) {
			continue
		}
		if d.Decision == runstate.Reject {
			return d, true
		}
		if approval == nil {
			approval = &ds[i]
		}
	}
	if approval == nil {
		return runstate.Decision{}, false
	}
	return *approval, true
}

// allowed reports whether principal (an aws:userid) may decide.
func (h *Advance) allowed(principal string) bool {
	return slices.ContainsFunc(h.Approvers, func(a string) bool {
		return a == principal || strings.HasSuffix(a, ":") && strings.HasPrefix(principal, a)
	})
}

// stackSnap is what events compare before and after a step.
type stackSnap struct {
	state    engine.State
	awaiting bool
}

func snapshot(run *engine.Run) map[string]stackSnap {
	m := make(map[string]stackSnap, len(run.Stacks))
	for _, s := range run.Stacks {
		m[s.Name] = stackSnap{s.State, s.Phase == engine.PhaseApproval && !s.State.Terminal()}
	}
	return m
}

// events are what a saved step tells the bus: the run started (its first
// step), stacks that failed, stacks that stopped for approval.
func (h *Advance) events(st *runstate.State, before map[string]stackSnap, decided []string) []Event {
	base := RunDetail{RunID: st.RunID, Config: st.Request.Source.URI(), Version: st.Request.Source.VersionID, Action: string(st.Request.Action)}
	var evs []Event
	if st.Run.Steps == 1 {
		evs = append(evs, Event{EventRunStarted, base})
	}
	for _, s := range st.Run.Stacks {
		was := before[s.Name]
		d := base
		d.Stack = s.Name
		switch {
		case s.State == engine.Failed && was.state != engine.Failed:
			d.Reason, d.Status = s.Reason, string(s.State)
			evs = append(evs, Event{EventStackFailed, d})
		case s.Phase == engine.PhaseApproval && !s.State.Terminal() && !was.awaiting:
			d.Summary = s.ApprovalSummary
			evs = append(evs, Event{EventApprovalNeeded, d})
		}
	}
	return evs
}

// logReporter logs what the engine reports, for the function's log.
type logReporter struct {
	ctx context.Context
	log *slog.Logger
}

func (r *logReporter) Status(s *engine.StackState) {
	r.log.InfoContext(r.ctx, "stack status", "stack", s.Name, "fqn", s.FQN, "state", s.State, "reason", s.Reason)
}

func (r *logReporter) Event(s *engine.StackState, e cfn.Event) {}

func (r *logReporter) Message(s *engine.StackState, text string) {
	r.log.InfoContext(r.ctx, "stack message", "stack", s.Name, "message", text)
}
