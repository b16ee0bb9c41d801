package runstate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// Executions is the part of the Step Functions API that tells a stale lock.
type Executions interface {
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, opts ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// Lock is locks/<hash>: the run that holds a config.
type Lock struct {
	RunID        string    `json:"run_id"`
	ExecutionARN string    `json:"execution_arn"`
	Config       string    `json:"config"`
	Acquired     time.Time `json:"acquired"`
}

// ErrLocked is a config held by another running execution.
var ErrLocked = errors.New("config is locked by another run")

// LockedError says who holds the lock; it matches ErrLocked.
type LockedError struct {
	Key    string
	Holder Lock
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("%s is being deployed by run %s (execution %s, since %s); try again when it ends",
		e.Holder.Config, e.Holder.RunID, e.Holder.ExecutionARN, e.Holder.Acquired.UTC().Format(time.RFC3339))
}

// Is makes a LockedError match ErrLocked.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// LockKey is the lock's key for a config, whatever its version.
func LockKey(bucket, key string) string { return "locks/" + hashKey(bucket, key) }

// Acquire takes the lock of holder.Config's source for holder. It creates
// the lock with If-None-Match: *. A lock the same run holds is kept (a
// retried Prepare); one whose execution is no longer RUNNING, or does not
// exist, is stale and taken over with If-Match. Otherwise it returns a
// *LockedError.
func (st *Store) Acquire(ctx context.Context, sf Executions, src Source, holder Lock) (string, error) {
	key := LockKey(src.Bucket, src.Key)
	holder.Config = src.URI()
	_, err := st.putJSON(ctx, key, holder, Create)
	if err == nil || !errors.Is(err, ErrConflict) {
		return key, err
	}
	var cur Lock
	etag, err := st.getJSON(ctx, key, &cur)
	if errors.Is(err, ErrNotFound) {
		// Released between our write and read: try once more from scratch.
		if _, err := st.putJSON(ctx, key, holder, Create); err != nil {
			return key, lockLost(key, err)
		}
		return key, nil
	}
	if err != nil {
		return key, err
	}
	if cur.RunID == holder.RunID {
		return key, nil
	}
	running, err := executionRunning(ctx, sf, cur.ExecutionARN)
	if err != nil {
		return key, err
	}
	if running {
		return key, &LockedError{Key: key, Holder: cur}
	}
	if _, err := st.putJSON(ctx, key, holder, Match(etag)); err != nil {
		return key, lockLost(key, err)
	}
	return key, nil
}

// lockLost turns a lost race for a lock into a LockedError naming the winner.
func lockLost(key string, err error) error {
	if errors.Is(err, ErrConflict) {
		return &LockedError{Key: key, Holder: Lock{RunID: "(another run)", Config: key}}
	}
	return err
}

// executionRunning asks Step Functions whether the execution still runs; a
// missing ARN or execution counts as ended.
func executionRunning(ctx context.Context, sf Executions, arn string) (bool, error) {
	if arn == "" {
		return false, nil
	}
	out, err := sf.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		if apiCode(err) == "ExecutionDoesNotExist" {
			return false, nil
		}
		return false, fmt.Errorf("describe lock holder %s: %w", arn, err)
	}
	return out.Status == sfntypes.ExecutionStatusRunning, nil
}

// ReadLock returns the lock at key and its ETag.
func (st *Store) ReadLock(ctx context.Context, key string) (Lock, string, error) {
	var l Lock
	etag, err := st.getJSON(ctx, key, &l)
	return l, etag, err
}

// Handover gives the lock runID holds to a continuation of the same run in
// a new execution, with If-Match so that nobody else's lock is overwritten.
func (st *Store) Handover(ctx context.Context, key, runID, executionARN string) error {
	cur, etag, err := st.ReadLock(ctx, key)
	if err != nil {
		return fmt.Errorf("hand over lock %s: %w", key, err)
	}
	if cur.RunID != runID {
		return &LockedError{Key: key, Holder: cur}
	}
	cur.ExecutionARN = executionARN
	if _, err := st.putJSON(ctx, key, cur, Match(etag)); err != nil {
		return fmt.Errorf("hand over lock %s: %w", key, err)
	}
	return nil
}

// Release deletes the lock if runID still holds it; a lock that is gone or
// was taken over is left alone.
func (st *Store) Release(ctx context.Context, key, runID string) error {
	cur, _, err := st.ReadLock(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("release lock %s: %w", key, err)
	}
	if cur.RunID != runID {
		return nil
	}
	return st.delete(ctx, key)
}

// FreezeKey is the object whose presence stops new runs.
const FreezeKey = "freeze"

// Freeze is the freeze object's body.
type Freeze struct {
	Reason string    `json:"reason,omitempty"`
	By     string    `json:"by,omitempty"`
	Since  time.Time `json:"since"`
}

// ErrFrozen is a run refused because deployments are frozen.
var ErrFrozen = errors.New("deployments are frozen")

// SetFreeze freezes deployments.
func (st *Store) SetFreeze(ctx context.Context, f Freeze) error {
	_, err := st.putJSON(ctx, FreezeKey, f, Condition{})
	return err
}

// Unfreeze lets runs start again.
func (st *Store) Unfreeze(ctx context.Context) error { return st.delete(ctx, FreezeKey) }

// FrozenError is a run refused by the freeze object; it matches ErrFrozen.
type FrozenError struct{ Freeze Freeze }

func (e *FrozenError) Error() string {
	msg := "deployments are frozen"
	if e.Freeze.By != "" {
		msg += " by " + e.Freeze.By
	}
	if !e.Freeze.Since.IsZero() {
		msg += " since " + e.Freeze.Since.UTC().Format(time.RFC3339)
	}
	if e.Freeze.Reason != "" {
		msg += ": " + e.Freeze.Reason
	}
	return msg + fmt.Sprintf(" (delete the state bucket's %q object to unfreeze)", FreezeKey)
}

// Is makes a FrozenError match ErrFrozen.
func (e *FrozenError) Is(target error) bool { return target == ErrFrozen }

// CheckFreeze returns a *FrozenError while deployments are frozen.
func (st *Store) CheckFreeze(ctx context.Context) error {
	var f Freeze
	_, err := st.getJSON(ctx, FreezeKey, &f)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return &FrozenError{Freeze: f}
}
