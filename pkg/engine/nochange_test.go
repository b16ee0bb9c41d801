package engine_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/sandbox"
)

// requestCounter counts the sandbox's requests per action, from its request log.
type requestCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *requestCounter) Enabled(context.Context, slog.Level) bool { return true }
func (c *requestCounter) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *requestCounter) WithGroup(string) slog.Handler            { return c }
func (c *requestCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "request" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "action" {
			c.mu.Lock()
			c.counts[a.Value.String()]++
			c.mu.Unlock()
			return false
		}
		return true
	})
	return nil
}

// take returns the counts so far and starts again from zero.
func (c *requestCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.counts
	c.counts = map[string]int{}
	return out
}

// TestNoChangeWithoutUpdateStack: a build with nothing to change skips the
// stack from its digest tag, with no UpdateStack; a change in each input the
// digest covers, and an update made outside stackerless, is still deployed.
func TestNoChangeWithoutUpdateStack(t *testing.T) {
	counter := &requestCounter{counts: map[string]int{}}
	w := newWorld(t, func(o *sandbox.Options) { o.Logger = slog.New(counter) })
	c := cfnClient(w, "master")
	master, _ := w.sb.Account("master")
	w.serviceRole("cfn-service")
	if err := os.WriteFile(filepath.Join(w.dir, "policy2.json"), []byte(`{"Statement":[{"Effect":"Allow","Action":"Update:*","Principal":"*","Resource":"*"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	type settings struct {
		template, in, team, topic, role, policy string
		protection                              bool
	}
	config := func(ns string, s settings) string {
		var b strings.Builder
		b.WriteString("namespace: " + ns + "\n")
		if s.role != "" {
			b.WriteString("service_role: arn:aws:iam::" + master.ID + ":role/" + s.role + "\n")
		}
		// Stacks that take a while, as on AWS, where an update takes
		// seconds: another update can only start once it has finished.
		b.WriteString("stacks:\n  - name: app\n    template_path: " + s.template + "\n    variables:\n      In: " + s.in + "\n")
		b.WriteString("    tags:\n      team: " + s.team + "\n      sandbox:duration: 1200ms\n")
		if s.topic != "" {
			b.WriteString("    notification_arns: [arn:aws:sns:us-east-1:" + master.ID + ":" + s.topic + "]\n")
		}
		if s.policy != "" {
			b.WriteString("    stack_policy_path: " + s.policy + "\n")
		}
		if s.protection {
			b.WriteString("    termination_protection: true\n")
		}
		return b.String()
	}
	base := settings{template: "echo.yaml", in: "one", team: "a"}
	for _, tc := range []struct {
		name   string
		change func(*settings)
		// outside, when set, updates the stack outside stackerless after
		// the first build; the build must then deploy the config again.
		outside func(t *testing.T, fqn string)
	}{
		{name: "template", change: func(s *settings) { s.template = "echo2.yaml" }},
		{name: "parameter", change: func(s *settings) { s.in = "two" }},
		{name: "tags", change: func(s *settings) { s.team = "b" }},
		{name: "notification ARNs", change: func(s *settings) { s.topic = "events" }},
		{name: "service role", change: func(s *settings) { s.role = "cfn-service" }},
		{name: "stack policy", change: func(s *settings) { s.policy = "policy2.json" }},
		{name: "outside: template, tags kept", outside: func(t *testing.T, fqn string) {
			// As the console or `aws cloudformation update-stack` without
			// --tags: the stack keeps stackerless's digest tag.
			update(t, c, &cloudformation.UpdateStackInput{StackName: aws.String(fqn),
				TemplateBody: aws.String(readTestdata(t, "echo2.yaml")),
				Parameters:   []cfntypes.Parameter{{ParameterKey: aws.String("In"), UsePreviousValue: aws.Bool(true)}}})
		}},
		{name: "outside: parameter, tags replaced", outside: func(t *testing.T, fqn string) {
			// As stacker or another tool would: its own tags replace the digest.
			update(t, c, &cloudformation.UpdateStackInput{StackName: aws.String(fqn), UsePreviousTemplate: aws.Bool(true),
				Parameters: []cfntypes.Parameter{{ParameterKey: aws.String("In"), ParameterValue: aws.String("theirs")}},
				Tags:       []cfntypes.Tag{{Key: aws.String("team"), Value: aws.String("a")}}})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := "nc-" + strings.ToLower(strings.NewReplacer(" ", "", ":", "", ",", "-").Replace(tc.name))
			fqn := ns + "-app"
			_, rec := w.build(config(ns, base), engine.Options{})
			rec.expect(t, "app: complete (creating new stack)")
			counter.take()
			_, rec = w.build(config(ns, base), engine.Options{})
			rec.expect(t, "app: skipped (nochange)")
			if n, want := counter.take()["UpdateStack"], asks(t, c, fqn); n != want {
				t.Fatalf("a build with nothing to change sent %d UpdateStack, want %d", n, want)
			}
			want := base
			if tc.change != nil {
				tc.change(&want)
			}
			if tc.outside != nil {
				tc.outside(t, fqn)
			}
			_, rec = w.build(config(ns, want), engine.Options{})
			rec.expect(t, "app: complete (updating existing stack)")
			st := describe(t, c, fqn)
			if got := resources(t, c, fqn); want.template == "echo.yaml" && len(got) != 1 || want.template == "echo2.yaml" && len(got) != 2 {
				t.Errorf("resources %v, want those of %s", got, want.template)
			}
			if got := aws.ToString(st.Parameters[0].ParameterValue); got != want.in {
				t.Errorf("parameter In = %q, want %q", got, want.in)
			}
			if got := tagMap(st.Tags)["team"]; got != want.team {
				t.Errorf("tag team = %q, want %q", got, want.team)
			}
			if want.topic != "" && len(st.NotificationARNs) != 1 {
				t.Errorf("notification ARNs %v", st.NotificationARNs)
			}
			if want.role != "" && !strings.HasSuffix(aws.ToString(st.RoleARN), "/"+want.role) {
				t.Errorf("RoleARN %q", aws.ToString(st.RoleARN))
			}
			if want.policy != "" {
				pol, err := c.GetStackPolicy(t.Context(), &cloudformation.GetStackPolicyInput{StackName: aws.String(fqn)})
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(aws.ToString(pol.StackPolicyBody), "Update:*") {
					t.Errorf("stack policy %q, want policy2.json", aws.ToString(pol.StackPolicyBody))
				}
			}
			// The build after skips the stack again. It asks CloudFormation
			// when the update outside kept the digest tag: the deploy that
			// followed sent the same inputs, so kept the tag's time too.
			counter.take()
			_, rec = w.build(config(ns, want), engine.Options{})
			rec.expect(t, "app: skipped (nochange)")
			wantUpdates := asks(t, c, fqn)
			if tc.name == "outside: template, tags kept" {
				wantUpdates = 1
			}
			if n := counter.take()["UpdateStack"]; n != wantUpdates {
				t.Errorf("the build after the change sent %d UpdateStack, want %d", n, wantUpdates)
			}
		})
	}

	t.Run("termination protection", func(t *testing.T) {
		// Not an update: set apart, and the stack is otherwise unchanged.
		ns := "nc-protection"
		w.build(config(ns, base), engine.Options{})
		on := base
		on.protection = true
		_, rec := w.build(config(ns, on), engine.Options{})
		rec.expect(t, "app: skipped (nochange)")
		if !aws.ToBool(describe(t, c, ns+"-app").EnableTerminationProtection) {
			t.Error("termination protection not turned on")
		}
		w.build(config(ns, base), engine.Options{})
		if aws.ToBool(describe(t, c, ns+"-app").EnableTerminationProtection) {
			t.Error("termination protection not turned off")
		}
	})
}

// update changes a stack outside stackerless and waits for it to settle.
func update(t *testing.T, c *cloudformation.Client, in *cloudformation.UpdateStackInput) {
	t.Helper()
	if _, err := c.UpdateStack(t.Context(), in); err != nil {
		t.Fatalf("update outside stackerless: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if st := describe(t, c, aws.ToString(in.StackName)); !strings.HasSuffix(string(st.StackStatus), "_IN_PROGRESS") {
			return
		}
	}
	t.Fatal("the outside update did not settle")
}

// asks says how many UpdateStack calls the next build of an unchanged stack
// makes: none when its digest tag's send time is within a second of the
// stack's LastUpdatedTime (or CreationTime), as when the request reached
// CloudFormation at once; one, to ask, when a loaded machine delayed it more.
func asks(t *testing.T, c *cloudformation.Client, fqn string) int {
	t.Helper()
	st := describe(t, c, fqn)
	parts := strings.Split(tagMap(st.Tags)[engine.DigestTag], ":")
	if len(parts) != 3 {
		t.Fatalf("digest tag %q", tagMap(st.Tags)[engine.DigestTag])
	}
	ms, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	last := aws.ToTime(st.CreationTime)
	if st.LastUpdatedTime != nil {
		last = *st.LastUpdatedTime
	}
	if gap := last.Sub(time.UnixMilli(ms)).Abs(); gap > time.Second {
		t.Logf("the deploy reached CloudFormation %s after it was sent: the build asks", gap)
		return 1
	}
	return 0
}
