package deploy_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stackerless/stackerless/pkg/awsprofile"
	"github.com/stackerless/stackerless/pkg/cfn"
	"github.com/stackerless/stackerless/pkg/deploy"
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// world is a sandbox and a working directory with the test templates and
// an AWS config file: one static-key profile per account, and "mfa", a
// role profile that needs an MFA code. Default credentials are master's.
type world struct {
	t        *testing.T
	sb       *sandbox.Sandbox
	dir      string
	provider *awsprofile.Provider
}

func newWorld(t *testing.T) *world {
	t.Helper()
	sb := sandboxtest.Start(t)
	dir := t.TempDir()
	for _, f := range []string{"echo.yaml", "broken.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, f), string(data))
	}
	var profiles strings.Builder
	profiles.WriteString(sandboxtest.Profiles(sb))
	prod, _ := sb.Account("prod")
	master, _ := sb.Account("master")
	fmt.Fprintf(&profiles, "[profile mfa]\nrole_arn = arn:aws:iam::%s:role/Stacker\nsource_profile = master\nmfa_serial = arn:aws:iam::%s:mfa/alice\n", prod.ID, master.ID)
	path := filepath.Join(dir, "aws-config")
	write(t, path, profiles.String())
	provider, err := awsprofile.NewProvider(path, awsprofile.WithBaseConfig(sb.AWSConfig("master")))
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, sb: sb, dir: dir, provider: provider}
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (w *world) options(config string, aws deploy.ConfigSource) deploy.Options {
	path := filepath.Join(w.dir, "stacker.yaml")
	write(w.t, path, config)
	return deploy.Options{
		ConfigPath: path, Root: w.dir, AWS: aws,
		HasProfile: func(name string) bool { return w.provider.File().Profiles[name] != nil },
	}
}

// build loads config, plans a build of all its stacks and runs it to the end.
func (w *world) build(config string) *engine.Run {
	w.t.Helper()
	p, err := deploy.Load(w.options(config, w.provider))
	if err != nil {
		w.t.Fatalf("load: %v", err)
	}
	run, err := p.Plan(engine.Build, deploy.Selection{})
	if err != nil {
		w.t.Fatal(err)
	}
	e := &engine.Engine{Clients: p, Preparer: p}
	for deadline := time.Now().Add(20 * time.Second); !run.Done; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			w.t.Fatal("run not done after 20s")
		}
		if err := e.Advance(w.t.Context(), run); err != nil {
			w.t.Fatalf("advance: %v", err)
		}
	}
	return run
}

// uploads counts the objects created in the sandbox's buckets.
type uploads struct {
	mu   sync.Mutex
	keys []string
}

func (w *world) watchUploads() *uploads {
	u := &uploads{}
	cancel := w.sb.SubscribeObjectCreated(func(ev sandbox.ObjectCreated) {
		u.mu.Lock()
		defer u.mu.Unlock()
		u.keys = append(u.keys, ev.Bucket+"/"+ev.Key)
	})
	w.t.Cleanup(cancel)
	return u
}

func (u *uploads) take() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := u.keys
	u.keys = nil
	return out
}

func TestTemplateDelivery(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	up := w.watchUploads()
	s3c := s3.NewFromConfig(w.sb.AWSConfig("master"), func(o *s3.Options) { o.UsePathStyle = true })
	config := "namespace: tpl\nstacks:\n  - name: app\n    template_path: echo.yaml\n"

	run := w.build(config)
	if s := run.Stack("app"); s.State != engine.Complete {
		t.Fatalf("first build: %s", s)
	}
	keys := up.take()
	if len(keys) != 1 {
		t.Fatalf("first build uploaded %v, want one template", keys)
	}
	bucket, key, _ := strings.Cut(keys[0], "/")
	if bucket != "stacker-tpl" {
		t.Errorf("template went to bucket %s, want stacker-tpl (created as it was missing)", bucket)
	}
	m := regexp.MustCompile(`^stack_templates/tpl-app/app-([0-9a-f]{8})\.json$`).FindStringSubmatch(key)
	if m == nil {
		t.Fatalf("template key %q is not stack_templates/<fqn>/<name>-<md5[:8]>.json", key)
	}
	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(obj.Body)
	_ = obj.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if sum := md5.Sum(body); hex.EncodeToString(sum[:])[:8] != m[1] {
		t.Errorf("key names md5 %s, the body's is %x", m[1], sum[:4])
	}
	head, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	if head.ServerSideEncryption != "AES256" {
		t.Errorf("template stored with SSE %q, want AES256", head.ServerSideEncryption)
	}

	t.Run("a second build does not upload again", func(t *testing.T) {
		if s := w.build(config).Stack("app"); s.State != engine.Skipped {
			t.Errorf("second build: %s", s)
		}
		if keys := up.take(); len(keys) != 0 {
			t.Errorf("second build uploaded %v", keys)
		}
	})
	t.Run("stacker_bucket '' sends templates inline", func(t *testing.T) {
		run := w.build("namespace: inl\nstacker_bucket: ''\nstacks:\n  - name: app\n    template_path: echo.yaml\n")
		if s := run.Stack("app"); s.State != engine.Complete {
			t.Fatalf("%s", s)
		}
		if keys := up.take(); len(keys) != 0 {
			t.Errorf("inline build uploaded %v", keys)
		}
		if _, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("stacker-inl")}); err == nil {
			t.Error("bucket stacker-inl was created for inline templates")
		}
	})
}

// TestCrossAccountXref is stacker issue #743: a stack in prod reading an
// output of another prod stack with xref must look in prod, not in the
// account of the default credentials (master).
func TestCrossAccountXref(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	body, err := os.ReadFile(filepath.Join("testdata", "echo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The same stack name in both accounts, with different outputs, so a
	// lookup in the wrong account gives a wrong value rather than an error.
	for _, acct := range []string{"master", "prod"} {
		c := cloudformation.NewFromConfig(w.sb.AWSConfig(acct))
		if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{
			StackName: aws.String("shared-source"), TemplateBody: aws.String(string(body)),
			Parameters: []cfntypes.Parameter{{ParameterKey: aws.String("In"), ParameterValue: aws.String("from-" + acct)}},
		}); err != nil {
			t.Fatal(err)
		}
		waiter := cloudformation.NewStackCreateCompleteWaiter(c, func(o *cloudformation.StackCreateCompleteWaiterOptions) {
			o.MinDelay, o.MaxDelay = 10*time.Millisecond, 50*time.Millisecond
		})
		if err := waiter.Wait(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("shared-source")}, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	// Templates go inline: an auto-created stacker bucket in master has no
	// policy letting prod read it (the seed's bucket stack adds one).
	run := w.build(`namespace: xa
stacker_bucket: ''
stacks:
  - name: reader
    profile: prod
    template_path: echo.yaml
    variables:
      In: ${xref shared-source::Out}
`)
	if s := run.Stack("reader"); s.State != engine.Complete || s.Outputs["Out"] != "from-prod" {
		t.Fatalf("reader: %s, outputs %v; want complete with Out=from-prod", s, s.Outputs)
	}
	prod := cfn.New(w.sb.AWSConfig("prod"))
	st, err := prod.Describe(ctx, "xa-reader")
	if err != nil || st == nil {
		t.Fatalf("reader is not in prod: %v", err)
	}
	if st.Parameters["In"] != "from-prod" {
		t.Errorf("reader's parameter In = %q in prod", st.Parameters["In"])
	}
}

// TestMFAProfileUnattended: a stack whose profile needs an MFA code fails at
// run time with a message that says so, when nobody can type the code.
func TestMFAProfileUnattended(t *testing.T) {
	w := newWorld(t)
	run := w.build("namespace: mfa\nstacks:\n  - name: app\n    profile: mfa\n    template_path: echo.yaml\n")
	s := run.Stack("app")
	if s.State != engine.Failed || !strings.Contains(s.Reason, "MFA") || !strings.Contains(s.Reason, "mfa_serial") {
		t.Errorf("got %s, want a failure saying the profile needs an MFA code", s)
	}
}

// noAWS fails the test when anything asks for AWS credentials.
type noAWS struct{ t *testing.T }

func (n noAWS) Config(context.Context, string, string) (aws.Config, error) {
	n.t.Error("validation asked for AWS credentials")
	return aws.Config{}, fmt.Errorf("no AWS in validation")
}

func TestLoadValidation(t *testing.T) {
	w := newWorld(t)
	big := "Description: padding\nMetadata:\n  Padding: " + strings.Repeat("x", 52000) + "\nResources:\n  Handle:\n    Type: AWS::CloudFormation::WaitConditionHandle\n"
	write(t, filepath.Join(w.dir, "big.yaml"), big)
	head := "namespace: val\nstacks:\n"
	for _, tc := range []struct {
		name, config string
		want         []string
	}{
		{"unknown profile", head + "  - name: a\n    template_path: echo.yaml\n    profile: nope\n",
			[]string{"stacker.yaml:5", "profile", `"nope"`}},
		{"template missing", head + "  - name: a\n    template_path: missing.yaml\n",
			[]string{"stacker.yaml:4", "template_path", "missing.yaml"}},
		{"template unparsable", head + "  - name: a\n    template_path: broken.yaml\n",
			[]string{"stacker.yaml:4", "template_path", "broken.yaml"}},
		{"unknown class_path", head + "  - name: a\n    class_path: stacker_blueprints.s3.Buckets\n",
			[]string{"stacker.yaml:4", "class_path", "template_path"}},
		{"own output", head + "  - name: a\n    template_path: echo.yaml\n    variables:\n      In: ${output a::Out}\n",
			[]string{"stacker.yaml:", "a", "own"}},
		{"requires unknown", head + "  - name: a\n    template_path: echo.yaml\n    requires: [ghost]\n",
			[]string{"stacker.yaml:5", "requires", "ghost"}},
		{"cycle", head + "  - name: a\n    template_path: echo.yaml\n    requires: [b]\n  - name: b\n    template_path: echo.yaml\n    requires: [a]\n",
			[]string{"stacker.yaml:", "a -> b -> a"}},
		{"file lookup outside the root", head + "  - name: a\n    template_path: echo.yaml\n    variables:\n      In: ${file plain:file://../nope.yaml}\n",
			[]string{"stacker.yaml:6", "variables.In", "${file plain:file://../nope.yaml}", "relative to the config's directory"}},
		{"invalid stack name", head + "  - name: my_app\n    template_path: echo.yaml\n",
			[]string{"stacker.yaml:3", "stacks[0].name", `"val-my_app"`}},
		{"file lookup of a missing file", head + "  - name: a\n    template_path: echo.yaml\n    variables:\n      In: ${envvar file://nope.txt}\n",
			[]string{"stacker.yaml:6", "variables.In", "nope.txt"}},
		{"inline template too big", "namespace: ''\nstacks:\n  - name: a\n    template_path: big.yaml\n",
			[]string{"stacker.yaml:4", "template_path", "51200", "stacker_bucket"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := deploy.Load(w.options(tc.config, noAWS{t}))
			if err == nil {
				t.Fatal("loaded")
			}
			if !deploy.IsConfigError(err) {
				t.Errorf("%v is not a config error", err)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}
