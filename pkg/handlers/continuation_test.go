package handlers_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/handlers"
	"github.com/stackerless/stackerless/pkg/runstate"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// TestContinue: a run near the history limit goes on in a new execution of
// the same state machine, named for the run and step, which takes the
// config's lock over; a retried Continue finds that execution instead of
// starting another; a lock another run holds is not taken.
func TestContinue(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	cfg := sb.AWSConfig("master")
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(stateBucket)}); err != nil {
		t.Fatal(err)
	}
	ic := iam.NewFromConfig(cfg)
	role, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("states"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"states.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	sc := sfn.NewFromConfig(cfg)
	// A machine whose executions wait: the continuation is still running
	// when Continue is retried.
	sm, err := sc.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("runs"), RoleArn: role.Role.Arn,
		Definition: aws.String(`{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":600,"End":true}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	machine := aws.ToString(sm.StateMachineArn)
	store := &runstate.Store{S3: s3c, Bucket: stateBucket}
	src := runstate.Source{Bucket: configBucket, Key: "stacker.yaml", VersionID: "v1"}
	old := "arn:aws:states:us-east-1:111111111111:execution:runs:first"
	newRun := func(id string) *runstate.State {
		t.Helper()
		key, err := store.Acquire(ctx, sc, src, runstate.Lock{RunID: id, ExecutionARN: old, Acquired: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		st := &runstate.State{RunID: id, ExecutionARN: old, LockKey: key, Created: time.Now(), Updated: time.Now(), Run: &engine.Run{}}
		if _, err := store.CreateState(ctx, st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := newRun("r-1")
	h := &handlers.Continue{Store: store, Executions: sc}
	in := handlers.ContinueInput{Reference: handlers.Reference{RunID: "r-1", StateKey: runstate.StateKey("r-1"), ExecutionARN: old, Steps: 300},
		StateMachineARN: machine}

	out, err := h.Handle(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	want := "arn:aws:states:us-east-1:111111111111:execution:runs:" + handlers.ContinuationName("r-1", 300)
	if out.ContinuedIn != want || out.Status != handlers.StatusContinued || out.RunID != "r-1" || out.Steps != 300 {
		t.Errorf("output %+v, want continued in %s", out, want)
	}
	desc, err := sc.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(out.ContinuedIn)})
	if err != nil {
		t.Fatal(err)
	}
	var c handlers.Continuation
	if err := json.Unmarshal([]byte(aws.ToString(desc.Input)), &c); err != nil {
		t.Fatal(err)
	}
	if c.Continue != (handlers.ContinuedRef{RunID: "r-1", StateKey: runstate.StateKey("r-1"), Steps: 300, From: old}) {
		t.Errorf("continuation input %+v", c.Continue)
	}
	lock, _, err := store.ReadLock(ctx, st.LockKey)
	if err != nil || lock.RunID != "r-1" || lock.ExecutionARN != out.ContinuedIn {
		t.Errorf("lock %+v (%v), want r-1 held by %s", lock, err, out.ContinuedIn)
	}

	// A retry (the Lambda's or the state machine's) finds the same execution.
	again, err := h.Handle(ctx, in)
	if err != nil || again.ContinuedIn != out.ContinuedIn {
		t.Errorf("retried Continue: %+v %v", again, err)
	}
	list, err := sc.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: sm.StateMachineArn})
	if err != nil || len(list.Executions) != 1 {
		t.Errorf("executions after a retry: %d (%v), want 1", len(list.Executions), err)
	}
	// Once it has ended, the name is taken: found by its input, not started again.
	if _, err := sc.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(out.ContinuedIn)}); err != nil {
		t.Fatal(err)
	}
	if again, err := h.Handle(ctx, in); err != nil || again.ContinuedIn != out.ContinuedIn {
		t.Errorf("Continue after the continuation ended: %+v %v", again, err)
	}

	// The lock another run holds stays its own.
	if err := store.Release(ctx, st.LockKey, "r-1"); err != nil {
		t.Fatal(err)
	}
	newRun("r-2")
	in.RunID, in.Steps = "r-1", 600
	var locked *handlers.LockedError
	if _, err := h.Handle(ctx, in); !errors.As(err, &locked) {
		t.Errorf("Continue with another run's lock = %v, want LockedError", err)
	}
	// No run state: RunNotFoundError, nothing started.
	in.RunID = "r-none"
	var notFound *handlers.RunNotFoundError
	if _, err := h.Handle(ctx, in); !errors.As(err, &notFound) {
		t.Errorf("Continue of no run = %v, want RunNotFoundError", err)
	}
}
