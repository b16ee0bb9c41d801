package graph

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// build makes a graph from "a:b,c" specs (a depends on b and c).
func build(t testing.TB, specs ...string) *Graph {
	t.Helper()
	g := New()
	type edge struct{ from, to string }
	var edges []edge
	for _, spec := range specs {
		name, deps, _ := strings.Cut(spec, ":")
		g.AddNode(name)
		if deps != "" {
			for _, d := range strings.Split(deps, ",") {
				edges = append(edges, edge{name, d})
			}
		}
	}
	for _, e := range edges {
		if err := g.AddEdge(e.from, e.to); err != nil {
			t.Fatalf("AddEdge(%s, %s): %v", e.from, e.to, err)
		}
	}
	return g
}

// functional is the graph of stacker's functional tests 07 and 08.
func functional(t testing.TB) *Graph {
	return build(t, "vpc", "bastion1:vpc", "bastion2:vpc", "app1:bastion1", "app2:bastion2")
}

func TestAddEdgeUnknownNode(t *testing.T) {
	g := build(t, "a", "b")
	tests := []struct{ from, to, missing string }{
		{"a", "x", "x"},
		{"x", "a", "x"},
	}
	for _, tt := range tests {
		t.Run(tt.from+"->"+tt.to, func(t *testing.T) {
			err := g.AddEdge(tt.from, tt.to)
			var unknown *UnknownNodeError
			if !errors.As(err, &unknown) || unknown.Name != tt.missing {
				t.Fatalf("AddEdge(%s, %s) = %v, want unknown node %s", tt.from, tt.to, err, tt.missing)
			}
		})
	}
}

func TestAddEdgeDuplicateKeptOnce(t *testing.T) {
	g := build(t, "a:b,b", "b")
	if got := g.Deps("a"); !cmp.Equal(got, []string{"b"}) {
		t.Fatalf("Deps(a) = %v", got)
	}
	g.AddNode("a") // no-op
	if g.Len() != 2 || !g.Has("a") || g.Has("z") {
		t.Fatalf("Len/Has wrong: %d", g.Len())
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		specs []string
		want  string
	}{
		{"acyclic", []string{"vpc", "app:vpc", "db:vpc", "web:app,db"}, ""},
		{"self", []string{"a:a"}, "dependency cycle: a -> a"},
		{"two", []string{"a:b", "b:a"}, "dependency cycle: a -> b -> a"},
		{"three", []string{"x", "a:b", "b:c", "c:a"}, "dependency cycle: a -> b -> c -> a"},
		{"tail into cycle", []string{"top:a", "a:b", "b:c", "c:b"}, "dependency cycle: b -> c -> b"},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := build(t, tt.specs...).Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			var cycle *CycleError
			if !errors.As(err, &cycle) || err.Error() != tt.want {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestTopoOrder(t *testing.T) {
	tests := []struct {
		name  string
		specs []string
		want  []string
	}{
		// stacker prints these steps in this order (07/08 functional tests).
		{"functional", []string{"vpc", "bastion1:vpc", "bastion2:vpc", "app1:bastion1", "app2:bastion2"},
			[]string{"vpc", "bastion2", "bastion1", "app2", "app1"}},
		{"independent keep reversed insertion order", []string{"a", "b", "c"}, []string{"c", "b", "a"}},
		{"diamond", []string{"web:app,db", "app:vpc", "db:vpc", "vpc"}, []string{"vpc", "db", "app", "web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := build(t, tt.specs...).TopoOrder()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("TopoOrder() (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := build(t, "a:b", "b:a").TopoOrder(); err == nil || !strings.Contains(err.Error(), "a -> b -> a") {
		t.Fatalf("TopoOrder on cycle = %v", err)
	}
}

func TestTransitive(t *testing.T) {
	g := build(t, "vpc", "bastion1:vpc", "bastion2:vpc", "app1:bastion1", "app2:bastion2", "other")
	tests := []struct {
		name       string
		dependents bool
		in         []string
		want       []string
	}{
		{"deps of app1", false, []string{"app1"}, []string{"vpc", "bastion1", "app1"}},
		{"deps of two", false, []string{"app2", "bastion1"}, []string{"vpc", "bastion2", "bastion1", "app2"}},
		{"deps of root", false, []string{"vpc"}, []string{"vpc"}},
		{"dependents of vpc", true, []string{"vpc"}, []string{"vpc", "bastion2", "bastion1", "app2", "app1"}},
		{"dependents of bastion2", true, []string{"bastion2"}, []string{"bastion2", "app2"}},
		{"dependents of leaf", true, []string{"other"}, []string{"other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := g.TransitiveDeps
			if tt.dependents {
				f = g.TransitiveDependents
			}
			got, err := f(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
	var unknown *UnknownNodeError
	if _, err := g.TransitiveDeps([]string{"nope"}); !errors.As(err, &unknown) || unknown.Name != "nope" {
		t.Fatalf("unknown name: %v", err)
	}
	if _, err := g.TransitiveDependents([]string{"nope"}); !errors.As(err, &unknown) {
		t.Fatalf("unknown name: %v", err)
	}
}

func TestDependentsSubgraphTranspose(t *testing.T) {
	g := functional(t)
	if got := g.Dependents("vpc"); !cmp.Equal(got, []string{"bastion1", "bastion2"}) {
		t.Errorf("Dependents(vpc) = %v", got)
	}
	if got := g.Dependents("nope"); got != nil {
		t.Errorf("Dependents(nope) = %v", got)
	}
	if got := g.Deps("nope"); got != nil {
		t.Errorf("Deps(nope) = %v", got)
	}
	sub, err := g.Subgraph([]string{"app1", "bastion1", "bastion2"})
	if err != nil {
		t.Fatal(err)
	}
	if got := sub.Nodes(); !cmp.Equal(got, []string{"bastion1", "bastion2", "app1"}) {
		t.Errorf("Subgraph nodes = %v", got)
	}
	if got := sub.Deps("bastion1"); len(got) != 0 {
		t.Errorf("Subgraph kept edge to vpc: %v", got)
	}
	if _, err := g.Subgraph([]string{"x"}); err == nil {
		t.Error("Subgraph(unknown) succeeded")
	}
	tr := g.Transpose()
	if got := tr.Deps("vpc"); !cmp.Equal(got, []string{"bastion1", "bastion2"}) {
		t.Errorf("Transpose Deps(vpc) = %v", got)
	}
	order, _ := tr.TopoOrder()
	if diff := cmp.Diff([]string{"app2", "app1", "bastion2", "bastion1", "vpc"}, order); diff != "" {
		t.Errorf("Transpose order (-want +got):\n%s", diff)
	}
}

func TestReduce(t *testing.T) {
	tests := []struct {
		name  string
		specs []string
		want  map[string][]string
	}{
		{"chain shortcut", []string{"a:b,c", "b:c", "c"}, map[string][]string{"a": {"b"}, "b": {"c"}, "c": {}}},
		{"long shortcut", []string{"a:b,d", "b:c", "c:d", "d"}, map[string][]string{"a": {"b"}, "b": {"c"}, "c": {"d"}, "d": {}}},
		{"diamond kept", []string{"a:b,c", "b:d", "c:d", "d"}, map[string][]string{"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": {}}},
		{"diamond plus shortcut", []string{"a:b,c,d", "b:d", "c:d", "d"}, map[string][]string{"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := build(t, tt.specs...)
			if err := g.Reduce(); err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, n := range g.Nodes() {
				got[n] = g.Deps(n)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			// A reduced edge can be added back: the edge set forgot it.
			last := g.Nodes()[g.Len()-1]
			if err := g.AddEdge("a", last); err != nil {
				t.Fatal(err)
			}
			if got := g.Deps("a"); got[len(got)-1] != last {
				t.Fatalf("re-added edge missing: %v", got)
			}
		})
	}
	if err := build(t, "a:b", "b:a").Reduce(); err == nil {
		t.Fatal("Reduce on cycle succeeded")
	}
}

func TestDot(t *testing.T) {
	var buf bytes.Buffer
	if err := functional(t).Dot(&buf); err != nil {
		t.Fatal(err)
	}
	want := `digraph digraph {
  "bastion2" -> "vpc";
  "bastion1" -> "vpc";
  "app2" -> "bastion2";
  "app1" -> "bastion1";
}
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	// stacker's 08 check: nothing follows vpc within two lines.
	if !strings.Contains(buf.String(), `"app1" -> "bastion1";`) {
		t.Fatal("missing edge")
	}
}

func TestJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := functional(t).JSON(&buf); err != nil {
		t.Fatal(err)
	}
	want := `{
    "steps": {
        "vpc": {
            "deps": []
        },
        "bastion2": {
            "deps": [
                "vpc"
            ]
        },
        "bastion1": {
            "deps": [
                "vpc"
            ]
        },
        "app2": {
            "deps": [
                "bastion2"
            ]
        },
        "app1": {
            "deps": [
                "bastion1"
            ]
        }
    }
}
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	buf.Reset()
	if err := New().JSON(&buf); err != nil || buf.String() != "{\n    \"steps\": {}\n}\n" {
		t.Fatalf("empty graph JSON = %q, %v", buf.String(), err)
	}
}

func TestPyJSONString(t *testing.T) {
	tests := map[string]string{
		"vpc":        `"vpc"`,
		`a"b\c`:      `"a\"b\\c"`,
		"tab\tnl\n":  `"tab\tnl\n"`,
		"caf\u00e9":  `"caf\u00e9"`,
		"\x01":       `"\u0001"`,
		"<&>":        `"<&>"`,
		"\U0001F600": `"\ud83d\ude00"`,
	}
	for in, want := range tests {
		if got := pyJSONString(in); got != want {
			t.Errorf("pyJSONString(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestMermaid(t *testing.T) {
	g := build(t, "vpc", `app"x:vpc`, "lone")
	var buf bytes.Buffer
	if err := g.Mermaid(&buf); err != nil {
		t.Fatal(err)
	}
	want := `graph TD
  n0["vpc"]
  n1["lone"]
  n2["app#quot;x"]
  n2 --> n0
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestFormatsRejectCycles(t *testing.T) {
	g := build(t, "a:b", "b:a")
	for name, f := range map[string]func(*bytes.Buffer) error{
		"dot":     func(b *bytes.Buffer) error { return g.Dot(b) },
		"json":    func(b *bytes.Buffer) error { return g.JSON(b) },
		"mermaid": func(b *bytes.Buffer) error { return g.Mermaid(b) },
	} {
		var buf bytes.Buffer
		if err := f(&buf); err == nil {
			t.Errorf("%s: no error on cycle", name)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestFormatsWriteError(t *testing.T) {
	g := functional(t)
	for name, err := range map[string]error{"dot": g.Dot(failWriter{}), "json": g.JSON(failWriter{}), "mermaid": g.Mermaid(failWriter{})} {
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// wide builds n nodes where node i depends on up to three earlier nodes.
func wide(b *testing.B, n int) *Graph {
	g := New()
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("stack-%05d", i)
		g.AddNode(names[i])
	}
	for i := 1; i < n; i++ {
		for _, d := range []int{i - 1, i / 2, i / 3} {
			if d != i {
				if err := g.AddEdge(names[i], names[d]); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	return g
}

func BenchmarkBuildValidate10k(b *testing.B) {
	for b.Loop() {
		g := wide(b, 10000)
		if err := g.Validate(); err != nil {
			b.Fatal(err)
		}
		if _, err := g.TopoOrder(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReduce10k(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		g := wide(b, 10000)
		b.StartTimer()
		if err := g.Reduce(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestStepOrder(t *testing.T) {
	tests := []struct {
		name    string
		specs   []string
		targets []string
		reverse bool
		want    []string
	}{
		{"independent stacks build", []string{"a", "b"}, nil, false, []string{"b", "a"}},
		// Destroy transposes: with no edges, the same order as build.
		{"independent stacks destroy", []string{"a", "b"}, nil, true, []string{"b", "a"}},
		{"chain build", []string{"vpc", "app:vpc"}, nil, false, []string{"vpc", "app"}},
		{"chain destroy", []string{"vpc", "app:vpc"}, nil, true, []string{"app", "vpc"}},
		{"functional build", []string{"vpc", "bastion1:vpc", "bastion2:vpc", "app1:bastion1", "app2:bastion2"}, nil, false,
			[]string{"vpc", "bastion2", "bastion1", "app2", "app1"}},
		{"functional destroy", []string{"vpc", "bastion1:vpc", "bastion2:vpc", "app1:bastion1", "app2:bastion2"}, nil, true,
			[]string{"app2", "app1", "bastion2", "bastion1", "vpc"}},
		// A target is added first, then what it reaches.
		{"target", []string{"net", "app:net", "other", "prod:app"}, []string{"prod"}, false, []string{"net", "app", "prod"}},
		{"destroy selection takes dependents", []string{"net", "app:net", "other", "prod:app"}, []string{"net"}, true,
			[]string{"prod", "app", "net"}},
		{"unknown targets are skipped", []string{"a", "b"}, []string{"nope", "b"}, false, []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := build(t, tt.specs...).StepOrder(tt.targets, tt.reverse)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := build(t, "a:b", "b:a").StepOrder(nil, true); err == nil {
		t.Error("a cycle was ordered")
	}
}

// stackerSteps is stacker 1.7's build_plan and Plan.steps, transliterated:
// an ordered dict of edge sets, DAG.transpose, DAG.filter with
// all_downstreams, and topological_sort with a deque.
func stackerSteps(nodes []string, edges map[string][]string, targets []string, reverse bool) []string {
	type dag struct {
		order []string
		edges map[string]map[string]bool
	}
	newDag := func() *dag { return &dag{edges: map[string]map[string]bool{}} }
	add := func(d *dag, n string) {
		if _, ok := d.edges[n]; !ok {
			d.order = append(d.order, n)
			d.edges[n] = map[string]bool{}
		}
	}
	topo := func(d *dag) []string {
		in := map[string]int{}
		for _, u := range d.order {
			for v := range d.edges[u] {
				in[v]++
			}
		}
		var queue []string // appendleft = prepend, pop = take the last
		for _, u := range d.order {
			if in[u] == 0 {
				queue = append([]string{u}, queue...)
			}
		}
		var out []string
		for len(queue) > 0 {
			u := queue[len(queue)-1]
			queue = queue[:len(queue)-1]
			out = append(out, u)
			vs := make([]string, 0, len(d.edges[u]))
			for v := range d.edges[u] {
				vs = append(vs, v)
			}
			sort.Strings(vs)
			for _, v := range vs {
				in[v]--
				if in[v] == 0 {
					queue = append([]string{v}, queue...)
				}
			}
		}
		return out
	}
	d := newDag()
	for _, n := range nodes {
		add(d, n)
	}
	for from, tos := range edges {
		for _, to := range tos {
			d.edges[from][to] = true
		}
	}
	if reverse {
		t := newDag()
		for _, n := range d.order {
			add(t, n)
		}
		for _, n := range d.order {
			for e := range d.edges[n] {
				t.edges[e][n] = true
			}
		}
		d = t
	}
	if len(targets) > 0 {
		f := newDag()
		for _, target := range targets {
			if _, ok := d.edges[target]; !ok {
				continue
			}
			add(f, target)
			seen := map[string]bool{}
			work := []string{target}
			for i := 0; i < len(work); i++ {
				for v := range d.edges[work[i]] {
					if !seen[v] {
						seen[v] = true
						work = append(work, v)
					}
				}
			}
			for _, n := range topo(d) {
				if seen[n] {
					add(f, n)
				}
			}
		}
		for _, n := range f.order {
			f.edges[n] = d.edges[n]
		}
		d = f
	}
	steps := topo(d)
	slices.Reverse(steps)
	return steps
}

// StepOrder agrees with the transliteration of stacker on generated DAGs
// (a fixed seed: the same graphs every run).
func TestStepOrderMatchesStacker(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for n := range 300 {
		size := 1 + rng.IntN(12)
		names := make([]string, size)
		for i := range names {
			names[i] = fmt.Sprintf("s%02d", rng.IntN(100)) + strings.Repeat("x", i) // unique, not in name order
		}
		g := New()
		edges := map[string][]string{}
		for _, name := range names {
			g.AddNode(name)
		}
		for i := range names {
			for j := range i { // only to earlier nodes: acyclic
				if rng.IntN(3) == 0 {
					edges[names[i]] = append(edges[names[i]], names[j])
					if err := g.AddEdge(names[i], names[j]); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		var targets []string
		for _, name := range names {
			if rng.IntN(4) == 0 {
				targets = append(targets, name)
			}
		}
		for _, reverse := range []bool{false, true} {
			for _, sel := range [][]string{nil, targets} {
				got, err := g.StepOrder(sel, reverse)
				if err != nil {
					t.Fatal(err)
				}
				want := stackerSteps(names, edges, sel, reverse)
				if !slices.Equal(got, want) {
					t.Fatalf("graph %d %v (targets %v, reverse %v): got %v, stacker %v", n, edges, sel, reverse, got, want)
				}
			}
		}
	}
}
