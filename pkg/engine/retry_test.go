package engine_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/stackerless/stackerless/pkg/awsprofile"
	"github.com/stackerless/stackerless/pkg/engine"
)

const retryConfig = `namespace: retries
stacks:
  - name: first
    template_path: echo.yaml
  - name: second
    template_path: echo.yaml
    requires: [first]
`

// TestRetryFor: a step that keeps failing on a transient error ends each
// Advance until its deadline, then fails with the error as its reason, and
// its dependents fail after it; a success in between starts the count over.
func TestRetryFor(t *testing.T) {
	w := newWorld(t)
	faults := w.sb.Faults()

	t.Run("gives up after the deadline", func(t *testing.T) {
		if err := faults.ServerErrors("cloudformation:CreateStack", 1); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = faults.ServerErrors("cloudformation:CreateStack", 0) }()
		p, run := w.plan(retryConfig, engine.Build)
		// A deadline that has passed by the next Advance.
		run.Options = engine.Options{RetryFor: time.Nanosecond}
		e, rec := newEngine(p)
		err := e.Advance(t.Context(), run)
		if err == nil || !strings.Contains(err.Error(), "InternalFailure") {
			t.Fatalf("first advance: %v, want the server error", err)
		}
		if s := run.Stack("first"); s.State != engine.Pending || s.RetryUntil.IsZero() {
			t.Fatalf("after one failure: %s, retry until %v", s, s.RetryUntil)
		}
		if err := e.Advance(t.Context(), run); err != nil {
			t.Fatalf("advance past the deadline: %v", err)
		}
		s := run.Stack("first")
		if s.State != engine.Failed || !strings.Contains(s.Reason, "create stack retries-first") || !strings.Contains(s.Reason, "InternalFailure") {
			t.Errorf("first: %s, want failed with the create error", s)
		}
		rec.expect(t, "second: failed (dependency has failed)")
		if !run.Done {
			t.Error("run not done")
		}
	})

	t.Run("without a deadline it never gives up", func(t *testing.T) {
		if err := faults.Throttle("cloudformation:CreateStack", 1); err != nil {
			t.Fatal(err)
		}
		p, run := w.plan(strings.ReplaceAll(retryConfig, "retries", "patient"), engine.Build)
		e, _ := newEngine(p)
		for i := range 3 {
			if err := e.Advance(t.Context(), run); err == nil || !strings.Contains(err.Error(), "Throttling") {
				t.Fatalf("advance %d: %v, want throttling", i, err)
			}
		}
		if err := faults.Throttle("cloudformation:CreateStack", 0); err != nil {
			t.Fatal(err)
		}
		finish(t, e, run)
		for _, s := range run.Stacks {
			if s.State != engine.Complete || !s.RetryUntil.IsZero() {
				t.Errorf("%s, retry until %v", s, s.RetryUntil)
			}
		}
	})

	t.Run("a success starts the count over", func(t *testing.T) {
		p, run := w.plan(strings.ReplaceAll(retryConfig, "retries", "again"), engine.Build)
		run.Options = engine.Options{RetryFor: time.Hour}
		e, _ := newEngine(p)
		if err := faults.Throttle("cloudformation:DescribeStacks", 1); err != nil {
			t.Fatal(err)
		}
		if err := e.Advance(t.Context(), run); err == nil {
			t.Fatal("advance under throttling succeeded")
		}
		if s := run.Stack("first"); s.RetryUntil.IsZero() {
			t.Fatal("no retry deadline after a transient failure")
		}
		if err := faults.Throttle("cloudformation:DescribeStacks", 0); err != nil {
			t.Fatal(err)
		}
		if err := e.Advance(t.Context(), run); err != nil {
			t.Fatal(err)
		}
		if s := run.Stack("first"); s.State != engine.Submitted || !s.RetryUntil.IsZero() {
			t.Errorf("after a successful step: %s, retry until %v", s, s.RetryUntil)
		}
		finish(t, e, run)
	})
}

// TestRetryQuotaIsTransient: when the SDK stops retrying because its retry
// quota is spent (not its attempts), the step is retried like any other
// transient failure instead of failing the stack.
func TestRetryQuotaIsTransient(t *testing.T) {
	w := newWorld(t)
	cfg := baseConfig(w.sb)
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 10
			o.MaxBackoff = time.Millisecond
			// One retry's worth of tokens: the second throttled attempt of
			// a call finds the quota spent.
			o.RateLimiter = ratelimit.NewTokenRateLimit(o.RetryCost)
		})
	}
	provider, err := awsprofile.NewProvider(filepath.Join(w.dir, "aws-config"), awsprofile.WithBaseConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	w.provider = provider
	if err := w.sb.Faults().Throttle("cloudformation:CreateStack", 1); err != nil {
		t.Fatal(err)
	}
	p, run := w.plan(retryConfig, engine.Build)
	e, _ := newEngine(p)
	err = e.Advance(t.Context(), run)
	var quota ratelimit.QuotaExceededError
	if !errors.As(err, &quota) {
		t.Fatalf("advance: %v, want the SDK's retry quota error", err)
	}
	if s := run.Stack("first"); s.State != engine.Pending {
		t.Errorf("first: %s, want it still pending for a retry", s)
	}
}

// TestLostResponses: a CreateStack or ExecuteChangeSet that takes effect but
// whose response is lost fails the Advance; the retried step resends it with
// the same ClientRequestToken and follows the one operation, even when it has
// finished in between.
func TestLostResponses(t *testing.T) {
	w := newWorld(t)
	c := cfnClient(w, "master")
	faults := w.sb.Faults()
	lose := func(t *testing.T, e *engine.Engine, run *engine.Run, api string) {
		t.Helper()
		if err := faults.ServerErrorsAfter(api, 1); err != nil {
			t.Fatal(err)
		}
		err := e.Advance(t.Context(), run)
		if err := faults.ServerErrorsAfter(api, 0); err != nil {
			t.Fatal(err)
		}
		if err == nil || !strings.Contains(err.Error(), "InternalFailure") {
			t.Fatalf("advance with the response lost: %v, want the server error", err)
		}
	}

	t.Run("create", func(t *testing.T) {
		p, run := w.plan(oneStack("lost", "solo", "echo.yaml", ""), engine.Build)
		run.Options = engine.Options{RetryFor: time.Hour}
		e, rec := newEngine(p)
		lose(t, e, run, "cloudformation:CreateStack")
		// The create the lost call started finishes before the retry.
		waiter := cloudformation.NewStackCreateCompleteWaiter(c, func(o *cloudformation.StackCreateCompleteWaiterOptions) {
			o.MinDelay, o.MaxDelay = 10*time.Millisecond, 20*time.Millisecond
		})
		if err := waiter.Wait(t.Context(), &cloudformation.DescribeStacksInput{StackName: aws.String("lost-solo")}, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		finish(t, e, run)
		rec.expect(t, "solo: complete (creating new stack)")
		if events := stackEvents(t.Context(), t, c, "lost-solo"); count(events, "CREATE_IN_PROGRESS") != 1 || count(events, "UPDATE_IN_PROGRESS") != 0 {
			t.Errorf("stack events %v, want one create and nothing else", events)
		}
		if id := aws.ToString(describe(t, c, "lost-solo").StackId); run.Stack("solo").StackID != id {
			t.Errorf("the step follows %q, the stack is %q", run.Stack("solo").StackID, id)
		}
	})

	t.Run("delete", func(t *testing.T) {
		w.build(oneStack("lostdel", "gone", "echo.yaml", ""), engine.Options{})
		id := aws.ToString(describe(t, c, "lostdel-gone").StackId)
		p, run := w.plan(oneStack("lostdel", "gone", "echo.yaml", ""), engine.Destroy)
		run.Options = engine.Options{RetryFor: time.Hour}
		e, rec := newEngine(p)
		lose(t, e, run, "cloudformation:DeleteStack")
		// The deletion the lost call started finishes before the retry.
		waiter := cloudformation.NewStackDeleteCompleteWaiter(c, func(o *cloudformation.StackDeleteCompleteWaiterOptions) {
			o.MinDelay, o.MaxDelay = 10*time.Millisecond, 20*time.Millisecond
		})
		if err := waiter.Wait(t.Context(), &cloudformation.DescribeStacksInput{StackName: aws.String(id)}, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		finish(t, e, run)
		rec.expect(t, "gone: complete (stack destroyed)")
	})

	t.Run("execute change set", func(t *testing.T) {
		w.build(oneStack("lostcs", "vault", "echo.yaml", ""), engine.Options{})
		p, run := w.plan(oneStack("lostcs", "vault", "echo2.yaml", "    protected: true\n"), engine.Build)
		run.Options = engine.Options{RetryFor: time.Hour}
		e, rec := newEngine(p)
		finish(t, e, run)
		if err := run.Approve("vault"); err != nil {
			t.Fatal(err)
		}
		lose(t, e, run, "cloudformation:ExecuteChangeSet")
		finish(t, e, run)
		rec.expect(t, "vault: complete (updating existing stack)")
		if events := stackEvents(t.Context(), t, c, "lostcs-vault"); count(events, "UPDATE_IN_PROGRESS") != 1 {
			t.Errorf("stack events %v, want one update", events)
		}
	})
}

func TestRetryDelay(t *testing.T) {
	for _, tc := range []struct {
		failures   int
		max, bound time.Duration
	}{
		{1, 30 * time.Second, time.Second},
		{2, 30 * time.Second, 2 * time.Second},
		{4, 30 * time.Second, 8 * time.Second},
		{50, 30 * time.Second, 30 * time.Second},
		{1, 20 * time.Millisecond, 20 * time.Millisecond},
		{9, 20 * time.Millisecond, 20 * time.Millisecond},
		{3, 0, 0},
		{0, time.Second, 0},
	} {
		for range 1000 {
			if d := engine.RetryDelay(tc.failures, tc.max); d < 0 || d > tc.bound {
				t.Fatalf("RetryDelay(%d, %s) = %s, want 0..%s", tc.failures, tc.max, d, tc.bound)
			}
		}
	}
}
