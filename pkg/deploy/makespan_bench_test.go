package deploy_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// BenchmarkMakespanPerLevel measures what polling costs each DAG level
// (issue 17): 30-stack DAGs of 7 levels (the case measured against stacker
// 1.7.2, 1 s poll) built on the sandbox with a 1 s poll interval, reporting
// the makespan's excess over the critical path in poll intervals per level.
//   - exact: every stack takes an exact multiple of the interval (1 to 3).
//     Target: at most 0.2 intervals per level (stacker's figure).
//   - random: durations drawn uniformly between 1 and 3 intervals from
//     fixed seeds, one DAG per seed. Target: at most 0.6 on average (a
//     completion falls on average half an interval before the poll that
//     sees it).
func BenchmarkMakespanPerLevel(b *testing.B) {
	const (
		poll          = time.Second
		stacks, width = 30, 5
	)
	exact := func(_ uint64, dag *benchDAG) {
		for i, level := range dag.levels {
			for j, name := range level {
				dag.durations[name] = (time.Duration(1+(i*2+j)%3) * poll).String()
			}
		}
	}
	random := func(seed uint64, dag *benchDAG) {
		rng := rand.New(rand.NewPCG(seed, 17))
		for _, level := range dag.levels {
			for _, name := range level {
				ms := poll.Milliseconds() + rng.Int64N(2*poll.Milliseconds()+1)
				dag.durations[name] = fmt.Sprintf("%dms", ms)
			}
		}
	}
	for _, bc := range []struct {
		name  string
		seeds []uint64
		set   func(seed uint64, dag *benchDAG)
	}{
		{"exact", []uint64{0}, exact},
		{"random", []uint64{1, 2, 3}, random},
	} {
		b.Run(bc.name, func(b *testing.B) {
			sb := sandboxtest.Start(b)
			aws := benchAWS{sb: sb, calls: &benchCalls{calls: map[string]int{}}}
			ctx := b.Context()
			var perLevel float64
			var makespan, critical time.Duration
			steps, describes := 0, 0
			var worst []string
			n := 0
			for b.Loop() {
				for _, seed := range bc.seeds {
					n++
					dag := newBenchDAG(stacks, width)
					bc.set(seed, dag)
					path := writeBenchProject(b, dag.config(fmt.Sprintf("pl%s%d", bc.name, n), ""))
					aws.calls.take()
					run, times := benchBuild(ctx, b, path, aws, poll)
					steps += run.Steps
					describes += aws.calls.take()["CloudFormation:DescribeStacks"]
					cp := dag.criticalPath()
					excess := (times.elapsed - cp).Seconds() / float64(len(dag.levels)) / poll.Seconds()
					perLevel += excess
					makespan += times.elapsed
					critical += cp
					worst = append(worst, fmt.Sprintf("%.2f", excess))
				}
			}
			b.ReportMetric(perLevel/float64(n), "excess-intervals/level")
			b.ReportMetric(makespan.Seconds()/float64(n), "makespan-s")
			b.ReportMetric(critical.Seconds()/float64(n), "critical-path-s")
			// What a poll schedule costs: Advances (each a Lambda invocation
			// on the serverless path, and with polls batched per account about
			// one DescribeStacks call per account) and DescribeStacks calls
			// per poll interval of the build.
			intervals := makespan.Seconds() / poll.Seconds()
			b.ReportMetric(float64(steps)/intervals, "advances/interval")
			b.ReportMetric(float64(describes)/intervals, "describes/interval")
			b.Logf("excess per level of each DAG, in intervals: %s", strings.Join(worst, " "))
		})
	}
}
