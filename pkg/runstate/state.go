package runstate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/stackerless/stackerless/pkg/engine"
)

// Trigger is what started a run.
type Trigger string

// The three ways a run starts.
const (
	TriggerUpload   Trigger = "upload"   // the config bucket's Object Created event
	TriggerSchedule Trigger = "schedule" // an EventBridge schedule
	TriggerConsole  Trigger = "console"  // a console or CLI StartExecution
)

// Source is the config a run deploys, pinned to object versions.
type Source struct {
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	VersionID string `json:"version_id,omitempty"`
	// Files pins the sibling keys a plain stacker.yaml refers to (templates,
	// .aws/config, the environment file), by key relative to the config's
	// directory, to the versions current when the run was prepared.
	Files map[string]string `json:"files,omitempty"`
}

// URI is the source as s3://bucket/key.
func (s Source) URI() string { return "s3://" + s.Bucket + "/" + s.Key }

// Request is one run request, whatever shape started it.
type Request struct {
	Action  engine.Action `json:"action"`
	Trigger Trigger       `json:"trigger"`
	Source  Source        `json:"source"`
	// Stacks limits the run to these stacks or targets (console runs).
	Stacks []string `json:"stacks,omitempty"`
	// Environment overrides the environment file's values.
	Environment map[string]string `json:"environment,omitempty"`
}

// State is the document runs/<run-id>/state.json: everything Advance and
// Report need, between invocations.
type State struct {
	RunID        string    `json:"run_id"`
	ExecutionARN string    `json:"execution_arn,omitempty"`
	Request      Request   `json:"request"`
	LockKey      string    `json:"lock_key,omitempty"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
	// Approvals records, per stack stopped for approval, when it stopped and
	// what its change set would do, for the expiry and the report.
	Approvals map[string]*Approval `json:"approvals,omitempty"`
	Run       *engine.Run          `json:"run"`
}

// Approval is a stack's wait for a decision.
type Approval struct {
	Since   time.Time `json:"since"`
	Summary string    `json:"summary,omitempty"`
	// Decision is "approve", "reject" or "expired" once decided; By is the
	// deciding principal id.
	Decision string    `json:"decision,omitempty"`
	By       string    `json:"by,omitempty"`
	Decided  time.Time `json:"decided,omitzero"`
}

// NewRunID makes a run id that sorts by start time: r-<UTC time>-<random>.
func NewRunID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "r-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// RunPrefix is where a run's objects live.
func RunPrefix(runID string) string { return "runs/" + runID + "/" }

// StateKey is the key of a run's state.
func StateKey(runID string) string { return RunPrefix(runID) + "state.json" }

// ReportKey and ReportMarkdownKey are the keys of a run's report.
func ReportKey(runID string) string         { return RunPrefix(runID) + "report.json" }
func ReportMarkdownKey(runID string) string { return RunPrefix(runID) + "report.md" }

// ApprovalPrefix is where decisions about a run's stack are recorded.
func ApprovalPrefix(runID, stack string) string { return RunPrefix(runID) + "approvals/" + stack + "/" }

// CreateState writes a new run's state; ErrConflict when the run exists.
func (st *Store) CreateState(ctx context.Context, s *State) (string, error) {
	if s.RunID == "" || s.Run == nil {
		return "", errors.New("create run state: run id and run are required")
	}
	return st.putJSON(ctx, StateKey(s.RunID), s, Create)
}

// LoadState reads a run's state and its ETag; ErrNotFound when there is none.
func (st *Store) LoadState(ctx context.Context, runID string) (*State, string, error) {
	var s State
	etag, err := st.getJSON(ctx, StateKey(runID), &s)
	if err != nil {
		return nil, "", err
	}
	if s.Run == nil {
		return nil, "", fmt.Errorf("run state %s has no run", StateKey(runID))
	}
	return &s, etag, nil
}

// SaveState writes a run's state over the version read with etag and
// returns the new ETag; ErrConflict when another writer came first.
func (st *Store) SaveState(ctx context.Context, s *State, etag string) (string, error) {
	if etag == "" {
		return "", errors.New("save run state: no ETag to write over")
	}
	return st.putJSON(ctx, StateKey(s.RunID), s, Match(etag))
}

// VersionRecord is runs/by-version/<hash>: the run started for one config
// object version.
type VersionRecord struct {
	RunID        string    `json:"run_id"`
	ExecutionARN string    `json:"execution_arn,omitempty"`
	Created      time.Time `json:"created"`
}

// VersionKey is the by-version record's key for a config object version.
func VersionKey(bucket, key, versionID string) string {
	return "runs/by-version/" + hashKey(bucket, key, versionID)
}

// ClaimVersion records rec as the run of a config object version. When a
// run was recorded first (a duplicated event, a retried Prepare), it returns
// that record and claimed false.
func (st *Store) ClaimVersion(ctx context.Context, src Source, rec VersionRecord) (got VersionRecord, claimed bool, err error) {
	key := VersionKey(src.Bucket, src.Key, src.VersionID)
	_, err = st.putJSON(ctx, key, rec, Create)
	if err == nil {
		return rec, true, nil
	}
	if !errors.Is(err, ErrConflict) {
		return VersionRecord{}, false, err
	}
	if _, err := st.getJSON(ctx, key, &got); err != nil {
		return VersionRecord{}, false, err
	}
	return got, false, nil
}
