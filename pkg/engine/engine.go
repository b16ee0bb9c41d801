package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/stackerless/stackerless/pkg/cfn"
)

// CloudFormation is the part of the CloudFormation API the engine drives.
type CloudFormation interface {
	Describe(ctx context.Context, name string) (*cfn.Stack, error)
	Create(ctx context.Context, in cfn.StackInput) (string, error)
	Update(ctx context.Context, in cfn.StackInput) error
	Delete(ctx context.Context, name, roleARN, token string) error
	CreateChangeSet(ctx context.Context, in cfn.StackInput, name, changeSetType string) (string, error)
	DescribeChangeSet(ctx context.Context, stack, name string) (*cfn.ChangeSet, error)
	ExecuteChangeSet(ctx context.Context, stack, name, token string) error
	DeleteChangeSet(ctx context.Context, stack, name string) error
	ContinueUpdateRollback(ctx context.Context, stack, roleARN, token string) error
	SetStackPolicy(ctx context.Context, stack, body string) error
	SetTerminationProtection(ctx context.Context, stack string, on bool) error
	Events(ctx context.Context, stack string, since time.Time) ([]cfn.Event, error)
}

// Clients gives the CloudFormation client of a stack's account and region.
type Clients interface {
	CloudFormation(ctx context.Context, profile, region string) (CloudFormation, error)
}

// Prepared is a stack ready to send: template, parameters and settings.
type Prepared struct {
	Input cfn.StackInput
	// RequiresChangeSet is true for templates with a Transform, which
	// UpdateStack cannot take.
	RequiresChangeSet bool
	// OutputValues are the template's declared outputs as written, for the
	// placeholders diff shows for outputs it cannot know yet.
	OutputValues map[string]string
}

// Preparer resolves a stack's lookups and renders its template. Outputs of
// stacks that finished earlier in the run are in run.
type Preparer interface {
	Prepare(ctx context.Context, run *Run, s *StackState, existing *cfn.Stack) (*Prepared, error)
}

// Reporter receives what a run does, as it happens.
type Reporter interface {
	// Status is called whenever a step's state or reason changes.
	Status(s *StackState)
	// Event is called for each new stack event while tailing.
	Event(s *StackState, e cfn.Event)
	// Message carries diff output and notes such as rollback reasons.
	Message(s *StackState, text string)
}

// ErrUnattended is what an Approver returns when nobody can answer (no
// terminal, input closed): the stack then stops for approval as if there
// were no Approver.
var ErrUnattended = errors.New("no one to approve")

// Approver asks a person whether to execute a change set. A nil Approver
// means nobody is there: protected stacks stop and wait for approval.
type Approver interface {
	Approve(ctx context.Context, s *StackState, q Question) (bool, error)
}

// Question is what an Approver shows: a summary, and optionally the full
// details a person may ask to see (stacker's "v" answer). A Notice is a
// warning shown before the question, which stacker prints rather than logs.
type Question struct {
	Summary string
	Details string
	Notice  string
}

// Options are the run-wide switches of build, diff and destroy.
type Options struct {
	// MaxParallel bounds the stacks in flight at once; 0 means no bound.
	MaxParallel      int
	Interactive      bool
	RecreateFailed   bool
	ContinueRollback bool
	ReplacementsOnly bool
	Tail             bool
	ServiceRole      string
	// RetryFor bounds how long a stack's step may keep failing on transient
	// errors (throttling, server errors, network) before the stack fails with
	// the error, as stacker fails a step whose call raised; zero never gives
	// up. Until then each such failure ends the Advance, which the driver
	// calls again after a backoff (RetryDelay).
	RetryFor time.Duration
}

// Engine advances runs. It holds no run state of its own.
type Engine struct {
	Clients  Clients
	Preparer Preparer
	Reporter Reporter
	Approver Approver
	Options  Options
	// Log receives debug records of what CloudFormation reports and what
	// the engine decides; nil logs nothing.
	Log *slog.Logger
}

func (e *Engine) debug(msg string, s *StackState, args ...any) {
	if e.Log != nil {
		e.Log.Debug(msg, append([]any{"stack", s.Name, "fqn", s.FQN, "state", s.State, "phase", s.Phase}, args...)...)
	}
}

// Advance performs one step of run: it polls stacks in flight, starts stacks
// whose dependencies are done, fails dependents of failed stacks and sets
// run.Done when nothing is left to do. It never waits on CloudFormation.
// An error means a transient failure (throttling, network) after the SDK's
// retries, or ctx ending: the run is consistent and the same Advance may be
// called again, after a backoff (RetryDelay).
func (e *Engine) Advance(ctx context.Context, run *Run) error {
	run.Steps++
	for _, s := range run.Stacks {
		if !e.inFlight(s) {
			continue
		}
		if err := e.guard(ctx, s, e.poll(ctx, run, s)); err != nil {
			return err
		}
	}
	for progressed := true; progressed; {
		progressed = false
		for _, s := range run.Stacks {
			if s.State != Pending || e.inFlight(s) {
				continue
			}
			ready, failed := e.depsDone(run, s)
			if failed {
				e.set(s, Failed, "dependency has failed")
				progressed = true
				continue
			}
			if !ready || !e.slotFree(run) {
				continue
			}
			if err := e.guard(ctx, s, e.start(ctx, run, s)); err != nil {
				return err
			}
			if s.State.Terminal() {
				progressed = true
			}
		}
	}
	run.Done = true
	for _, s := range run.Stacks {
		if !s.State.Terminal() && s.Phase != PhaseApproval {
			run.Done = false
		}
	}
	return nil
}

// inFlight reports whether CloudFormation holds the step: an operation or a
// change set is under way, or an in-progress stack is being waited for.
func (e *Engine) inFlight(s *StackState) bool {
	if s.State.Terminal() {
		return false
	}
	return s.State == Submitted || s.Phase != PhaseNone || s.Reason == "waiting"
}

func (e *Engine) slotFree(run *Run) bool {
	if e.Options.MaxParallel <= 0 {
		return true
	}
	n := 0
	for _, s := range run.Stacks {
		if e.inFlight(s) && s.Phase != PhaseApproval {
			n++
		}
	}
	return n < e.Options.MaxParallel
}

func (e *Engine) depsDone(run *Run, s *StackState) (ready, failed bool) {
	ready = true
	for _, name := range s.Requires {
		d := run.Stack(name)
		if d == nil {
			continue // outside the selected stacks: stacker does not wait for it
		}
		if d.State == Failed {
			return false, true
		}
		if !d.State.OK() {
			ready = false
		}
	}
	return ready, false
}

// guard turns a stack's error into its failure, except for transient errors,
// which abort the step so the caller can retry it, until the stack's retry
// deadline (Options.RetryFor after its first failure in a row) has passed.
func (e *Engine) guard(ctx context.Context, s *StackState, err error) error {
	if err == nil {
		s.RetryUntil = time.Time{}
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("advance %s: %w", s.Name, err)
	}
	if IsTransient(err) {
		now := time.Now()
		if s.RetryUntil.IsZero() && e.Options.RetryFor > 0 {
			s.RetryUntil = now.Add(e.Options.RetryFor)
		}
		if s.RetryUntil.IsZero() || now.Before(s.RetryUntil) {
			return fmt.Errorf("advance %s: %w", s.Name, err)
		}
		e.debug("giving up", s, "error", err.Error(), "retry_for", e.Options.RetryFor)
	}
	e.set(s, Failed, err.Error())
	return nil
}

// IsTransient reports whether err may pass by itself: the SDK gave up
// retrying (attempts or its retry quota spent), or the error is one the SDK
// retries (throttling, 5xx, connection errors), or a deadline passed.
func IsTransient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var maxAttempts *retry.MaxAttemptsError
	var quota ratelimit.QuotaExceededError
	if errors.As(err, &maxAttempts) || errors.As(err, &quota) {
		return true
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

// RetryDelay is how long a driver waits before the next Advance after the
// failures-th transient failure in a row: a random time ("full jitter", so
// that many runs do not retry in step) below an exponential bound that
// starts at one second, or at max when that is smaller, and stops at max.
func RetryDelay(failures int, max time.Duration) time.Duration {
	if max <= 0 || failures <= 0 {
		return 0
	}
	bound := min(time.Second, max)
	for i := 1; i < failures && bound < max; i++ {
		bound *= 2
	}
	return rand.N(min(bound, max) + 1)
}

// set changes a step's status and reports it when it differs.
func (e *Engine) set(s *StackState, state State, reason string) {
	if s.State == state && s.Reason == reason {
		return
	}
	s.State, s.Reason = state, reason
	if state.Terminal() {
		s.Phase = PhaseNone
	}
	e.debug("status", s, "reason", reason)
	if e.Reporter != nil {
		e.Reporter.Status(s)
	}
}

func (e *Engine) message(s *StackState, format string, args ...any) {
	if e.Reporter != nil {
		e.Reporter.Message(s, fmt.Sprintf(format, args...))
	}
}

func (e *Engine) client(ctx context.Context, s *StackState) (CloudFormation, error) {
	c, err := e.Clients.CloudFormation(ctx, s.Profile, s.Region)
	if err != nil {
		return nil, fmt.Errorf("credentials for profile %q: %w", s.Profile, err)
	}
	return c, nil
}

func (e *Engine) start(ctx context.Context, run *Run, s *StackState) error {
	switch run.Action {
	case Destroy:
		return e.startDestroy(ctx, run, s)
	case Diff:
		return e.startDiff(ctx, run, s)
	default:
		return e.startBuild(ctx, run, s)
	}
}

func (e *Engine) poll(ctx context.Context, run *Run, s *StackState) error {
	if s.Reason == "waiting" && s.State == Pending && s.Phase == PhaseNone {
		return e.start(ctx, run, s)
	}
	switch s.Phase {
	case PhaseChangeSet, PhaseApproval:
		if run.Action == Diff {
			return e.pollDiff(ctx, run, s)
		}
		return e.pollChangeSet(ctx, run, s)
	case PhaseDestroy:
		return e.pollDestroy(ctx, run, s)
	default:
		return e.pollStack(ctx, run, s)
	}
}

// describe finds the stack of a step, by ID when known so that a deleted
// stack still answers (DELETE_COMPLETE) rather than vanishing.
func (e *Engine) describe(ctx context.Context, cf CloudFormation, s *StackState) (*cfn.Stack, error) {
	ref := s.FQN
	if s.StackID != "" {
		ref = s.StackID
	}
	stack, err := cf.Describe(ctx, ref)
	if err == nil {
		e.debug("describe", s, "cfn_status", statusOf(stack))
	}
	return stack, err
}

// observe opens every poll of a started stack: the client, the stack as
// CloudFormation reports it, and new events when tailing.
func (e *Engine) observe(ctx context.Context, s *StackState) (CloudFormation, *cfn.Stack, error) {
	cf, err := e.client(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	stack, err := e.describe(ctx, cf, s)
	if err != nil {
		return nil, nil, err
	}
	e.tail(ctx, cf, s)
	return cf, stack, nil
}

// computedChangeSet returns the step's change set once CloudFormation has
// computed it (cs is nil until then).
func (e *Engine) computedChangeSet(ctx context.Context, s *StackState) (CloudFormation, *cfn.ChangeSet, error) {
	cf, err := e.client(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	cs, err := cf.DescribeChangeSet(ctx, s.FQN, s.ChangeSet)
	if err != nil || !cs.Ready() {
		return nil, nil, err
	}
	return cf, cs, nil
}

// statusOf is a stack's status for logs, "" when there is no stack.
func statusOf(stack *cfn.Stack) cfn.StackStatus {
	if stack == nil {
		return ""
	}
	return stack.Status
}

// tail reports new stack events when tailing.
func (e *Engine) tail(ctx context.Context, cf CloudFormation, s *StackState) {
	if !e.Options.Tail || e.Reporter == nil {
		return
	}
	if s.EventsSince.IsZero() {
		// As stacker, tail from the start of this operation, not the stack's
		// history; a second of slack absorbs clock skew with CloudFormation.
		e.message(s, "Tailing stack: %s", s.FQN)
		s.EventsSince = s.OpStarted.Add(-time.Second)
	}
	events, err := cf.Events(ctx, stackRef(s), s.EventsSince)
	if err != nil {
		return // tailing is best effort: the status poll carries on
	}
	for _, ev := range events {
		e.Reporter.Event(s, ev)
		s.EventsSince = ev.Time
	}
}

func stackRef(s *StackState) string {
	if s.StackID != "" {
		return s.StackID
	}
	return s.FQN
}

// failureReason finds CloudFormation's reason for the first resource that
// failed in the current operation, as stacker logs "Stack Roll Back Reason".
func failureReason(ctx context.Context, cf CloudFormation, s *StackState) string {
	events, err := cf.Events(ctx, stackRef(s), s.OpStarted.Add(-time.Second))
	if err != nil {
		return ""
	}
	for _, ev := range events {
		if ev.Reason != "" && strings.HasSuffix(ev.Status, "_FAILED") {
			return fmt.Sprintf("%s: %s", ev.LogicalID, ev.Reason)
		}
	}
	for _, ev := range events {
		if ev.Reason != "" && strings.Contains(ev.Status, "ROLLBACK_IN_PROGRESS") {
			return ev.Reason
		}
	}
	return ""
}
