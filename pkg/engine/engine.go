package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/stackerless/stackerless/pkg/cfn"
)

// CloudFormation is the part of the CloudFormation API the engine drives.
type CloudFormation interface {
	Describe(ctx context.Context, name string) (*cfn.Stack, error)
	// Stacks lists the account and region's stacks and says in how many
	// pages (calls): one Advance reads them once for all its stacks there.
	Stacks(ctx context.Context) ([]*cfn.Stack, int, error)
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
	// Secrets are the values of NoEcho parameters: reports mask outputs
	// that repeat them.
	Secrets []string
	// TemplateDigest is a hex SHA-256 of the template body, for the
	// no-change check when the template goes by URL; empty hashes the
	// input's body or URL instead.
	TemplateDigest string
}

// prepare asks the Preparer for a stack's input and keeps digests of its
// secrets (never the values) in the run, for reports to mask outputs with.
func (e *Engine) prepare(ctx context.Context, run *Run, s *StackState, existing *cfn.Stack) (*Prepared, error) {
	prep, err := e.Preparer.Prepare(ctx, run, s, existing)
	if err != nil {
		return nil, err
	}
	s.SecretDigests = nil
	for _, v := range prep.Secrets {
		s.SecretDigests = append(s.SecretDigests, SecretDigest(v))
	}
	return prep, nil
}

// SecretDigest is how a run records a secret value: a hex SHA-256.
func SecretDigest(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
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

// Options are the run-wide switches of build, diff and destroy. They are
// part of the run (Run.Options), so a run kept as JSON between Lambda
// invocations deploys as the CLI's would.
type Options struct {
	// MaxParallel bounds the stacks in flight at once; 0 means no bound.
	MaxParallel      int  `json:"max_parallel,omitempty"`
	Interactive      bool `json:"interactive,omitempty"`
	RecreateFailed   bool `json:"recreate_failed,omitempty"`
	ContinueRollback bool `json:"continue_rollback,omitempty"`
	ReplacementsOnly bool `json:"replacements_only,omitempty"`
	Tail             bool `json:"tail,omitempty"`
	// ServiceRole is the config's service_role, given to CloudFormation.
	ServiceRole string `json:"service_role,omitempty"`
	// RetryFor bounds how long a stack's step may keep failing on transient
	// errors (throttling, server errors, network) before the stack fails with
	// the error, as stacker fails a step whose call raised; zero never gives
	// up. Until then each such failure ends the Advance, which the driver
	// calls again after a backoff (RetryDelay).
	RetryFor time.Duration `json:"retry_for,omitempty"`
}

// Engine advances runs. It holds no run state of its own.
type Engine struct {
	Clients  Clients
	Preparer Preparer
	Reporter Reporter
	Approver Approver
	// PollParallel bounds how many in-flight stacks one Advance polls at
	// once; 0 or 1 polls them one after the other, in plan order.
	PollParallel int
	// PollInterval is each in-flight stack's own poll period: a stack is
	// polled one interval after its operation went to CloudFormation, then
	// every interval, and an Advance polls only the stacks whose time has
	// come (Run.NextPoll says when that is). Zero polls every stack in flight
	// at every Advance.
	PollInterval time.Duration
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
//
// An error means a transient failure (throttling, network) after the SDK's
// retries, or ctx ending. The run is then still consistent: what the step
// did before the error is recorded in it (a stack it started is Submitted).
// The caller keeps that run, not an earlier copy, and calls Advance on it
// again after a backoff (RetryDelay; Driver does this). A caller that lost
// the run (a Lambda whose state write failed) may instead retry from the
// last saved copy: the request tokens make the repeated calls no-ops.
// Stacks whose calls keep failing past Options.RetryFor fail by themselves,
// so retrying always ends.
func (e *Engine) Advance(ctx context.Context, run *Run) error {
	run.Steps++
	now := time.Now()
	run.snap = &snapshot{accounts: map[accountKey]*listing{}, now: now}
	if err := e.pollAll(ctx, run, now); err != nil {
		return err
	}
	for progressed := true; progressed; {
		progressed = false
		for _, s := range run.Stacks {
			if s.State != Pending || s.inFlight() {
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
			if err := e.step(ctx, run, s, e.start); err != nil {
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

// pollAll polls the stacks in flight whose poll is due at now: in parallel
// (PollParallel) those whose poll only reads CloudFormation and acts on the
// stack itself, then one by one those whose poll may render a template (it
// reads other stacks' outputs) and the rest when polling is sequential.
func (e *Engine) pollAll(ctx context.Context, run *Run, now time.Time) error {
	var serial, parallel []*StackState
	for _, s := range run.Stacks {
		switch {
		case !s.inFlight() || now.Before(s.PollAt):
		case e.PollParallel > 1 && !mayRender(s):
			parallel = append(parallel, s)
		default:
			serial = append(serial, s)
		}
	}
	if len(parallel) > 0 {
		if err := e.pollParallel(ctx, run, parallel); err != nil {
			return err
		}
	}
	for _, s := range serial {
		if err := e.step(ctx, run, s, e.poll); err != nil {
			return err
		}
	}
	return nil
}

// step starts or polls s (act), guards the outcome and, when it succeeded
// and s is still in flight, schedules its next poll.
func (e *Engine) step(ctx context.Context, run *Run, s *StackState, act func(context.Context, *Run, *StackState) error) error {
	before := opOf(s)
	if err := e.guard(ctx, run, s, act(ctx, run, s)); err != nil {
		return err
	}
	e.schedule(s, before)
	return nil
}

// op identifies the CloudFormation operation a step waits on: when it
// changes, an operation went to CloudFormation.
type op struct {
	state     State
	phase     Phase
	attempt   int
	started   time.Time
	changeSet string
}

func opOf(s *StackState) op {
	return op{s.State, s.Phase, s.Attempt, s.OpStarted, s.ChangeSet}
}

// schedule sets when s is polled next (PollAt), after a start or poll of it
// that succeeded: one interval (and a grace) after now when the step sent an
// operation, else one interval after the poll that was due, keeping the
// stack's own phase however late this poll came. now is after the call
// returned, so CloudFormation's clock for the operation had started; the
// grace, a twentieth of the interval, lets its last status change land
// before the poll, so that a stack taking an exact multiple of the interval
// is seen done on the poll due at that multiple, not one interval later.
func (e *Engine) schedule(s *StackState, before op) {
	if e.PollInterval <= 0 || !s.inFlight() {
		s.PollAt = time.Time{}
		return
	}
	now := time.Now()
	if opOf(s) != before || s.PollAt.IsZero() {
		s.PollAt = now.Add(e.PollInterval + e.PollInterval/20)
		return
	}
	late := now.Sub(s.PollAt)
	s.PollAt = s.PollAt.Add((late/e.PollInterval + 1) * e.PollInterval)
}

// mayRender reports whether polling s may start an operation that renders
// its template: a stack waiting to start, or one re-created or rolled back
// before its update.
func mayRender(s *StackState) bool {
	return s.Reason == "waiting" && s.State == Pending && s.Phase == PhaseNone ||
		s.Phase == PhaseDeleteToRecreate || s.Phase == PhaseContinueRollback
}

// pollParallel polls stacks with at most PollParallel calls in flight. The
// reporter hears one stack at a time. Every stack is polled even when one
// fails transiently, so one slow account does not hold the others; the first
// such error is returned.
func (e *Engine) pollParallel(ctx context.Context, run *Run, stacks []*StackState) error {
	shared := *e
	if e.Reporter != nil {
		shared.Reporter = &lockedReporter{r: e.Reporter}
	}
	sem := make(chan struct{}, e.PollParallel)
	errs := make([]error, len(stacks))
	var wg sync.WaitGroup
	for i, s := range stacks {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = shared.step(ctx, run, s, shared.poll)
		}()
	}
	wg.Wait()
	return errors.Join(slices.DeleteFunc(errs, func(err error) bool { return err == nil })...)
}

// lockedReporter serialises a Reporter for parallel polls.
type lockedReporter struct {
	mu sync.Mutex
	r  Reporter
}

func (l *lockedReporter) Status(s *StackState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.r.Status(s)
}

func (l *lockedReporter) Event(s *StackState, ev cfn.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.r.Event(s, ev)
}

func (l *lockedReporter) Message(s *StackState, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.r.Message(s, text)
}

// inFlight reports whether CloudFormation holds the step: an operation or a
// change set is under way, or an in-progress stack is being waited for.
func (s *StackState) inFlight() bool {
	if s.State.Terminal() {
		return false
	}
	return s.State == Submitted || s.Phase != PhaseNone || s.Reason == "waiting"
}

func (e *Engine) slotFree(run *Run) bool {
	if run.Options.MaxParallel <= 0 {
		return true
	}
	n := 0
	for _, s := range run.Stacks {
		if s.inFlight() && s.Phase != PhaseApproval {
			n++
		}
	}
	return n < run.Options.MaxParallel
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
func (e *Engine) guard(ctx context.Context, run *Run, s *StackState, err error) error {
	if err == nil {
		s.RetryUntil = time.Time{}
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("advance %s: %w", s.Name, err)
	}
	if IsTransient(err) {
		now := time.Now()
		if s.RetryUntil.IsZero() && run.Options.RetryFor > 0 {
			s.RetryUntil = now.Add(run.Options.RetryFor)
		}
		if s.RetryUntil.IsZero() || now.Before(s.RetryUntil) {
			return fmt.Errorf("advance %s: %w", s.Name, err)
		}
		e.debug("giving up", s, "error", err.Error(), "retry_for", run.Options.RetryFor)
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
	now := time.Now().UTC()
	if state == Submitted && s.Started.IsZero() {
		s.Started = now
	}
	if state.Terminal() {
		s.Phase = PhaseNone
		s.Ended = now
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
func (e *Engine) describe(ctx context.Context, run *Run, cf CloudFormation, s *StackState) (*cfn.Stack, error) {
	ref := s.FQN
	if s.StackID != "" {
		ref = s.StackID
	}
	stack, err := e.stack(ctx, run, cf, s, ref)
	if err == nil {
		e.debug("describe", s, "cfn_status", statusOf(stack))
	}
	return stack, err
}

// observe opens every poll of a started stack: the client, the stack as
// CloudFormation reports it, and new events when tailing.
func (e *Engine) observe(ctx context.Context, run *Run, s *StackState) (CloudFormation, *cfn.Stack, error) {
	cf, err := e.client(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	stack, err := e.describe(ctx, run, cf, s)
	if err != nil {
		return nil, nil, err
	}
	e.tail(ctx, run, cf, s)
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
func (e *Engine) tail(ctx context.Context, run *Run, cf CloudFormation, s *StackState) {
	if !run.Options.Tail || e.Reporter == nil {
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
