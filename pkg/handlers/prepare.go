package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stackerless/stackerless/pkg/awsprofile"
	"github.com/stackerless/stackerless/pkg/bundle"
	"github.com/stackerless/stackerless/pkg/bundle/s3bundle"
	"github.com/stackerless/stackerless/pkg/deploy"
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/runrequest"
	"github.com/stackerless/stackerless/pkg/runstate"
)

// Reference is the run reference every step after Prepare receives and
// returns (docs/runtime.md): small, never the state.
type Reference struct {
	RunID        string `json:"run_id"`
	StateKey     string `json:"state_key"`
	ExecutionARN string `json:"execution_arn"`
	// Status is "running", or "skipped" (with Reason) when Prepare started
	// nothing: a scheduled run that found its config locked or frozen, or a
	// second execution for a config version that already has its run.
	Status      string `json:"status"`
	Reason      string `json:"reason,omitempty"`
	Done        bool   `json:"done"`
	WaitSeconds int    `json:"wait_seconds"`
	// NextPollAt is when the next Advance is due (whole seconds, UTC): the
	// state machine's Wait waits until then. Unset once the run is done.
	NextPollAt time.Time `json:"next_poll_at,omitzero"`
	Steps      int       `json:"steps"`
	InFlight   int       `json:"in_flight,omitempty"`
	Awaiting   []string  `json:"awaiting_approval,omitempty"`
	Failed     []string  `json:"failed,omitempty"`
}

// Reference statuses Prepare returns.
const (
	StatusRunning = "running"
	StatusSkipped = "skipped"
)

// PrepareInput is what the state machine gives Prepare: the execution's
// input, and the execution's ARN from the context object.
type PrepareInput struct {
	Input        json.RawMessage `json:"input"`
	ExecutionARN string          `json:"execution_arn"`
}

// PrepareS3 is what Prepare needs of S3: the config bucket's objects and
// the state bucket's.
type PrepareS3 interface {
	runstate.S3
}

// Prepare turns an execution's input into a run: it reads the request, the
// bundle pinned to its versions, validates everything the CLI validates,
// plans, records one run per config version, takes the config's lock and
// writes the run state.
type Prepare struct {
	S3         PrepareS3
	Executions runstate.Executions
	// StateBucket holds run state, locks and the prepared bundles.
	StateBucket string
	// AllowedAccounts are the accounts a profile's role_arn may name.
	AllowedAccounts []string
	// Base is the function's own AWS configuration: region, endpoint, and
	// its role's credentials (credential_source = Environment).
	Base aws.Config
	// TempDir holds each invocation's bundle ("" = os.TempDir()).
	TempDir string
	// Limits bound the bundle; the zero value means bundle.DefaultLimits.
	Limits bundle.Limits
	// Options are the engine's options for every run (the service role
	// comes from each config).
	Options engine.Options
	Log     *slog.Logger
	// Now is the clock (nil = time.Now).
	Now func() time.Time
}

// Handle prepares one run. Its errors are the contract's types, unwrapped:
// ConfigError for a bad input, bundle or config (nothing is deployed),
// LockedError and FrozenError (a schedule's run gets a "skipped" reference
// instead), ConflictError and TransientError to retry.
func (h *Prepare) Handle(ctx context.Context, in PrepareInput) (*Reference, error) {
	ref, err := h.prepare(ctx, in)
	if err != nil {
		err = classify(err)
		h.log().ErrorContext(ctx, "prepare failed", "execution_arn", in.ExecutionARN, "error_type", fmt.Sprintf("%T", err), "error", err.Error())
		return nil, err
	}
	h.log().InfoContext(ctx, "prepared", "run_id", ref.RunID, "status", ref.Status, "reason", ref.Reason, "execution_arn", ref.ExecutionARN)
	return ref, nil
}

func (h *Prepare) prepare(ctx context.Context, in PrepareInput) (*Reference, error) {
	if in.ExecutionARN == "" {
		return nil, errors.New("prepare: the state machine passed no execution_arn (Parameters \"execution_arn.$\": \"$$.Execution.Id\")")
	}
	if len(in.Input) == 0 {
		return nil, &ConfigError{Err: errors.New("prepare: the state machine passed no input (Parameters \"input.$\": \"$\")")}
	}
	req, err := runrequest.Parse(in.Input)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	store := &runstate.Store{S3: h.S3, Bucket: h.StateBucket}
	if err := store.CheckFreeze(ctx); err != nil {
		return h.refuse(req, in.ExecutionARN, err)
	}

	dir, err := os.MkdirTemp(h.TempDir, "bundle-")
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	defer os.RemoveAll(dir)
	m, err := s3bundle.Fetch(ctx, h.S3, req.Config, req.EnvPairs(), dir, limits(h.Limits))
	var ue *s3bundle.Error
	var ae *bundle.ArchiveError
	if errors.As(err, &ue) || errors.As(err, &ae) {
		return nil, &ConfigError{Err: err}
	}
	if err != nil {
		return nil, err
	}
	req.Config = m.Source

	run, err := h.plan(ctx, req, dir, m)
	if err != nil {
		return nil, err
	}

	src := source(m)
	now := h.now()
	runID := runstate.NewRunID(now)
	rec, claimed, err := store.ClaimVersion(ctx, claimSource(req, src, in.ExecutionARN),
		runstate.VersionRecord{RunID: runID, ExecutionARN: in.ExecutionARN, Created: now})
	if err != nil {
		return nil, err
	}
	if !claimed {
		if rec.ExecutionARN != in.ExecutionARN {
			return &Reference{RunID: rec.RunID, StateKey: runstate.StateKey(rec.RunID), ExecutionARN: in.ExecutionARN, Status: StatusSkipped, Done: true,
				Reason: fmt.Sprintf("%s already has its run %s (execution %s): a duplicated event starts no second run", m.Source, rec.RunID, rec.ExecutionARN)}, nil
		}
		runID = rec.RunID // a retried Prepare goes on with the run it started
	}
	run.ID = runID

	lockKey, err := store.Acquire(ctx, h.Executions, src, runstate.Lock{RunID: runID, ExecutionARN: in.ExecutionARN, Acquired: now})
	if err != nil {
		return h.refuse(req, in.ExecutionARN, err)
	}
	if err := s3bundle.Store(ctx, h.S3, h.StateBucket, runstate.RunPrefix(runID), dir, m); err != nil {
		return nil, err
	}
	state := &runstate.State{
		RunID: runID, ExecutionARN: in.ExecutionARN, LockKey: lockKey, Created: now, Updated: now, Run: run,
		Request: runstate.Request{Action: req.Action, Trigger: runstate.Trigger(req.Trigger), Source: src, Stacks: req.Stacks, Environment: req.Environment},
	}
	if _, err := store.CreateState(ctx, state); err != nil {
		if !errors.Is(err, runstate.ErrConflict) {
			return nil, err
		}
		// A retried Prepare: the state it wrote stands, and may have moved on.
		stored, _, err := store.LoadState(ctx, runID)
		if err != nil {
			return nil, err
		}
		state = stored
	}
	return &Reference{RunID: runID, StateKey: runstate.StateKey(runID), ExecutionARN: in.ExecutionARN, Status: StatusRunning,
		Done: state.Run.Done, Steps: state.Run.Steps}, nil
}

// plan loads the bundle's config with the CLI's validation, its profiles
// held to the deployment's rules, and plans the run. Every problem is a
// ConfigError: nothing has been deployed.
func (h *Prepare) plan(ctx context.Context, req *runrequest.Request, dir string, m *s3bundle.Manifest) (*engine.Run, error) {
	proj, err := LoadBundle(ctx, Bundle{Dir: dir, Manifest: m, Env: req.EnvPairs(), Base: h.Base, AllowedAccounts: h.AllowedAccounts, Log: h.log()})
	if err != nil {
		return nil, err
	}
	run, err := proj.Plan(req.Action, deploy.Selection{Stacks: req.Stacks})
	if err != nil {
		return nil, configError(err, dir)
	}
	// Start keeps the options in the run, so every Advance deploys it the
	// same way, and preflights a build or diff as the CLI does.
	if err := proj.Start(ctx, run, h.Options); err != nil {
		return nil, configError(err, dir)
	}
	return run, nil
}

// Bundle is an unpacked bundle and what a run adds to it.
type Bundle struct {
	// Dir is where the bundle is unpacked; Manifest what it holds.
	Dir      string
	Manifest *s3bundle.Manifest
	// Env is the run's KEY=VALUE overrides (runrequest.Request.EnvPairs).
	Env []string
	// Base is the function's AWS configuration; AllowedAccounts the
	// accounts its profiles may assume roles in.
	Base            aws.Config
	AllowedAccounts []string
	Log             *slog.Logger
}

// LoadBundle loads a bundle's config as the CLI loads one, validated (a
// *ConfigError says what is wrong), with the runtime's rules: files only from
// the bundle, profiles through LambdaProfiles, and no envvar lookup reading
// the function's environment (which holds its role's keys). Prepare and
// Advance load a run's bundle with it, so both see the same project.
func LoadBundle(ctx context.Context, b Bundle) (*deploy.Project, error) {
	m := b.Manifest
	f := &awsprofile.File{Path: s3bundle.AWSConfig, Profiles: map[string]*awsprofile.Profile{}}
	if m.AWSConfig != "" {
		data, err := os.ReadFile(filepath.Join(b.Dir, filepath.FromSlash(m.AWSConfig)))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", m.AWSConfig, err)
		}
		if f, err = awsprofile.Parse(m.AWSConfig, data); err != nil {
			return nil, &ConfigError{Err: err}
		}
	}
	profiles, err := LambdaProfiles(f, b.Base, b.AllowedAccounts)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	log := b.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := deploy.Options{
		ConfigPath: m.Config, Root: b.Dir, Bundle: true, Env: b.Env, Checks: deploy.CheckAll,
		AWS: profiles, CheckProfile: profiles.Check,
		Warn:   func(msg string) { log.WarnContext(ctx, "config warning", "warning", msg) },
		Getenv: func(string) (string, bool) { return "", false },
	}
	if m.EnvFile != "" {
		opts.EnvFile = filepath.Join(b.Dir, filepath.FromSlash(m.EnvFile))
	}
	proj, err := deploy.Load(opts)
	if err != nil {
		return nil, configError(err, b.Dir)
	}
	return proj, nil
}

func limits(l bundle.Limits) bundle.Limits {
	if l == (bundle.Limits{}) {
		return bundle.DefaultLimits
	}
	return l
}

// BundleLoader loads the project of a run from the bundle Prepare kept in
// the state bucket (s3bundle.Load, hash checked) with LoadBundle: the same
// files and rules at every step, whatever the config bucket holds now. It
// implements Loader for Advance.
type BundleLoader struct {
	S3              s3bundle.ObjectGetter
	StateBucket     string
	Base            aws.Config
	AllowedAccounts []string
	// TempDir holds the unpacked bundle ("" = os.TempDir()); Limits bound
	// it (zero = bundle.DefaultLimits).
	TempDir string
	Limits  bundle.Limits
	Log     *slog.Logger

	mu   sync.Mutex
	last string // the previous bundle's directory, removed on the next Load
}

// Load unpacks the run's bundle into a new directory, which stays until the
// next Load (the project reads its templates while the step runs), and
// loads the project.
func (l *BundleLoader) Load(ctx context.Context, st *runstate.State) (*deploy.Project, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last != "" {
		_ = os.RemoveAll(l.last)
		l.last = ""
	}
	dir, err := os.MkdirTemp(l.TempDir, "run-")
	if err != nil {
		return nil, fmt.Errorf("load bundle of run %s: %w", st.RunID, err)
	}
	l.last = dir
	m, err := s3bundle.Load(ctx, l.S3, l.StateBucket, runstate.RunPrefix(st.RunID), dir, limits(l.Limits))
	if err != nil {
		return nil, fmt.Errorf("load bundle of run %s: %w", st.RunID, err)
	}
	env := (&runrequest.Request{Environment: st.Request.Environment}).EnvPairs()
	return LoadBundle(ctx, Bundle{Dir: dir, Manifest: m, Env: env, Base: l.Base, AllowedAccounts: l.AllowedAccounts, Log: l.Log})
}

// configError makes a config or usage error a ConfigError, its message
// naming the bundle's files as the upload has them rather than where this
// invocation unpacked them.
func configError(err error, dir string) error {
	if !deploy.IsConfigError(err) {
		return err
	}
	msg := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
	msg = strings.ReplaceAll(msg, "--stacks ", "stacks: ")
	return &ConfigError{Err: errors.New(msg)}
}

// LambdaProfiles is the provider of a bundle's profiles in a Lambda
// function: mfa_serial refused, credential_source = Environment the
// function's own role (base's credentials), role_arn only in allowed.
// Advance builds its clients with it too.
func LambdaProfiles(f *awsprofile.File, base aws.Config, allowed []string) (*awsprofile.Provider, error) {
	return awsprofile.NewProvider(f.Path, awsprofile.WithFile(f), awsprofile.WithBaseConfig(base), awsprofile.Unattended(),
		awsprofile.WithEnvironmentCredentials(base.Credentials), awsprofile.WithAllowedAccounts(allowed),
		awsprofile.WithGetenv(func(string) string { return "" }))
}

// refuse answers a freeze or a lock: a schedule's run is skipped, any other
// fails with the error.
func (h *Prepare) refuse(req *runrequest.Request, executionARN string, err error) (*Reference, error) {
	if req.Trigger == runrequest.Schedule && (errors.Is(err, runstate.ErrLocked) || errors.Is(err, runstate.ErrFrozen)) {
		return &Reference{ExecutionARN: executionARN, Status: StatusSkipped, Done: true,
			Reason: fmt.Sprintf("schedule %s skipped: %v", req.Schedule, err)}, nil
	}
	return nil, err
}

// source is the run's config, pinned with its siblings.
func source(m *s3bundle.Manifest) runstate.Source {
	src := runstate.Source{Bucket: m.Source.Bucket, Key: m.Source.Key, VersionID: m.Source.VersionID}
	prefix := m.Source.Key[:strings.LastIndexByte(m.Source.Key, '/')+1]
	for _, s := range m.Siblings {
		if src.Files == nil {
			src.Files = map[string]string{}
		}
		src.Files[strings.TrimPrefix(s.Key, prefix)] = s.VersionID
	}
	return src
}

// claimSource is what runs/by-version records: for an upload the version,
// so a duplicated event starts one run; for a schedule or a console input
// the version and the execution, so that the same version may run again
// (a nightly drift check) while a retried Prepare still finds its run.
func claimSource(req *runrequest.Request, src runstate.Source, executionARN string) runstate.Source {
	if req.Trigger == runrequest.Upload {
		return src
	}
	src.VersionID += "\x00" + executionARN
	return src
}

func (h *Prepare) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Prepare) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.DiscardHandler)
}
