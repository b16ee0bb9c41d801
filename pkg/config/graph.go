package config

import (
	"errors"

	"github.com/stackerless/stackerless/pkg/graph"
)

// LookupDeps returns the stack names a variable's value depends on (the
// stacks named by its output lookups). The lookup package provides it; it is
// a function here so that config does not depend on lookups.
type LookupDeps func(value any) []string

// Graph builds the dependency graph as stacker does: one node per stack (in
// config order) then per target; an edge from each stack to what it
// requires and to the stacks its variables' output lookups name; an edge
// from each required_by entry to the stack. deps may be nil. Problems come
// back as Errors naming the key: an output lookup of an unknown stack or of
// the stack itself (stacker's "Variable X in stack Y has a circular
// reference"), and dependency cycles.
func (c *Config) Graph(deps LookupDeps) (*graph.Graph, error) {
	errs := errorList{file: c.File}
	g := graph.New()
	for _, s := range c.Stacks {
		g.AddNode(s.Name)
	}
	for _, t := range c.Targets {
		g.AddNode(t.Name)
	}
	edge := func(from, to string, pos Position, key, msg string) {
		if err := g.AddEdge(from, to); err != nil {
			errs.add(pos, key, "%s", msg)
		}
	}
	for _, s := range c.Stacks {
		for _, r := range s.Requires {
			edge(s.Name, r, s.KeyPos["requires"], s.Key+".requires", r+" is not a stack or target in this config")
		}
		for _, r := range s.RequiredBy {
			edge(r, s.Name, s.KeyPos["required_by"], s.Key+".required_by", r+" is not a stack or target in this config")
		}
		if deps == nil {
			continue
		}
		for _, v := range sortedKeys(s.Variables) {
			key := "variables." + v
			pos := s.KeyPos[key]
			for _, d := range deps(s.Variables[v]) {
				if d == s.Name {
					errs.add(pos, s.Key+"."+key, "Variable %s in stack %s has a circular reference (it looks up an output of its own stack)", v, s.Name)
					continue
				}
				edge(s.Name, d, pos, s.Key+"."+key, "output lookup of "+d+", which is not a stack in this config")
			}
		}
	}
	for _, t := range c.Targets {
		for _, r := range t.Requires {
			edge(t.Name, r, t.Pos, t.Key+".requires", r+" is not a stack or target in this config")
		}
		for _, r := range t.RequiredBy {
			edge(r, t.Name, t.Pos, t.Key+".required_by", r+" is not a stack or target in this config")
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	if err := g.Validate(); err != nil {
		var cycle *graph.CycleError
		if errors.As(err, &cycle) {
			pos, key := Position{File: c.File}, ""
			if s := c.Stack(cycle.Cycle[0]); s != nil {
				pos, key = s.Pos, s.Key
			}
			return nil, Errors{{Pos: pos, Key: key, Msg: err.Error()}}
		}
		return nil, err
	}
	return g, nil
}
