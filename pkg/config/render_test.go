package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRenderText(t *testing.T) {
	env := Environment{"name": "vpc", "Name": "Upper", "_x1": "u", "multi": "a\nb"}
	tests := []struct {
		name, in, want string
		wantErr        string
		warnings       int
	}{
		{name: "named", in: "a: $name-x", want: "a: vpc-x"},
		{name: "braced", in: "a: ${name}x", want: "a: vpcx"},
		{name: "case matters for names", in: "a: $Name $name", want: "a: Upper vpc"},
		{name: "underscore and digits", in: "a: ${_x1}$_x1", want: "a: uu"},
		{name: "escape", in: "a: $$name and $${name}", want: "a: $name and ${name}"},
		{name: "lookup left alone", in: "a: ${output vpc::Id}", want: "a: ${output vpc::Id}"},
		{name: "lookup then env", in: "a: ${output vpc::Id}\nb: ${name}", want: "a: ${output vpc::Id}\nb: vpc"},
		{name: "lone dollar", in: "a: 5$ and $ and $1", want: "a: 5$ and $ and $1"},
		{name: "unterminated brace is invalid", in: "a: ${name", want: "a: ${name"},
		{name: "missing key", in: "x: 1\na: ${nope}", wantErr: "f.yaml:2:4: a: Environment missing key nope."},
		{name: "missing bare key", in: "a: $nope", wantErr: "f.yaml:1:4: a: Environment missing key nope."},
		{name: "missing key before a lookup", in: "a: $nope\nb: ${output a::B}", wantErr: "f.yaml:1:4: a: Environment missing key nope."},
		// stacker turns to safe substitution after an invalid placeholder.
		{name: "missing key after a lookup stays", in: "a: ${output a::B}\nb: ${AWS_REGION} $HOME", want: "a: ${output a::B}\nb: ${AWS_REGION} $HOME", warnings: 2},
		{name: "no dollar", in: "a: b", want: "a: b"},
		{name: "multi-line value", in: "a: $multi", want: "a: a\nb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, warnings, err := renderText("f.yaml", tt.in, env)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if len(warnings) != tt.warnings {
				t.Errorf("warnings = %q, want %d", warnings, tt.warnings)
			}
		})
	}
}

func TestRenderTextLineMap(t *testing.T) {
	_, lines, _, err := renderText("f", "a: $v\nb: 1\nc: $v\n", Environment{"v": "x\ny"})
	if err != nil {
		t.Fatal(err)
	}
	// rendered: a: x / y / b: 1 / c: x / y / ""
	if diff := cmp.Diff([]int{1, 1, 2, 3, 3, 4}, lines); diff != "" {
		t.Fatalf("line map (-want +got):\n%s", diff)
	}
}

func TestRenderYAML(t *testing.T) {
	env := Environment{yamlSourceKey: true, "list": []any{"a", "b"}, "map": map[string]any{"k": "v"},
		"n": 3, "b": true, "s": "str", "null": nil}
	src := "namespace: x\nstacks:\n  - name: s\n    class_path: a.B\n    variables:\n" +
		"      L: ${list}\n      M: \" $map \"\n      N: $n\n      B: ${b}\n      S: pre-${s}-$n-${b}\n" +
		"      Lookup: ${output o::K}\n      Escaped: $$s\n      Keys:\n        ${s}: 1\n" +
		"  - name: o\n    class_path: a.B\n"
	c, err := ParseIn("/bundle", "f.yaml", []byte(src), env)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"L": []any{"a", "b"}, "M": map[string]any{"k": "v"}, "N": 3, "B": true,
		"S": "pre-str-3-True", "Lookup": "${output o::K}", "Escaped": "$str",
		"Keys": map[string]any{"${s}": 1},
	}
	if diff := cmp.Diff(want, c.Stacks[0].Variables); diff != "" {
		t.Fatalf("variables (-want +got):\n%s", diff)
	}
	if _, err := ParseIn("/bundle", "f.yaml", []byte("namespace: ${null}\n"), env); err == nil ||
		!strings.Contains(err.Error(), "f.yaml:1:12: namespace: Environment missing key null.") {
		t.Fatalf("null value: %v", err)
	}
}

func TestParseEnvironment(t *testing.T) {
	src := "# comment\n\n  namespace: prod  \nurl: http://x:8080/a\nempty:\n  spaced key : v\n"
	env, err := ParseEnvironment("e", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := Environment{"namespace": "prod", "url": "http://x:8080/a", "empty": "", "spaced key": "v"}
	if diff := cmp.Diff(want, env); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if env.IsYAML() {
		t.Error("plain env reported as YAML")
	}
	_, err = ParseEnvironment("e", []byte("a: 1\nnot a pair\n"))
	if err == nil || err.Error() != "e:2:1: Environment must be in key: value format" {
		t.Fatalf("bad line: %v", err)
	}
}

func TestYAMLEnvironment(t *testing.T) {
	env, err := ParseYAMLEnvironment("e.yaml", []byte("a: [1, 2]\nb: {c: d}\nn: 1.5\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !env.IsYAML() {
		t.Error("YAML env not marked")
	}
	if diff := cmp.Diff([]string{"a", "b", "n"}, env.Keys()); diff != "" {
		t.Errorf("Keys (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{1, 2}, env["a"]); diff != "" {
		t.Errorf("a (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"- a\n", "just text\n", "a: [\n"} {
		if _, err := ParseYAMLEnvironment("e.yaml", []byte(bad)); err == nil {
			t.Errorf("ParseYAMLEnvironment(%q) succeeded", bad)
		}
	}
}

func TestLoadEnvironment(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		file, data string
		yaml       bool
		want       any
	}{
		{"plain.env", "k: [1]\n", false, "[1]"},
		{"env.yaml", "k: [1]\n", true, []any{1}},
		{"env.YML", "k: [1]\n", true, []any{1}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			env, err := LoadEnvironment(write(tt.file, tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if env.IsYAML() != tt.yaml || !cmp.Equal(env["k"], tt.want) {
				t.Fatalf("env = %#v", env)
			}
		})
	}
	if _, err := LoadEnvironment(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestEnvironmentSet(t *testing.T) {
	env := Environment{"namespace": "stacker"}
	if err := env.Set("namespace=override=x"); err != nil {
		t.Fatal(err)
	}
	if env["namespace"] != "override=x" {
		t.Errorf("Set did not override: %v", env)
	}
	if err := env.Set("novalue"); err == nil || err.Error() != "novalue does not match KEY=VALUE format." {
		t.Errorf("Set(novalue) = %v", err)
	}
}

// TestEnvironmentOverride is stacker's functional test 16: -e overrides the
// environment file.
func TestEnvironmentOverride(t *testing.T) {
	env, err := ParseEnvironment("env", []byte("namespace: stacker\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Set("namespace=functional"); err != nil {
		t.Fatal(err)
	}
	c, err := ParseIn("/b", "c.yaml", []byte("namespace: ${namespace}\nstacks:\n  - name: vpc\n    class_path: a.B\n"), env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Namespace != "functional" || c.Stacks[0].CFNName(c) != "functional-vpc" {
		t.Fatalf("namespace %q, stack %q", c.Namespace, c.Stacks[0].CFNName(c))
	}
}

// A missing environment key names the key whose value holds it, for plain
// (text) and YAML environments alike.
func TestMissingKeyPath(t *testing.T) {
	const stack = "    class_path: a.B\n"
	tests := []struct {
		name, src string
		yamlEnv   bool
		want      string
	}{
		{name: "top level", src: "namespace: ${nope}\n",
			want: "f.yaml:1:12: namespace: Environment missing key nope."},
		{name: "top level, bare and mid-string", src: "namespace: x\nstacker_bucket: b-$nope-c\n",
			want: "f.yaml:2:19: stacker_bucket: Environment missing key nope."},
		{name: "list-form variable", src: "namespace: x\nstacks:\n  - name: vpc\n" + stack + "    variables:\n      VpcId: ${nope}\n",
			want: "f.yaml:6:14: stacks[0].variables.VpcId: Environment missing key nope."},
		{name: "nested in a variable's list", src: "namespace: x\nstacks:\n  - name: a\n" + stack + "  - name: vpc\n" + stack + "    variables:\n      Subnets:\n        - 10.0.0.0/24\n        - ${nope}\n",
			want: "f.yaml:10:11: stacks[1].variables.Subnets[1]: Environment missing key nope."},
		{name: "map-form variable", src: "namespace: x\nstacks:\n  vpc:\n" + stack + "    variables:\n      VpcId: ${nope}\n",
			want: "f.yaml:6:14: stacks.vpc.variables.VpcId: Environment missing key nope."},
		{name: "map-form stack key", src: "namespace: x\nstacks:\n  vpc:\n" + stack + "    profile: $nope\n",
			want: "f.yaml:5:14: stacks.vpc.profile: Environment missing key nope."},
		{name: "literal block", src: "namespace: x\nstacks:\n  - name: vpc\n" + stack + "    variables:\n      Script: |\n        echo one\n        echo ${nope}\n",
			want: "f.yaml:8:14: stacks[0].variables.Script: Environment missing key nope."},
		{name: "anchored value names the anchor", src: "common: &c\n  Env: ${nope}\nnamespace: x\nstacks:\n  - name: vpc\n" + stack + "    variables:\n      <<: *c\n",
			want: "f.yaml:2:8: common.Env: Environment missing key nope."},
		{name: "in a comment: no key", src: "namespace: x\n# uses ${nope}\n",
			want: "f.yaml:2:8: Environment missing key nope."},
		{name: "unparsable text: no key", src: "namespace: [${nope}\n",
			want: "f.yaml:1:13: Environment missing key nope."},
		{name: "YAML env, list form", yamlEnv: true, src: "namespace: x\nstacks:\n  - name: vpc\n" + stack + "    variables:\n      VpcId: ${nope}\n",
			want: "f.yaml:6:14: stacks[0].variables.VpcId: Environment missing key nope."},
		{name: "YAML env, map form, in a list", yamlEnv: true, src: "namespace: x\nstacks:\n  vpc:\n" + stack + "    variables:\n      L:\n        - a\n        - x-${nope}\n",
			want: "f.yaml:8:11: stacks.vpc.variables.L[1]: Environment missing key nope."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := Environment{}
			if tt.yamlEnv {
				env[yamlSourceKey] = true
			}
			_, err := ParseIn("/bundle", "f.yaml", []byte(tt.src), env)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v\nwant  %s", err, tt.want)
			}
		})
	}
}
