package engine_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/stackerless/stackerless/pkg/engine"
)

// build plans and finishes a build of config, returning the run and its status lines.
func (w *world) build(config string, opts engine.Options) (*engine.Run, *recorder) {
	w.t.Helper()
	p, run := w.plan(config, engine.Build)
	run.Options = opts
	e, rec := newEngine(p)
	finish(w.t, e, run)
	return run, rec
}

func oneStack(namespace, name, template, extra string) string {
	return "namespace: " + namespace + "\nstacks:\n  - name: " + name + "\n    template_path: " + template + "\n" + extra
}

// resources lists a stack's logical resource IDs.
func resources(t *testing.T, c *cloudformation.Client, stack string) []string {
	t.Helper()
	out, err := c.DescribeStackResources(t.Context(), &cloudformation.DescribeStackResourcesInput{StackName: aws.String(stack)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range out.StackResources {
		ids = append(ids, aws.ToString(r.LogicalResourceId))
	}
	slices.Sort(ids)
	return ids
}

func TestInProgressBehavior(t *testing.T) {
	w := newWorld(t)
	c := cfnClient(w, "master")
	for _, tc := range []struct {
		name, extra string
		want        []string
	}{
		{"wait", "    in_progress_behavior: wait\n", []string{"busy: pending (waiting)", "busy: complete (updating existing stack)"}},
		{"fail", "", []string{`busy: failed (Stack: "` + "ipb-fail" + `-busy" cannot be updated nor re-created from state UPDATE_IN_PROGRESS: Update already in-progress)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := "ipb-" + tc.name
			config := oneStack(ns, "busy", "echo.yaml", tc.extra)
			w.build(config, engine.Options{})
			// Someone else starts a slow update.
			_, err := c.UpdateStack(t.Context(), &cloudformation.UpdateStackInput{
				StackName: aws.String(ns + "-busy"), TemplateBody: aws.String(readTestdata(t, "echo2.yaml")),
				Parameters: []cfntypes.Parameter{{ParameterKey: aws.String("In"), UsePreviousValue: aws.Bool(true)}},
				Tags:       []cfntypes.Tag{{Key: aws.String("sandbox:duration"), Value: aws.String("400ms")}},
			})
			if err != nil {
				t.Fatal(err)
			}
			run, rec := w.build(config, engine.Options{})
			rec.expect(t, tc.want...)
			if tc.name == "wait" {
				if got := resources(t, c, ns+"-busy"); !slices.Equal(got, []string{"Handle"}) {
					t.Errorf("after waiting, the stack was not updated back to echo.yaml: resources %v", got)
				}
			} else if !slices.Equal(run.Failed(), []string{"busy"}) {
				t.Errorf("failed %v", run.Failed())
			}
		})
	}
}

func TestContinueRollback(t *testing.T) {
	w := newWorld(t)
	c := cfnClient(w, "master")
	w.build(oneStack("crb", "rb", "echo.yaml", ""), engine.Options{})
	w.sb.Faults().FailStack("crb-rb", "ROLLBACK_FAILED: resource stuck")
	_, rec := w.build(oneStack("crb", "rb", "echo2.yaml", ""), engine.Options{})
	rec.expect(t, "rb: failed (rolled back update)")
	w.sb.Faults().ClearStackFailure("crb-rb")
	if st := describe(t, c, "crb-rb").StackStatus; st != cfntypes.StackStatusUpdateRollbackFailed {
		t.Fatalf("stack is %s, want UPDATE_ROLLBACK_FAILED", st)
	}

	t.Run("without the option", func(t *testing.T) {
		run, _ := w.build(oneStack("crb", "rb", "echo2.yaml", ""), engine.Options{})
		s := run.Stack("rb")
		if s.State != engine.Failed || !strings.Contains(s.Reason, "UPDATE_ROLLBACK_FAILED") || !strings.Contains(s.Reason, "--continue-rollback") {
			t.Errorf("got %s, want a failure naming the state and --continue-rollback", s)
		}
	})
	t.Run("with the option", func(t *testing.T) {
		_, rec := w.build(oneStack("crb", "rb", "echo2.yaml", ""), engine.Options{ContinueRollback: true})
		rec.expect(t, "rb: submitted (continuing update rollback)", "rb: complete (updating existing stack)")
		if got := resources(t, c, "crb-rb"); !slices.Equal(got, []string{"Handle", "Handle2"}) {
			t.Errorf("resources %v after the update", got)
		}
	})
}

func TestProtectedUnattended(t *testing.T) {
	w := newWorld(t)
	c := cfnClient(w, "master")
	w.build(oneStack("guard", "vault", "echo.yaml", ""), engine.Options{})
	p, run := w.plan(oneStack("guard", "vault", "echo2.yaml", "    protected: true\n"), engine.Build)
	e, rec := newEngine(p)
	finish(t, e, run)
	if got := run.AwaitingApproval(); !slices.Equal(got, []string{"vault"}) {
		t.Fatalf("awaiting approval %v, want [vault]", got)
	}
	if rec.has("vault: submitted (updating existing stack)") {
		t.Error("the protected stack was updated without approval")
	}
	if !slices.ContainsFunc(rec.messages, func(m string) bool { return strings.Contains(m, "approval needed") && strings.Contains(m, "Handle2") }) {
		t.Errorf("no approval message naming the change: %q", rec.messages)
	}
	if got := resources(t, c, "guard-vault"); !slices.Equal(got, []string{"Handle"}) {
		t.Errorf("resources %v before approval", got)
	}
	// The run waits in JSON (e.g. in S3) until someone approves.
	run = roundTrip(t, run)
	if err := run.Approve("vault"); err != nil {
		t.Fatal(err)
	}
	if err := run.Approve("nope"); err == nil {
		t.Error("approving a stack that waits for nothing succeeded")
	}
	finish(t, e, run)
	rec.expect(t, "vault: complete (updating existing stack)")
	if got := resources(t, c, "guard-vault"); !slices.Equal(got, []string{"Handle", "Handle2"}) {
		t.Errorf("resources %v after approval", got)
	}
}

func TestStackSettings(t *testing.T) {
	w := newWorld(t)
	c := cfnClient(w, "master")
	master, _ := w.sb.Account("master")
	role := w.serviceRole("cfn-service")
	topic := "arn:aws:sns:us-east-1:" + master.ID + ":stack-events"
	config := func(protection bool) string {
		return `namespace: settings
service_role: ` + role + `
stacks:
  - name: app
    template_path: echo.yaml
    termination_protection: ` + map[bool]string{true: "true", false: "false"}[protection] + `
    stack_policy_path: stack-policy.json
    notification_arns: [` + topic + `]
`
	}
	_, rec := w.build(config(true), engine.Options{})
	rec.expect(t, "app: complete (creating new stack)")
	st := describe(t, c, "settings-app")
	if !aws.ToBool(st.EnableTerminationProtection) {
		t.Error("termination protection not set on create")
	}
	if got := aws.ToString(st.RoleARN); got != role {
		t.Errorf("RoleARN %q, want the service_role %q", got, role)
	}
	if !slices.Equal(st.NotificationARNs, []string{topic}) {
		t.Errorf("NotificationARNs %v", st.NotificationARNs)
	}
	if got := tagMap(st.Tags); len(got) != 2 || got["stacker_namespace"] != "settings" || got[engine.DigestTag] == "" {
		t.Errorf("tags %v, want only stacker_namespace=settings and the digest", got)
	}
	pol, err := c.GetStackPolicy(t.Context(), &cloudformation.GetStackPolicyInput{StackName: aws.String("settings-app")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(aws.ToString(pol.StackPolicyBody), "Update:Delete") {
		t.Errorf("stack policy %q is not stack-policy.json", aws.ToString(pol.StackPolicyBody))
	}

	t.Run("termination protection follows the config", func(t *testing.T) {
		w.build(config(false), engine.Options{})
		if aws.ToBool(describe(t, c, "settings-app").EnableTerminationProtection) {
			t.Error("termination protection still on after the config turned it off")
		}
		w.build(config(true), engine.Options{})
		if !aws.ToBool(describe(t, c, "settings-app").EnableTerminationProtection) {
			t.Error("termination protection not turned back on")
		}
	})
	t.Run("tags: {} means no tags", func(t *testing.T) {
		w.build("namespace: notags\ntags: {}\nstacks:\n  - name: app\n    template_path: echo.yaml\n", engine.Options{})
		if got := tagMap(describe(t, c, "notags-app").Tags); len(got) != 1 || got[engine.DigestTag] == "" {
			t.Errorf("tags %v, want none but the digest", got)
		}
	})
}

func tagMap(tags []cfntypes.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func TestLocked(t *testing.T) {
	w := newWorld(t)
	t.Run("missing without template", func(t *testing.T) {
		run, _ := w.build("namespace: lk\nstacks:\n  - name: ghost\n    locked: true\n", engine.Options{})
		if s := run.Stack("ghost"); s.String() != "ghost: failed (Stack does not have a defined class or template path.)" {
			t.Errorf("got %s", s)
		}
	})
	t.Run("existing outputs feed dependents", func(t *testing.T) {
		w.build(oneStack("lk", "base", "echo.yaml", "    variables:\n      In: v1\n"), engine.Options{})
		run, rec := w.build(`namespace: lk
stacks:
  - name: base
    locked: true
  - name: user
    template_path: echo.yaml
    variables:
      In: ${output base::Out}-used
`, engine.Options{})
		rec.expect(t, "base: skipped (locked)", "user: complete (creating new stack)")
		if got := run.Stack("user").Outputs["Out"]; got != "v1-used" {
			t.Errorf("user's output %q, want v1-used", got)
		}
	})
}

func TestDiffInferredOutputs(t *testing.T) {
	w := newWorld(t)
	config := func(cidr string) string {
		return `namespace: dif
stacks:
  - name: net
    template_path: net.yaml
    variables:
      Cidr: ` + cidr + `
  - name: user
    template_path: echo.yaml
    variables:
      In: ${output net::VpcId}
`
	}
	run, _ := w.build(config("10.1.0.0/16"), engine.Options{})
	vpc := run.Stack("net").Outputs["VpcId"]
	p, diff := w.plan(config("10.2.0.0/16"), engine.Diff)
	e, _ := newEngine(p)
	finish(t, e, diff)
	text := diff.Stack("user").Diff
	for _, want := range []string{"-In = " + vpc, "+In = <inferred-change: dif-net.VpcId="} {
		if !strings.Contains(text, want) {
			t.Errorf("user's diff lacks %q:\n%s", want, text)
		}
	}
	if got := resources(t, cfnClient(w, "master"), "dif-user"); !slices.Equal(got, []string{"Handle"}) {
		t.Errorf("diff changed the stack: %v", got)
	}
}

// Stacks polled in parallel end as they do polled one by one, dependents
// fed by their dependencies' outputs.
func TestPollParallel(t *testing.T) {
	w := newWorld(t)
	config := "namespace: par\nstacks:\n"
	for i := range 6 {
		config += fmt.Sprintf("  - name: s%d\n    template_path: echo.yaml\n    variables:\n      In: v%d\n", i, i)
	}
	config += "  - name: last\n    template_path: echo.yaml\n    variables:\n      In: ${output s5::Out}\n"
	p, run := w.plan(config, engine.Build)
	e, _ := newEngine(p)
	e.PollParallel = 4
	finish(t, e, run)
	if failed := run.Failed(); len(failed) > 0 {
		t.Fatalf("failed: %v: %s", failed, statusLines(run))
	}
	if got := run.Stack("last").Outputs["Out"]; got != "v5" {
		t.Fatalf("last's output = %q, want v5", got)
	}
	for _, s := range run.Stacks {
		if s.State != engine.Complete || s.Started.IsZero() || s.Ended.Before(s.Started) {
			t.Errorf("%s: %s, started %v ended %v", s.Name, s.State, s.Started, s.Ended)
		}
	}
}

// serviceRole creates, in master, a role CloudFormation may assume to act
// for a stack (a service_role), and returns its ARN.
func (w *world) serviceRole(name string) string {
	w.t.Helper()
	ic := iam.NewFromConfig(w.sb.AWSConfig("master"))
	out, err := ic.CreateRole(w.t.Context(), &iam.CreateRoleInput{
		RoleName:                 aws.String(name),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudformation.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	})
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := ic.AttachRolePolicy(w.t.Context(), &iam.AttachRolePolicyInput{
		RoleName: aws.String(name), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess"),
	}); err != nil {
		w.t.Fatal(err)
	}
	return aws.ToString(out.Role.Arn)
}
