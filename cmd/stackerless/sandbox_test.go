package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is written by the command's goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSandboxCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	cmd := newRootCommand()
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	caDir := filepath.Join(t.TempDir(), "ca")
	cmd.SetArgs([]string{"sandbox", "--listen", "127.0.0.1:0", "--https-listen", "127.0.0.1:0", "--ca-dir", caDir, "--accounts", "b=222222222222,a=111111111111",
		"--stack-duration", "10ms", "--throttle", "cloudformation:*=0.5", "--latency", "s3:*=1ms", "--fail-stack", "broken",
		"--server-errors-after", "cloudformation:CreateStack=0.5"})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "Ctrl-C") {
		if time.Now().After(deadline) {
			t.Fatalf("no banner; stdout %q stderr %q", out.String(), errOut.String())
		}
		select {
		case err := <-done:
			t.Fatalf("command ended early: %v; stderr %q", err, errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	lines := strings.Split(out.String(), "\n")
	line := regexp.MustCompile(`^(\w+) (\d{12}) AWS_ACCESS_KEY_ID=(AKIA\w{16}) AWS_SECRET_ACCESS_KEY=(\S{40})$`)
	for i, want := range []string{"b 222222222222", "a 111111111111"} {
		if !line.MatchString(lines[i]) || !strings.HasPrefix(lines[i], want+" ") {
			t.Errorf("line %d = %q, want %q AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...", i, lines[i], want)
		}
	}
	for _, want := range []string{"export AWS_ENDPOINT_URL=http://127.0.0.1:", "endpoint_url = http://127.0.0.1:", "--endpoint-url", "2.13",
		"HTTPS (for buckets that deny requests without TLS) on https://127.0.0.1:",
		"npx cdk bootstrap aws://222222222222/us-east-1 && npx cdk deploy"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out.String())
		}
	}
	// The CA is kept where --ca-dir says, and the banner says how to trust it.
	caFile := filepath.Join(caDir, "ca.pem")
	for _, env := range []string{"AWS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE"} {
		if !strings.Contains(out.String(), "export "+env+"="+caFile) {
			t.Errorf("banner lacks export %s=%s:\n%s", env, caFile, out.String())
		}
	}
	if _, err := os.Stat(caFile); err != nil {
		t.Errorf("CA file: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("command after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("command did not stop after cancel")
	}
}

func TestSandboxCommandBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sandbox", "--accounts", "x=1"}, "not 12 digits"},
		{[]string{"sandbox", "--listen", "127.0.0.1:0", "--https-listen", "127.0.0.1:0", "--throttle", "cloudformation=0.5"}, "want service:Action"},
		{[]string{"sandbox", "--listen", "127.0.0.1:0", "--https-listen", "127.0.0.1:0", "--server-errors", "s3:*=2"}, "not a fraction"},
		{[]string{"sandbox", "--listen", "127.0.0.1:0", "--https-listen", "127.0.0.1:0", "--latency", "s3:*=soon"}, "not a duration"},
		{[]string{"sandbox", "--listen", "127.0.0.1:0", "--https-listen", "127.0.0.1:0", "--throttle-after", "s3=1"}, "--throttle-after: "},
		{[]string{"sandbox", "--listen", "127.0.0.1:0", "--https-listen", "127.0.0.1:0", "--server-errors-after", "s3:*"}, "--server-errors-after: "},
		{[]string{"sandbox", "extra"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cmd := newRootCommand()
			var out syncBuffer
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetArgs(tt.args)
			err := cmd.ExecuteContext(t.Context())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
}
