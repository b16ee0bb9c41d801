package runstate_test

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/runstate"
	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// newStore starts a sandbox with a state bucket in master.
func newStore(t *testing.T) (*sandbox.Sandbox, *runstate.Store) {
	t.Helper()
	sb := sandboxtest.Start(t)
	client := s3.NewFromConfig(config(t, sb))
	if _, err := client.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("state")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	return sb, &runstate.Store{S3: client, Bucket: "state"}
}

// config is master's SDK configuration with a transport whose idle
// connections close before the sandbox does: a connection dialled by a
// racing request but never used would otherwise hold the sandbox's Close
// for the server's five seconds.
func config(t *testing.T, sb *sandbox.Sandbox) aws.Config {
	cfg := sb.AWSConfig("master")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	cfg.HTTPClient = &http.Client{Transport: tr}
	t.Cleanup(tr.CloseIdleConnections)
	return cfg
}

func newState(id string) *runstate.State {
	return &runstate.State{
		RunID:   id,
		Request: runstate.Request{Action: engine.Build, Trigger: runstate.TriggerConsole, Source: runstate.Source{Bucket: "cfg", Key: "stacker.yaml", VersionID: "v1"}},
		Created: time.Now().UTC(),
		Run:     &engine.Run{ID: id, Action: engine.Build, Stacks: []*engine.StackState{{Name: "vpc", FQN: "ns-vpc", State: engine.Pending}}},
	}
}

func TestStateConditionalWrites(t *testing.T) {
	_, st := newStore(t)
	ctx := t.Context()
	s := newState(runstate.NewRunID(time.Now()))
	etag, err := st.CreateState(ctx, s)
	if err != nil {
		t.Fatalf("CreateState: %v", err)
	}
	if _, err := st.CreateState(ctx, s); !errors.Is(err, runstate.ErrConflict) {
		t.Fatalf("second CreateState = %v, want ErrConflict", err)
	}
	got, readTag, err := st.LoadState(ctx, s.RunID)
	if err != nil {
		t.Fatalf("LoadState: %v", err)
	}
	if readTag != etag || got.Run.Stack("vpc") == nil || got.Request.Source.VersionID != "v1" {
		t.Fatalf("LoadState = %+v etag %s, want the state written with etag %s", got, readTag, etag)
	}
	got.Run.Steps = 1
	newTag, err := st.SaveState(ctx, got, readTag)
	if err != nil {
		t.Fatalf("SaveState: %v", err)
	}
	if newTag == readTag {
		t.Fatalf("SaveState kept ETag %s", newTag)
	}
	if _, err := st.SaveState(ctx, got, readTag); !errors.Is(err, runstate.ErrConflict) {
		t.Fatalf("SaveState over a stale ETag = %v, want ErrConflict", err)
	}
	if _, _, err := st.LoadState(ctx, "r-missing"); !errors.Is(err, runstate.ErrNotFound) {
		t.Fatalf("LoadState of a missing run = %v, want ErrNotFound", err)
	}
	missing := newState("r-gone")
	if _, err := st.SaveState(ctx, missing, newTag); !errors.Is(err, runstate.ErrConflict) {
		t.Fatalf("SaveState of a missing run = %v, want ErrConflict", err)
	}
}

// Of writers racing over the same ETag, exactly one wins.
func TestStateConcurrentSavesOneWins(t *testing.T) {
	_, st := newStore(t)
	ctx := t.Context()
	s := newState("r-race")
	etag, err := st.CreateState(ctx, s)
	if err != nil {
		t.Fatalf("CreateState: %v", err)
	}
	const writers = 8
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := newState("r-race")
			mine.Run.Steps = i + 1
			_, errs[i] = st.SaveState(ctx, mine, etag)
		}()
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("writers %d and %d both won", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, runstate.ErrConflict):
			t.Fatalf("writer %d: %v, want ErrConflict", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no writer won")
	}
	got, _, err := st.LoadState(ctx, "r-race")
	if err != nil || got.Run.Steps != won+1 {
		t.Fatalf("stored steps = %v (%v), want the winner's %d", got, err, won+1)
	}
}

func TestClaimVersion(t *testing.T) {
	_, st := newStore(t)
	ctx := t.Context()
	src := runstate.Source{Bucket: "cfg", Key: "stacker.yaml", VersionID: "v1"}
	first := runstate.VersionRecord{RunID: "r-1", Created: time.Now().UTC()}
	got, claimed, err := st.ClaimVersion(ctx, src, first)
	if err != nil || !claimed || got.RunID != "r-1" {
		t.Fatalf("first claim = %+v %v %v", got, claimed, err)
	}
	got, claimed, err = st.ClaimVersion(ctx, src, runstate.VersionRecord{RunID: "r-2"})
	if err != nil || claimed || got.RunID != "r-1" {
		t.Fatalf("second claim = %+v %v %v, want r-1's record, not claimed", got, claimed, err)
	}
	src.VersionID = "v2"
	if _, claimed, err := st.ClaimVersion(ctx, src, runstate.VersionRecord{RunID: "r-3"}); err != nil || !claimed {
		t.Fatalf("claim of another version = %v %v", claimed, err)
	}
}

// executions starts two executions in master: one that keeps running, one
// that has succeeded.
func executions(t *testing.T, sb *sandbox.Sandbox) (running, ended string, client *sfn.Client) {
	t.Helper()
	ctx := t.Context()
	iamc := iam.NewFromConfig(sb.AWSConfig("master"))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"states.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	role, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("States"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	client = sfn.NewFromConfig(config(t, sb))
	start := func(name, def string) string {
		m, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String(name), Definition: aws.String(def), RoleArn: role.Role.Arn})
		if err != nil {
			t.Fatalf("CreateStateMachine: %v", err)
		}
		x, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: m.StateMachineArn, Input: aws.String("{}")})
		if err != nil {
			t.Fatalf("StartExecution: %v", err)
		}
		return aws.ToString(x.ExecutionArn)
	}
	running = start("waits", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":600,"End":true}}}`)
	ended = start("passes", `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(ended)})
		if err != nil {
			t.Fatalf("DescribeExecution: %v", err)
		}
		if out.Status == sfntypes.ExecutionStatusSucceeded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s still %s", ended, out.Status)
		}
	}
	return running, ended, client
}

// The lock tests share one sandbox: its Step Functions starts Node once.
func TestLock(t *testing.T) {
	sb, st := newStore(t)
	running, ended, sf := executions(t, sb)
	t.Run("hold, hand over, stale, release", func(t *testing.T) { testLock(t, st, sf, running, ended) })
	t.Run("race", func(t *testing.T) { testLockRace(t, st, sf, running, ended) })
}

func testLock(t *testing.T, st *runstate.Store, sf *sfn.Client, running, ended string) {
	ctx := t.Context()
	src := runstate.Source{Bucket: "cfg", Key: "stacker.yaml"}

	key, err := st.Acquire(ctx, sf, src, runstate.Lock{RunID: "r-1", ExecutionARN: running})
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	if key != runstate.LockKey("cfg", "stacker.yaml") {
		t.Fatalf("lock key %s", key)
	}
	if _, err := st.Acquire(ctx, sf, src, runstate.Lock{RunID: "r-1", ExecutionARN: running}); err != nil {
		t.Fatalf("Acquire again by the same run: %v", err)
	}
	_, err = st.Acquire(ctx, sf, src, runstate.Lock{RunID: "r-2", ExecutionARN: ended})
	var locked *runstate.LockedError
	if !errors.As(err, &locked) || !errors.Is(err, runstate.ErrLocked) || locked.Holder.RunID != "r-1" {
		t.Fatalf("Acquire while r-1 runs = %v, want LockedError naming r-1", err)
	}
	if want := "s3://cfg/stacker.yaml is being deployed by run r-1"; len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Fatalf("message %q, want it to start %q", err, want)
	}
	// Another config is not held.
	if _, err := st.Acquire(ctx, sf, runstate.Source{Bucket: "cfg", Key: "other.yaml"}, runstate.Lock{RunID: "r-9", ExecutionARN: running}); err != nil {
		t.Fatalf("Acquire another config: %v", err)
	}

	// A continuation of r-1 takes its lock over; another run cannot.
	if err := st.Handover(ctx, key, "r-2", ended); !errors.As(err, &locked) {
		t.Fatalf("Handover by another run = %v, want LockedError", err)
	}
	if err := st.Handover(ctx, key, "r-1", ended); err != nil {
		t.Fatalf("Handover: %v", err)
	}
	// Now the holder's execution has ended: the lock is stale.
	if _, err := st.Acquire(ctx, sf, src, runstate.Lock{RunID: "r-3", ExecutionARN: running}); err != nil {
		t.Fatalf("Acquire over a stale lock: %v", err)
	}
	l, _, err := st.ReadLock(ctx, key)
	if err != nil || l.RunID != "r-3" || l.Config != "s3://cfg/stacker.yaml" {
		t.Fatalf("lock after takeover = %+v %v", l, err)
	}
	// Release by a run that does not hold it leaves it.
	if err := st.Release(ctx, key, "r-1"); err != nil {
		t.Fatalf("Release by r-1: %v", err)
	}
	if _, _, err := st.ReadLock(ctx, key); err != nil {
		t.Fatalf("lock gone after another run's release: %v", err)
	}
	if err := st.Release(ctx, key, "r-3"); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if _, _, err := st.ReadLock(ctx, key); !errors.Is(err, runstate.ErrNotFound) {
		t.Fatalf("lock after release: %v", err)
	}
	if err := st.Release(ctx, key, "r-3"); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	// An execution that does not exist holds nothing.
	gone := ended[:len(ended)-4] + "dead"
	if _, err := st.Acquire(ctx, sf, src, runstate.Lock{RunID: "r-4", ExecutionARN: gone}); err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	if _, err := st.Acquire(ctx, sf, src, runstate.Lock{RunID: "r-5", ExecutionARN: running}); err != nil {
		t.Fatalf("Acquire over a lock whose execution does not exist: %v", err)
	}
}

// Of runs racing for a free or a stale lock, exactly one gets it.
func testLockRace(t *testing.T, st *runstate.Store, sf *sfn.Client, running, ended string) {
	ctx := t.Context()
	for _, stale := range []bool{false, true} {
		t.Run(fmt.Sprintf("stale=%v", stale), func(t *testing.T) {
			src := runstate.Source{Bucket: "cfg", Key: fmt.Sprintf("race-%v.yaml", stale)}
			if stale {
				if _, err := st.Acquire(ctx, sf, src, runstate.Lock{RunID: "r-old", ExecutionARN: ended}); err != nil {
					t.Fatalf("Acquire: %v", err)
				}
			}
			const runs = 6
			errs := make([]error, runs)
			var wg sync.WaitGroup
			for i := range runs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = st.Acquire(ctx, sf, src, runstate.Lock{RunID: fmt.Sprintf("r-%d", i), ExecutionARN: running})
				}()
			}
			wg.Wait()
			winners := 0
			for i, err := range errs {
				if err == nil {
					winners++
				} else if !errors.Is(err, runstate.ErrLocked) {
					t.Errorf("run %d: %v, want ErrLocked", i, err)
				}
			}
			if winners != 1 {
				t.Fatalf("%d runs got the lock, want 1: %v", winners, errs)
			}
		})
	}
}

func TestFreeze(t *testing.T) {
	_, st := newStore(t)
	ctx := t.Context()
	if err := st.CheckFreeze(ctx); err != nil {
		t.Fatalf("CheckFreeze before freezing: %v", err)
	}
	if err := st.SetFreeze(ctx, runstate.Freeze{Reason: "change window closed", By: "alice", Since: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatalf("SetFreeze: %v", err)
	}
	err := st.CheckFreeze(ctx)
	if !errors.Is(err, runstate.ErrFrozen) {
		t.Fatalf("CheckFreeze = %v, want ErrFrozen", err)
	}
	want := `deployments are frozen by alice since 2026-12-02T10:00:00Z: change window closed (delete the state bucket's "freeze" object to unfreeze)`
	if err.Error() != want {
		t.Fatalf("message\n%s\nwant\n%s", err, want)
	}
	if err := st.Unfreeze(ctx); err != nil {
		t.Fatalf("Unfreeze: %v", err)
	}
	if err := st.CheckFreeze(ctx); err != nil {
		t.Fatalf("CheckFreeze after unfreezing: %v", err)
	}
}
