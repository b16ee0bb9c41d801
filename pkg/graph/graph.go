// Package graph is the dependency graph of a stacker config: stacks and
// targets are nodes, and an edge from a to b says that a depends on b (a
// requires b, or a looks up an output of b). It orders, filters, reduces and
// prints the graph the way stacker 1.7 does.
package graph

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Graph is a directed graph of named nodes. The zero value is not usable: call
// New. Nodes keep their insertion order, which (as in stacker, whose graph is
// an OrderedDict) decides the order of otherwise independent nodes.
type Graph struct {
	index map[string]int
	names []string
	deps  [][]int // deps[i]: nodes i depends on, in insertion order
	edges map[[2]int]struct{}
}

// New returns an empty graph.
func New() *Graph {
	return &Graph{index: map[string]int{}, edges: map[[2]int]struct{}{}}
}

// AddNode adds a node. Adding an existing node is a no-op: duplicate stack
// names are a config error, reported by the config package with positions.
func (g *Graph) AddNode(name string) {
	if _, ok := g.index[name]; ok {
		return
	}
	g.index[name] = len(g.names)
	g.names = append(g.names, name)
	g.deps = append(g.deps, nil)
}

// Has reports whether the graph holds the node.
func (g *Graph) Has(name string) bool {
	_, ok := g.index[name]
	return ok
}

// Len is the number of nodes.
func (g *Graph) Len() int { return len(g.names) }

// UnknownNodeError reports a reference to a node the graph does not hold.
type UnknownNodeError struct {
	Name string
}

func (e *UnknownNodeError) Error() string {
	return fmt.Sprintf("node %s does not exist", e.Name)
}

// AddEdge records that from depends on to. Both nodes must exist. Repeated
// edges are kept once. Cycles are reported by Validate, not here, so that
// building a large graph stays linear.
func (g *Graph) AddEdge(from, to string) error {
	f, ok := g.index[from]
	if !ok {
		return fmt.Errorf("add dependency %s of %s: %w", to, from, &UnknownNodeError{Name: from})
	}
	t, ok := g.index[to]
	if !ok {
		return fmt.Errorf("add dependency %s of %s: %w", to, from, &UnknownNodeError{Name: to})
	}
	key := [2]int{f, t}
	if _, dup := g.edges[key]; dup {
		return nil
	}
	g.edges[key] = struct{}{}
	g.deps[f] = append(g.deps[f], t)
	return nil
}

// Nodes returns the node names in insertion order.
func (g *Graph) Nodes() []string {
	return slices.Clone(g.names)
}

// Deps returns the direct dependencies of a node, sorted by name. It returns
// nil for an unknown node.
func (g *Graph) Deps(name string) []string {
	i, ok := g.index[name]
	if !ok {
		return nil
	}
	return g.sortedNames(g.deps[i])
}

// Dependents returns the nodes that directly depend on name, sorted.
func (g *Graph) Dependents(name string) []string {
	t, ok := g.index[name]
	if !ok {
		return nil
	}
	var out []string
	for f, ds := range g.deps {
		if slices.Contains(ds, t) {
			out = append(out, g.names[f])
		}
	}
	sort.Strings(out)
	return out
}

func (g *Graph) sortedNames(ids []int) []string {
	if len(ids) == 0 {
		return []string{}
	}
	out := make([]string, len(ids))
	for k, id := range ids {
		out[k] = g.names[id]
	}
	sort.Strings(out)
	return out
}

// CycleError reports a dependency cycle. Cycle lists the nodes in dependency
// order and ends with its first node, so "a -> b -> a" means a depends on b
// and b on a.
type CycleError struct {
	Cycle []string
}

func (e *CycleError) Error() string {
	return "dependency cycle: " + strings.Join(e.Cycle, " -> ")
}

// Validate reports the first dependency cycle found, as a *CycleError. Nodes
// are visited in insertion order and dependencies by name, so the cycle
// reported for a given graph is always the same one.
func (g *Graph) Validate() error {
	const (
		white = iota
		grey
		black
	)
	color := make([]uint8, len(g.names))
	sorted := g.sortedDeps()
	// Iterative DFS: configs may chain thousands of stacks.
	type frame struct{ node, next int }
	var stack []frame
	for root := range g.names {
		if color[root] != white {
			continue
		}
		stack = append(stack[:0], frame{node: root})
		color[root] = grey
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			ds := sorted[top.node]
			if top.next == len(ds) {
				color[top.node] = black
				stack = stack[:len(stack)-1]
				continue
			}
			d := ds[top.next]
			top.next++
			switch color[d] {
			case white:
				color[d] = grey
				stack = append(stack, frame{node: d})
			case grey:
				var cycle []string
				start := 0
				for k := range stack {
					if stack[k].node == d {
						start = k
						break
					}
				}
				for _, f := range stack[start:] {
					cycle = append(cycle, g.names[f.node])
				}
				cycle = append(cycle, g.names[d])
				return &CycleError{Cycle: cycle}
			}
		}
	}
	return nil
}

// sortedDeps returns each node's dependencies ordered by name.
func (g *Graph) sortedDeps() [][]int {
	out := make([][]int, len(g.deps))
	for i, ds := range g.deps {
		s := slices.Clone(ds)
		sort.Slice(s, func(a, b int) bool { return g.names[s[a]] < g.names[s[b]] })
		out[i] = s
	}
	return out
}

// TopoOrder returns every node, dependencies before their dependents. The
// order is stacker's: a queue seeded, in insertion order, with the nodes
// nothing depends on, visiting dependencies by name, then reversed. It is
// the order stacker walks and prints steps in.
func (g *Graph) TopoOrder() ([]string, error) {
	ids, err := g.topo()
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ids))
	for k, id := range ids {
		out[k] = g.names[id]
	}
	return out, nil
}

func (g *Graph) topo() ([]int, error) {
	n := len(g.names)
	inDegree := make([]int, n) // number of dependents
	for _, ds := range g.deps {
		for _, d := range ds {
			inDegree[d]++
		}
	}
	sorted := g.sortedDeps()
	queue := make([]int, 0, n)
	for i := range n {
		if inDegree[i] == 0 {
			queue = append(queue, i)
		}
	}
	for head := 0; head < len(queue); head++ {
		for _, d := range sorted[queue[head]] {
			inDegree[d]--
			if inDegree[d] == 0 {
				queue = append(queue, d)
			}
		}
	}
	if len(queue) != n {
		if err := g.Validate(); err != nil {
			return nil, err
		}
		return nil, errors.New("graph is not acyclic")
	}
	slices.Reverse(queue)
	return queue, nil
}

// StepOrder is the order of stacker's plan steps (Plan.steps: what its
// outline prints and diff's "Diffing stacks:" lists), for the given targets
// (every node when there are none) on this graph or, with reverse, on its
// transpose (destroy walks dependents first). As stacker's build_plan, a
// selection keeps each target and then what it reaches, in the order of a
// topological sort of the whole graph; the steps are a topological sort of
// that selection, reversed. Unknown targets are skipped, as in stacker.
func (g *Graph) StepOrder(targets []string, reverse bool) ([]string, error) {
	h := g
	if reverse {
		h = g.Transpose()
	}
	if len(targets) > 0 {
		var err error
		if h, err = h.filter(targets); err != nil {
			return nil, err
		}
	}
	return h.TopoOrder()
}

// filter is stacker's DAG.filter: a graph of the targets and everything they
// reach, with nodes added target by target.
func (g *Graph) filter(targets []string) (*Graph, error) {
	order, err := g.topo()
	if err != nil {
		return nil, err
	}
	slices.Reverse(order) // stacker's topological_sort, dependents first
	out := New()
	for _, name := range targets {
		i, ok := g.index[name]
		if !ok {
			continue
		}
		out.AddNode(name)
		reach := make([]bool, len(g.names))
		work := slices.Clone(g.deps[i])
		for len(work) > 0 {
			d := work[len(work)-1]
			work = work[:len(work)-1]
			if !reach[d] {
				reach[d] = true
				work = append(work, g.deps[d]...)
			}
		}
		for _, id := range order {
			if reach[id] {
				out.AddNode(g.names[id])
			}
		}
	}
	for _, name := range out.names {
		for _, d := range g.deps[g.index[name]] {
			// Everything a kept node depends on is kept: no unknown node.
			_ = out.AddEdge(name, g.names[d])
		}
	}
	return out, nil
}

// closure walks from the given nodes along next and returns every node
// reached, the starting nodes included, in topological order.
func (g *Graph) closure(names []string, next func(int) []int) ([]string, error) {
	seen := make([]bool, len(g.names))
	var work []int
	for _, name := range names {
		i, ok := g.index[name]
		if !ok {
			return nil, &UnknownNodeError{Name: name}
		}
		if !seen[i] {
			seen[i] = true
			work = append(work, i)
		}
	}
	for len(work) > 0 {
		i := work[len(work)-1]
		work = work[:len(work)-1]
		for _, d := range next(i) {
			if !seen[d] {
				seen[d] = true
				work = append(work, d)
			}
		}
	}
	order, err := g.topo()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, id := range order {
		if seen[id] {
			out = append(out, g.names[id])
		}
	}
	return out, nil
}

// TransitiveDeps returns the named nodes and everything they depend on,
// directly or not, dependencies first. It is what `build --stacks` and
// `--targets` run.
func (g *Graph) TransitiveDeps(names []string) ([]string, error) {
	return g.closure(names, func(i int) []int { return g.deps[i] })
}

// TransitiveDependents returns the named nodes and everything that depends on
// them, directly or not, in topological order (dependencies first; destroy
// walks it backwards).
func (g *Graph) TransitiveDependents(names []string) ([]string, error) {
	rev := g.reverseAdjacency()
	return g.closure(names, func(i int) []int { return rev[i] })
}

func (g *Graph) reverseAdjacency() [][]int {
	rev := make([][]int, len(g.names))
	for f, ds := range g.deps {
		for _, t := range ds {
			rev[t] = append(rev[t], f)
		}
	}
	return rev
}

// Subgraph returns a graph holding only the named nodes (in this graph's
// order) and the edges between them. Unknown names are an error.
func (g *Graph) Subgraph(names []string) (*Graph, error) {
	keep := make([]bool, len(g.names))
	for _, name := range names {
		i, ok := g.index[name]
		if !ok {
			return nil, &UnknownNodeError{Name: name}
		}
		keep[i] = true
	}
	sub := New()
	for i, name := range g.names {
		if keep[i] {
			sub.AddNode(name)
		}
	}
	for f, ds := range g.deps {
		if !keep[f] {
			continue
		}
		for _, t := range ds {
			if keep[t] {
				// Both nodes exist in sub by construction.
				_ = sub.AddEdge(g.names[f], g.names[t])
			}
		}
	}
	return sub, nil
}

// Transpose returns a copy with every edge reversed, for walking dependents
// first (destroy).
func (g *Graph) Transpose() *Graph {
	t := New()
	for _, name := range g.names {
		t.AddNode(name)
	}
	for f, ds := range g.deps {
		for _, d := range ds {
			_ = t.AddEdge(g.names[d], g.names[f])
		}
	}
	return t
}

// Reduce removes every edge implied by others (transitive reduction): a -> c
// goes when a -> b -> ... -> c exists. Reachability is unchanged. It is what
// `stacker graph --reduce` prints. The graph must be acyclic.
func (g *Graph) Reduce() error {
	order, err := g.topo()
	if err != nil {
		return err
	}
	n := len(g.names)
	words := (n + 63) / 64
	reach := make([][]uint64, n) // reach[i]: nodes i reaches through one or more edges
	for _, i := range order {    // dependencies first
		r := make([]uint64, words)
		for _, d := range g.deps[i] {
			r[d/64] |= 1 << (d % 64)
			for w, bits := range reach[d] {
				r[w] |= bits
			}
		}
		reach[i] = r
	}
	for i, ds := range g.deps {
		kept := ds[:0:0]
		for _, d := range ds {
			implied := false
			for _, other := range ds {
				if other != d && reach[other][d/64]&(1<<(d%64)) != 0 {
					implied = true
					break
				}
			}
			if implied {
				delete(g.edges, [2]int{i, d})
			} else {
				kept = append(kept, d)
			}
		}
		g.deps[i] = kept
	}
	return nil
}
