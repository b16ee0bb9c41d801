package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stackerless/stackerless/pkg/handlers"
	"github.com/stackerless/stackerless/pkg/runstate"
)

// fakeDeployment is a deployment's resources made directly in the sandbox's
// master account (buckets, and a Stackerless stack whose outputs name them),
// with its runs driven by the runtime's handlers called as Go functions in
// place of the state machine: each new version uploaded to the config bucket
// is prepared, advanced to its end and reported, as an upload's execution.
type fakeDeployment struct {
	t       *testing.T
	cfg     aws.Config
	s3      *s3.Client
	prepare *handlers.Prepare
	advance *handlers.Advance
	report  *handlers.Report

	mu      sync.Mutex
	refused map[string]error // version id -> Prepare's error
	active  map[string]bool  // execution ARNs under way
}

// DescribeExecution says whether one of serve's executions is under way,
// which is how Prepare tells a held lock from a stale one.
func (d *fakeDeployment) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	status := sfntypes.ExecutionStatusSucceeded
	if d.active[aws.ToString(in.ExecutionArn)] {
		status = sfntypes.ExecutionStatusRunning
	}
	return &sfn.DescribeExecutionOutput{ExecutionArn: in.ExecutionArn, Status: status}, nil
}

const (
	testConfigBucket = "stackerless-config"
	testStateBucket  = "stackerless-state"
)

func newFakeDeployment(t *testing.T) (*cli, *fakeDeployment) {
	t.Helper()
	c, sb := newCLI(t)
	cfg := sb.AWSConfig("master")
	ctx := t.Context()
	s3c := s3.NewFromConfig(cfg)
	for _, b := range []string{testConfigBucket, testStateBucket, "stackerless-templates"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s3c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(testConfigBucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	tmpl := fmt.Sprintf(`Resources:
  Handle: {Type: "AWS::CloudFormation::WaitConditionHandle"}
Outputs:
  ConfigBucket: {Value: %s}
  StateBucket: {Value: %s}
  TemplateBucket: {Value: stackerless-templates}
  StateMachineArn: {Value: "arn:aws:states:us-east-1:000000000000:stateMachine:Stackerless"}
  EventBus: {Value: default}
  DeployerRoleArn: {Value: "arn:aws:iam::000000000000:role/deployer"}
`, testConfigBucket, testStateBucket)
	cf := cloudformation.NewFromConfig(cfg)
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("Stackerless"), TemplateBody: aws.String(tmpl)}); err != nil {
		t.Fatal(err)
	}
	if err := cloudformation.NewStackCreateCompleteWaiter(cf).Wait(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("Stackerless")}, time.Minute,
		func(o *cloudformation.StackCreateCompleteWaiterOptions) {
			o.MinDelay, o.MaxDelay = 10*time.Millisecond, 100*time.Millisecond
		}); err != nil {
		t.Fatal(err)
	}
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	store := &runstate.Store{S3: s3c, Bucket: testStateBucket}
	d := &fakeDeployment{t: t, cfg: cfg, s3: s3c, refused: map[string]error{}, active: map[string]bool{},
		prepare: &handlers.Prepare{S3: s3c, StateBucket: testStateBucket, Base: cfg, TempDir: t.TempDir()},
		advance: &handlers.Advance{Store: store, Loader: &handlers.BundleLoader{S3: s3c, StateBucket: testStateBucket, Base: cfg, TempDir: t.TempDir()}, PollSeconds: 1,
			Approvers: []string{aws.ToString(who.UserId)}},
		report: &handlers.Report{Store: store},
	}
	d.prepare.Executions = d
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.serve(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })
	return c, d
}

// serve runs every new config version until ctx ends.
func (d *fakeDeployment) serve(ctx context.Context) {
	seen := map[string]bool{}
	n := 0
	var wg sync.WaitGroup
	defer wg.Wait()
	for ctx.Err() == nil {
		out, err := d.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(testConfigBucket)})
		if err == nil {
			for _, v := range out.Versions {
				id := aws.ToString(v.VersionId)
				if seen[id] {
					continue
				}
				seen[id] = true
				n++
				wg.Add(1)
				go func(key, arn string) {
					defer wg.Done()
					d.run(ctx, key, id, arn)
				}(aws.ToString(v.Key), fmt.Sprintf("arn:aws:states:us-east-1:000000000000:execution:Stackerless:upload-%d", n))
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// run is one upload's execution: Prepare, Advance until done, Report.
func (d *fakeDeployment) run(ctx context.Context, key, version, arn string) {
	event := fmt.Sprintf(`{"version":"0","id":"%s","detail-type":"Object Created","source":"aws.s3","account":"000000000000",
"time":"2026-12-02T00:00:00Z","region":"us-east-1","resources":["arn:aws:s3:::%s"],
"detail":{"version":"0","bucket":{"name":"%s"},"object":{"key":"%s","size":1,"version-id":"%s"},"reason":"PutObject"}}`,
		arn, testConfigBucket, testConfigBucket, key, version)
	d.mu.Lock()
	d.active[arn] = true
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.active, arn)
		d.mu.Unlock()
	}()
	ref, err := d.prepare.Handle(ctx, handlers.PrepareInput{Input: []byte(event), ExecutionARN: arn})
	if err != nil {
		d.mu.Lock()
		d.refused[version] = err
		d.mu.Unlock()
		return
	}
	var failure *handlers.Failure
	for !ref.Done && ctx.Err() == nil {
		next, err := d.advance.Handle(ctx, *ref)
		var ce *handlers.ConflictError
		switch {
		case errors.As(err, &ce):
			continue
		case err != nil:
			failure = &handlers.Failure{Error: fmt.Sprintf("%T", err), Cause: err.Error()}
		}
		if failure != nil {
			break
		}
		ref = next
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := d.report.Handle(ctx, handlers.ReportInput{Reference: *ref, Failure: failure}); err != nil && ctx.Err() == nil {
		d.t.Errorf("report %s: %v", ref.RunID, err)
	}
}

// objects counts the config bucket's object versions.
func (d *fakeDeployment) objects() int {
	out, err := d.s3.ListObjectVersions(d.t.Context(), &s3.ListObjectVersionsInput{Bucket: aws.String(testConfigBucket)})
	if err != nil {
		d.t.Fatal(err)
	}
	return len(out.Versions)
}

// project writes a project directory: stacker.yaml and its templates.
func (c *cli) project(name, config string) string {
	c.t.Helper()
	dir := filepath.Join(c.dir, name)
	if err := os.MkdirAll(filepath.Join(dir, ".git"), 0o755); err != nil {
		c.t.Fatal(err)
	}
	files := map[string]string{"stacker.yaml": config, ".git/HEAD": "ref: main\n"}
	for _, f := range []string{"dummy.yaml", "dummy2.yaml", "broken.yaml"} {
		data, err := os.ReadFile(filepath.Join(c.dir, f))
		if err != nil {
			c.t.Fatal(err)
		}
		files["templates/"+f] = string(data)
	}
	for f, text := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			c.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(text), 0o644); err != nil {
			c.t.Fatal(err)
		}
	}
	return dir
}

// runIDOf is the run id submit printed.
func runIDOf(t *testing.T, out string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if id, ok := strings.CutPrefix(l, "Started run "); ok {
			return strings.TrimSpace(id)
		}
	}
	t.Fatalf("no run id in %q", out)
	return ""
}

func TestSubmitWatchRunsReport(t *testing.T) {
	c, d := newFakeDeployment(t)
	dir := c.project("net", "namespace: sub\nstacks:\n  - name: app-${suffix}\n    template_path: templates/dummy.yaml\n  - name: db\n    template_path: templates/dummy.yaml\n    requires: [app-${suffix}]\n")

	t.Run("a bad config is refused locally, nothing uploaded", func(t *testing.T) {
		bad := c.project("bad", "namespace: sub\nstacks:\n  - name: app\n    template_path: templates/missing.yaml\n")
		c.run("", "submit", bad).expect(t, 2, "missing.yaml")
		c.run("", "submit", dir).expect(t, 2, "suffix") // ${suffix} unset
		if n := d.objects(); n != 0 {
			t.Errorf("config bucket holds %d objects", n)
		}
	})
	var first string
	t.Run("submit a directory, -e values reach the run, --wait follows it", func(t *testing.T) {
		r := c.run("", "submit", "--wait", "--interval", "50ms", "-e", "suffix=one", dir)
		r.expect(t, 0, "Uploaded s3://stackerless-config/net.tar.gz (version ", "app-one: complete (creating new stack)", "db: complete", "| app-one |")
		first = runIDOf(t, r.out)
	})
	t.Run("submit a single stacker.yaml", func(t *testing.T) {
		file := c.writeConfig("solo.yaml", "namespace: solo\nstacks:\n  - name: one\n    template_path: dummy.yaml\n")
		r := c.run("", "submit", file)
		r.expect(t, 0, "Uploaded s3://stackerless-config/solo.tar.gz")
		id := runIDOf(t, r.out)
		w := c.run("", "watch", "--interval", "50ms", id)
		w.expect(t, 0, "one: complete (creating new stack) [", "| one |")
	})
	t.Run("a failing stack: watch exits 1", func(t *testing.T) {
		file := c.writeConfig("fails.yaml", "namespace: fails\nstacks:\n  - name: broken\n    template_path: broken.yaml\n")
		id := runIDOf(t, c.run("", "submit", file).out)
		c.run("", "watch", "--interval", "50ms", id).expect(t, 1, "broken: failed", "run "+id+" failed", "failed stacks: broken")
		c.run("", "watch", "--latest", "--interval", "50ms").expect(t, 1, "broken: failed")
	})
	t.Run("runs lists them newest first", func(t *testing.T) {
		r := c.run("", "runs")
		r.expect(t, 0, "RUN", first+"  upload   s3://stackerless-config/net.tar.gz", "succeeded", "failed")
		if strings.Index(r.out, first) < strings.Index(r.out, "fails.tar.gz") {
			t.Errorf("runs not newest first:\n%s", r.out)
		}
	})
	t.Run("report", func(t *testing.T) {
		c.run("", "report", first).expect(t, 0, "| app-one |", "| db |")
		c.run("", "report", "r-nope").expect(t, 2, "run r-nope not found")
	})
	t.Run("usage", func(t *testing.T) {
		c.run("", "watch").expect(t, 2, "watch takes one RUN, or --latest")
		c.run("", "runs", "--deployment-stack", "Nope").expect(t, 2, "deployment stack Nope not found")
	})
}

func TestSubmitApproveRejectFreeze(t *testing.T) {
	c, d := newFakeDeployment(t)
	config := func(tmpl string) string {
		return c.writeConfig("guarded.yaml", "namespace: guard\nstacks:\n  - name: vault\n    protected: true\n    template_path: "+tmpl+"\n")
	}
	c.run("", "submit", "--wait", "--interval", "50ms", config("dummy.yaml")).expect(t, 0, "vault: complete (creating new stack)")

	waiting := func(t *testing.T, tmpl string) string {
		t.Helper()
		id := runIDOf(t, c.run("", "submit", config(tmpl)).out)
		for i := 0; ; i++ {
			st, _, err := d.advance.Store.LoadState(t.Context(), id)
			if err == nil && slices.Contains(st.Run.AwaitingApproval(), "vault") {
				return id
			}
			if i > 500 {
				t.Fatalf("run %s never waited for approval", id)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Run("approve", func(t *testing.T) {
		id := waiting(t, "dummy2.yaml")
		c.run("", "submit", "--start-timeout", "300ms", config("dummy2.yaml")).expect(t, 1,
			"warning: s3://stackerless-config/guarded.tar.gz is locked by run "+id, "no run started: Prepare named the upload's run")
		c.run("", "approve", id, "nope").expect(t, 2, "has no stack nope")
		c.run("", "approve", "-m", "looks fine", id, "vault").expect(t, 0, "Recorded approve of vault in run "+id)
		c.run("", "watch", "--interval", "50ms", id).expect(t, 0, "vault: complete (updating existing stack)")
		c.run("", "approve", id, "vault").expect(t, 1, "not waiting for approval")
	})
	t.Run("reject", func(t *testing.T) {
		id := waiting(t, "dummy.yaml")
		c.run("", "reject", id, "vault").expect(t, 0, "Recorded reject of vault")
		c.run("", "watch", "--interval", "50ms", id).expect(t, 1, "change set rejected by")
	})
	t.Run("freeze makes the next Prepare refuse", func(t *testing.T) {
		c.run("", "freeze", "-m", "release week").expect(t, 0, "Deployments frozen")
		file := config("dummy2.yaml")
		c.run("", "submit", file).expect(t, 1, "frozen")
		// An upload made some other way: its Prepare refuses it.
		put, err := d.s3.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(testConfigBucket), Key: aws.String("guarded.yaml"),
			Body: strings.NewReader("namespace: guard\nstacks: []\n")})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; ; i++ {
			d.mu.Lock()
			refused := d.refused[aws.ToString(put.VersionId)]
			d.mu.Unlock()
			if refused != nil {
				var fe *handlers.FrozenError
				if !errors.As(refused, &fe) || !strings.Contains(refused.Error(), "release week") {
					t.Errorf("Prepare refused with %T %v, want a FrozenError", refused, refused)
				}
				break
			}
			if i > 500 {
				t.Fatal("Prepare did not run")
			}
			time.Sleep(20 * time.Millisecond)
		}
		c.run("", "unfreeze").expect(t, 0, "Deployments unfrozen")
		c.run("", "submit", file).expect(t, 0, "Started run")
	})
}
