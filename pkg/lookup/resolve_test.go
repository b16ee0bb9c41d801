package lookup

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeOutputs is an OutputReader over fixed stacks; it records the calls.
type fakeOutputs struct {
	stacks map[string]map[string]string // fqn -> outputs
	calls  []string                     // "profile/region/fqn"
	err    error
}

func (f *fakeOutputs) Outputs(_ context.Context, profile, region, stack string) (map[string]string, error) {
	f.calls = append(f.calls, profile+"/"+region+"/"+stack)
	if f.err != nil {
		return nil, f.err
	}
	outs, ok := f.stacks[stack]
	if !ok {
		return nil, ErrStackNotFound
	}
	return outs, nil
}

func testRegistry() Registry {
	reader := &fakeOutputs{stacks: map[string]map[string]string{
		"ns-vpc": {"VpcId": "vpc-1", "Subnets": "subnet-a,subnet-b", "Name": "vpc"},
	}}
	return NewRegistry(Options{
		Stacks: func(name string) (StackRef, bool) {
			if name != "vpc" {
				return StackRef{}, false
			}
			return StackRef{FQN: "ns-" + name}, true
		},
		Outputs:     reader,
		Environment: map[string]any{"env": "prod", "cidrs": []any{"10.0.0.0/16"}},
	})
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"literal string", "plain", "plain"},
		{"non-string scalars untouched", map[string]any{"n": 3, "b": true, "nil": nil}, map[string]any{"n": 3, "b": true, "nil": nil}},
		{"whole-value lookup", "${output vpc::VpcId}", "vpc-1"},
		{"whole-value list keeps its type", "${split ,::${output vpc::Subnets}}", []string{"subnet-a", "subnet-b"}},
		{"whole-value env list keeps its type", "${default cidrs::none}", []any{"10.0.0.0/16"}},
		{"lookup inside text", "arn:${default env::dev}:${output vpc::VpcId}/x", "arn:prod:vpc-1/x"},
		{"nested lookup computes the stack name", "${output ${output vpc::Name}::VpcId}", "vpc-1"},
		{"list of strings", []any{"${output vpc::VpcId}", "x", 1}, []any{"vpc-1", "x", 1}},
		{"[]string stays []string", []string{"${output vpc::VpcId}", "x"}, []string{"vpc-1", "x"}},
		{"[]string with a list lookup", []string{"${split ,::a,b}"}, []any{[]string{"a", "b"}}},
		{"map keys are not resolved", map[string]any{"${output vpc::VpcId}": "${default env::x}"},
			map[string]any{"${output vpc::VpcId}": "prod"}},
		{"map[any]any", map[any]any{1: []any{"${default env::x}"}}, map[any]any{1: []any{"prod"}}},
		{"lone brace stays", "{${default env::x}}", "{prod}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(context.Background(), tt.in, testRegistry(), Consumer{Stack: "app"})
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Resolve mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveDoesNotModifyInput(t *testing.T) {
	in := map[string]any{"a": []any{"${default env::x}"}}
	if _, err := Resolve(context.Background(), in, testRegistry(), Consumer{}); err != nil {
		t.Fatal(err)
	}
	if in["a"].([]any)[0] != "${default env::x}" {
		t.Errorf("input modified: %v", in)
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want []string
		as   func(error) bool
	}{
		{"list in text", "x-${split ,::a,b}",
			[]string{`Lookup: "${split ,::a,b}" has non-string return value, must be only lookup present (not 2) in "x-${split ,::a,b}"`},
			func(err error) bool { var e *ConcatError; return errors.As(err, &e) }},
		{"list as lookup input", "${output ${split ,::a,b}}",
			[]string{"Couldn't resolve lookup ${output ${split ,::a,b}}", "input must be a string", "[]string"},
			func(err error) bool { var e *LookupError; return errors.As(err, &e) }},
		{"missing stack", "${output nope::X}",
			[]string{"Couldn't resolve lookup ${output nope::X}", `Stack: "nope" does not exist in outputs`},
			func(err error) bool { return errors.Is(err, ErrStackNotFound) }},
		{"missing output, nested: innermost lookup named", "${split ,::${output vpc::Nope}}",
			[]string{"Couldn't resolve lookup ${output vpc::Nope}: Output Nope does not exist on stack ns-vpc"},
			func(err error) bool { var e *OutputDoesNotExistError; return errors.As(err, &e) }},
		{"bad syntax deep in a map", map[string]any{"a": []any{"${output"}},
			[]string{"unclosed lookup"},
			func(err error) bool { var e *SyntaxError; return errors.As(err, &e) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Resolve(context.Background(), tt.in, testRegistry(), Consumer{})
			if err == nil {
				t.Fatal("Resolve succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !tt.as(err) {
				t.Errorf("error %T does not match the expected type", err)
			}
		})
	}
}

func TestResolveUnregisteredType(t *testing.T) {
	_, err := Resolve(context.Background(), "${kms abc}", Registry{}, Consumer{})
	var ut *UnknownTypeError
	if !errors.As(err, &ut) || ut.Type != "kms" {
		t.Fatalf("err = %v, want *UnknownTypeError for kms", err)
	}
}

func TestResolvePassesConsumer(t *testing.T) {
	var got LookupCall
	reg := Registry{"envvar": HandlerFunc(func(_ context.Context, in LookupCall) (any, error) {
		got = in
		return "v", nil
	})}
	c := Consumer{Stack: "app", Profile: "prod", Region: "eu-west-1"}
	if _, err := Resolve(context.Background(), "${envvar  X }", reg, c); err != nil {
		t.Fatal(err)
	}
	want := LookupCall{Type: "envvar", Input: "X ", Stack: "app", Profile: "prod", Region: "eu-west-1"}
	if got != want {
		t.Errorf("handler got %+v, want %+v", got, want)
	}
}

func TestResolveCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Resolve(ctx, "${default a::b}", testRegistry(), Consumer{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestResolveVariables(t *testing.T) {
	vars := map[string]any{
		"VpcId":   "${output vpc::VpcId}",
		"Subnets": "${split ,::${output vpc::Subnets}}",
		"Env":     "${default env::dev}",
	}
	got, err := ResolveVariables(context.Background(), vars, testRegistry(), Consumer{Stack: "app"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"VpcId": "vpc-1", "Subnets": []string{"subnet-a", "subnet-b"}, "Env": "prod"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}

	tests := []struct {
		name string
		vars map[string]any
		want string
	}{
		{"lookup error names the variable", map[string]any{"A": "ok", "B": "${output vpc::Nope}"},
			"Couldn't resolve lookup in variable `B`, lookup: ${output vpc::Nope}: Output Nope does not exist on stack ns-vpc"},
		{"concat error names the variable", map[string]any{"C": "a${split ,::x}"},
			"(variable C)"},
		{"syntax error names the variable", map[string]any{"D": "${}"},
			"resolve variable D: malformed lookup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ResolveVariables(context.Background(), tt.vars, testRegistry(), Consumer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDependencies(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want []string
	}{
		{"none", map[string]any{"a": "x", "b": 1}, []string{}},
		{"simple", "${output vpc::VpcId}", []string{"vpc"}},
		{"nested in split (stacker 1.7 missed it)", "${split ,::${output vpc::Subnets}}", []string{"vpc"}},
		{"deeply nested and in text", "x-${default a::${output db::Host}}-${output cache::Host}", []string{"cache", "db"}},
		{"lists and maps, deduplicated, sorted", map[string]any{
			"a": []any{"${output web::Url}", map[string]any{"b": "${output app::Id}"}},
			"c": []string{"${output web::Other}"},
			"d": map[any]any{"k": "${output zeta::X}"},
		}, []string{"app", "web", "zeta"}},
		{"stack name from a lookup adds nothing", "${output ${default src::vpc}::Id}", []string{}},
		{"output name from a lookup still counts", "${output vpc::${default out::VpcId}}", []string{"vpc"}},
		{"xref and rxref add nothing", "${xref other-stack::Id} ${rxref other::Id}", []string{}},
		{"no separator adds nothing", "${output vpc}", []string{}},
		{"unparsable strings are skipped", []any{"${output", "${output a::B}"}, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Dependencies(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Dependencies mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLookups(t *testing.T) {
	got, err := Lookups(map[string]any{
		"b": []any{"${split ,::${output vpc::Subnets}}"},
		"a": "${envvar HOME}",
		"c": 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	var raws []string
	for _, l := range got {
		raws = append(raws, l.Type+" "+l.Raw)
	}
	want := []string{"envvar ${envvar HOME}", "split ${split ,::${output vpc::Subnets}}", "output ${output vpc::Subnets}"}
	if diff := cmp.Diff(want, raws); diff != "" {
		t.Errorf("Lookups mismatch (-want +got):\n%s", diff)
	}
	if _, err := Lookups([]any{"ok", "${bad x}"}); err == nil {
		t.Error("Lookups of an unknown type succeeded")
	}
}

func TestCheckVariables(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]any
		want string // "" = no error
	}{
		{"fine", map[string]any{"A": "${output vpc::Id}", "B": []any{"x"}}, ""},
		{"self reference", map[string]any{"A": "x", "Self": "${split ,::${output app::List}}"},
			"Variable Self in stack app has a circular reference"},
		{"unknown type", map[string]any{"A": "${foo bar}"}, `variable A: Unknown lookup type: "foo"`},
		{"hook_data", map[string]any{"A": "${hook_data h::k}"}, "variable A: ${hook_data h::k}: hook_data lookups are not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckVariables("app", tt.vars)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckVariables: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	var ce *CircularReferenceError
	if err := CheckVariables("vpc", map[string]any{"X": "${output vpc::A}"}); !errors.As(err, &ce) {
		t.Errorf("err = %v, want *CircularReferenceError", err)
	}
}
