package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/stackerless/stackerless/pkg/awsprofile"
	"github.com/stackerless/stackerless/pkg/cfn"
	"github.com/stackerless/stackerless/pkg/deploy"
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// world is a sandbox, a working directory holding the test templates and an
// AWS config file with one static-key profile per sandbox account. The
// default credentials are master's.
type world struct {
	t        *testing.T
	sb       *sandbox.Sandbox
	dir      string
	provider *awsprofile.Provider
}

func newWorld(t *testing.T, opts ...func(*sandbox.Options)) *world {
	t.Helper()
	sb := sandboxtest.Start(t, opts...)
	dir := t.TempDir()
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("testdata", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var profiles strings.Builder
	profiles.WriteString(sandboxtest.Profiles(sb))
	awsConfig := filepath.Join(dir, "aws-config")
	if err := os.WriteFile(awsConfig, []byte(profiles.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	provider, err := awsprofile.NewProvider(awsConfig, awsprofile.WithBaseConfig(baseConfig(sb)))
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, sb: sb, dir: dir, provider: provider}
}

// baseConfig is master's sandbox config with the SDK's standard retryer,
// backing off briefly so that retried throttling keeps tests fast, and
// trying often enough that a share of throttled calls never exhausts it.
func baseConfig(sb *sandbox.Sandbox) aws.Config {
	cfg := sb.AWSConfig("master")
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 10
			o.MaxBackoff = 5 * time.Millisecond
			o.RateLimiter = ratelimit.None
		})
	}
	return cfg
}

// load writes a stacker config into the working directory and loads it.
func (w *world) load(text string) *deploy.Project {
	w.t.Helper()
	path := filepath.Join(w.dir, "stacker.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		w.t.Fatal(err)
	}
	p, err := deploy.Load(deploy.Options{
		ConfigPath: path, Root: w.dir, AWS: w.provider,
		HasProfile: func(name string) bool { return w.provider.File().Profiles[name] != nil },
	})
	if err != nil {
		w.t.Fatalf("load config: %v", err)
	}
	return p
}

// plan loads a config and plans an action over all its stacks.
func (w *world) plan(text string, action engine.Action) (*deploy.Project, *engine.Run) {
	w.t.Helper()
	p := w.load(text)
	run, err := p.Plan(action, deploy.Selection{})
	if err != nil {
		w.t.Fatal(err)
	}
	return p, run
}

func newEngine(p *deploy.Project) (*engine.Engine, *recorder) {
	rec := &recorder{}
	return &engine.Engine{Clients: p, Preparer: p, Reporter: rec}, rec
}

// finish drives run until it is done, with short pauses in between; any
// failed Advance fails the test.
func finish(t *testing.T, e *engine.Engine, run *engine.Run) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	d := &engine.Driver{Engine: e, Interval: 10 * time.Millisecond, OnRetry: func(_ int, err error) {
		t.Fatalf("advance: %v", err)
	}}
	if err := d.Drive(ctx, run); err != nil {
		t.Fatalf("run not done after 20s (%v): %s", err, statusLines(run))
	}
}

// recorder keeps the status lines and messages an engine reports.
type recorder struct {
	lines    []string
	messages []string
}

func (r *recorder) Status(s *engine.StackState)         { r.lines = append(r.lines, s.String()) }
func (r *recorder) Event(*engine.StackState, cfn.Event) {}
func (r *recorder) Message(_ *engine.StackState, text string) {
	r.messages = append(r.messages, text)
}

func (r *recorder) has(line string) bool {
	for _, l := range r.lines {
		if l == line {
			return true
		}
	}
	return false
}

func (r *recorder) expect(t *testing.T, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !r.has(l) {
			t.Errorf("no status line %q in:\n%s", l, strings.Join(r.lines, "\n"))
		}
	}
}

func statusLines(run *engine.Run) string {
	var out []string
	for _, s := range run.Stacks {
		out = append(out, fmt.Sprintf("%s [%s]", s, s.Phase))
	}
	return strings.Join(out, "; ")
}

// roundTrip serialises a run to JSON and back, as the runtime does between
// two Advances, and checks nothing is lost on the way.
func roundTrip(t *testing.T, run *engine.Run) *engine.Run {
	t.Helper()
	data, err := json.Marshal(run)
	if err != nil {
		t.Fatal(err)
	}
	var back engine.Run
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(&back)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(data) {
		t.Fatalf("run JSON changed in a round trip:\n%s\n%s", data, again)
	}
	return &back
}

func cfnClient(w *world, account string) *cloudformation.Client {
	return cloudformation.NewFromConfig(w.sb.AWSConfig(account))
}

// describe returns a stack as the SDK sees it.
func describe(t *testing.T, c *cloudformation.Client, name string) cfntypes.Stack {
	t.Helper()
	out, err := c.DescribeStacks(t.Context(), &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		t.Fatalf("describe %s: %v", name, err)
	}
	return out.Stacks[0]
}

// stackEvents returns the stack-level events of a stack, oldest first.
func stackEvents(ctx context.Context, t *testing.T, c *cloudformation.Client, name string) []string {
	t.Helper()
	var out []string
	p := cloudformation.NewDescribeStackEventsPaginator(c, &cloudformation.DescribeStackEventsInput{StackName: aws.String(name)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("events of %s: %v", name, err)
		}
		for _, e := range page.StackEvents {
			if aws.ToString(e.ResourceType) == "AWS::CloudFormation::Stack" {
				out = append([]string{string(e.ResourceStatus)}, out...)
			}
		}
	}
	return out
}

func count(list []string, v string) int {
	n := 0
	for _, x := range list {
		if x == v {
			n++
		}
	}
	return n
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
