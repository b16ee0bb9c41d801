package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/stackerless/stackerless/pkg/sandbox"
)

// More of stacker's functional suite (03, 04, 09, 14, 15, 19, 23), and the
// behaviours of build that the suite does not reach: capabilities, the tag
// check before a re-creation, --replacements-only, a missing locked stack,
// and the warning about dropped variables.

// copyFixtures copies more files of testdata/functional into the working
// directory (newCLI copies the common ones).
func (c *cli) copyFixtures(names ...string) {
	c.t.Helper()
	for _, f := range names {
		data, err := os.ReadFile(filepath.Join("testdata", "functional", f))
		if err != nil {
			c.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(c.dir, f), data, 0o644); err != nil {
			c.t.Fatal(err)
		}
	}
}

// runSplit is run with stdout and stderr kept apart.
func (c *cli) runSplit(stdin string, args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	return c.runSplitIn(c.dir, stdin, args...)
}

// runSplitIn is runSplit from another working directory.
func (c *cli) runSplitIn(dir, stdin string, args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	code = c.execute(dir, stdin, &out, &errOut, args)
	c.t.Logf("$ stackerless %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), out.String(), errOut.String())
	return out.String(), errOut.String(), code
}

// describeStack returns a stack as CloudFormation in account sees it, or nil.
func describeStack(t *testing.T, sb *sandbox.Sandbox, account, name string) *cfntypes.Stack {
	t.Helper()
	out, err := cloudformation.NewFromConfig(sb.AWSConfig(account)).DescribeStacks(t.Context(), &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return nil
		}
		t.Fatalf("describe %s in %s: %v", name, account, err)
	}
	if len(out.Stacks) == 0 {
		return nil
	}
	return &out.Stacks[0]
}

func stackOutput(s *cfntypes.Stack, key string) string {
	for _, o := range s.Outputs {
		if aws.ToString(o.OutputKey) == key {
			return aws.ToString(o.OutputValue)
		}
	}
	return ""
}

func stackParameter(s *cfntypes.Stack, key string) string {
	for _, p := range s.Parameters {
		if aws.ToString(p.ParameterKey) == key {
			return aws.ToString(p.ParameterValue)
		}
	}
	return ""
}

func TestFunctionalMoreConfigs(t *testing.T) {
	c, sb := newCLI(t)
	t.Run("03 config with no stacks", func(t *testing.T) {
		c.run("namespace: func-nostacks\n", "build", "-").expect(t, 0, "WARNING: No stacks detected (error in config?)")
	})
	t.Run("04 config with no namespace", func(t *testing.T) {
		// stacker exits non-zero with its schema error; here a config error is exit 2.
		r := c.run("stacker_bucket: stacker-func-nonamespace\nstacks:\n  - name: vpc\n    template_path: vpc.yaml\n", "build", "-")
		r.expect(t, 2, "This field is required")
		r.lacks(t, "submitted")
	})
	t.Run("09 missing variable", func(t *testing.T) {
		// stacker's Python VPC blueprint fails the stack with MissingVariable.
		// A raw template's missing parameters of a stack that does not
		// exist yet are a config error here: found before anything is
		// deployed, every missing parameter named (stacker names one).
		cfg := c.writeConfig("missing-var.yaml", "namespace: func-missing\nstacks:\n  - name: vpc\n    template_path: vpc.yaml\n")
		r := c.run("", "build", cfg)
		r.expect(t, 2, "missing-var.yaml:3:5: stacks[0].variables: Missing required cloudformation parameters: PrivateSubnets, PublicSubnets: "+
			"stack func-missing-vpc does not exist yet")
		r.lacks(t, "vpc: submitted")
		if s := describeStack(t, sb, "master", "func-missing-vpc"); s != nil {
			t.Errorf("a stack missing parameters was created: %s", s.StackStatus)
		}
	})
	t.Run("15 namespace ''", func(t *testing.T) {
		cfg := c.writeConfig("no-namespace.yaml", "namespace: \"\"\nstacks:\n  - name: vpc\n    stack_name: func-nons-vpc\n    template_path: dummy.yaml\n")
		c.run("", "build", cfg).expect(t, 0, "vpc: submitted (creating new stack)", "vpc: complete (creating new stack)")
		s := describeStack(t, sb, "master", "func-nons-vpc")
		if s == nil {
			t.Fatal("no stack func-nons-vpc: the empty namespace was not used as is")
		}
		// No namespace, no stacker_namespace tag (stacker's default tags need a namespace).
		for _, tag := range s.Tags {
			if aws.ToString(tag.Key) == "stacker_namespace" {
				t.Errorf("stack has tag stacker_namespace=%q", aws.ToString(tag.Value))
			}
		}
		c.run("", "destroy", "--force", cfg).expect(t, 0, "vpc: complete (stack destroyed)")
	})
}

func TestFunctionalMoreInteractive(t *testing.T) {
	c, sb := newCLI(t)
	c.copyFixtures("replaceable.yaml", "replaceable2.yaml")
	t.Run("14 interactive with skipped update", func(t *testing.T) {
		cfg1 := c.writeConfig("skip1.yaml", `namespace: func-skip
stacks:
  - name: vpc
    template_path: dummy.yaml
  - name: bastion
    template_path: dummy.yaml
    variables:
      StringVariable: ${output vpc::DummyId}
`)
		c.run("", "build", cfg1).expect(t, 0,
			"vpc: submitted (creating new stack)", "vpc: complete (creating new stack)",
			"bastion: submitted (creating new stack)", "bastion: complete (creating new stack)")
		cfg2 := c.writeConfig("skip2.yaml", `namespace: func-skip
stacks:
  - name: vpc
    template_path: dummy2.yaml
  - name: bastion
    template_path: dummy2.yaml
    requires: [vpc]
`)
		r := c.run("n\ny\n", "build", "-i", cfg2)
		r.expect(t, 0, "vpc: skipped (canceled execution)", "bastion: submitted (updating existing stack)",
			"bastion: complete (updating existing stack)")
		r.lacks(t, "vpc: submitted")
		for stack, want := range map[string]int{"func-skip-vpc": 1, "func-skip-bastion": 2} {
			s := describeStack(t, sb, "master", stack)
			resources, err := cloudformation.NewFromConfig(sb.AWSConfig("master")).DescribeStackResources(t.Context(),
				&cloudformation.DescribeStackResourcesInput{StackName: s.StackName})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(resources.StackResources); got != want {
				t.Errorf("%s has %d resources, want %d", stack, got, want)
			}
		}
		c.run("", "destroy", "--force", cfg2).expect(t, 0, "vpc: complete (stack destroyed)")
	})
	t.Run("19 replacements-only with an additional resource", func(t *testing.T) {
		config := func(template string) string {
			return c.writeConfig("add-resource.yaml", "namespace: func-repl\nstacks:\n  - name: add-resource-test-with-replacements-only\n    template_path: "+template+"\n")
		}
		c.run("", "build", config("dummy.yaml")).expect(t, 0,
			"add-resource-test-with-replacements-only: submitted (creating new stack)",
			"add-resource-test-with-replacements-only: complete (creating new stack)")
		// An addition is no replacement: nothing to ask, the update goes on
		// (stdin is empty, so a prompt would have stopped the run).
		r := c.run("", "build", "-i", "--replacements-only", config("dummy2.yaml"))
		r.expect(t, 0, "add-resource-test-with-replacements-only: complete (updating existing stack)")
		r.lacks(t, "Execute the above changes?")
		c.run("", "destroy", "--force", config("dummy2.yaml")).expect(t, 0,
			"add-resource-test-with-replacements-only: submitted (submitted for destruction)",
			"add-resource-test-with-replacements-only: complete (stack destroyed)")
	})
	t.Run("--replacements-only shows only replacements", func(t *testing.T) {
		config := func(template, description string) string {
			return c.writeConfig("replace.yaml", "namespace: func-repl\nstacks:\n  - name: sg\n    template_path: "+template+
				"\n    variables:\n      Description: "+description+"\n")
		}
		c.run("", "build", config("replaceable.yaml", "one")).expect(t, 0, "sg: complete (creating new stack)")
		// The group is replaced and Dummy2 added: only the replacement is shown.
		r := c.run("y\n", "build", "-i", "--replacements-only", config("replaceable2.yaml", "two"))
		r.expect(t, 0, "func-repl-sg replacements:", "- Modify Group (AWS::EC2::SecurityGroup)",
			"Execute the above changes?", "sg: complete (updating existing stack)")
		r.lacks(t, "Dummy2", "Changes:")
		// Without the flag the same kind of change shows both.
		r = c.run("n\n", "build", "-i", config("replaceable.yaml", "three"))
		r.expect(t, 0, "func-repl-sg changes:", "Replacements:", "- Modify Group (AWS::EC2::SecurityGroup)",
			"Changes:", "- Remove Dummy2 (AWS::CloudFormation::WaitConditionHandle)", "sg: skipped (canceled execution)")
	})
	t.Run("23 recreate failed stack, interactive", func(t *testing.T) {
		config := func(breakLast bool, output string) string {
			return c.writeConfig("recreate-interactive.yaml", "namespace: func-fail-i\nstacks:\n  - name: recreate-failed-interactive\n"+
				"    template_path: long-running.yaml.j2\n    variables:\n      Count: 3\n      BreakLast: "+boolString(breakLast)+
				"\n      OutputValue: "+output+"\n")
		}
		c.run("", "build", "-v", config(true, "x")).expect(t, 1,
			"recreate-failed-interactive: submitted (creating new stack)",
			"recreate-failed-interactive: failed (rolled back new stack)")
		// Answering n leaves the failed stack alone.
		r := c.run("n\n", "build", "-i", config(false, "GoodOutput"))
		r.expect(t, 0, "recreate-failed-interactive: skipped (canceled execution)")
		r.lacks(t, "destroying stack for re-creation")
		if s := describeStack(t, sb, "master", "func-fail-i-recreate-failed-interactive"); s == nil || s.StackStatus != cfntypes.StackStatusRollbackComplete {
			t.Fatalf("after n the stack is %v, want ROLLBACK_COMPLETE", s)
		}
		c.run("y\n", "build", "-i", config(false, "GoodOutput")).expect(t, 0,
			"recreate-failed-interactive: submitted (destroying stack for re-creation)",
			"recreate-failed-interactive: submitted (creating new stack)",
			"recreate-failed-interactive: complete (creating new stack)")
		c.run("", "build", "-i", config(false, "GoodOutput")).expect(t, 0, "recreate-failed-interactive: skipped (nochange)")
		c.run("", "destroy", "--force", config(false, "GoodOutput")).expect(t, 0,
			"recreate-failed-interactive: submitted (submitted for destruction)",
			"recreate-failed-interactive: complete (stack destroyed)")
	})
}

func TestFunctionalMoreStackSettings(t *testing.T) {
	c, sb := newCLI(t)
	c.copyFixtures("named-role.yaml", "account.yaml")
	master, _ := sb.Account("master")
	t.Run("capabilities NAMED_IAM and AUTO_EXPAND", func(t *testing.T) {
		cfg := c.writeConfig("role.yaml", "namespace: func-caps\nstacks:\n  - name: role\n    template_path: named-role.yaml\n    variables:\n      RoleName: func-caps-role\n")
		c.run("", "build", cfg).expect(t, 0, "role: complete (creating new stack)")
		s := describeStack(t, sb, "master", "func-caps-role")
		if s == nil {
			t.Fatal("no stack func-caps-role")
		}
		for _, want := range []cfntypes.Capability{cfntypes.CapabilityCapabilityNamedIam, cfntypes.CapabilityCapabilityAutoExpand} {
			if !slices.Contains(s.Capabilities, want) {
				t.Errorf("stack capabilities %v lack %s", s.Capabilities, want)
			}
		}
	})
	t.Run("recreate refused when tags differ", func(t *testing.T) {
		config := func(template, team string) string {
			return c.writeConfig("tagged.yaml", "namespace: func-tags\ntags:\n  team: "+team+"\nstacks:\n  - name: tagged\n    template_path: "+template+"\n")
		}
		c.run("", "build", config("broken.yaml", "a")).expect(t, 1, "tagged: failed (rolled back new stack)")
		r := c.run("", "build", "--recreate-failed", config("dummy.yaml", "b"))
		r.expect(t, 1, "Tags differ from current configuration, possibly not created with stacker", "The following steps failed: tagged")
		r.lacks(t, "destroying stack for re-creation")
		if s := describeStack(t, sb, "master", "func-tags-tagged"); s == nil || s.StackStatus != cfntypes.StackStatusRollbackComplete {
			t.Fatalf("after a refused re-creation the stack is %v, want ROLLBACK_COMPLETE", s)
		}
		c.run("", "build", "--recreate-failed", config("dummy.yaml", "a")).expect(t, 0,
			"tagged: submitted (destroying stack for re-creation)", "tagged: complete (creating new stack)")
	})
	t.Run("a missing locked stack is created and its outputs used", func(t *testing.T) {
		cfg := c.writeConfig("locked-missing.yaml", `namespace: func-lockmiss
stacks:
  - name: base
    template_path: account.yaml
    locked: true
  - name: user
    template_path: account.yaml
    variables:
      StringVariable: ${output base::AccountId}
`)
		c.run("", "build", cfg).expect(t, 0, "base: submitted (creating new stack)", "base: complete (creating new stack)",
			"user: complete (creating new stack)")
		s := describeStack(t, sb, "master", "func-lockmiss-user")
		if s == nil || stackParameter(s, "StringVariable") != master.ID {
			t.Fatalf("user stack %v does not carry base's AccountId output %s", s, master.ID)
		}
		r := c.run("", "build", cfg)
		r.expect(t, 0, "base: skipped (locked)", "user: skipped (nochange)")
	})
	t.Run("dropped variables are named on stderr", func(t *testing.T) {
		cfg := c.writeConfig("dropped.yaml", "namespace: func-dropped\nstacks:\n  - name: dropvars\n    template_path: dummy.yaml\n"+
			"    variables:\n      StringVariable: kept\n      Unused: x\n      Other: y\n  - name: clean\n    template_path: dummy.yaml\n"+
			"    variables:\n      StringVariable: kept\n")
		stdout, stderr, code := c.runSplit("", "build", cfg)
		if code != 0 {
			t.Fatalf("exit code %d", code)
		}
		if !regexp.MustCompile(`(?m)^warning: .*dropvars.*dropped: Other, Unused$`).MatchString(stderr) {
			t.Errorf("stderr lacks the warning naming Other and Unused: %q", stderr)
		}
		if regexp.MustCompile(`(?m)^warning: .*clean`).MatchString(stderr) || stdout != "" {
			t.Errorf("warning misplaced: stdout %q, stderr %q", stdout, stderr)
		}
		if s := describeStack(t, sb, "master", "func-dropped-dropvars"); s == nil || stackParameter(s, "StringVariable") != "kept" || len(s.Parameters) != 1 {
			t.Errorf("dropvars stack parameters: %v", s)
		}
	})
	t.Run("variables a .j2 template reads are not called dropped", func(t *testing.T) {
		// long-running.yaml.j2 declares no parameters but reads Count,
		// BreakLast and OutputValue while rendering: they are used.
		cfg := c.writeConfig("j2vars.yaml", "namespace: func-dropped\nstacks:\n  - name: j2\n    template_path: long-running.yaml.j2\n"+
			"    variables:\n      Count: 2\n      BreakLast: false\n      OutputValue: used\n")
		_, stderr, code := c.runSplit("", "build", cfg)
		if code != 0 || !strings.Contains(stderr, "j2: complete (creating new stack)") {
			t.Fatalf("exit code %d, stderr %q", code, stderr)
		}
		for _, name := range []string{"Count", "BreakLast", "OutputValue"} {
			if regexp.MustCompile(`(?m)^warning: .*dropped: .*\b` + name + `\b`).MatchString(stderr) {
				t.Errorf("stderr calls %s dropped, yet the template reads it: %q", name, stderr)
			}
		}
	})
}
