package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// The functional suite of stacker (tests/test_suite/*.bats), translated to
// raw templates and run with the CLI against the sandbox: same commands,
// same status lines, same exit codes.

// cli runs stackerless in-process, as an account of the sandbox.
type cli struct {
	t   *testing.T
	dir string
}

// newCLI starts a sandbox (opts adjust its options) and points the SDK's own
// settings at it (no special flag), with master's root keys and fast polling.
func newCLI(t *testing.T, opts ...func(*sandbox.Options)) (*cli, *sandbox.Sandbox) {
	t.Helper()
	sb := sandboxtest.Start(t, opts...)
	master, _ := sb.Account("master")
	t.Setenv("AWS_ENDPOINT_URL", sb.URL())
	t.Setenv("AWS_ACCESS_KEY_ID", master.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", master.SecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("STACKER_STACK_POLL_TIME", "0.02")
	dir := t.TempDir()
	for _, f := range []string{"dummy.yaml", "dummy2.yaml", "broken.yaml", "long-running.yaml.j2", "vpc.yaml", "consumer.yaml", "stack-policy.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", "functional", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &cli{t: t, dir: dir}, sb
}

// writeConfig writes a config into the working directory and returns its path.
func (c *cli) writeConfig(name, text string) string {
	c.t.Helper()
	path := filepath.Join(c.dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		c.t.Fatal(err)
	}
	return path
}

type result struct {
	out  string
	code int
}

// run executes one stackerless command from the working directory, with
// stdin as given, and returns its combined output and exit code.
func (c *cli) run(stdin string, args ...string) result {
	c.t.Helper()
	return c.runIn(c.dir, stdin, args...)
}

// runIn is run from another working directory.
func (c *cli) runIn(dir, stdin string, args ...string) result {
	c.t.Helper()
	var out bytes.Buffer
	code := c.execute(dir, stdin, &out, &out, args)
	c.t.Logf("$ stackerless %s\n%s", strings.Join(args, " "), out.String())
	return result{out: out.String(), code: code}
}

// execute runs one command in dir and returns its exit code; an error is
// written to stderr as main does.
func (c *cli) execute(dir, stdin string, stdout, stderr *bytes.Buffer, args []string) int {
	c.t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		c.t.Fatal(err)
	}
	defer func() { _ = os.Chdir(wd) }()
	cmd := newRootCommand()
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SetIn(strings.NewReader(stdin))
	if err := cmd.ExecuteContext(c.t.Context()); err != nil {
		stderr.WriteString(err.Error() + "\n")
		return exitCode(err)
	}
	return 0
}

func (r result) expect(t *testing.T, code int, lines ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d", r.code, code)
	}
	for _, l := range lines {
		if !hasLine(r.out, l) {
			t.Errorf("output lacks line %q", l)
		}
	}
}

func (r result) lacks(t *testing.T, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if hasLine(r.out, l) {
			t.Errorf("output has line %q", l)
		}
	}
}

// hasLine is the bats suite's assert_has_line: a line containing text.
func hasLine(out, text string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, text) {
			return true
		}
	}
	return false
}

func TestFunctionalConfigErrors(t *testing.T) {
	c, _ := newCLI(t)
	t.Run("01 no config", func(t *testing.T) {
		c.run("", "build").expect(t, 2, "build takes [env-file] config")
	})
	t.Run("02 empty config", func(t *testing.T) {
		c.run("", "build", c.writeConfig("empty.yaml", "")).expect(t, 2, "namespace")
	})
	t.Run("05 missing environment key", func(t *testing.T) {
		cfg := c.writeConfig("missing-env.yaml", "namespace: ${namespace}\nstacks:\n  - name: vpc\n    template_path: dummy.yaml\n")
		c.run("", "build", cfg).expect(t, 2, "missing-env.yaml:1", "namespace")
	})
	t.Run("06 duplicate stacks", func(t *testing.T) {
		cfg := c.writeConfig("dup.yaml", "namespace: ns\nstacks:\n  - name: vpc\n    template_path: dummy.yaml\n  - name: vpc\n    template_path: dummy.yaml\n")
		c.run("", "build", cfg).expect(t, 2, "dup.yaml:5", "vpc")
	})
	t.Run("unknown class path", func(t *testing.T) {
		cfg := c.writeConfig("class.yaml", "namespace: ns\nstacks:\n  - name: vpc\n    class_path: stacker.tests.fixtures.mock_blueprints.Dummy\n")
		c.run("", "build", cfg).expect(t, 2, "class.yaml:4", "class_path", "template_path")
	})
	t.Run("cycle", func(t *testing.T) {
		cfg := c.writeConfig("cycle.yaml", "namespace: ns\nstacks:\n  - name: a\n    template_path: dummy.yaml\n    requires: [b]\n  - name: b\n    template_path: dummy.yaml\n    requires: [a]\n")
		c.run("", "build", cfg).expect(t, 2, "a -> b -> a")
	})
	t.Run("unparsable jinja template", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(c.dir, "broken.yaml.j2"), []byte("Resources:\n{% for x in y %}\n  A: {}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := c.writeConfig("j2.yaml", "namespace: ns\nstacks:\n  - name: ok\n    template_path: dummy.yaml\n  - name: j2\n    template_path: broken.yaml.j2\n")
		r := c.run("", "build", cfg)
		r.expect(t, 2, "j2.yaml:6", "stacks[1].template_path", "broken.yaml.j2")
		r.lacks(t, "ok: submitted")
	})
	t.Run("rendered template over the inline limit", func(t *testing.T) {
		big := "Resources:\n{% for i in range(variables.Count) %}\n  Handle{{ i }}:\n    Type: AWS::CloudFormation::WaitConditionHandle\n{% endfor %}\n"
		if err := os.WriteFile(filepath.Join(c.dir, "big.yaml.j2"), []byte(big), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := c.writeConfig("big.yaml", "namespace: ''\nstacks:\n  - name: first\n    template_path: dummy.yaml\n  - name: big\n    template_path: big.yaml.j2\n    variables:\n      Count: 2000\n")
		r := c.run("", "build", cfg)
		r.expect(t, 2, "big.yaml:6", "stacks[1].template_path", "51200")
		r.lacks(t, "first: submitted")
	})
	t.Run("unknown flag", func(t *testing.T) {
		c.run("", "build", "--nope", "x.yaml").expect(t, 2, "unknown flag")
	})
}

func TestFunctionalGraph(t *testing.T) {
	c, _ := newCLI(t)
	cfg := c.writeConfig("graph.yaml", `namespace: ns
stacks:
  - name: vpc
    template_path: vpc.yaml
  - name: bastion
    template_path: dummy.yaml
    requires: [vpc]
  - name: app
    template_path: dummy.yaml
    requires: [vpc, bastion]
`)
	t.Run("07 json", func(t *testing.T) {
		r := c.run("", "graph", "-f", "json", cfg)
		r.expect(t, 0)
		for _, want := range []string{`"vpc": {`, `"bastion": {`, `"app": {`} {
			if !strings.Contains(r.out, want) {
				t.Errorf("json graph lacks %s", want)
			}
		}
	})
	t.Run("08 dot", func(t *testing.T) {
		c.run("", "graph", "-f", "dot", cfg).expect(t, 0, "digraph digraph {", `"bastion" -> "vpc";`, `"app" -> "vpc";`, `"app" -> "bastion";`)
	})
	t.Run("reduce", func(t *testing.T) {
		c.run("", "graph", "-f", "dot", "--reduce", cfg).expect(t, 0, `"app" -> "bastion";`)
		c.run("", "graph", "-f", "dot", "--reduce", cfg).lacks(t, `"app" -> "vpc";`)
	})
	t.Run("mermaid", func(t *testing.T) {
		if r := c.run("", "graph", "-f", "mermaid", cfg); r.code != 0 || !strings.Contains(r.out, "vpc") {
			t.Errorf("mermaid graph: %d %s", r.code, r.out)
		}
	})
}

func TestFunctionalBuildInfoDestroy(t *testing.T) {
	c, _ := newCLI(t)
	cfg := c.writeConfig("simple.yaml", `namespace: func-simple
stacks:
  - name: vpc
    template_path: vpc.yaml
    stack_policy_path: stack-policy.json
    variables:
      PublicSubnets: 10.128.0.0/24,10.128.1.0/24
      PrivateSubnets: 10.128.8.0/22,10.128.12.0/22
`)
	t.Run("10 simple build", func(t *testing.T) {
		c.run("", "build", cfg).expect(t, 0, "vpc: submitted (creating new stack)", "vpc: complete (creating new stack)")
		c.run("", "build", "-i", cfg).expect(t, 0, "vpc: skipped (nochange)")
		c.run("", "build", cfg).expect(t, 0, "vpc: skipped (nochange)")
	})
	t.Run("11 info", func(t *testing.T) {
		r := c.run("", "info", cfg)
		r.expect(t, 0, "Outputs for stacks: func-simple", "func-simple-vpc:", "PublicSubnets: 10.128.0.0/24,10.128.1.0/24")
		if !regexp.MustCompile(`(?m)^\tVpcId: vpc-[0-9a-f]+$`).MatchString(r.out) {
			t.Errorf("info lacks a tab-indented VpcId line")
		}
	})
	t.Run("destroy plan without --force", func(t *testing.T) {
		c.run("", "destroy", cfg).expect(t, 0, `To execute this plan, run with "--force" flag.`)
		c.run("", "info", cfg).expect(t, 0, "func-simple-vpc:")
	})
	t.Run("destroy", func(t *testing.T) {
		c.run("", "destroy", "--force", cfg).expect(t, 0, "vpc: submitted (submitted for destruction)", "vpc: complete (stack destroyed)")
		c.run("", "destroy", "--force", cfg).expect(t, 0, "vpc: skipped (does not exist in cloudformation)")
	})
}
