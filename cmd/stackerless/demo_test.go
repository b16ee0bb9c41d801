package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// watchedBuffer collects output and calls onMatch once when it first
// contains marker.
type watchedBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	marker  string
	onMatch func()
}

func (w *watchedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if w.onMatch != nil && strings.Contains(w.buf.String(), w.marker) {
		w.onMatch()
		w.onMatch = nil
	}
	return n, err
}

func (w *watchedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestDemo(t *testing.T) {
	repo := filepath.Join("..", "..")
	seed, err := os.ReadFile(filepath.Join(repo, "stacker.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	fast := []string{"--dir", repo, "--stack-duration", "50ms", "--poll-interval", "20ms"}
	tests := []struct {
		name string
		args []string
		// stopOn cancels the context (Ctrl-C) once the output contains it.
		stopOn string
		code   int
		want   []string
		lacks  []string
	}{
		{
			name: "runs the example end to end and destroys the VPCs",
			args: append([]string{"demo", "cli"}, fast...),
			want: []string{
				"==> Step 1/13: Start a local AWS with three accounts",
				"master  stacker-role CREATE_COMPLETE   StackerRole arn:aws:iam::111111111111:role/Stacker",
				"stage   stacker-role CREATE_COMPLETE   StackerRole arn:aws:iam::333333333333:role/Stacker",
				"$ aws sts get-session-token --serial-number arn:aws:iam::111111111111:mfa/demo",
				"arn:aws:sts::222222222222:assumed-role/Stacker/stacker",
				"$ stackerless build --profile master --stacks stacker-bucket stacker.yaml",
				"stacker-bucket: complete (creating new stack)",
				"stacker_bucket: stacker-bucket-",
				"$ stackerless build --profile master stacker.yaml",
				"stacker-bucket: skipped (nochange)",
				"prod/vpc: complete (creating new stack)",
				"stage/vpc: complete (creating new stack)",
				"stack_templates/prod/vpc/prod/vpc-",
				"stack_templates/stage/vpc/stage/vpc-",
				`"stacker-bucket": {`,
				"No changes: vpc",
				"\tVpcId: vpc-",
				"arn:aws:cloudformation:us-east-1:222222222222:stack/vpc/",
				"arn:aws:cloudformation:us-east-1:333333333333:stack/vpc/",
				"==> Step 13/13: Destroy the VPCs",
				"prod/vpc: complete (stack destroyed)",
				"stage/vpc: complete (stack destroyed)",
				"Done: the example ran end to end.",
			},
			lacks: []string{"--poll-interval", "Stop the sandbox with Ctrl-C", "\x1b["},
		},
		{
			name:   "--keep leaves the VPCs and waits for Ctrl-C",
			args:   append([]string{"demo", "cli", "--keep"}, fast...),
			stopOn: "Stop the sandbox with Ctrl-C.",
			want: []string{
				"stage/vpc: complete (creating new stack)",
				"==> Step 13/13: Keep the sandbox running",
				"export AWS_ENDPOINT_URL=http://127.0.0.1:",
				"stopping the sandbox",
			},
			lacks: []string{"Destroy the VPCs", "stack destroyed", "Done:"},
		},
		{
			name:  "outside the repository it says where the example is missing",
			args:  []string{"demo", "cli", "--dir", t.TempDir()},
			code:  2,
			want:  []string{"stacker.yaml is missing", "run from the repository root or pass --dir"},
			lacks: []string{"==> Step"},
		},
		{
			name:  "a zero poll interval is a usage error",
			args:  []string{"demo", "cli", "--dir", repo, "--poll-interval", "0s"},
			code:  2,
			want:  []string{"--poll-interval must be positive"},
			lacks: []string{"==> Step"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The user's shell must neither leak into the demo nor be
			// changed by it.
			user := map[string]string{
				"AWS_ENDPOINT_URL":  "http://user-endpoint.invalid",
				"AWS_PROFILE":       "user-profile",
				"AWS_ACCESS_KEY_ID": "AKIAUSERKEY",
				"AWS_CONFIG_FILE":   filepath.Join(t.TempDir(), "user-config"),
			}
			for k, v := range user {
				t.Setenv(k, v)
			}
			t.Setenv("AWS_SESSION_TOKEN", "")
			os.Unsetenv("AWS_SESSION_TOKEN")
			wd, err := os.Getwd()
			if err != nil {
				t.Fatal(err)
			}

			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			out := &watchedBuffer{marker: tt.stopOn}
			if tt.stopOn != "" {
				out.onMatch = cancel
			}
			cmd := newRootCommand()
			cmd.SetArgs(tt.args)
			cmd.SetOut(out)
			cmd.SetErr(out)
			code := 0
			if err := cmd.ExecuteContext(ctx); err != nil {
				_, _ = out.Write([]byte(err.Error() + "\n"))
				code = exitCode(err)
			}
			got := out.String()
			t.Logf("$ stackerless %s\n%s", strings.Join(tt.args, " "), got)
			r := result{out: got, code: code}
			r.expect(t, tt.code, tt.want...)
			r.lacks(t, tt.lacks...)

			for k, v := range user {
				if got := os.Getenv(k); got != v {
					t.Errorf("after the demo %s=%q, want the user's %q", k, got, v)
				}
			}
			if v, ok := os.LookupEnv("AWS_SESSION_TOKEN"); ok {
				t.Errorf("after the demo AWS_SESSION_TOKEN=%q, want it unset as before", v)
			}
			if now, _ := os.Getwd(); now != wd {
				t.Errorf("working directory is %s after the demo, want %s", now, wd)
			}
			if after, _ := os.ReadFile(filepath.Join(repo, "stacker.yaml")); !bytes.Equal(after, seed) {
				t.Error("the demo modified the repository's stacker.yaml")
			}
		})
	}
}

// TestDemoCreatesMasterRoleFirst: prod's and stage's Stacker roles trust
// master's, and IAM refuses a trust policy naming a role that does not exist
// yet, so their stacks are created only once master's is complete.
func TestDemoCreatesMasterRoleFirst(t *testing.T) {
	sb := sandboxtest.Start(t)
	master, _ := sb.Account("master")
	work := t.TempDir()
	body, err := os.ReadFile(filepath.Join("..", "..", "templates", "stacker-role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(work, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "templates", "stacker-role.yaml"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	d := &demo{narrator: narrator{out: &out, errOut: &out}, sb: sb, master: master, work: work, f: demoFlags{pollInterval: 10 * time.Millisecond}}
	if err := d.bootstrapRoles(t.Context()); err != nil {
		t.Fatalf("bootstrap roles: %v\n%s", err, out.String())
	}
	masterDone := time.Time{}
	for _, ev := range stackEventsOf(t, sb, "master", "stacker-role") {
		if aws.ToString(ev.LogicalResourceId) == "stacker-role" && ev.ResourceStatus == cfntypes.ResourceStatusCreateComplete {
			masterDone = aws.ToTime(ev.Timestamp)
		}
	}
	if masterDone.IsZero() {
		t.Fatal("master's stacker-role has no CREATE_COMPLETE event")
	}
	for _, acct := range []string{"prod", "stage"} {
		st := describeStack(t, sb, acct, "stacker-role")
		if st == nil {
			t.Fatalf("no stacker-role in %s", acct)
		}
		if created := aws.ToTime(st.CreationTime); created.Before(masterDone) {
			t.Errorf("%s's stacker-role was created at %s, before master's completed at %s", acct, created.Format(time.RFC3339Nano), masterDone.Format(time.RFC3339Nano))
		}
	}
}

// stackEventsOf returns a stack's events in an account, newest first.
func stackEventsOf(t *testing.T, sb *sandbox.Sandbox, account, name string) []cfntypes.StackEvent {
	t.Helper()
	out, err := cloudformation.NewFromConfig(sb.AWSConfig(account)).DescribeStackEvents(t.Context(), &cloudformation.DescribeStackEventsInput{StackName: aws.String(name)})
	if err != nil {
		t.Fatalf("events of %s in %s: %v", name, account, err)
	}
	return out.StackEvents
}
