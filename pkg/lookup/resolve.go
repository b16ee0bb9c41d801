package lookup

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Resolve returns v with every lookup replaced by its value. v is a variable
// value as decoded from YAML: strings, []any, []string, map[string]any,
// map[any]any and scalars; it is not modified. A string that is exactly one
// lookup becomes the handler's result, whatever its type (string, []string
// from split, []any or map[string]any from json/yaml files, CloudFormation
// function maps from the parameterized codecs, int from dynamodb numbers).
// Lookups inside text must yield strings (*ConcatError otherwise). Lookups
// resolve innermost first; a failing handler gives a *LookupError naming the
// lookup.
func Resolve(ctx context.Context, v any, reg Registry, c Consumer) (any, error) {
	r := resolver{reg: reg, c: c}
	return r.value(ctx, v)
}

// ResolveVariables resolves every variable of a stack; errors name the
// variable, as stacker's do.
func ResolveVariables(ctx context.Context, vars map[string]any, reg Registry, c Consumer) (map[string]any, error) {
	out := make(map[string]any, len(vars))
	for _, name := range sortedKeys(vars) {
		v, err := Resolve(ctx, vars[name], reg, c)
		if err != nil {
			return nil, nameVariable(name, err)
		}
		out[name] = v
	}
	return out, nil
}

func nameVariable(name string, err error) error {
	var le *LookupError
	if errors.As(err, &le) && le.Variable == "" {
		le.Variable = name
		return err
	}
	var ce *ConcatError
	if errors.As(err, &ce) && ce.Variable == "" {
		ce.Variable = name
		return err
	}
	return fmt.Errorf("resolve variable %s: %w", name, err)
}

type resolver struct {
	reg Registry
	c   Consumer
}

func (r resolver) value(ctx context.Context, v any) (any, error) {
	switch x := v.(type) {
	case string:
		e, err := Parse(x)
		if err != nil {
			return nil, err
		}
		if _, ok := e.Literal(); ok {
			return x, nil
		}
		return r.expr(ctx, e, x)
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			rv, err := r.value(ctx, item)
			if err != nil {
				return nil, err
			}
			out[i] = rv
		}
		return out, nil
	case []string:
		out := make([]any, len(x))
		allStrings := true
		for i, item := range x {
			rv, err := r.value(ctx, item)
			if err != nil {
				return nil, err
			}
			_, ok := rv.(string)
			allStrings = allStrings && ok
			out[i] = rv
		}
		if !allStrings {
			return out, nil
		}
		strs := make([]string, len(out))
		for i, item := range out {
			strs[i] = item.(string)
		}
		return strs, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			rv, err := r.value(ctx, item)
			if err != nil {
				return nil, err
			}
			out[k] = rv
		}
		return out, nil
	case map[any]any:
		out := make(map[any]any, len(x))
		for k, item := range x {
			rv, err := r.value(ctx, item)
			if err != nil {
				return nil, err
			}
			out[k] = rv
		}
		return out, nil
	default:
		return v, nil
	}
}

// expr evaluates a parsed string; raw is its text, for messages.
func (r resolver) expr(ctx context.Context, e *Expr, raw string) (any, error) {
	if len(e.Parts) == 1 && e.Parts[0].Lookup != nil {
		return r.lookup(ctx, e.Parts[0].Lookup)
	}
	var b strings.Builder
	for _, p := range e.Parts {
		if p.Lookup == nil {
			b.WriteString(p.Text)
			continue
		}
		v, err := r.lookup(ctx, p.Lookup)
		if err != nil {
			return nil, err
		}
		s, ok := v.(string)
		if !ok {
			return nil, &ConcatError{Lookup: p.Lookup.Raw, Parts: len(e.Parts), Value: raw, Got: v}
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

func (r resolver) lookup(ctx context.Context, l *Lookup) (any, error) {
	in, err := r.expr(ctx, l.Input, l.Input.String())
	if err != nil {
		return nil, err
	}
	input, ok := in.(string)
	if !ok {
		return nil, &LookupError{Lookup: l.Raw,
			Err: fmt.Errorf("input must be a string, but %s returned %T", l.Input.String(), in)}
	}
	h := r.reg[l.Type]
	if h == nil {
		return nil, &UnknownTypeError{Type: l.Type, Raw: l.Raw}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("resolve %s: %w", l.Raw, err)
	}
	out, err := h.Resolve(ctx, LookupCall{Type: l.Type, Input: input,
		Stack: r.c.Stack, Profile: r.c.Profile, Region: r.c.Region})
	if err != nil {
		return nil, &LookupError{Lookup: l.Raw, Err: err}
	}
	return out, nil
}

// Lookups returns every lookup in a variable tree (strings in lists and map
// values, nested lookups included), in a stable order. It fails on the first
// string that does not parse.
func Lookups(v any) ([]*Lookup, error) {
	var out []*Lookup
	err := walkStrings(v, func(s string) error {
		e, err := Parse(s)
		if err != nil {
			return err
		}
		out = append(out, e.Lookups()...)
		return nil
	})
	return out, err
}

// FileRef is a file:// path a lookup names, as written after file://.
type FileRef struct {
	Lookup *Lookup
	Path   string
}

// FileRefs lists the files the lookups in v read: the file lookup's
// "codec:file://path" and the file:// inputs of the others. Only literal
// paths are known before the lookups run; one computed by a nested lookup
// is read (and checked) when it runs. Strings that do not parse give
// nothing: Lookups and CheckVariables report them.
func FileRefs(v any) []FileRef {
	lookups, err := Lookups(v)
	if err != nil {
		return nil
	}
	var out []FileRef
	for _, l := range lookups {
		input, ok := l.Input.Literal()
		if !ok {
			continue
		}
		if l.Type == "file" {
			_, input, _ = strings.Cut(input, ":") // codec:path
		}
		if path, ok := strings.CutPrefix(input, "file://"); ok {
			out = append(out, FileRef{Lookup: l, Path: path})
		}
	}
	return out
}

// Dependencies returns the sorted config names of the stacks that output
// lookups in v read, nested lookups included (stacker 1.7 missed those).
// As stacker, a stack name that is itself computed by a lookup
// ("${output ${default s::vpc}::Id}") adds no dependency. Strings that do not
// parse are skipped: Lookups and CheckVariables report them.
func Dependencies(v any) []string {
	set := map[string]bool{}
	_ = walkStrings(v, func(s string) error {
		e, err := Parse(s)
		if err != nil {
			return nil
		}
		for _, l := range e.Lookups() {
			if l.Type != "output" {
				continue
			}
			if name, ok := outputStack(l.Input); ok {
				set[name] = true
			}
		}
		return nil
	})
	out := make([]string, 0, len(set))
	for name := range set {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// outputStack finds the stack name of an output lookup's input: the literal
// text before the first "::", when no lookup comes before it.
func outputStack(in *Expr) (string, bool) {
	var prefix strings.Builder
	for _, p := range in.Parts {
		if p.Lookup != nil {
			return "", false
		}
		prefix.WriteString(p.Text)
		if i := strings.Index(prefix.String(), "::"); i >= 0 {
			return prefix.String()[:i], true
		}
	}
	return "", false
}

// CheckVariables parses every variable of a stack, reporting the first
// malformed lookup or unknown type, and a variable that looks up an output of
// its own stack (*CircularReferenceError, stacker's wording). Variables are
// checked in name order.
func CheckVariables(stack string, vars map[string]any) error {
	for _, name := range sortedKeys(vars) {
		if _, err := Lookups(vars[name]); err != nil {
			return fmt.Errorf("variable %s: %w", name, err)
		}
		for _, dep := range Dependencies(vars[name]) {
			if dep == stack {
				return &CircularReferenceError{Variable: name, Stack: stack}
			}
		}
	}
	return nil
}

// walkStrings calls f for every string in a variable tree, in a stable order.
func walkStrings(v any, f func(string) error) error {
	switch x := v.(type) {
	case string:
		return f(x)
	case []string:
		for _, s := range x {
			if err := f(s); err != nil {
				return err
			}
		}
	case []any:
		for _, item := range x {
			if err := walkStrings(item, f); err != nil {
				return err
			}
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			if err := walkStrings(x[k], f); err != nil {
				return err
			}
		}
	case map[any]any:
		keys := make([]any, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			if err := walkStrings(x[k], f); err != nil {
				return err
			}
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
