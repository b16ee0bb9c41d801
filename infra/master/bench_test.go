package master_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stackerless/stackerless/infra/master"
	"github.com/stackerless/stackerless/pkg/sandbox"
)

// The benchmarks deploy the master app with the CDK CLI, as TestEndToEnd
// does, and run configs through the synthesised state machine and the real
// Lambda binaries; the figures come from the executions' histories. They
// run once per `make bench` (the deployment alone takes a minute or more).

// benchPollSeconds is the deployments' poll_seconds.
const benchPollSeconds = 1

// BenchmarkSeedRun runs the seed example (stacker.yaml: three stacks in
// master, prod and stage, no dependencies between them, so one DAG level)
// uploaded as a user uploads it, with stack operations taking 2 s. It
// reports state transitions and Lambda invocations per stack and the
// makespan (first execution's start to the last one's end) against the
// critical path (levels × stack duration). The target is an excess of at
// most one poll interval per level plus 1 s.
func BenchmarkSeedRun(b *testing.B) {
	const stackDuration = 2 * time.Second
	const levels, stacks = 1, 3
	ctx, cancel := context.WithTimeout(b.Context(), 30*time.Minute)
	defer cancel()
	d := deploy(ctx, b, deployOptions{
		accounts:      sandbox.DefaultOptions().Accounts[1:],
		stackDuration: stackDuration,
		settings:      fmt.Sprintf(`"poll_seconds": %d`, benchPollSeconds),
	})
	bucket := d.outs[master.OutputConfigBucket]
	var m runMetrics
	iter := 0
	for b.Loop() {
		// Each iteration its own key and namespace: new stacks, and a
		// lock of its own.
		iter++
		prefix := fmt.Sprintf("seed%d/", iter)
		for _, f := range []string{"templates/stacker-bucket.yaml", ".aws/config"} {
			d.put(ctx, b, bucket, prefix+f, readRepo(b, f))
		}
		seed := string(readRepo(b, "stacker.yaml"))
		seed = strings.Replace(seed, "stacker_bucket: ''", "stacker_bucket: "+d.outs[master.OutputTemplateBucket], 1)
		seed = strings.Replace(seed, "namespace: ''", fmt.Sprintf("namespace: seed%d", iter), 1)
		d.put(ctx, b, bucket, prefix+"stacker.yaml", []byte(seed))
		first := d.started(ctx, b, func(in string) bool { return strings.Contains(in, `"key":"`+prefix+`stacker.yaml"`) })
		m.add(d.measure(ctx, b, first, 10*time.Minute))
	}
	m.report(b, stacks)
	critical := levels * stackDuration.Seconds()
	target := float64(levels*benchPollSeconds) + 1
	b.ReportMetric(critical, "s-critical-path")
	b.ReportMetric(m.makespan/float64(m.runs)-critical, "s-excess")
	b.ReportMetric(target, "s-excess-target")
	if excess := m.makespan/float64(m.runs) - critical; excess > target {
		b.Logf("makespan excess %.2f s is over the target %.0f s", excess, target)
	}
}

// BenchmarkRun1000Stacks runs a generated config of 1,000 stacks over 100
// sandbox accounts (10 levels of 100 stacks, one per account; each stack
// requires two of the level before), stack operations taking 2 s, with
// loops_per_execution 10 so that the run continues in new executions as a
// long run does before Step Functions' history limit (the default, 300
// loops, is not reached in this run). It reports state transitions,
// executions, Lambda invocations, Advance's duration (p50, p95, max, as
// the history's Lambda events time it) and the total time.
func BenchmarkRun1000Stacks(b *testing.B) {
	const stackDuration = 2 * time.Second
	const accounts, levels = 100, 10
	const stacks = accounts * levels
	ctx, cancel := context.WithTimeout(b.Context(), 60*time.Minute)
	defer cancel()
	var specs []sandbox.AccountSpec
	for i := range accounts {
		specs = append(specs, sandbox.AccountSpec{Name: fmt.Sprintf("a%03d", i), ID: fmt.Sprintf("5%011d", i)})
	}
	d := deploy(ctx, b, deployOptions{
		accounts:      specs,
		stackDuration: stackDuration,
		settings:      fmt.Sprintf(`"poll_seconds": %d, "loops_per_execution": 10`, benchPollSeconds),
	})
	bucket := d.outs[master.OutputConfigBucket]
	masterAcct, _ := d.sb.Account("master")
	profiles := fmt.Sprintf("[profile master]\nregion = %s\nrole_arn = arn:aws:iam::%s:role/Stacker\ncredential_source = Environment\n",
		d.sb.Region(), masterAcct.ID)
	for _, a := range specs {
		profiles += fmt.Sprintf("\n[profile %s]\nregion = %s\nrole_arn = arn:aws:iam::%s:role/Stacker\nsource_profile = master\n",
			a.Name, d.sb.Region(), a.ID)
	}
	var m runMetrics
	iter := 0
	for b.Loop() {
		iter++
		prefix := fmt.Sprintf("big%d/", iter)
		cfg := fmt.Sprintf("namespace: big%d\nstacker_bucket: %s\nstacks:\n", iter, d.outs[master.OutputTemplateBucket])
		for l := range levels {
			for j := range accounts {
				cfg += fmt.Sprintf("  - name: l%02d-s%03d\n    profile: %s\n    template_path: t.yaml\n", l, j, specs[j].Name)
				if l > 0 {
					cfg += fmt.Sprintf("    requires: [l%02d-s%03d, l%02d-s%03d]\n", l-1, j, l-1, (j+1)%accounts)
				}
			}
		}
		d.put(ctx, b, bucket, prefix+"t.yaml", []byte("Resources:\n  H: {Type: AWS::CloudFormation::WaitConditionHandle}\n"))
		d.put(ctx, b, bucket, prefix+".aws/config", []byte(profiles))
		d.put(ctx, b, bucket, prefix+"stacker.yaml", []byte(cfg))
		first := d.started(ctx, b, func(in string) bool { return strings.Contains(in, `"key":"`+prefix+`stacker.yaml"`) })
		m.add(d.measure(ctx, b, first, 50*time.Minute))
	}
	m.report(b, stacks)
	b.ReportMetric(levels*stackDuration.Seconds(), "s-critical-path")
	b.ReportMetric(float64(m.executions)/float64(m.runs), "executions")
	if m.executions == m.runs {
		b.Errorf("the run never continued in a new execution")
	}
	slices.Sort(m.advance)
	for _, q := range []struct {
		name string
		p    float64
	}{{"p50", 0.50}, {"p95", 0.95}, {"max", 1}} {
		b.ReportMetric(quantile(m.advance, q.p).Seconds(), "s-advance-"+q.name)
	}
}

// runMetrics sums the measurements of the benchmark's runs.
type runMetrics struct {
	runs, executions, transitions, invocations int
	makespan                                   float64         // seconds, summed
	advance                                    []time.Duration // every Advance invocation
	// in is the time spent in each Task's Lambda invocations and in the
	// Wait states, by state name, summed.
	in map[string]time.Duration
}

func (m *runMetrics) add(r runMetrics) {
	m.runs++
	m.executions += r.executions
	m.transitions += r.transitions
	m.invocations += r.invocations
	m.makespan += r.makespan
	m.advance = append(m.advance, r.advance...)
	if m.in == nil {
		m.in = map[string]time.Duration{}
	}
	for k, v := range r.in {
		m.in[k] += v
	}
}

// report reports the per-run averages.
func (m *runMetrics) report(b *testing.B, stacks int) {
	if m.runs == 0 {
		return
	}
	runs := float64(m.runs)
	b.ReportMetric(m.makespan/runs, "s-makespan")
	b.ReportMetric(float64(m.transitions)/runs, "transitions")
	b.ReportMetric(float64(m.transitions)/runs/float64(stacks), "transitions/stack")
	b.ReportMetric(float64(m.invocations)/runs/float64(stacks), "invocations/stack")
	// Where the makespan went: in the Lambdas, in Wait, and the rest
	// (transitions, the interpreter, Invoke's own overhead).
	rest := m.makespan
	for _, k := range []string{"Prepare", "Advance", "Continue", "Report", "Wait"} {
		b.ReportMetric(m.in[k].Seconds()/runs, "s-in-"+k)
		rest -= m.in[k].Seconds()
	}
	b.ReportMetric(rest/runs, "s-in-rest")
}

// measure waits for the run that starts with the execution first to end,
// checks that it succeeded, and reads its executions' histories: states
// entered (the state transitions Step Functions bills), Lambda invocations
// (every attempt), each Advance's duration (scheduled to succeeded or
// failed), and the makespan from the first execution's start to the last
// one's end.
func (d *deployment) measure(ctx context.Context, b *testing.B, first string, timeout time.Duration) runMetrics {
	b.Helper()
	chain := d.chain(ctx, b, first, timeout)
	last := chain[len(chain)-1]
	if last.Status != sfntypes.ExecutionStatusSucceeded {
		b.Fatalf("run ended %s: %s %s", last.Status, aws.ToString(last.Error), aws.ToString(last.Cause))
	}
	d.checkReport(ctx, b, last, "succeeded")
	r := runMetrics{executions: len(chain), makespan: last.StopDate.Sub(*chain[0].StartDate).Seconds(), in: map[string]time.Duration{}}
	for _, ex := range chain {
		var state string
		var scheduled, waiting time.Time
		p := sfn.NewGetExecutionHistoryPaginator(d.sfn, &sfn.GetExecutionHistoryInput{ExecutionArn: ex.ExecutionArn, MaxResults: 1000})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				b.Fatal(err)
			}
			for _, e := range page.Events {
				switch {
				case strings.HasSuffix(string(e.Type), "StateEntered"):
					r.transitions++
					state = aws.ToString(e.StateEnteredEventDetails.Name)
					if e.Type == sfntypes.HistoryEventTypeWaitStateEntered {
						waiting = aws.ToTime(e.Timestamp)
					}
				case e.Type == sfntypes.HistoryEventTypeWaitStateExited:
					r.in["Wait"] += aws.ToTime(e.Timestamp).Sub(waiting)
				case e.Type == sfntypes.HistoryEventTypeLambdaFunctionScheduled:
					r.invocations++
					scheduled = aws.ToTime(e.Timestamp)
				case e.Type == sfntypes.HistoryEventTypeLambdaFunctionSucceeded, e.Type == sfntypes.HistoryEventTypeLambdaFunctionFailed,
					e.Type == sfntypes.HistoryEventTypeLambdaFunctionTimedOut:
					took := aws.ToTime(e.Timestamp).Sub(scheduled)
					r.in[state] += took
					if state == "Advance" {
						r.advance = append(r.advance, took)
					}
				}
			}
		}
	}
	return r
}

// quantile is the q-quantile of sorted durations (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
