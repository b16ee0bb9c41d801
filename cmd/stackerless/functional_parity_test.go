package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The lines stacker's users and its bats suite read, on the streams stacker
// writes them to: its log (stderr) for everything it reports, stdout for
// graph and the interactive prompts.

// lines splits output into lines without the final empty one.
func lines(out string) []string {
	return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
}

func TestFunctionalStackerLines(t *testing.T) {
	c, _ := newCLI(t)
	c.copyFixtures("params.yaml")
	// Config order is the reverse of dependency order.
	chain := c.writeConfig("chain.yaml", `namespace: func-lines
stacks:
  - name: app
    template_path: dummy.yaml
    requires: [db]
  - name: db
    template_path: dummy.yaml
    requires: [vpc]
  - name: vpc
    template_path: params.yaml
    variables:
      Need: n1
      Opt: o1
`)

	t.Run("build reports on stderr only, after the provider mode line", func(t *testing.T) {
		stdout, stderr, code := c.runSplit("", "build", chain)
		if code != 0 || stdout != "" {
			t.Fatalf("exit %d, stdout %q", code, stdout)
		}
		got := lines(stderr)
		if got[0] != "Using default AWS provider mode" || !strings.Contains(stderr, "\nvpc: complete (creating new stack)\n") {
			t.Errorf("stderr:\n%s", stderr)
		}
		_, stderr, _ = c.runSplit("", "build", "-i", chain)
		if lines(stderr)[0] != "Using interactive AWS provider mode." {
			t.Errorf("interactive build starts %q", lines(stderr)[0])
		}
	})

	t.Run("info on stderr, in config order", func(t *testing.T) {
		stdout, stderr, code := c.runSplit("", "info", chain)
		if code != 0 || stdout != "" {
			t.Fatalf("exit %d, stdout %q", code, stdout)
		}
		var stacks []string
		for _, l := range lines(stderr) {
			if strings.HasPrefix(l, "func-lines-") {
				stacks = append(stacks, l)
			}
		}
		if strings.Join(stacks, " ") != "func-lines-app: func-lines-db: func-lines-vpc:" {
			t.Errorf("info lists %v, want the config's order", stacks)
		}
		if lines(stderr)[0] != "Using default AWS provider mode" || lines(stderr)[1] != "Outputs for stacks: func-lines" {
			t.Errorf("info starts %q", lines(stderr)[:2])
		}
	})

	t.Run("diff: the stacks first, a removed parameter, a blank line after each change set", func(t *testing.T) {
		// The config no longer sets Opt, which the template defaults: stacker
		// shows it removed. Need changes.
		changed := strings.Replace(strings.Replace(mustRead(t, chain), "Need: n1", "Need: n2", 1), "      Opt: o1\n", "", 1)
		cfg := c.writeConfig("chain2.yaml", changed)
		stdout, stderr, code := c.runSplit("", "diff", cfg)
		if code != 0 || stdout != "" {
			t.Fatalf("exit %d, stdout %q", code, stdout)
		}
		got := lines(stderr)
		if got[0] != "Using default AWS provider mode" || got[1] != "Diffing stacks: vpc, db, app" {
			t.Errorf("diff starts %q", got[:2])
		}
		for _, want := range []string{
			"func-lines-vpc full changeset:\n\n--- Old Parameters\n+++ New Parameters\n******************\n-Need = n1\n+Need = n2\n-Opt = o1\n\n",
			"No changes: func-lines-db\n", "No changes: func-lines-app\n",
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("diff lacks %q", want)
			}
		}
		// stacker logs the change set's YAML, which ends in a line break.
		if !strings.Contains(stderr, "\n[]\n\nvpc: complete\n") {
			t.Errorf("no blank line after the change set:\n%s", stderr)
		}
	})

	t.Run("interactive: the prompt on stdout, the summary on stderr", func(t *testing.T) {
		cfg := c.writeConfig("ask.yaml", "namespace: func-lines\nstacks:\n  - name: db\n    template_path: dummy2.yaml\n")
		stdout, stderr, code := c.runSplit("n\n", "build", "-i", "--stacks", "db", cfg)
		if code != 0 || stdout != "Execute the above changes? [y/n/v] " {
			t.Errorf("exit %d, stdout %q", code, stdout)
		}
		if !strings.Contains(stderr, "func-lines-db changes:\nChanges:\n- Add Dummy2 (AWS::CloudFormation::WaitConditionHandle)\n") ||
			!strings.Contains(stderr, "db: skipped (canceled execution)") {
			t.Errorf("stderr:\n%s", stderr)
		}
	})

	t.Run("the notice before re-creating a failed stack is printed on stdout", func(t *testing.T) {
		cfg := c.writeConfig("failed.yaml", "namespace: func-lines\nstacks:\n  - name: broken\n    template_path: broken.yaml\n")
		c.run("", "build", cfg).expect(t, 1, "broken: failed (rolled back new stack)")
		cfg = c.writeConfig("failed.yaml", "namespace: func-lines\nstacks:\n  - name: broken\n    template_path: dummy.yaml\n")
		stdout, stderr, code := c.runSplit("n\n", "build", "-i", cfg)
		want := "The \"func-lines-broken\" stack is in a failed state (ROLLBACK_COMPLETE).\n" +
			"It cannot be updated, but it can be deleted and re-created.\nAll its current resources will IRREVERSIBLY DESTROYED.\n" +
			"Proceed carefully!\n\nExecute the above changes? [y/n] "
		if code != 0 || stdout != want || !strings.Contains(stderr, "broken: skipped (canceled execution)") {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})

	t.Run("the destroy plan in stacker's order, targets included", func(t *testing.T) {
		cfg := c.writeConfig("plan.yaml", `namespace: func-plan
stacks:
  - name: x
    template_path: dummy.yaml
  - name: y
    template_path: dummy.yaml
  - name: z
    template_path: dummy.yaml
    requires: [x]
targets:
  - name: t
    requires: [x, y]
`)
		stdout, stderr, code := c.runSplit("", "destroy", cfg)
		want := []string{
			"Using default AWS provider mode",
			`Plan "Destroy stacks":`,
			`  - step: 1: target: "t", action: "target_fn"`,
			`  - step: 2: target: "z", action: "_destroy_stack"`,
			`  - step: 3: target: "y", action: "_destroy_stack"`,
			`  - step: 4: target: "x", action: "_destroy_stack"`,
			`To execute this plan, run with "--force" flag.`,
		}
		if code != 0 || stdout != "" || strings.Join(lines(stderr), "\n") != strings.Join(want, "\n") {
			t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant:\n%s", code, stdout, stderr, strings.Join(want, "\n"))
		}
		_, stderr, _ = c.runSplit("", "build", "--outline", cfg)
		want = []string{
			"Using default AWS provider mode",
			`Plan "Create/Update stacks":`,
			`  - step: 1: target: "y", action: "_launch_stack"`,
			`  - step: 2: target: "x", action: "_launch_stack"`,
			`  - step: 3: target: "t", action: "target_fn"`,
			`  - step: 4: target: "z", action: "_launch_stack"`,
		}
		if strings.Join(lines(stderr), "\n") != strings.Join(want, "\n") {
			t.Errorf("outline:\n%s\nwant:\n%s", stderr, strings.Join(want, "\n"))
		}
	})

	t.Run("graph on stdout, --dump's report on stderr", func(t *testing.T) {
		stdout, stderr, code := c.runSplit("", "graph", chain)
		if code != 0 || !strings.HasPrefix(stdout, "digraph digraph {\n") || stderr != "Using default AWS provider mode\n" {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		dir := t.TempDir()
		stdout, stderr, code = c.runSplit("", "build", "--dump", dir, chain)
		if code != 0 || stdout != "" || !strings.Contains(stderr, "\nDumping \"Create/Update stacks\"...\nWriting stack \"vpc\" -> ") {
			t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Problems stacker finds only at run time (after other stacks deployed) are
// config errors here: exit 2, file, line and key, nothing deployed. The
// static ones need no AWS at all: the endpoint is a dead port, so a call
// would fail the run (exit 1) instead.
func TestFunctionalValidationBeforeAWS(t *testing.T) {
	c, sb := newCLI(t)
	c.copyFixtures("params.yaml")
	awsConfig := filepath.Join(c.dir, "aws-config")
	if err := os.WriteFile(awsConfig, []byte(`[profile a]
role_arn = arn:aws:iam::222222222222:role/A
source_profile = b

[profile b]
role_arn = arn:aws:iam::222222222222:role/B
source_profile = a

[profile self]
role_arn = arn:aws:iam::222222222222:role/Self
source_profile = self
`), 0o600); err != nil {
		t.Fatal(err)
	}
	// A stack that would deploy first, then the broken one.
	first := "namespace: func-valid\nstacks:\n  - name: first\n    template_path: dummy.yaml\n"
	static := []struct {
		name, stack string
		want        []string
	}{
		{"a loop of profiles", "  - name: second\n    template_path: dummy.yaml\n    profile: a\n",
			[]string{"valid.yaml:7:5: stacks[1].profile: profile b (", "source_profile loop a -> b -> a"}},
		{"a profile that is its own source without keys", "  - name: second\n    template_path: dummy.yaml\n    profile: self\n",
			[]string{"valid.yaml:7:5: stacks[1].profile: profile self (", "source_profile names itself but the profile has no aws_access_key_id"}},
		{"an invalid stack name", "  - name: second_stack\n    template_path: dummy.yaml\n",
			[]string{`valid.yaml:5:5: stacks[1].name: stack name "func-valid-second_stack" is not valid`}},
		{"a NUL byte in a stack name", "  - name: second\n    stack_name: \"sec\\0ond\"\n    template_path: dummy.yaml\n",
			[]string{`valid.yaml:6:5: stacks[1].stack_name: stack name "func-valid-sec\x00ond" is not valid`}},
		// stacker's 09 with a Python blueprint: MissingVariable, here before
		// anything deploys.
		{"a blueprint's missing variable", "  - name: second\n    class_path: stacker_blueprints.network.Network\n",
			[]string{`valid.yaml:5:5: stacks[1].variables: MissingVariable: Variable "AvailabilityZone" in blueprint "second" is missing`,
				`MissingVariable: Variable "VpcId" in blueprint "second" is missing`}},
		{"a map as a parameter value", "  - name: second\n    template_path: params.yaml\n    variables:\n      Need:\n        key: value\n",
			[]string{"valid.yaml:8:7: stacks[1].variables.Need: a map cannot be a CloudFormation parameter value"}},
	}
	for _, tc := range static {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AWS_CONFIG_FILE", awsConfig)
			t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
			cfg := c.writeConfig("valid.yaml", first+tc.stack)
			r := c.run("", "build", cfg)
			r.expect(t, 2, tc.want...)
			r.lacks(t, "submitted")
		})
	}

	t.Run("a missing parameter of a stack that does not exist yet", func(t *testing.T) {
		cfg := c.writeConfig("valid.yaml", first+"  - name: second\n    template_path: params.yaml\n")
		r := c.run("", "build", cfg)
		r.expect(t, 2, "valid.yaml:5:5: stacks[1].variables: Missing required cloudformation parameters: Need: stack func-valid-second does not exist yet")
		r.lacks(t, "submitted")
		if describeStack(t, sb, "master", "func-valid-first") != nil {
			t.Error("first was deployed from a config that failed validation")
		}
		// Once the stack exists, its previous value is kept, as in stacker.
		c.run("", "build", c.writeConfig("valid.yaml", first+"  - name: second\n    template_path: params.yaml\n    variables:\n      Need: v\n")).expect(t, 0,
			"second: complete (creating new stack)")
		c.run("", "build", c.writeConfig("valid.yaml", first+"  - name: second\n    template_path: params.yaml\n")).expect(t, 0,
			"second: skipped (nochange)")
		if s := describeStack(t, sb, "master", "func-valid-second"); s == nil || stackParameter(s, "Need") != "v" {
			t.Errorf("second lost its Need: %v", s)
		}
	})

	t.Run("graph and --dump need no profiles", func(t *testing.T) {
		t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
		for _, f := range []string{"stacker.yaml", "templates/stacker-bucket.yaml"} {
			data, err := os.ReadFile(filepath.Join("..", "..", f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(c.dir, filepath.Dir(f)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(c.dir, f), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		// AWS_CONFIG_FILE names no file: the seed's profiles do not exist.
		c.run("", "graph", "-f", "json", "stacker.yaml").expect(t, 0, `"prod/vpc": {`, `"stage/vpc": {`)
		c.run("", "build", "--dump", t.TempDir(), "stacker.yaml").expect(t, 0, `Writing stack "prod/vpc"`, `Writing stack "stacker-bucket"`)
		c.run("", "build", "stacker.yaml").expect(t, 2, `stacks[0].profile: profile "master" is not defined`)
	})
}

// Paths resolve from where stacker resolves them: file:// from the config
// file's directory, template_path from the working directory and then
// sys_path. ../ and absolute paths work as in stacker.
func TestFunctionalPaths(t *testing.T) {
	c, sb := newCLI(t)
	files := map[string]string{
		"value.txt":            "from-working-directory",
		"sub/value.txt":        "from-config-directory",
		"sub/templates/t.yaml": mustRead(t, filepath.Join("testdata", "functional", "dummy.yaml")),
		"lib/only-here.yaml":   mustRead(t, filepath.Join("testdata", "functional", "dummy.yaml")),
		"lib/dummy2.yaml":      "this one is shadowed by ./dummy2.yaml",
		"shared/abs.txt":       "absolute",
	}
	for path, text := range files {
		full := filepath.Join(c.dir, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c.writeConfig("sub/c.yaml", `namespace: func-paths
sys_path: lib
stacks:
  - name: beside
    template_path: sub/templates/t.yaml
    variables:
      StringVariable: ${file plain:file://value.txt}
  - name: searched
    template_path: only-here.yaml
    variables:
      StringVariable: ${file plain:file://`+filepath.Join(c.dir, "shared", "abs.txt")+`}
  - name: shadowed
    template_path: dummy2.yaml
  - name: up
    template_path: `+filepath.Join(c.dir, "dummy.yaml")+`
    variables:
      StringVariable: ${file plain:file://../value.txt}
  - name: empty
    template_path: sub/templates/t.yaml
    variables:
      StringVariable: !!str ${blank}
`)
	c.run("", "build", "-e", "blank=", filepath.Join("sub", "c.yaml")).expect(t, 0,
		"beside: complete (creating new stack)", "searched: complete (creating new stack)",
		"shadowed: complete (creating new stack)", "up: complete (creating new stack)", "empty: complete (creating new stack)")
	for stack, want := range map[string]string{
		"beside": "from-config-directory", "searched": "absolute", "up": "from-working-directory", "empty": "",
	} {
		s := describeStack(t, sb, "master", "func-paths-"+stack)
		if s == nil || stackParameter(s, "StringVariable") != want {
			t.Errorf("%s: StringVariable of %v, want %q", stack, s, want)
		}
	}
	if s := describeStack(t, sb, "master", "func-paths-shadowed"); s == nil || len(s.Outputs) != 2 {
		t.Errorf("shadowed did not use ./dummy2.yaml before lib/dummy2.yaml: %v", s)
	}

	t.Run("from the config's own directory, templates under ../", func(t *testing.T) {
		c.writeConfig("sub/up.yaml", "namespace: func-paths\nstacks:\n  - name: parent\n    template_path: ../dummy.yaml\n"+
			"    variables:\n      StringVariable: ${file plain:file://value.txt}\n")
		c.runIn(filepath.Join(c.dir, "sub"), "", "build", "up.yaml").expect(t, 0, "parent: complete (creating new stack)")
		if s := describeStack(t, sb, "master", "func-paths-parent"); s == nil || stackParameter(s, "StringVariable") != "from-config-directory" {
			t.Errorf("parent: %v", s)
		}
	})

	t.Run("a template nowhere says where it looked", func(t *testing.T) {
		c.writeConfig("sub/lost.yaml", "namespace: func-paths\nsys_path: lib\nstacks:\n  - name: lost\n    template_path: nope.yaml\n")
		c.run("", "build", filepath.Join("sub", "lost.yaml")).expect(t, 2,
			"lost.yaml:5:5: stacks[0].template_path: Could not find template nope.yaml (looked for "+filepath.Join(c.dir, "nope.yaml")+", "+filepath.Join(c.dir, "lib", "nope.yaml")+")")
	})
}
