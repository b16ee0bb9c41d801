package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFunctionalOutputLookupsAndDiff(t *testing.T) {
	c, _ := newCLI(t)
	config := func(subnets string) string {
		return c.writeConfig("lookups.yaml", `namespace: func-lookups
stacks:
  - name: vpc
    template_path: vpc.yaml
    variables:
      PublicSubnets: `+subnets+`
      PrivateSubnets: 10.128.8.0/22
  - name: consumer
    template_path: consumer.yaml
    variables:
      VpcId: ${output vpc::VpcId}
      Subnets: ${split ,::${output vpc::PublicSubnets}}
`)
	}
	cfg := config("10.128.0.0/24,10.128.1.0/24")
	t.Run("18 diff of new stacks shows inferred outputs", func(t *testing.T) {
		r := c.run("", "diff", cfg)
		r.expect(t, 0, "func-lookups-vpc full changeset", "Add")
		if !strings.Contains(r.out, "<inferred-change: func-lookups-vpc.VpcId={'Ref': 'VPC'}>") {
			t.Errorf("diff lacks the inferred output placeholder")
		}
		c.run("", "info", cfg).expect(t, 0, `Stack "func-lookups-vpc" does not exist.`)
	})
	t.Run("12 build with output lookups", func(t *testing.T) {
		c.run("", "build", cfg).expect(t, 0,
			"vpc: complete (creating new stack)", "consumer: complete (creating new stack)")
		c.run("", "info", cfg).expect(t, 0, "FirstSubnet: 10.128.0.0/24")
	})
	t.Run("18 diff of a changed parameter", func(t *testing.T) {
		cfg := config("10.128.2.0/24,10.128.1.0/24")
		c.run("", "diff", cfg).expect(t, 0,
			"--- Old Parameters", "+++ New Parameters",
			"-PublicSubnets = 10.128.0.0/24,10.128.1.0/24", "+PublicSubnets = 10.128.2.0/24,10.128.1.0/24",
			"Action: Modify", "Name: CidrBlock", "RequiresRecreation: Always", `Replacement: "True"`)
		cfg = config("10.128.0.0/24,10.128.1.0/24")
		c.run("", "diff", "--stacks", "vpc", cfg).expect(t, 0, "No changes: func-lookups-vpc")
	})
	t.Run("destroy goes in reverse order", func(t *testing.T) {
		r := c.run("", "destroy", "--force", cfg)
		r.expect(t, 0, "consumer: complete (stack destroyed)", "vpc: complete (stack destroyed)")
		if strings.Index(r.out, "consumer: submitted") > strings.Index(r.out, "vpc: submitted") {
			t.Errorf("vpc was destroyed before its dependent consumer")
		}
	})
}

func TestFunctionalEnvironmentAndDump(t *testing.T) {
	c, _ := newCLI(t)
	env := filepath.Join(c.dir, "test.env")
	if err := os.WriteFile(env, []byte("namespace: func-env\nsubnets: 10.128.0.0/24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := c.writeConfig("env.yaml", `namespace: ${namespace}
stacks:
  - name: vpc
    template_path: vpc.yaml
    variables:
      PublicSubnets: ${subnets}
      PrivateSubnets: ${default private::10.128.8.0/22}
`)
	t.Run("13 build with environment", func(t *testing.T) {
		c.run("", "build", env, cfg).expect(t, 0, "vpc: complete (creating new stack)")
		c.run("", "info", env, cfg).expect(t, 0, "func-env-vpc:", "PrivateSubnets: 10.128.8.0/22")
	})
	t.Run("16 -e overrides the environment", func(t *testing.T) {
		c.run("", "build", "-e", "namespace=func-env2", env, cfg).expect(t, 0, "vpc: complete (creating new stack)")
		c.run("", "info", "-e", "namespace=func-env2", env, cfg).expect(t, 0, "func-env2-vpc:")
	})
	t.Run("17 dump renders without AWS", func(t *testing.T) {
		dir := t.TempDir()
		t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // any AWS call would fail
		c.run("", "build", "--dump", dir, env, cfg).expect(t, 0, `Writing stack "vpc"`)
		matches, _ := filepath.Glob(filepath.Join(dir, "stack_templates", "func-env-vpc", "vpc-*.json"))
		if len(matches) != 1 {
			t.Fatalf("dump wrote %v", matches)
		}
	})
}

func TestFunctionalLockedAndProtected(t *testing.T) {
	c, _ := newCLI(t)
	config := func(template string, locked, protected bool) string {
		return c.writeConfig("locked.yaml", "namespace: func-locked\nstacks:\n  - name: mystack\n    template_path: "+template+
			"\n    locked: "+boolString(locked)+"\n    protected: "+boolString(protected)+"\n")
	}
	c.run("", "build", config("dummy.yaml", false, false)).expect(t, 0, "mystack: complete (creating new stack)")
	t.Run("20 locked stacks are not updated", func(t *testing.T) {
		c.run("", "build", config("dummy2.yaml", true, false)).expect(t, 0, "mystack: skipped (locked)")
		c.run("", "build", "--force", "mystack", config("dummy2.yaml", true, false)).expect(t, 0,
			"mystack: submitted (updating existing stack)", "mystack: complete (updating existing stack)")
	})
	t.Run("21 protected stacks ask before executing", func(t *testing.T) {
		r := c.run("y\n", "build", config("dummy.yaml", false, true))
		r.expect(t, 0, "Remove Dummy2", "mystack: submitted (updating existing stack)", "mystack: complete (updating existing stack)")
		c.run("n\n", "build", config("dummy2.yaml", false, true)).expect(t, 0, "Add Dummy2", "mystack: skipped (canceled execution)")
	})
	t.Run("protected stacks stop when nobody can approve", func(t *testing.T) {
		r := c.run("", "build", config("dummy2.yaml", false, true))
		r.expect(t, 1, "approval needed", "mystack")
		r.lacks(t, "mystack: submitted")
	})
	t.Run("interactive update", func(t *testing.T) {
		c.run("y\n", "build", "-i", config("dummy2.yaml", false, false)).expect(t, 0,
			"Add Dummy2", "mystack: complete (updating existing stack)")
	})
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestFunctionalFailures(t *testing.T) {
	c, _ := newCLI(t)
	longRunning := func(name string, breakLast bool, output string) string {
		return c.writeConfig(name+".yaml", "namespace: func-fail\nstacks:\n  - name: "+name+
			"\n    template_path: long-running.yaml.j2\n    variables:\n      Count: 3\n      BreakLast: "+boolString(breakLast)+
			"\n      OutputValue: "+output+"\n")
	}
	t.Run("22 recreate failed stack", func(t *testing.T) {
		c.run("", "build", "-v", longRunning("recreate-failed", true, "x")).expect(t, 1,
			"recreate-failed: submitted (creating new stack)", "recreate-failed: failed (rolled back new stack)",
			"The following steps failed: recreate-failed")
		c.run("", "build", longRunning("recreate-failed", false, "GoodOutput")).expect(t, 1, "--recreate-failed")
		r := c.run("", "build", "--recreate-failed", longRunning("recreate-failed", false, "GoodOutput"))
		r.expect(t, 0, "recreate-failed: submitted (destroying stack for re-creation)",
			"recreate-failed: submitted (creating new stack)", "recreate-failed: complete (creating new stack)")
		r.lacks(t, "recreate-failed: pending")
		c.run("", "build", longRunning("recreate-failed", false, "GoodOutput")).expect(t, 0, "recreate-failed: skipped (nochange)")
	})
	t.Run("24 rollbacks during updates", func(t *testing.T) {
		c.run("", "build", longRunning("update-rollback", false, "DefaultOutput")).expect(t, 0, "update-rollback: complete (creating new stack)")
		c.run("", "build", longRunning("update-rollback", true, "DefaultOutput")).expect(t, 1,
			"update-rollback: submitted (updating existing stack)", "update-rollback: failed (rolled back update)")
		c.run("", "build", longRunning("update-rollback", false, "UpdateFoo")).expect(t, 0,
			"update-rollback: submitted (updating existing stack)", "update-rollback: complete (updating existing stack)")
	})
	t.Run("25 rollbacks in dependent stacks", func(t *testing.T) {
		cfg := c.writeConfig("dependent.yaml", `namespace: func-fail
stacks:
  - name: dependent-rollback-parent
    template_path: broken.yaml
  - name: dependent-rollback-child
    template_path: dummy.yaml
    requires: [dependent-rollback-parent]
  - name: independent
    template_path: dummy.yaml
`)
		c.run("", "build", "-v", cfg).expect(t, 1,
			"dependent-rollback-parent: submitted (creating new stack)",
			"dependent-rollback-parent: submitted (rolling back new stack)",
			"dependent-rollback-parent: failed (rolled back new stack)",
			"dependent-rollback-child: failed (dependency has failed)",
			"independent: complete (creating new stack)",
			"The following steps failed: dependent-rollback-parent, dependent-rollback-child",
			// -v logs what CloudFormation reported at each poll.
			"msg=describe stack=dependent-rollback-parent", "cfn_status=ROLLBACK_COMPLETE")
	})
	t.Run("28 raw template parameter resolution", func(t *testing.T) {
		cfg := c.writeConfig("params.yaml", "namespace: func-fail\nstacks:\n  - name: noparams\n    template_path: vpc.yaml\n    variables:\n      PublicSubnets: 10.0.0.0/24\n")
		r := c.run("", "build", cfg)
		r.expect(t, 2, "params.yaml:5:5: stacks[0].variables: Missing required cloudformation parameters: PrivateSubnets: stack func-fail-noparams does not exist yet")
		r.lacks(t, "noparams: submitted")
	})
}

func TestFunctionalRunShapes(t *testing.T) {
	c, sb := newCLI(t)
	cfg := c.writeConfig("shapes.yaml", `namespace: func-shapes
stacks:
  - name: a
    template_path: dummy.yaml
  - name: b
    template_path: dummy.yaml
    requires: [a]
  - name: renamed
    stack_name: custom-name
    template_path: dummy.yaml
  - name: west
    template_path: dummy.yaml
    region: us-west-2
  - name: disabled-stack
    template_path: dummy.yaml
    enabled: false
`)
	t.Run("29 no parallelism, 30 tailing", func(t *testing.T) {
		r := c.run("", "build", "-j", "1", "-t", cfg)
		r.expect(t, 0, "a: complete (creating new stack)", "b: complete (creating new stack)",
			"disabled-stack: skipped (disabled)", "Tailing stack: func-shapes-a",
			"[func-shapes-a] CREATE_COMPLETE AWS::CloudFormation::WaitConditionHandle")
		// With -j 1 a stack is submitted only once the previous one is over.
		inFlight, most := map[string]bool{}, 0
		for _, line := range strings.Split(r.out, "\n") {
			name, status, ok := strings.Cut(line, ": ")
			if !ok || strings.HasPrefix(name, "[") {
				continue
			}
			switch {
			case strings.HasPrefix(status, "submitted"):
				inFlight[name] = true
			case strings.HasPrefix(status, "complete"), strings.HasPrefix(status, "failed"), strings.HasPrefix(status, "skipped"):
				delete(inFlight, name)
			}
			most = max(most, len(inFlight))
		}
		if most != 1 {
			t.Errorf("with -j 1, %d stacks were in flight at once", most)
		}
	})
	t.Run("31 stack_name and 32 regions", func(t *testing.T) {
		r := c.run("", "info", cfg)
		r.expect(t, 0, "func-shapes-custom-name:", "func-shapes-west:", "Region: us-west-2")
		_ = sb
	})
	t.Run("--stacks adds dependencies", func(t *testing.T) {
		c.run("", "destroy", "--force", cfg).expect(t, 0, "a: complete (stack destroyed)")
		r := c.run("", "build", "--stacks", "b", cfg)
		r.expect(t, 0, "a: complete (creating new stack)", "b: complete (creating new stack)")
		r.lacks(t, "renamed:", "west:")
	})
}
