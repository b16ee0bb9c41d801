package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/runstate"
)

// ReportInput is the run reference, with the failure a Catch recorded when
// the run ends through one (Step Functions' own field names).
type ReportInput struct {
	Reference
	Failure *Failure `json:"failure,omitempty"`
}

// Failure is a failed state's error name and cause.
type Failure struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// ReportOutput says how the run ended and where its report is.
type ReportOutput struct {
	RunID     string `json:"run_id,omitempty"`
	Status    string `json:"status"`
	ReportKey string `json:"report_key,omitempty"`
}

// Report outcomes.
const (
	ReportSucceeded = "succeeded"
	ReportFailed    = "failed"
)

// Report closes a run, however it ended: it writes the run's report,
// emits "Run Finished" and releases the config's lock.
type Report struct {
	Store  *runstate.Store
	Events *Emitter
	Log    *slog.Logger
}

func (h *Report) log() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}

// RunReport is runs/<run-id>/report.json.
type RunReport struct {
	RunID    string        `json:"run_id"`
	Config   string        `json:"config"`
	Version  string        `json:"version_id,omitempty"`
	Action   string        `json:"action"`
	Trigger  string        `json:"trigger,omitempty"`
	Status   string        `json:"status"`
	Started  time.Time     `json:"started"`
	Finished time.Time     `json:"finished"`
	Failure  *Failure      `json:"failure,omitempty"`
	Stacks   []StackReport `json:"stacks"`
}

// StackReport is one stack's line of the report.
type StackReport struct {
	Name    string `json:"name"`
	FQN     string `json:"stack_name"`
	Account string `json:"account,omitempty"`
	Profile string `json:"profile,omitempty"`
	Region  string `json:"region,omitempty"`
	// Action is what the run did to the stack: create, update, delete,
	// none (no changes, locked, disabled), or "" when it never started.
	Action          string             `json:"action"`
	Status          string             `json:"status"`
	Reason          string             `json:"reason,omitempty"`
	FailureReason   string             `json:"failure_reason,omitempty"`
	DurationSeconds float64            `json:"duration_seconds"`
	Outputs         map[string]string  `json:"outputs,omitempty"`
	Approval        *runstate.Approval `json:"approval,omitempty"`
}

// Masked replaces output values that repeat a NoEcho parameter's value.
const Masked = "****"

// Handle writes the report and releases the lock. A replayed invocation
// finds report.json (written with If-None-Match: *) and emits nothing
// again. It fails only when the state bucket cannot be written, so the
// state machine retries it.
func (h *Report) Handle(ctx context.Context, in ReportInput) (*ReportOutput, error) {
	out, err := h.report(ctx, in)
	if err != nil {
		err = classify(err)
		h.log().ErrorContext(ctx, "report failed", "run_id", in.RunID, "error_type", fmt.Sprintf("%T", err), "error", err.Error())
		return nil, err
	}
	h.log().InfoContext(ctx, "reported", "run_id", out.RunID, "status", out.Status, "report_key", out.ReportKey)
	return out, nil
}

func (h *Report) report(ctx context.Context, in ReportInput) (*ReportOutput, error) {
	if in.RunID == "" || in.Status == StatusSkipped {
		// Prepare failed before it made a run, or started none: there is
		// no state to report on and no lock held.
		status := ReportFailed
		if in.Failure == nil {
			status = ReportSucceeded
		}
		d := RunDetail{Status: status}
		if in.Failure != nil {
			d.Reason = in.Failure.Error + ": " + in.Failure.Cause
		}
		if err := h.Events.Emit(ctx, Event{EventRunFinished, d}); err != nil {
			h.log().WarnContext(ctx, "events not emitted", "error", err.Error())
		}
		return &ReportOutput{RunID: in.RunID, Status: status}, nil
	}
	st, _, err := h.Store.LoadState(ctx, in.RunID)
	if err != nil {
		return nil, err
	}
	rep := buildReport(st, in.Failure, time.Now().UTC())
	out := &ReportOutput{RunID: st.RunID, Status: rep.Status, ReportKey: runstate.ReportKey(st.RunID)}
	body, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	if _, err := h.Store.Put(ctx, runstate.ReportMarkdownKey(st.RunID), []byte(rep.Markdown()), "text/markdown; charset=utf-8", runstate.Condition{}); err != nil {
		return nil, err
	}
	_, err = h.Store.Put(ctx, runstate.ReportKey(st.RunID), body, "application/json", runstate.Create)
	replay := errors.Is(err, runstate.ErrConflict)
	if err != nil && !replay {
		return nil, err
	}
	if st.LockKey != "" {
		if err := h.Store.Release(ctx, st.LockKey, st.RunID); err != nil {
			return nil, err
		}
	}
	if !replay {
		d := RunDetail{RunID: st.RunID, Config: st.Request.Source.URI(), Version: st.Request.Source.VersionID,
			Action: string(st.Request.Action), Status: rep.Status, ReportKey: out.ReportKey}
		if rep.Failure != nil {
			d.Reason = rep.Failure.Error + ": " + rep.Failure.Cause
		}
		if err := h.Events.Emit(ctx, Event{EventRunFinished, d}); err != nil {
			h.log().WarnContext(ctx, "events not emitted", "run_id", st.RunID, "error", err.Error())
		}
	}
	return out, nil
}

// buildReport is the report of a run as its state stands.
func buildReport(st *runstate.State, failure *Failure, now time.Time) *RunReport {
	run := st.Run
	rep := &RunReport{
		RunID: st.RunID, Config: st.Request.Source.URI(), Version: st.Request.Source.VersionID,
		Action: string(run.Action), Trigger: string(st.Request.Trigger), Started: st.Created, Finished: now, Failure: failure,
	}
	if rep.Started.IsZero() {
		rep.Started = run.Started
	}
	out := run.Outcome()
	rep.Status = ReportSucceeded
	if failure != nil || out.Status != engine.StatusDone {
		rep.Status = ReportFailed
	}
	for _, s := range run.Stacks {
		r := StackReport{
			Name: s.Name, FQN: s.FQN, Account: accountOf(s.StackID), Profile: s.Profile, Region: s.Region,
			Action: stackAction(run.Action, s), Status: string(s.State), Reason: s.Reason, FailureReason: s.FailureReason,
			Outputs: maskOutputs(s.Outputs, s.SecretDigests), Approval: st.Approvals[s.Name],
		}
		if s.Phase == engine.PhaseApproval && !s.State.Terminal() {
			r.Status = "waiting_approval"
		}
		if !s.Started.IsZero() {
			end := s.Ended
			if end.IsZero() {
				end = now
			}
			r.DurationSeconds = end.Sub(s.Started).Round(time.Millisecond).Seconds()
		}
		rep.Stacks = append(rep.Stacks, r)
	}
	return rep
}

// accountOf reads the account from a stack's ARN
// (arn:aws:cloudformation:region:account:stack/name/id).
func accountOf(stackID string) string {
	parts := strings.SplitN(stackID, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

// stackAction names what the run did to a stack.
func stackAction(action engine.Action, s *engine.StackState) string {
	switch {
	case s.Started.IsZero() && s.State == engine.Skipped, s.Reason == "nochange":
		return "none"
	case s.Started.IsZero():
		return ""
	case action == engine.Destroy:
		return "delete"
	case action == engine.Diff:
		return "diff"
	case strings.Contains(s.Reason, "creating") || strings.Contains(s.Reason, "new stack"):
		return "create"
	default:
		return "update"
	}
}

// maskOutputs masks the outputs whose value is a NoEcho parameter's.
func maskOutputs(outputs map[string]string, secrets []string) map[string]string {
	if len(outputs) == 0 {
		return nil
	}
	masked := make(map[string]string, len(outputs))
	for k, v := range outputs {
		if slices.Contains(secrets, engine.SecretDigest(v)) {
			v = Masked
		}
		masked[k] = v
	}
	return masked
}

// Markdown is the report for people: report.md.
func (r *RunReport) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# stackerless %s %s: %s\n\n", r.Action, r.RunID, r.Status)
	fmt.Fprintf(&b, "- Config: `%s`", r.Config)
	if r.Version != "" {
		fmt.Fprintf(&b, " (version `%s`)", r.Version)
	}
	fmt.Fprintf(&b, "\n- Started: %s, finished: %s (%s)\n", r.Started.UTC().Format(time.RFC3339), r.Finished.UTC().Format(time.RFC3339),
		r.Finished.Sub(r.Started).Round(time.Second))
	if r.Failure != nil {
		fmt.Fprintf(&b, "- Failure: `%s`: %s\n", r.Failure.Error, mdEscape(r.Failure.Cause))
	}
	b.WriteString("\n| Stack | Account | Region | Action | Status | Reason | Duration |\n|---|---|---|---|---|---|---|\n")
	for _, s := range r.Stacks {
		reason := s.Reason
		if s.FailureReason != "" {
			reason += " (" + s.FailureReason + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %.1fs |\n", mdEscape(s.Name), s.Account, s.Region, s.Action, s.Status, mdEscape(reason), s.DurationSeconds)
	}
	for _, s := range r.Stacks {
		if len(s.Outputs) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s outputs\n\n", mdEscape(s.Name))
		for _, k := range slices.Sorted(maps.Keys(s.Outputs)) {
			fmt.Fprintf(&b, "- `%s`: `%s`\n", k, s.Outputs[k])
		}
	}
	return b.String()
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
