package main

import (
	"context"
	"errors"
	"regexp"
	"testing"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/faults"
)

// Builds against a sandbox that throttles, fails and loses calls. The
// injector is seeded, and each outcome holds whatever it draws: a share of 1
// where a call must fail, and elsewhere only a run of failures lasting
// --retry-for (minutes of consecutive losing draws) could change it.

const faultsConfig = `namespace: faults
stacks:
  - name: base
    template_path: dummy.yaml
  - name: left
    template_path: dummy.yaml
    requires: [base]
  - name: right
    template_path: dummy.yaml
    requires: [base]
`

// newFaultyCLI is newCLI with a seeded injector and an SDK that makes one
// attempt per call (AWS_MAX_ATTEMPTS=1, the SDK's own setting): every
// injected fault reaches the engine, which must back off and retry it.
func newFaultyCLI(t *testing.T, fl faults.Flags) (*cli, *sandbox.Sandbox) {
	t.Helper()
	c, sb := newCLI(t, func(o *sandbox.Options) { o.Seed = 20261202 })
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	if err := fl.Apply(sb.Faults()); err != nil {
		t.Fatal(err)
	}
	return c, sb
}

// TestFunctionalBuildConvergesUnderThrottling: with 60% of CloudFormation
// calls throttled, a build backs off and completes every stack.
func TestFunctionalBuildConvergesUnderThrottling(t *testing.T) {
	c, _ := newFaultyCLI(t, faults.Flags{Throttle: []string{"cloudformation:*=0.6"}})
	cfg := c.writeConfig("faults.yaml", faultsConfig)
	r := c.run("", "build", cfg)
	r.expect(t, 0, "base: complete (creating new stack)", "left: complete (creating new stack)", "right: complete (creating new stack)")
	r.lacks(t, ": failed (")
}

// TestFunctionalGiveUpThenRerun: when calls keep failing past --retry-for,
// the stack fails with the error, its dependents fail after it, and the run
// ends with stacker's summary and exit code 1; once the faults stop, the same
// build converges. Every CreateStack fails here (throttled, a 5xx, or a 5xx
// after it took effect), so the give-up is certain.
func TestFunctionalGiveUpThenRerun(t *testing.T) {
	c, sb := newFaultyCLI(t, faults.Flags{
		Throttle:          []string{"cloudformation:*=0.6"},
		ServerErrors:      []string{"cloudformation:*=0.4"},
		ServerErrorsAfter: []string{"cloudformation:CreateStack=1"},
		Latency:           []string{"*=20ms"},
	})
	cfg := c.writeConfig("faults.yaml", faultsConfig)
	r := c.run("", "build", "--retry-for", "300ms", cfg)
	r.expect(t, 1, "base: failed (", "left: failed (dependency has failed)", "right: failed (dependency has failed)",
		"The following steps failed: base, ")
	for _, name := range []string{"left", "right"} {
		if !regexp.MustCompile(`(?m)^The following steps failed: .*\b` + name + `\b`).MatchString(r.out) {
			t.Errorf("the summary does not name %s", name)
		}
	}

	sb.Faults().Reset()
	r = c.run("", "build", cfg)
	r.expect(t, 0, "left: complete (creating new stack)", "right: complete (creating new stack)")
	r.lacks(t, ": failed (", "warning: AWS calls keep failing")
}

// TestFunctionalWarnsOnLastingFailures: a run whose calls keep failing says
// so after a few steps instead of waiting silently for --retry-for (here
// without a limit, until Ctrl-C).
func TestFunctionalWarnsOnLastingFailures(t *testing.T) {
	c, _ := newFaultyCLI(t, faults.Flags{Throttle: []string{"cloudformation:CreateStack=1"}})
	cfg := c.writeConfig("faults.yaml", faultsConfig)
	t.Chdir(c.dir)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &watchedBuffer{marker: "warning: AWS calls keep failing", onMatch: cancel}
	cmd := newRootCommand()
	cmd.SetArgs([]string{"build", "--retry-for", "0", cfg})
	cmd.SetOut(out)
	cmd.SetErr(out)
	err := cmd.ExecuteContext(ctx)
	t.Logf("$ stackerless build --retry-for 0 %s\n%s", cfg, out.String())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("build ended with %v, want it stopped by the cancel", err)
	}
	r := result{out: out.String()}
	r.expect(t, 0, "warning: AWS calls keep failing, retrying (--retry-for bounds it): advance base: create stack faults-base: ", "Throttling")
	r.lacks(t, ": failed (")
}
