package handlers_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stackerless/stackerless/pkg/awsprofile"
	"github.com/stackerless/stackerless/pkg/deploy"
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/handlers"
	"github.com/stackerless/stackerless/pkg/runstate"
	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// env is a sandbox with a state bucket and the runtime's handlers over it.
type env struct {
	sb      *sandbox.Sandbox
	store   *runstate.Store
	advance *handlers.Advance
	report  *handlers.Report
	loader  *dirLoader
}

// config is an account's SDK configuration with a transport whose idle
// connections close before the sandbox does (a connection dialled by a
// racing request but never used would hold its Close for five seconds).
func config(t testing.TB, sb *sandbox.Sandbox, account string) aws.Config {
	cfg := sb.AWSConfig(account)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	cfg.HTTPClient = &http.Client{Transport: tr}
	t.Cleanup(tr.CloseIdleConnections)
	return cfg
}

func newEnv(t testing.TB, dir string, base aws.Config) *env {
	t.Helper()
	sb := sandboxtest.Start(t)
	return newEnvIn(t, sb, dir, base)
}

func newEnvIn(t testing.TB, sb *sandbox.Sandbox, dir string, base aws.Config) *env {
	t.Helper()
	master := config(t, sb, "master")
	s3c := s3.NewFromConfig(master)
	if _, err := s3c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("state")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	store := &runstate.Store{S3: s3c, Bucket: "state"}
	events := &handlers.Emitter{Client: eventbridge.NewFromConfig(master), Bus: "default"}
	if base.Credentials == nil {
		base = master
	}
	loader := &dirLoader{dir: dir, base: base}
	return &env{
		sb: sb, store: store, loader: loader,
		advance: &handlers.Advance{Store: store, Loader: loader, Events: events, PollSeconds: 1, Approvers: []string{"AROAAPPROVER:"}},
		report:  &handlers.Report{Store: store, Events: events},
	}
}

// dirLoader loads the config in dir, its profiles (dir/.aws/config, if
// any) starting from base's credentials, as the bundle loader will.
type dirLoader struct {
	dir  string
	base aws.Config
}

func (l *dirLoader) Load(ctx context.Context, st *runstate.State) (*deploy.Project, error) {
	return l.load(st.Request.Environment)
}

func (l *dirLoader) load(env map[string]string) (*deploy.Project, error) {
	path := ""
	if _, err := os.Stat(filepath.Join(l.dir, ".aws", "config")); err == nil {
		path = filepath.Join(l.dir, ".aws", "config")
	}
	profiles, err := awsprofile.NewProvider(path, awsprofile.WithBaseConfig(l.base),
		awsprofile.WithEnvironmentCredentials(l.base.Credentials), awsprofile.Unattended())
	if err != nil {
		return nil, err
	}
	var pairs []string
	for k, v := range env {
		pairs = append(pairs, k+"="+v)
	}
	return deploy.Load(deploy.Options{
		ConfigPath: filepath.Join(l.dir, "stacker.yaml"), Root: l.dir, Region: "us-east-1", Env: pairs,
		AWS: profiles, CheckProfile: profiles.Check, Checks: deploy.CheckAll,
	})
}

// start plans, starts and records a run of the config as Prepare does,
// holding the config's lock, and returns its reference.
func (e *env) start(t testing.TB, action engine.Action, env map[string]string) handlers.Reference {
	t.Helper()
	ctx := t.Context()
	proj, err := e.loader.load(env)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	run, err := proj.Plan(action, deploy.Selection{})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if err := proj.Start(ctx, run, engine.Options{RetryFor: time.Minute}); err != nil {
		t.Fatalf("start: %v", err)
	}
	now := time.Now().UTC()
	st := &runstate.State{
		RunID: runstate.NewRunID(now), Created: now, Updated: now, Run: run, LockKey: runstate.LockKey("config", "stacker.yaml"),
		Request: runstate.Request{Action: action, Trigger: runstate.TriggerConsole, Environment: env,
			Source: runstate.Source{Bucket: "config", Key: "stacker.yaml", VersionID: "v1"}},
	}
	run.ID = st.RunID
	if _, err := e.store.Put(ctx, st.LockKey, []byte(`{"run_id":"`+st.RunID+`"}`), "application/json", runstate.Create); err != nil {
		t.Fatalf("lock: %v", err)
	}
	if _, err := e.store.CreateState(ctx, st); err != nil {
		t.Fatalf("CreateState: %v", err)
	}
	return handlers.Reference{RunID: st.RunID, StateKey: runstate.StateKey(st.RunID), Status: handlers.StatusRunning}
}

// drive calls Advance until the run is done or waits for approval, with
// short pauses in place of wait_seconds, and returns the last reference.
func (e *env) drive(t testing.TB, ref handlers.Reference) handlers.Reference {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := e.advance.Handle(t.Context(), ref)
		if err != nil {
			t.Fatalf("advance %d: %T %v", ref.Steps, err, err)
		}
		ref = *out
		if ref.Done || ref.Status == string(engine.StatusWaitingApproval) {
			return ref
		}
		if time.Now().After(deadline) {
			t.Fatalf("run not done after 60s: %+v", ref)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// seedDir copies the repository's cross-account example into a directory.
func seedDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"stacker.yaml", ".aws/config", "templates/stacker-bucket.yaml", "templates/stacker-role.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "..", f))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// mfaSession is master's root with MFA, what the seed's Stacker role trusts.
func mfaSession(t testing.TB, sb *sandbox.Sandbox) aws.Config {
	t.Helper()
	master, _ := sb.Account("master")
	out, err := sts.NewFromConfig(config(t, sb, "master")).GetSessionToken(t.Context(), &sts.GetSessionTokenInput{
		SerialNumber: aws.String("arn:aws:iam::" + master.ID + ":mfa/alice"), TokenCode: aws.String("123456"),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	cfg := config(t, sb, "master")
	cfg.Credentials = aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey), SessionToken: aws.ToString(c.SessionToken), Source: "mfa"}, nil
	}))
	return cfg
}

func writeFiles(dir string, files map[string]string) error {
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}
