package deploy_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	"github.com/stackerless/stackerless/pkg/deploy"
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// The measurements `make bench` reports for the engine (issue 4): parse and
// plan of a large config, makespan of a DAG against its critical path on the
// sandbox, and API calls per stack of a run with no changes.

// benchTemplates are small raw templates the generated stacks share: one
// without inputs, one fed by another stack's output, one fed by two.
var benchTemplates = map[string]string{
	"leaf.yaml": `Parameters:
  Label:
    Type: String
    Default: leaf
Resources:
  Handle:
    Type: AWS::CloudFormation::WaitConditionHandle
Outputs:
  Id:
    Value: !Ref Handle
`,
	"one.yaml": `Parameters:
  Upstream:
    Type: String
  Label:
    Type: String
    Default: one
Resources:
  Handle:
    Type: AWS::CloudFormation::WaitConditionHandle
Outputs:
  Id:
    Value: !Ref Handle
  Upstream:
    Value: !Ref Upstream
`,
	"two.yaml": `Parameters:
  Left:
    Type: String
  Right:
    Type: CommaDelimitedList
Resources:
  Handle:
    Type: AWS::CloudFormation::WaitConditionHandle
Outputs:
  Id:
    Value: !Ref Handle
`,
}

// benchDAG describes a generated config: stacks in levels, each stack past
// the first level depending on one or two stacks of the level above (through
// output lookups, sometimes also `requires`).
type benchDAG struct {
	levels [][]string
	deps   map[string][]string
	// durations is each stack's sandbox:duration, when set.
	durations map[string]string
	// accounts, when over 1, spreads the stacks over that many profiles
	// (a0, a1, ...), one sandbox account each (benchAccounts).
	accounts int
}

// newBenchDAG builds n stacks in levels of width stacks each. The choice of
// dependencies is a fixed function of the position, so every run measures
// the same graph.
func newBenchDAG(n, width int) *benchDAG {
	d := &benchDAG{deps: map[string][]string{}, durations: map[string]string{}}
	for i := 0; i < n; i++ {
		lvl, pos := i/width, i%width
		if pos == 0 {
			d.levels = append(d.levels, nil)
		}
		name := fmt.Sprintf("s%05d", i)
		d.levels[lvl] = append(d.levels[lvl], name)
		if lvl == 0 {
			continue
		}
		above := d.levels[lvl-1]
		a := above[(pos*7+lvl)%len(above)]
		d.deps[name] = []string{a}
		if pos%3 != 0 { // two of three stacks fan in from two parents
			if b := above[(pos*13+lvl*5+1)%len(above)]; b != a {
				d.deps[name] = append(d.deps[name], b)
			}
		}
	}
	return d
}

// config renders the DAG as a stacker config (list form). Extra top-level
// YAML goes after namespace; stacks get a sandbox:duration tag when set.
func (d *benchDAG) config(namespace, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "namespace: %s\n%s", namespace, extra)
	b.WriteString("stacks:\n")
	for i, level := range d.levels {
		for j, name := range level {
			deps := d.deps[name]
			fmt.Fprintf(&b, "  - name: %s\n", name)
			if d.accounts > 1 {
				fmt.Fprintf(&b, "    profile: a%d\n", (i*len(level)+j)%d.accounts)
			}
			switch len(deps) {
			case 0:
				b.WriteString("    template_path: leaf.yaml\n")
				fmt.Fprintf(&b, "    variables:\n      Label: level-%d\n", i)
			case 1:
				b.WriteString("    template_path: one.yaml\n")
				fmt.Fprintf(&b, "    variables:\n      Upstream: ${output %s::Id}\n", deps[0])
			default:
				b.WriteString("    template_path: two.yaml\n")
				fmt.Fprintf(&b, "    variables:\n      Left: ${output %s::Id}\n      Right:\n        - ${output %s::Id}\n        - fixed\n", deps[0], deps[1])
				if j%2 == 0 {
					fmt.Fprintf(&b, "    requires: [%s]\n", deps[0])
				}
			}
			if dur := d.durations[name]; dur != "" {
				fmt.Fprintf(&b, "    tags:\n      sandbox:duration: %s\n", dur)
			}
		}
	}
	return b.String()
}

// writeBenchProject writes the templates and config into a new directory and
// returns the config's path.
func writeBenchProject(b *testing.B, config string) string {
	b.Helper()
	dir := b.TempDir()
	for name, body := range benchTemplates {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	path := filepath.Join(dir, "stacker.yaml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkParsePlan10k loads (parses and validates, templates included) a
// 10,000-stack config and plans a build of it. Target: < 1 s per op.
func BenchmarkParsePlan10k(b *testing.B) {
	const n = 10000
	dag := newBenchDAG(n, 100)
	path := writeBenchProject(b, dag.config("bench", ""))
	b.ResetTimer()
	for b.Loop() {
		p, err := deploy.Load(deploy.Options{ConfigPath: path, Root: filepath.Dir(path)})
		if err != nil {
			b.Fatal(err)
		}
		run, err := p.Plan(engine.Build, deploy.Selection{})
		if err != nil {
			b.Fatal(err)
		}
		if len(run.Stacks) != n {
			b.Fatalf("planned %d stacks, want %d", len(run.Stacks), n)
		}
	}
}

// benchCalls counts the API requests the SDK sends, per "service:Operation",
// every attempt included (it sits after the retry middleware).
type benchCalls struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *benchCalls) register(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("benchCalls",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			key := awsmiddleware.GetServiceID(ctx) + ":" + awsmiddleware.GetOperationName(ctx)
			c.mu.Lock()
			c.calls[key]++
			c.mu.Unlock()
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}

// take returns the counts so far and starts again from zero.
func (c *benchCalls) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = map[string]int{}
	return out
}

// benchAWS gives every profile the master account of the sandbox, counting
// the calls made with it.
type benchAWS struct {
	sb    *sandbox.Sandbox
	calls *benchCalls
}

func (a benchAWS) Config(_ context.Context, profile, region string) (aws.Config, error) {
	account := "master"
	if profile != "" {
		account = profile // benchAccounts names the accounts after the profiles
	}
	cfg := a.sb.AWSConfig(account)
	if region != "" {
		cfg.Region = region
	}
	cfg.APIOptions = append(cfg.APIOptions, a.calls.register)
	return cfg, nil
}

// benchAccounts gives a sandbox the master account and n more, named after
// the profiles of a benchDAG spread over n accounts.
func benchAccounts(n int) func(*sandbox.Options) {
	return func(o *sandbox.Options) {
		o.Accounts = []sandbox.AccountSpec{{Name: "master", ID: "111111111111"}}
		for i := range n {
			o.Accounts = append(o.Accounts, sandbox.AccountSpec{Name: fmt.Sprintf("a%d", i), ID: fmt.Sprintf("2000000000%02d", i)})
		}
	}
}

// benchBuild loads the config and drives a build to the end the way the CLI
// does: Advance, then sleep one poll interval, until the run is done.
// benchTimes says where a build's wall time went.
type benchTimes struct {
	elapsed time.Duration
	// advance is the time spent inside Advance (API calls, rendering), and
	// slowest the longest single Advance.
	advance, slowest time.Duration
}

func benchBuild(ctx context.Context, b *testing.B, path string, aws benchAWS, poll time.Duration) (*engine.Run, benchTimes) {
	return benchBuildSteps(ctx, b, path, aws, poll, nil)
}

// benchBuildSteps is benchBuild calling onStep after each Advance.
func benchBuildSteps(ctx context.Context, b *testing.B, path string, aws benchAWS, poll time.Duration, onStep func(*engine.Run)) (*engine.Run, benchTimes) {
	b.Helper()
	p, err := deploy.Load(deploy.Options{ConfigPath: path, Root: filepath.Dir(path), Region: "us-east-1", AWS: aws})
	if err != nil {
		b.Fatal(err)
	}
	run, err := p.Plan(engine.Build, deploy.Selection{})
	if err != nil {
		b.Fatal(err)
	}
	eng := &engine.Engine{Clients: p, Preparer: p}
	var times benchTimes
	start := time.Now()
	d := &engine.Driver{Engine: eng, Interval: poll,
		OnRetry: func(_ int, err error) { b.Fatal(err) },
		OnStep: func(took time.Duration) {
			times.advance += took
			times.slowest = max(times.slowest, took)
			if onStep != nil {
				onStep(run)
			}
		}}
	if err := d.Drive(ctx, run); err != nil {
		b.Fatal(err)
	}
	times.elapsed = time.Since(start)
	if failed := run.Failed(); len(failed) > 0 {
		b.Fatalf("stacks failed: %s; first: %s", strings.Join(failed, ", "), run.Stack(failed[0]).Reason)
	}
	return run, times
}

// criticalPath is the longest chain of stack durations through the DAG.
func (d *benchDAG) criticalPath() time.Duration {
	finish := map[string]time.Duration{}
	var longest time.Duration
	for _, level := range d.levels {
		for _, name := range level {
			var ready time.Duration
			for _, dep := range d.deps[name] {
				ready = max(ready, finish[dep])
			}
			dur, err := time.ParseDuration(d.durations[name])
			if err != nil {
				panic(fmt.Sprintf("bench DAG: duration of %s: %v", name, err))
			}
			finish[name] = ready + dur
			longest = max(longest, finish[name])
		}
	}
	return longest
}

// BenchmarkMakespan200 builds a 200-stack DAG (10 levels of 20, fan-in of
// one or two) with per-stack durations between 100 and 600 ms on the
// sandbox, polling every 50 ms, and compares the makespan with the critical
// path. Target: the excess is at most one poll interval per DAG level.
func BenchmarkMakespan200(b *testing.B) {
	const poll = 50 * time.Millisecond
	dag := newBenchDAG(200, 20)
	for i, level := range dag.levels {
		for j, name := range level {
			dag.durations[name] = fmt.Sprintf("%dms", 100+((i*7+j*13)%11)*50)
		}
	}
	critical := dag.criticalPath()
	sb := sandboxtest.Start(b)
	aws := benchAWS{sb: sb, calls: &benchCalls{calls: map[string]int{}}}
	ctx := b.Context()
	var makespan, advance, slowest time.Duration
	steps, n := 0, 0
	for b.Loop() {
		n++
		path := writeBenchProject(b, dag.config(fmt.Sprintf("mk%d", n), ""))
		run, times := benchBuild(ctx, b, path, aws, poll)
		makespan += times.elapsed
		advance += times.advance
		slowest = max(slowest, times.slowest)
		steps += run.Steps
	}
	makespan /= time.Duration(n)
	advance /= time.Duration(n)
	levels := len(dag.levels)
	excess := makespan - critical
	b.ReportMetric(makespan.Seconds(), "makespan-s")
	b.ReportMetric(critical.Seconds(), "critical-path-s")
	b.ReportMetric(float64(levels), "levels")
	b.ReportMetric(excess.Seconds()/float64(levels)/poll.Seconds(), "excess-polls/level")
	b.ReportMetric(advance.Seconds(), "in-advance-s")
	b.ReportMetric(float64(slowest.Milliseconds()), "slowest-advance-ms")
	b.ReportMetric(float64(steps)/float64(n), "steps")
}

// BenchmarkNoChangeCalls builds 50 stacks, then measures a second build with
// nothing to change: the CloudFormation and S3 calls it makes per stack.
// Target (issue 16): at most 0.1, and at most 0.05 for 1,000 stacks over 10
// accounts. Templates go to the stacker bucket, as with stacker's defaults;
// the inline variant (stacker_bucket: ”) shows the S3 share.
func BenchmarkNoChangeCalls(b *testing.B) {
	for _, bc := range []struct {
		name, extra      string
		stacks, accounts int
	}{
		{"bucket", "", 50, 1},
		{"inline", "stacker_bucket: ''\n", 50, 1},
		{"1000x10accounts", "stacker_bucket: ''\n", 1000, 10},
	} {
		b.Run(bc.name, func(b *testing.B) {
			n := bc.stacks
			dag := newBenchDAG(n, n/5)
			dag.accounts = bc.accounts
			sb := sandboxtest.Start(b, benchAccounts(bc.accounts))
			calls := &benchCalls{calls: map[string]int{}}
			aws := benchAWS{sb: sb, calls: calls}
			path := writeBenchProject(b, dag.config("nc"+bc.name, bc.extra))
			ctx := b.Context()
			benchBuild(ctx, b, path, aws, 20*time.Millisecond)
			var last map[string]int
			for b.Loop() {
				calls.take()
				run, _ := benchBuild(ctx, b, path, aws, 20*time.Millisecond)
				last = calls.take()
				for _, s := range run.Stacks {
					if s.State != engine.Skipped || s.Reason != "nochange" {
						b.Fatalf("%s: %s (%s), want skipped (nochange)", s.Name, s.State, s.Reason)
					}
				}
			}
			total := 0
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(last)) {
				total += last[k]
				parts = append(parts, fmt.Sprintf("%s=%d", k, last[k]))
			}
			b.Logf("calls of one no-change run of %d stacks: %s", n, strings.Join(parts, " "))
			b.ReportMetric(float64(total)/float64(n), "calls/stack")
		})
	}
}

// BenchmarkBuildPollCalls builds 1,000 new stacks over 10 accounts (5 levels
// of 200, 50 ms stacks, 20 ms poll) and counts the DescribeStacks calls of
// each Advance: polls of the stacks in flight and looks at those it starts.
// Target (issue 16): at most accounts × pages per Advance, pages being those
// of the largest account's listing (100 stacks a page).
func BenchmarkBuildPollCalls(b *testing.B) {
	const n, accounts = 1000, 10
	dag := newBenchDAG(n, n/5)
	dag.accounts = accounts
	sb := sandboxtest.Start(b, benchAccounts(accounts))
	calls := &benchCalls{calls: map[string]int{}}
	aws := benchAWS{sb: sb, calls: calls}
	ctx := b.Context()
	var worst, steps, describes, pages int
	runs := 0
	for b.Loop() {
		runs++
		path := writeBenchProject(b, dag.config(fmt.Sprintf("pc%d", runs), "stacker_bucket: ''\n"))
		calls.take()
		run, _ := benchBuildSteps(ctx, b, path, aws, 20*time.Millisecond, func(run *engine.Run) {
			d := calls.take()["CloudFormation:DescribeStacks"]
			worst = max(worst, d)
			describes += d
			steps++
			for _, p := range run.StackPages {
				pages = max(pages, p)
			}
		})
		if len(run.Stacks) != n {
			b.Fatalf("%d stacks", len(run.Stacks))
		}
	}
	b.ReportMetric(float64(worst), "max-describes/advance")
	b.ReportMetric(float64(describes)/float64(steps), "describes/advance")
	b.ReportMetric(float64(accounts*max(pages, 1)), "accounts×pages")
	b.ReportMetric(float64(steps)/float64(runs), "advances")
}
