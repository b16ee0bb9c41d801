package config

import (
	"errors"
	"strings"
	"testing"
)

// parseErrs parses src as "stacker.yaml" in /bundle and returns the error
// lines.
func parseErrs(t *testing.T, src string, env Environment) []string {
	t.Helper()
	_, err := ParseIn("/bundle", "stacker.yaml", []byte(src), env)
	if err == nil {
		return nil
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error is %T, not Errors: %v", err, err)
	}
	return strings.Split(es.Error(), "\n")
}

func TestValidationErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		env  Environment
		want []string // every error line, in order
	}{
		{
			name: "empty config",
			src:  "",
			want: []string{"stacker.yaml:1:1: namespace: This field is required."},
		},
		{
			name: "no namespace (04)",
			src:  "stacker_bucket: stacker-x\nstacks:\n  - name: vpc\n    class_path: a.B\n",
			want: []string{"stacker.yaml:1:1: namespace: This field is required."},
		},
		{
			name: "null namespace",
			src:  "namespace:\nstacks: []\n",
			want: []string{"stacker.yaml:1:1: namespace: This field is required."},
		},
		{
			name: "not a mapping",
			src:  "- a\n- b\n",
			want: []string{"stacker.yaml:1:1: the config must be a mapping of keys to values, found a list"},
		},
		{
			name: "invalid YAML",
			src:  "namespace: x\nstacks: [a,\n",
			want: []string{"stacker.yaml:2:9: invalid YAML: sequence end token ']' not found"},
		},
		{
			name: "two documents",
			src:  "namespace: x\n---\nnamespace: y\n",
			want: []string{"stacker.yaml:3:1: invalid YAML: expected a single document, found more"},
		},
		{
			name: "undefined alias",
			src:  "namespace: x\nstacks: *nope\n",
			want: []string{"stacker.yaml:2:9: invalid YAML: found undefined alias \"nope\""},
		},
		{
			name: "unknown tag",
			src:  "namespace: x\nfoo: !Ref bar\n",
			want: []string{"stacker.yaml:2:6: invalid YAML: could not determine a constructor for the tag '!Ref'"},
		},
		{
			name: "unknown stack key",
			src:  "namespace: x\nstacks:\n  - name: vpc\n    class_path: a.B\n    clas_path: a.C\n",
			want: []string{"stacker.yaml:5:5: stacks[0].clas_path: unknown key (valid stack keys: name, stack_name, class_path, template_path, description, profile, region, variables, parameters, requires, required_by, locked, enabled, protected, tags, stack_policy_path, in_progress_behavior, notification_arns, termination_protection)"},
		},
		{
			name: "unknown target key",
			src:  "namespace: x\ntargets:\n  - name: t\n    depends: [a]\n",
			want: []string{"stacker.yaml:4:5: targets[0].depends: unknown key (valid target keys: name, requires, required_by)"},
		},
		{
			name: "missing stack name",
			src:  "namespace: x\nstacks:\n  - class_path: a.B\n",
			want: []string{"stacker.yaml:3:5: stacks[0].name: This field is required."},
		},
		{
			name: "missing target name",
			src:  "namespace: x\ntargets:\n  - requires: []\n",
			want: []string{"stacker.yaml:3:5: targets[0].name: This field is required."},
		},
		{
			name: "duplicate stacks (06)",
			src:  "namespace: x\nstacks:\n  - name: vpc\n    class_path: a.B\n  - name: vpc\n    class_path: a.C\n",
			want: []string{"stacker.yaml:5:5: stacks[1].name: Duplicate stack vpc found at index 0. (first defined by stacks[0] at line 3)"},
		},
		{
			// stacker names the index of the first definition; each repeat is
			// reported where it is.
			name: "stack defined three times",
			src:  "namespace: x\nstacks:\n  - name: a\n    class_path: a.B\n  - name: vpc\n    class_path: a.B\n  - name: vpc\n    class_path: a.C\n  - class_path: a.D\n    name: vpc\n",
			want: []string{
				"stacker.yaml:7:5: stacks[2].name: Duplicate stack vpc found at index 1. (first defined by stacks[1] at line 5)",
				"stacker.yaml:10:5: stacks[3].name: Duplicate stack vpc found at index 1. (first defined by stacks[1] at line 5)",
			},
		},
		{
			name: "duplicate stacks in map form",
			src:  "namespace: x\nstacks:\n  vpc:\n    class_path: a.B\n  vpc:\n    class_path: a.C\n",
			want: []string{"stacker.yaml:5:3: stacks.vpc: stacks mapping cannot have duplicate keys: Duplicate stack vpc found (first defined at line 3, column 3)"},
		},
		{
			name: "duplicate stacks key",
			src:  "namespace: x\nstacks: []\nstacks: []\n",
			want: []string{"stacker.yaml:3:1: stacks: stacks key cannot have duplicate siblings (first at line 2)"},
		},
		{
			name: "duplicate class_path",
			src:  "namespace: x\nstacks:\n  - name: a\n    class_path: a.B\n    class_path: a.C\n",
			want: []string{"stacker.yaml:5:5: stacks[0].class_path: class_path key cannot have duplicate siblings (first at line 4)"},
		},
		{
			name: "both class_path and template_path",
			src:  "namespace: x\nstacks:\n  - name: a\n    class_path: a.B\n    template_path: t.yaml\n",
			want: []string{"stacker.yaml:5:5: stacks[0].template_path: class_path cannot be present when template_path is provided."},
		},
		{
			name: "neither class_path nor template_path",
			src:  "namespace: x\nstacks:\n  - name: a\n    profile: p\n  - name: locked\n    locked: true\n",
			want: []string{"stacker.yaml:3:5: stacks[0]: class_path or template_path is required."},
		},
		{
			name: "parameters",
			src:  "namespace: x\nstacks:\n  - name: a\n    class_path: a.B\n    parameters:\n      K: v\n  - name: b\n    class_path: a.B\n    parameters: {}\n",
			want: []string{"stacker.yaml:5:5: stacks[0].parameters: DEPRECATION: Stack definition a contains deprecated 'parameters', rather than 'variables'. You are required to update your config. See https://stacker.readthedocs.io/en/latest/config.html#variables for additional information."},
		},
		{
			name: "requires unknown stack",
			src:  "namespace: x\nstacks:\n  - name: a\n    class_path: a.B\n    requires: [b, nope]\n    required_by:\n      - other\n",
			want: []string{
				"stacker.yaml:5:16: stacks[0].requires[0]: b is not a stack or target in this config",
				"stacker.yaml:5:19: stacks[0].requires[1]: nope is not a stack or target in this config",
				"stacker.yaml:7:9: stacks[0].required_by[0]: other is not a stack or target in this config",
			},
		},
		{
			name: "requires of a map-form stack",
			src:  "namespace: x\nstacks:\n  a:\n    class_path: a.B\n    requires: b\n",
			want: []string{"stacker.yaml:5:15: stacks.a.requires[0]: b is not a stack or target in this config"},
		},
		{
			name: "target requires unknown",
			src:  "namespace: x\nstacks:\n  - name: a\n    class_path: a.B\ntargets:\n  - name: t\n    requires: [a, b]\n",
			want: []string{"stacker.yaml:7:19: targets[0].requires[1]: b is not a stack or target in this config"},
		},
		{
			name: "target named like a stack",
			src:  "namespace: x\nstacks:\n  - name: a\n    class_path: a.B\ntargets:\n  - name: a\n  - name: t\n  - name: t\n",
			want: []string{
				"stacker.yaml:6:5: targets[0].name: target a has the name of a stack; stacks and targets share one graph, so names must differ",
				"stacker.yaml:8:5: targets[2].name: Duplicate target t found. (first defined by targets[1] at line 7)",
			},
		},
		{
			name: "python-only keys",
			src: "namespace: x\nsys_path: .\npackage_sources:\n  git:\n    - uri: x\nlookups:\n  custom: my.Lookup\n" +
				"pre_build:\n  - path: stacker.hooks.route53.create_domain\npost_build: []\npre_destroy:\npost_destroy:\n  - path: x\n",
			want: []string{
				"stacker.yaml:3:1: package_sources: not supported: " + pythonOnly["package_sources"],
				"stacker.yaml:6:1: lookups: not supported: " + pythonOnly["lookups"],
				"stacker.yaml:8:1: pre_build: not supported: " + hookMsg,
				"stacker.yaml:12:1: post_destroy: not supported: " + hookMsg,
			},
		},
		{
			name: "wrong types",
			src: "namespace: [a]\ntemplate_indent: four\ntags: [a]\nmappings:\n  M: x\nlog_formats:\n  info: {a: b}\nstacks:\n" +
				"  - name: a\n    class_path: a.B\n    locked: maybe\n    variables: [x]\n    requires: {a: b}\n    in_progress_behavior: fail\n" +
				"    tags:\n      k: null\n  - just a string\n",
			want: []string{
				"stacker.yaml:1:1: namespace: This field is required.",
				"stacker.yaml:1:12: namespace: must be a string, found a list",
				"stacker.yaml:2:18: template_indent: must be a whole number of spaces, found \"four\"",
				"stacker.yaml:3:7: tags: must be a mapping of strings, found a list",
				"stacker.yaml:5:3: mappings.M: must be a mapping of top-level keys, found a string",
				"stacker.yaml:7:3: log_formats.info: must be a string, found a mapping",
				"stacker.yaml:11:13: stacks[0].locked: must be true or false, found \"maybe\"",
				"stacker.yaml:12:16: stacks[0].variables: must be a mapping of variable names to values, found a list",
				"stacker.yaml:13:16: stacks[0].requires: must be a list of strings, found a mapping",
				"stacker.yaml:14:27: stacks[0].in_progress_behavior: must be \"wait\" (wait for the stack's update in progress) or absent (fail), found \"fail\"",
				"stacker.yaml:16:7: stacks[0].tags.k: must be a string, found null",
				"stacker.yaml:17:5: stacks[1]: a stack definition must be a mapping, found a string",
			},
		},
		{
			name: "stacks of the wrong type",
			src:  "namespace: x\nstacks: 3\ntargets: {a: b}\n",
			want: []string{
				"stacker.yaml:2:9: stacks: must be a list or a mapping of stack definitions, found an integer",
				"stacker.yaml:3:11: targets: must be a list of targets, found a mapping",
			},
		},
		{
			name: "missing environment key (05)",
			src:  "namespace: x\nstacks:\n  - name: vpc\n    class_path: a.B\n    variables:\n      PublicSubnets: ${vpc_public_subnets}\n      PrivateSubnets: ${vpc_private_subnets\n",
			env:  Environment{"vpc_private_subnets": "10.128.8.0/22"},
			want: []string{"stacker.yaml:6:22: stacks[0].variables.PublicSubnets: Environment missing key vpc_public_subnets."},
		},
		{
			name: "missing key in a YAML environment",
			src:  "namespace: x\nstacks:\n  - name: vpc\n    class_path: a.B\n    variables:\n      A: ${nope}\n      B: x-${also_nope}-y\n      C: ${list}-suffix\n",
			env:  Environment{yamlSourceKey: true, "list": []any{"a"}},
			want: []string{
				"stacker.yaml:6:10: stacks[0].variables.A: Environment missing key nope.",
				"stacker.yaml:7:10: stacks[0].variables.B: Environment missing key also_nope.",
				"stacker.yaml:8:10: stacks[0].variables.C: Environment key list can't be merged into a string",
			},
		},
		{
			name: "positions stay right when a value spans lines",
			src:  "namespace: ${ns}\nstacks:\n  - name: a\n    class_path: a.B\n    bogus: 1\n",
			env:  Environment{"ns": "x\nextra: y"},
			want: []string{"stacker.yaml:5:5: stacks[0].bogus: unknown key (valid stack keys: name, stack_name, class_path, template_path, description, profile, region, variables, parameters, requires, required_by, locked, enabled, protected, tags, stack_policy_path, in_progress_behavior, notification_arns, termination_protection)"},
		},
		{
			name: "merge of a scalar",
			src:  "namespace: x\na: &a 1\nb:\n  <<: *a\n",
			want: []string{"stacker.yaml:2:7: <<: invalid YAML: expected a mapping or list of mappings for merging, found an integer"},
		},
		{
			name: "sys_path is one directory",
			src:  "namespace: x\nsys_path: [a, b]\n",
			want: []string{"stacker.yaml:2:11: sys_path: must be a string, found a list"},
		},
		{
			name: "an empty !!str before a sibling is the empty string",
			src:  "namespace: x\nstacks:\n  - name: a\n    class_path: a.B\n    variables:\n      Empty: !!str\n      Other: x\n    bogus: 1\n",
			want: []string{"stacker.yaml:8:5: stacks[0].bogus: unknown key (valid stack keys: name, stack_name, class_path, template_path, description, profile, region, variables, parameters, requires, required_by, locked, enabled, protected, tags, stack_policy_path, in_progress_behavior, notification_arns, termination_protection)"},
		},
		{
			name: "unhashable key",
			src:  "namespace: x\n? [a]\n: 1\n",
			want: nil, // goccy rejects complex keys itself; see below
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseErrs(t, tt.src, tt.env)
			if tt.name == "unhashable key" {
				if len(got) != 1 || !strings.HasPrefix(got[0], "stacker.yaml:") || !strings.Contains(got[0], "invalid YAML") {
					t.Fatalf("got %q", got)
				}
				return
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("errors:\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(tt.want, "\n      "))
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Pos: Position{File: "s.yaml", Line: 12, Column: 3}, Key: "stacks[2].template_path", Msg: "m"}, "s.yaml:12:3: stacks[2].template_path: m"},
		{&Error{Pos: Position{File: "s.yaml", Line: 4}, Msg: "m"}, "s.yaml:4: m"},
		{&Error{Pos: Position{File: "s.yaml"}, Key: "k", Msg: "m"}, "s.yaml: k: m"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestStackErrorf(t *testing.T) {
	c, err := ParseIn("/bundle", "s.yaml", []byte("namespace: x\nstacks:\n  - name: a\n    class_path: a.B\n    profile: nope\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Stacks[0]
	if got := s.Errorf("profile", "unknown profile %q", "nope").Error(); got != `s.yaml:5:5: stacks[0].profile: unknown profile "nope"` {
		t.Errorf("Errorf(profile) = %s", got)
	}
	if got := s.Errorf("region", "no region").Error(); got != `s.yaml:3:5: stacks[0].region: no region` {
		t.Errorf("Errorf(absent key) = %s", got)
	}
}

// A config that decodes but fails validation comes back with its errors, so
// that callers can add their own findings to the report.
func TestParseReturnsConfigWithErrors(t *testing.T) {
	src := "namespace: x\npackage_sources:\n  git:\n    - uri: x\nstacks:\n  - name: a\n    class_path: my.Own\n"
	c, err := ParseIn("/bundle", "stacker.yaml", []byte(src), nil)
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 || es[0].Key != "package_sources" {
		t.Fatalf("err = %v, want one package_sources error", err)
	}
	if c == nil || len(c.Stacks) != 1 || c.Stacks[0].ClassPath != "my.Own" {
		t.Fatalf("config = %+v, want the decoded stack", c)
	}
	if _, err := ParseIn("/bundle", "stacker.yaml", []byte("namespace: [\n"), nil); err == nil {
		t.Fatal("invalid YAML parsed")
	} else if c, _ := ParseIn("/bundle", "stacker.yaml", []byte("namespace: [\n"), nil); c != nil {
		t.Error("a config came back for invalid YAML")
	}
}
