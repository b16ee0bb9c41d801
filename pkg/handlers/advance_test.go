package handlers_test

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/handlers"
	"github.com/stackerless/stackerless/pkg/runstate"
)

// The seed example, driven as the state machine drives it: Advance until
// done, then Report, deploying into three accounts through the profiles'
// role chain.
func TestSeedRunToCompletion(t *testing.T) {
	dir := seedDir(t)
	e := newEnv(t, dir, aws.Config{})
	bootstrapRoles(t, e.sb, "") // the seed's trust: MFA at every hop
	e.loader.base = mfaSession(t, e.sb)
	ctx := t.Context()

	ref := e.start(t, engine.Build, nil)
	ref = e.drive(t, ref)
	if ref.Status != string(engine.StatusDone) || !ref.Done || len(ref.Failed) > 0 {
		t.Fatalf("run ended %+v", ref)
	}
	out, err := e.report.Handle(ctx, handlers.ReportInput{Reference: ref})
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	if out.Status != handlers.ReportSucceeded || out.ReportKey != runstate.ReportKey(ref.RunID) {
		t.Fatalf("report = %+v", out)
	}
	var rep handlers.RunReport
	o, err := e.store.Get(ctx, out.ReportKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(o.Body, &rep); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"stacker-bucket": "111111111111", "prod/vpc": "222222222222", "stage/vpc": "333333333333"}
	if len(rep.Stacks) != len(want) {
		t.Fatalf("report has %d stacks: %+v", len(rep.Stacks), rep.Stacks)
	}
	for _, s := range rep.Stacks {
		if s.Name == "stacker-bucket" && s.Outputs["BucketId"] == "" {
			t.Errorf("stacker-bucket's outputs are missing: %+v", s)
		}
		if s.Account != want[s.Name] || s.Status != "complete" || s.Action != "create" || s.Region != "us-east-1" || s.DurationSeconds <= 0 {
			t.Errorf("report line %+v, want account %s, complete, create", s, want[s.Name])
		}
	}
	md, err := e.store.Get(ctx, runstate.ReportMarkdownKey(ref.RunID))
	if err != nil || !strings.Contains(string(md.Body), "| prod/vpc | 222222222222 | us-east-1 | create | complete |") {
		t.Fatalf("report.md (%v):\n%s", err, md.Body)
	}
	if _, _, err := e.store.ReadLock(ctx, runstate.LockKey("config", "stacker.yaml")); !errors.Is(err, runstate.ErrNotFound) {
		t.Fatalf("lock after report: %v, want it released", err)
	}
	if got := eventTypes(e); strings.Join(got, ",") != "Run Started,Run Finished" {
		t.Fatalf("events %v", got)
	}
	// A replayed Report changes and emits nothing.
	if _, err := e.report.Handle(ctx, handlers.ReportInput{Reference: ref}); err != nil {
		t.Fatalf("replayed report: %v", err)
	}
	if got := eventTypes(e); len(got) != 2 {
		t.Fatalf("events after a replayed report: %v", got)
	}
}

func eventTypes(e *env) []string {
	var out []string
	for _, ev := range e.sb.Events() {
		if ev.Source == handlers.EventSource {
			out = append(out, ev.DetailType)
		}
	}
	return out
}

const echoTemplate = `Parameters:
  In: {Type: String}
  Secret: {Type: String, NoEcho: true, Default: ""}
Resources:
  Handle: {Type: AWS::CloudFormation::WaitConditionHandle}
Outputs:
  Out: {Value: !Ref In}
  Leak: {Value: !Ref Secret}
`

// echoDir is a config of independent stacks in master, app protected.
func echoDir(t *testing.T, stacks ...string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := "namespace: t\nstacker_bucket: ''\nstacks:\n"
	for _, s := range stacks {
		cfg += "  - name: " + s + "\n    template_path: echo.yaml\n    variables:\n      In: ${in}\n      Secret: ${secret}\n"
		if s == "app" {
			cfg += "    protected: true\n"
		}
	}
	if err := writeFiles(dir, map[string]string{"stacker.yaml": cfg, "echo.yaml": echoTemplate}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Two Advances of the same step at once: at most one acts, the other loses
// its write or sees a replay; no stack is created twice.
func TestConcurrentAdvance(t *testing.T) {
	e := newEnv(t, echoDir(t, "a", "b", "c"), aws.Config{})
	ctx := t.Context()
	ref := e.start(t, engine.Build, map[string]string{"in": "v1", "secret": "s3cr3t"})
	for !ref.Done {
		var wg sync.WaitGroup
		outs := make([]*handlers.Reference, 2)
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i], errs[i] = e.advance.Handle(ctx, ref)
			}()
		}
		wg.Wait()
		next := ref
		for i, err := range errs {
			var conflict *handlers.ConflictError
			switch {
			case err == nil:
				next = *outs[i]
			case !errors.As(err, &conflict):
				t.Fatalf("advance: %T %v, want a ConflictError", err, err)
			}
		}
		if errs[0] != nil && errs[1] != nil {
			t.Fatal("both advances lost")
		}
		st, _, err := e.store.LoadState(ctx, ref.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Run.Steps != ref.Steps+1 {
			t.Fatalf("two advances of step %d left the run at step %d, want one step", ref.Steps, st.Run.Steps)
		}
		ref = next
	}
	if ref.Status != string(engine.StatusDone) {
		t.Fatalf("run ended %+v", ref)
	}
	cf := cloudformation.NewFromConfig(config(t, e.sb, "master"))
	list, err := cf.ListStacks(ctx, &cloudformation.ListStacksInput{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, s := range list.StackSummaries {
		seen[aws.ToString(s.StackName)]++
	}
	for _, name := range []string{"t-a", "t-b", "t-c"} {
		if seen[name] != 1 {
			t.Errorf("%s exists %d times: %v", name, seen[name], seen)
		}
	}
}

// A replayed Advance (its input older than the stored run) acts on
// nothing and answers where the run stands.
func TestReplayedAdvance(t *testing.T) {
	e := newEnv(t, echoDir(t, "a"), aws.Config{})
	ctx := t.Context()
	ref0 := e.start(t, engine.Build, map[string]string{"in": "v1", "secret": ""})
	ref1, err := e.advance.Handle(ctx, ref0)
	if err != nil {
		t.Fatal(err)
	}
	_, etag, err := e.store.LoadState(ctx, ref0.RunID)
	if err != nil {
		t.Fatal(err)
	}
	events := len(e.sb.Events())
	again, err := e.advance.Handle(ctx, ref0)
	if err != nil {
		t.Fatal(err)
	}
	if again.Steps != ref1.Steps || again.Status != ref1.Status {
		t.Fatalf("replay answered %+v, want %+v", again, ref1)
	}
	if _, etag2, _ := e.store.LoadState(ctx, ref0.RunID); etag2 != etag {
		t.Fatal("a replayed advance wrote the run state")
	}
	if n := len(e.sb.Events()); n != events {
		t.Fatalf("a replayed advance emitted %d events", n-events)
	}
	if ref := e.drive(t, *ref1); ref.Status != string(engine.StatusDone) {
		t.Fatalf("run ended %+v", ref)
	}
}

// A protected stack with changes waits for a decision by an allowed
// approver; rejection and expiry fail it.
func TestApproval(t *testing.T) {
	e := newEnv(t, echoDir(t, "app"), aws.Config{})
	ctx := t.Context()
	// The first run creates the stack: a creation needs no approval.
	ref := e.drive(t, e.start(t, engine.Build, map[string]string{"in": "v1", "secret": "s3cr3t"}))
	if ref.Status != string(engine.StatusDone) {
		t.Fatalf("first run %+v", ref)
	}
	if _, err := e.report.Handle(ctx, handlers.ReportInput{Reference: ref}); err != nil {
		t.Fatal(err)
	}
	var rep handlers.RunReport
	o, _ := e.store.Get(ctx, runstate.ReportKey(ref.RunID))
	_ = json.Unmarshal(o.Body, &rep)
	if got := rep.Stacks[0].Outputs; got["Leak"] != handlers.Masked || got["Out"] != "v1" {
		t.Fatalf("outputs in the report %v, want the NoEcho value masked", got)
	}

	update := func(t *testing.T, in string) handlers.Reference {
		t.Helper()
		ref := e.drive(t, e.start(t, engine.Build, map[string]string{"in": in, "secret": "s3cr3t"}))
		if ref.Status != string(engine.StatusWaitingApproval) || strings.Join(ref.Awaiting, ",") != "app" || ref.WaitSeconds != handlers.DefaultApprovalPollSeconds {
			t.Fatalf("update %+v, want it waiting for app's approval", ref)
		}
		st, _, _ := e.store.LoadState(ctx, ref.RunID)
		if s := st.Run.Stack("app"); !strings.Contains(s.ApprovalSummary, "t-app") || s.ApprovalSince.IsZero() {
			t.Fatalf("no change summary recorded: %+v", s)
		}
		return ref
	}
	finish := func(t *testing.T, ref handlers.Reference) {
		t.Helper()
		if _, err := e.report.Handle(ctx, handlers.ReportInput{Reference: ref}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("approve", func(t *testing.T) {
		ref := update(t, "v2")
		// A principal that may not approve is ignored.
		if err := e.store.RecordDecision(ctx, ref.RunID, "app", "AROAOTHER:mallory", runstate.Decision{Decision: runstate.Approve}); err != nil {
			t.Fatal(err)
		}
		if ref = e.drive(t, ref); ref.Status != string(engine.StatusWaitingApproval) {
			t.Fatalf("after an unauthorised approval %+v", ref)
		}
		if err := e.store.RecordDecision(ctx, ref.RunID, "app", "AROAAPPROVER:alice", runstate.Decision{Decision: runstate.Approve}); err != nil {
			t.Fatal(err)
		}
		if ref = e.drive(t, ref); ref.Status != string(engine.StatusDone) {
			t.Fatalf("after approval %+v", ref)
		}
		finish(t, ref)
		st, _, _ := e.store.LoadState(ctx, ref.RunID)
		if a := st.Approvals["app"]; a == nil || a.Decision != runstate.Approve || a.By != "AROAAPPROVER:alice" {
			t.Fatalf("approval record %+v", a)
		}
		if got := st.Run.Stack("app").Outputs["Out"]; got != "v2" {
			t.Fatalf("app's output %q after the approved update, want v2", got)
		}
	})
	t.Run("reject", func(t *testing.T) {
		ref := update(t, "v3")
		if err := e.store.RecordDecision(ctx, ref.RunID, "app", "AROAAPPROVER:bob", runstate.Decision{Decision: runstate.Reject, Comment: "not today"}); err != nil {
			t.Fatal(err)
		}
		ref = e.drive(t, ref)
		if ref.Status != string(engine.StatusFailed) || strings.Join(ref.Failed, ",") != "app" {
			t.Fatalf("after rejection %+v", ref)
		}
		st, _, _ := e.store.LoadState(ctx, ref.RunID)
		if r := st.Run.Stack("app").Reason; r != "change set rejected by AROAAPPROVER:bob: not today" {
			t.Fatalf("reason %q", r)
		}
		finish(t, ref)
	})
	t.Run("expiry", func(t *testing.T) {
		ref := update(t, "v4")
		e.advance.ApprovalExpiry = 1
		defer func() { e.advance.ApprovalExpiry = 0 }()
		ref = e.drive(t, ref)
		st, _, _ := e.store.LoadState(ctx, ref.RunID)
		if ref.Status != string(engine.StatusFailed) || st.Run.Stack("app").Reason != "approval expired after 1ns" {
			t.Fatalf("after expiry %+v: %s", ref, st.Run.Stack("app").Reason)
		}
		finish(t, ref)
	})
	var kinds []string
	for _, k := range eventTypes(e) {
		if k == handlers.EventApprovalNeeded || k == handlers.EventStackFailed {
			kinds = append(kinds, k)
		}
	}
	if want := "Approval Needed,Approval Needed,Stack Failed,Approval Needed,Stack Failed"; strings.Join(kinds, ",") != want {
		t.Fatalf("events %v, want %s", kinds, want)
	}
}
