package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stackerless/stackerless/pkg/cfn"
	"github.com/stackerless/stackerless/pkg/engine"
)

func TestFunctionalSelectionAndInput(t *testing.T) {
	c, _ := newCLI(t)
	config := `namespace: func-select
stacks:
  - name: net
    template_path: dummy.yaml
  - name: app
    template_path: dummy.yaml
    requires: [net]
  - name: other
    template_path: dummy.yaml
targets:
  - name: prod
    requires: [app]
`
	t.Run("config from stdin", func(t *testing.T) {
		r := c.run(config, "build", "--stacks", "net", "-")
		r.expect(t, 0, "net: complete (creating new stack)")
		r.lacks(t, "app:", "other:")
	})
	cfg := c.writeConfig("select.yaml", config)
	t.Run("outline prints the plan and deploys nothing", func(t *testing.T) {
		r := c.run("", "build", "-o", "--targets", "prod", cfg)
		r.expect(t, 0, `Plan "Create/Update stacks":`, `  - step: 1: target: "net", action: "_launch_stack"`, `  - step: 2: target: "app", action: "_launch_stack"`)
		r.lacks(t, `target: "other"`, "submitted")
	})
	t.Run("targets select their requirements", func(t *testing.T) {
		r := c.run("", "build", "--targets", "prod", cfg)
		r.expect(t, 0, "net: skipped (nochange)", "app: complete (creating new stack)")
		r.lacks(t, "other:")
	})
	t.Run("--stacks and --targets are one option, as in stacker", func(t *testing.T) {
		r := c.run("", "build", "--stacks", "prod", "--targets", "other", cfg)
		r.expect(t, 0, "net: skipped (nochange)", "app: skipped (nochange)", "other: complete (creating new stack)")
		c.run("", "info", "--stacks", "other", cfg).expect(t, 0, "func-select-other:")
		c.run("", "info", "--stacks", "other", cfg).lacks(t, "func-select-net:")
	})
	t.Run("destroy with --stacks takes the dependents", func(t *testing.T) {
		r := c.run("", "destroy", "--force", "--stacks", "net", cfg)
		r.expect(t, 0, "app: complete (stack destroyed)", "net: complete (stack destroyed)")
		r.lacks(t, "other:")
	})
	t.Run("unknown selections are usage errors", func(t *testing.T) {
		c.run("", "build", "--stacks", "nope", cfg).expect(t, 2, "--stacks nope: no such stack or target")
		c.run("", "build", "--targets", "nope", cfg).expect(t, 2, "--stacks nope: no such stack or target")
		c.run("", "build", "--force", "nope", cfg).expect(t, 2, "--force nope")
	})
}

// The terminal board keeps one line per stack and rewrites it in place.
func TestBoardReporterRewritesLines(t *testing.T) {
	run := &engine.Run{Stacks: []*engine.StackState{
		{Name: "a", State: engine.Pending}, {Name: "b", State: engine.Pending},
	}}
	var out bytes.Buffer
	b := newBoardReporter(&out, run)
	run.Stacks[0].State, run.Stacks[0].Reason = engine.Submitted, "creating new stack"
	b.Status(run.Stacks[0])
	first := out.String()
	if strings.Count(first, "\x1b[2K") != 2 || !strings.Contains(first, "a: submitted (creating new stack)\n") || !strings.Contains(first, "b: pending\n") {
		t.Fatalf("first draw = %q", first)
	}
	out.Reset()
	run.Stacks[0].State = engine.Complete
	b.Status(run.Stacks[0])
	b.Event(run.Stacks[1], cfn.Event{Status: "CREATE_IN_PROGRESS", ResourceType: "AWS::SNS::Topic"})
	second := out.String()
	if !strings.HasPrefix(second, "\x1b[2A") {
		t.Errorf("redraw does not move up over the board: %q", second)
	}
	if !strings.Contains(second, "a: complete (creating new stack)\n") || !strings.Contains(second, "[] CREATE_IN_PROGRESS AWS::SNS::Topic\n") {
		t.Errorf("redraw = %q", second)
	}
}

// Interactive mode asks [y/n/v], as stacker: v shows the full change set,
// then the question comes again.
func TestFunctionalInteractiveVerbose(t *testing.T) {
	c, _ := newCLI(t)
	config := func(template string) string {
		return c.writeConfig("verbose.yaml", "namespace: func-verbose\nstacks:\n  - name: mystack\n    template_path: "+template+"\n")
	}
	c.run("", "build", config("dummy.yaml")).expect(t, 0, "mystack: complete (creating new stack)")
	r := c.run("v\ny\n", "build", "-i", config("dummy2.yaml"))
	r.expect(t, 0, "func-verbose-mystack changes:", "- Add Dummy2 (AWS::CloudFormation::WaitConditionHandle)",
		"Execute the above changes? [y/n/v]", "func-verbose-mystack full changeset:", "LogicalResourceId: Dummy2",
		"Execute the above changes? [y/n]", "mystack: complete (updating existing stack)")
	c.run("", "build", "-o", config("dummy2.yaml")).expect(t, 0, `action: "_launch_stack"`)
	c.run("", "destroy", config("dummy2.yaml")).expect(t, 0, `action: "_destroy_stack"`)
}
