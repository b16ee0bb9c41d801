package handlers_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/stackerless/stackerless/pkg/bundle"
	"github.com/stackerless/stackerless/pkg/bundle/s3bundle"
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/handlers"
	"github.com/stackerless/stackerless/pkg/runstate"
	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// prepareEnv is a sandbox with a versioned config bucket, a state bucket
// and a Prepare handler over them, allowed master and prod.
type prepareEnv struct {
	t     *testing.T
	sb    *sandbox.Sandbox
	s3    *s3.Client
	h     *handlers.Prepare
	store *runstate.Store
	execs atomic.Int64
}

const (
	configBucket = "configs"
	stateBucket  = "state"
)

func newPrepareEnv(t *testing.T) *prepareEnv {
	t.Helper()
	sb := sandboxtest.Start(t)
	cfg := sb.AWSConfig("master")
	e := &prepareEnv{t: t, sb: sb, s3: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })}
	for _, b := range []string{configBucket, stateBucket} {
		if _, err := e.s3.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.s3.PutBucketVersioning(t.Context(), &s3.PutBucketVersioningInput{Bucket: aws.String(configBucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	master, _ := sb.Account("master")
	prod, _ := sb.Account("prod")
	e.h = &handlers.Prepare{S3: e.s3, Executions: sfn.NewFromConfig(cfg), StateBucket: stateBucket,
		AllowedAccounts: []string{master.ID, prod.ID}, Base: cfg, TempDir: t.TempDir()}
	e.store = &runstate.Store{S3: e.s3, Bucket: stateBucket}
	return e
}

// execution is a new execution ARN that Step Functions does not know: a
// lock it holds is stale.
func (e *prepareEnv) execution() string {
	return fmt.Sprintf("arn:aws:states:us-east-1:111111111111:execution:deploy:x-%d", e.execs.Add(1))
}

func (e *prepareEnv) put(key string, body []byte) string {
	e.t.Helper()
	out, err := e.s3.PutObject(e.t.Context(), &s3.PutObjectInput{Bucket: aws.String(configBucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		e.t.Fatal(err)
	}
	return aws.ToString(out.VersionId)
}

// profiles is a bundle's .aws/config as the seed's: master's Stacker role
// from the function's own credentials, the other accounts' from master's.
func (e *prepareEnv) profiles(extra string) string {
	ids := map[string]string{}
	for _, a := range e.sb.Accounts() {
		ids[a.Name] = a.ID
	}
	return fmt.Sprintf(`[profile master]
role_arn = arn:aws:iam::%s:role/Stacker
credential_source = Environment

[profile prod]
role_arn = arn:aws:iam::%s:role/Stacker
source_profile = master

[profile stage]
role_arn = arn:aws:iam::%s:role/Stacker
source_profile = master
`, ids["master"], ids["prod"], ids["stage"]) + extra
}

const goodConfig = `namespace: ${namespace}
stacks:
  - name: vpc
    profile: prod
    template_path: templates/vpc.yaml
  - name: app
    profile: prod
    template_path: templates/app.yaml
    requires: [vpc]
`

const template = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"

// bundleZip is an archive with the files given over a good bundle's.
func (e *prepareEnv) bundleZip(over map[string]string) []byte {
	e.t.Helper()
	files := map[string]string{"stacker.yaml": goodConfig, "stacker.env": "namespace: demo\n", ".aws/config": e.profiles(""),
		"templates/vpc.yaml": template, "templates/app.yaml": template}
	for k, v := range over {
		if v == "" {
			delete(files, k)
		} else {
			files[k] = v
		}
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			e.t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		e.t.Fatal(err)
	}
	return buf.Bytes()
}

// uploadEvent is S3's "Object Created" event for a version.
func uploadEvent(key, version string) string {
	return fmt.Sprintf(`{"version":"0","id":"ev-1","detail-type":"Object Created","source":"aws.s3","account":"111111111111",
"time":"2026-12-02T00:00:00Z","region":"us-east-1","resources":["arn:aws:s3:::configs"],
"detail":{"version":"0","bucket":{"name":"configs"},"object":{"key":%q,"size":1,"etag":"x","version-id":%q,"sequencer":"1"},
"request-id":"r","requester":"111111111111","source-ip-address":"127.0.0.1","reason":"PutObject"}}`, key, version)
}

func (e *prepareEnv) prepare(input, execution string) (*handlers.Reference, error) {
	return e.h.Handle(e.t.Context(), handlers.PrepareInput{Input: json.RawMessage(input), ExecutionARN: execution})
}

// keys lists the state bucket.
func (e *prepareEnv) keys() []string {
	e.t.Helper()
	keys, err := e.store.List(e.t.Context(), "")
	if err != nil {
		e.t.Fatal(err)
	}
	return keys
}

func TestPrepareShapes(t *testing.T) {
	e := newPrepareEnv(t)
	v1 := e.put("teams/demo.zip", e.bundleZip(nil))
	// A later upload: schedule and console inputs pin the latest version.
	v2 := e.put("teams/demo.zip", e.bundleZip(map[string]string{"stacker.env": "namespace: demo2\n"}))
	tests := []struct {
		name, input string
		trigger     runstate.Trigger
		version     string
		stacks      []string
	}{
		{"upload", uploadEvent("teams/demo.zip", v1), runstate.TriggerUpload, v1, []string{"vpc", "app"}},
		{"schedule", `{"schedule":"nightly","action":"diff","config":"s3://configs/teams/demo.zip"}`, runstate.TriggerSchedule, v2, []string{"vpc", "app"}},
		{"console", `{"action":"build","config":"s3://configs/teams/demo.zip","stacks":["vpc"],"environment":{"namespace":"other"}}`,
			runstate.TriggerConsole, v2, []string{"vpc"}},
		{"console destroy", `{"action":"destroy","config":"s3://configs/teams/demo.zip?versionId=` + v1 + `"}`, runstate.TriggerConsole, v1, []string{"app", "vpc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exec := e.execution()
			ref, err := e.prepare(tt.input, exec)
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			if ref.Status != handlers.StatusRunning || ref.Done || ref.ExecutionARN != exec || ref.StateKey != runstate.StateKey(ref.RunID) {
				t.Errorf("reference %+v", ref)
			}
			if data, _ := json.Marshal(ref); len(data) > 1024 {
				t.Errorf("the reference is %d bytes: it should stay small", len(data))
			}
			st, _, err := e.store.LoadState(t.Context(), ref.RunID)
			if err != nil {
				t.Fatal(err)
			}
			src := st.Request.Source
			if st.Request.Trigger != tt.trigger || src.Bucket != configBucket || src.Key != "teams/demo.zip" || src.VersionID != tt.version ||
				st.ExecutionARN != exec || st.LockKey != runstate.LockKey(configBucket, "teams/demo.zip") || st.Run.ID != ref.RunID {
				t.Errorf("state %+v", st)
			}
			var names []string
			for _, s := range st.Run.Stacks {
				names = append(names, s.Name)
			}
			if strings.Join(names, ",") != strings.Join(tt.stacks, ",") {
				t.Errorf("stacks %v, want %v", names, tt.stacks)
			}
			// The prepared bundle is what later steps read.
			m, err := s3bundle.Load(t.Context(), e.s3, stateBucket, runstate.RunPrefix(ref.RunID), t.TempDir(), bundle.DefaultLimits)
			if err != nil || m.Source.VersionID != tt.version || m.Config != "stacker.yaml" {
				t.Errorf("prepared bundle %+v, %v", m, err)
			}
		})
	}
	// The environment shaped the run: the console's override names the stacks.
	if got := e.keys(); len(got) == 0 {
		t.Fatal("nothing in the state bucket")
	}
}

// Every refused input, bundle and config fails with ConfigError, a clear
// message, and leaves nothing behind: no run, no lock, no stack.
func TestPrepareRefuses(t *testing.T) {
	e := newPrepareEnv(t)
	master, _ := e.sb.Account("master")
	stage, _ := e.sb.Account("stage")
	upload := func(key string, over map[string]string) string {
		return uploadEvent(key, e.put(key, e.bundleZip(over)))
	}
	tests := []struct{ name, input, want string }{
		{"not JSON", `"build"`, `the input is not a JSON object`},
		{"unknown shape", `{"bucket":"configs"}`, `the input has none of the fields prepare knows (bucket)`},
		{"unknown field", `{"action":"build","config":"s3://configs/a.zip","dry_run":true}`, `an input has no field "dry_run"`},
		{"schedule destroys", `{"schedule":"n","action":"destroy","config":"s3://configs/a.zip"}`, `a schedule may only build or diff`},
		{"other event", strings.Replace(uploadEvent("a.zip", "v"), "Object Created", "Object Deleted", 1), `the event is "Object Deleted"`},
		{"missing config", `{"action":"build","config":"s3://configs/nope.zip"}`, `s3://configs/nope.zip does not exist`},
		{"zip-slip", uploadEvent("slip.zip", e.put("slip.zip", zipWith("stacker.yaml", "x", "../evil", "x"))), `bundle slip.zip: ../evil leads outside the bundle`},
		{"invalid config", upload("bad.zip", map[string]string{"stacker.yaml": strings.Replace(goodConfig, "templates/app.yaml", "templates/gone.yaml", 1)}),
			`stacker.yaml:8:5: stacks[1].template_path: Could not find template templates/gone.yaml in the bundle`},
		{"unknown stack", `{"action":"build","config":"s3://configs/good.zip?versionId=` + e.put("good.zip", e.bundleZip(nil)) + `","stacks":["db"]}`, `stacks: db: no such stack or target in the config`},
		{"unknown profile", upload("prof.zip", map[string]string{"stacker.yaml": strings.Replace(goodConfig, "profile: prod\n    template_path: templates/vpc", "profile: qa\n    template_path: templates/vpc", 1)}),
			`stacker.yaml:4:5: stacks[0].profile: profile qa is not defined in .aws/config: add a [profile qa] section; profiles defined: master, prod, stage`},
		{"role outside the allow-list", upload("stage.zip", map[string]string{"stacker.yaml": strings.ReplaceAll(goodConfig, "profile: prod", "profile: stage")}),
			`profile stage (.aws/config:9): role_arn arn:aws:iam::` + stage.ID + `:role/Stacker is in account ` + stage.ID + `, where this deployment may not assume roles`},
		{"mfa_serial", upload("mfa.zip", map[string]string{".aws/config": strings.Replace(e.profiles(""), "credential_source = Environment",
			"credential_source = Environment\nmfa_serial = arn:aws:iam::"+master.ID+":mfa/alice", 1)}),
			`profile master (.aws/config:1): mfa_serial arn:aws:iam::` + master.ID + `:mfa/alice cannot be used here`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, err := e.prepare(tt.input, e.execution())
			var ce *handlers.ConfigError
			if !errors.As(err, &ce) || fmt.Sprintf("%T", err) != "*handlers.ConfigError" {
				t.Fatalf("Prepare = %+v, %v (%T); want a *handlers.ConfigError", ref, err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, tt.want)
			}
			if strings.Contains(err.Error(), e.h.TempDir) {
				t.Errorf("the error names the invocation's temporary directory: %v", err)
			}
		})
	}
	if keys := e.keys(); len(keys) > 0 {
		t.Errorf("refused runs left %s in the state bucket", keys)
	}
	for _, account := range []string{"master", "prod", "stage"} {
		out, err := cloudformation.NewFromConfig(e.sb.AWSConfig(account)).ListStacks(t.Context(), &cloudformation.ListStacksInput{})
		if err != nil || len(out.StackSummaries) != 0 {
			t.Errorf("%s has stacks after refused runs: %+v %v", account, out, err)
		}
	}
}

func zipWith(nameBody ...string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i < len(nameBody); i += 2 {
		w, _ := zw.Create(nameBody[i])
		_, _ = w.Write([]byte(nameBody[i+1]))
	}
	_ = zw.Close()
	return buf.Bytes()
}

// A duplicated event starts one run; a retried Prepare goes on with its own.
func TestPrepareDuplicateEvent(t *testing.T) {
	e := newPrepareEnv(t)
	event := uploadEvent("demo.zip", e.put("demo.zip", e.bundleZip(nil)))
	first := e.execution()
	ref, err := e.prepare(event, first)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.prepare(event, first)
	if err != nil || again.RunID != ref.RunID || again.Status != handlers.StatusRunning {
		t.Errorf("retried Prepare = %+v, %v; want run %s going on", again, err, ref.RunID)
	}
	dup, err := e.prepare(event, e.execution())
	if err != nil || dup.Status != handlers.StatusSkipped || !dup.Done || dup.RunID != ref.RunID ||
		!strings.Contains(dup.Reason, "already has its run "+ref.RunID+" (execution "+first+"): a duplicated event starts no second run") {
		t.Errorf("duplicated event = %+v, %v", dup, err)
	}
	var states int
	for _, k := range e.keys() {
		if strings.HasSuffix(k, "/state.json") {
			states++
		}
	}
	if states != 1 {
		t.Errorf("%d run states, want 1", states)
	}
}

// waitingExecution starts an execution that stays RUNNING (a long Wait):
// a lock it holds is live.
func (e *prepareEnv) waitingExecution() (arn string, stop func()) {
	e.t.Helper()
	ctx := e.t.Context()
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"states.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	role, err := iam.NewFromConfig(e.sb.AWSConfig("master")).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("States"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		e.t.Fatal(err)
	}
	client := sfn.NewFromConfig(e.sb.AWSConfig("master"))
	m, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("deploy"), RoleArn: role.Role.Arn,
		Definition: aws.String(`{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":600,"End":true}}}`)})
	if err != nil {
		e.t.Fatal(err)
	}
	x, err := client.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: m.StateMachineArn, Input: aws.String("{}")})
	if err != nil {
		e.t.Fatal(err)
	}
	return aws.ToString(x.ExecutionArn), func() {
		e.t.Helper()
		if _, err := client.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: x.ExecutionArn}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// One run per config at a time: a second run fails fast naming the holder,
// a schedule's run is skipped; a lock whose execution ended is taken over.
// A freeze refuses every new run.
func TestPrepareLockAndFreeze(t *testing.T) {
	e := newPrepareEnv(t)
	e.put("demo.zip", e.bundleZip(nil))
	const console = `{"action":"build","config":"s3://configs/demo.zip"}`
	const schedule = `{"schedule":"nightly","action":"diff","config":"s3://configs/demo.zip"}`
	holder, stop := e.waitingExecution()
	first, err := e.prepare(console, holder)
	if err != nil {
		t.Fatal(err)
	}

	_, err = e.prepare(console, e.execution())
	var le *handlers.LockedError
	if !errors.As(err, &le) || fmt.Sprintf("%T", err) != "*handlers.LockedError" ||
		!strings.HasPrefix(err.Error(), "s3://configs/demo.zip is being deployed by run "+first.RunID+" (execution "+holder+", since ") {
		t.Errorf("second run = %v (%T); want a LockedError naming run %s", err, err, first.RunID)
	}
	ref, err := e.prepare(schedule, e.execution())
	if err != nil || ref.Status != handlers.StatusSkipped || !ref.Done ||
		!strings.HasPrefix(ref.Reason, "schedule nightly skipped: s3://configs/demo.zip is being deployed by run "+first.RunID) {
		t.Errorf("scheduled run while locked = %+v, %v; want skipped", ref, err)
	}

	stop()
	next, err := e.prepare(console, e.execution())
	if err != nil || next.Status != handlers.StatusRunning || next.RunID == first.RunID {
		t.Fatalf("run after the holder stopped = %+v, %v; want it to take the stale lock over", next, err)
	}

	if err := e.store.SetFreeze(t.Context(), runstate.Freeze{Reason: "release week", By: "alice"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.prepare(console, e.execution())
	var fe *handlers.FrozenError
	if !errors.As(err, &fe) || fmt.Sprintf("%T", err) != "*handlers.FrozenError" || !strings.Contains(err.Error(), "deployments are frozen by alice") ||
		!strings.Contains(err.Error(), "release week") {
		t.Errorf("run while frozen = %v (%T); want a FrozenError", err, err)
	}
	ref, err = e.prepare(schedule, e.execution())
	if err != nil || ref.Status != handlers.StatusSkipped || !strings.Contains(ref.Reason, "schedule nightly skipped: deployments are frozen by alice") {
		t.Errorf("scheduled run while frozen = %+v, %v; want skipped", ref, err)
	}
}

// Advance's loader reads the bundle Prepare kept, with the run's
// environment, whatever is uploaded later; the run keeps Prepare's options.
func TestBundleLoaderReadsThePreparedBundle(t *testing.T) {
	e := newPrepareEnv(t)
	e.h.Options = engine.Options{RetryFor: 7 * time.Minute, MaxParallel: 3}
	e.put("demo.zip", e.bundleZip(map[string]string{"stacker.yaml": goodConfig + "service_role: arn:aws:iam::111111111111:role/cfn\n"}))
	ref, err := e.prepare(`{"action":"build","config":"s3://configs/demo.zip","environment":{"namespace":"blue"}}`, e.execution())
	if err != nil {
		t.Fatal(err)
	}
	// A later upload changes nothing for the run.
	e.put("demo.zip", e.bundleZip(map[string]string{"stacker.yaml": strings.Replace(goodConfig, "vpc", "net", -1)}))
	st, _, err := e.store.LoadState(t.Context(), ref.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if want := (engine.Options{RetryFor: 7 * time.Minute, MaxParallel: 3, ServiceRole: "arn:aws:iam::111111111111:role/cfn"}); st.Run.Options != want {
		t.Errorf("run options %+v, want %+v", st.Run.Options, want)
	}
	l := &handlers.BundleLoader{S3: e.s3, StateBucket: stateBucket, Base: e.h.Base, AllowedAccounts: e.h.AllowedAccounts, TempDir: t.TempDir()}
	for range 2 {
		proj, err := l.Load(t.Context(), st)
		if err != nil {
			t.Fatal(err)
		}
		if proj.Config.Namespace != "blue" || proj.Config.Stack("vpc") == nil || proj.Config.Stack("net") != nil {
			t.Errorf("loaded namespace %q, stacks %v", proj.Config.Namespace, proj.Config.Stacks)
		}
	}
	if dirs, _ := os.ReadDir(l.TempDir); len(dirs) != 1 {
		t.Errorf("%d bundle directories after two loads, want the last one only", len(dirs))
	}
}
