package sandbox_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// awsCLI is Debian's AWS CLI; an older shim may come first on PATH.
const awsCLI = "/usr/bin/aws"

// TestAWSCLISignatures drives the sandbox with the AWS CLI: its signatures
// (Query, JSON and S3, including uploads) must verify, and a wrong secret must not.
func TestAWSCLISignatures(t *testing.T) {
	if _, err := os.Stat(awsCLI); err != nil {
		t.Skip("AWS CLI not installed at " + awsCLI)
	}
	if testing.Short() {
		t.Skip("slow: runs the AWS CLI")
	}
	sb := sandboxtest.Start(t)
	master, _ := sb.Account("master")
	dir := t.TempDir()
	file := filepath.Join(dir, "hello world.txt")
	if err := os.WriteFile(file, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	authFailures := []string{"SignatureDoesNotMatch", "InvalidClientTokenId", "MissingAuthenticationToken",
		"InvalidSignatureException", "UnrecognizedClientException", "InvalidAccessKeyId", "AccessDenied", "XAmzContentSHA256Mismatch"}
	tests := []struct {
		name   string
		secret string
		args   []string
		want   string // "" = no authentication failure
	}{
		{"query", "", []string{"sts", "get-caller-identity"}, ""},
		{"json", "", []string{"ssm", "get-parameter", "--name", "/a/b"}, ""},
		{"s3 list", "", []string{"s3api", "list-buckets"}, ""},
		{"s3 put-object", "", []string{"s3api", "put-object", "--bucket", "bkt", "--key", "dir/x y+z.txt", "--body", file}, ""},
		{"s3 cp", "", []string{"s3", "cp", file, "s3://bkt/a/hello.txt"}, ""},
		{"query wrong secret", "wrong", []string{"cloudformation", "describe-stacks"}, "SignatureDoesNotMatch"},
		{"s3 wrong secret", "wrong", []string{"s3api", "list-buckets"}, "SignatureDoesNotMatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := master.SecretAccessKey
			if tt.secret != "" {
				secret = tt.secret
			}
			cmd := exec.CommandContext(t.Context(), awsCLI, append([]string{"--endpoint-url", sb.URL()}, tt.args...)...)
			cmd.Env = []string{"AWS_ACCESS_KEY_ID=" + master.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + secret,
				"AWS_DEFAULT_REGION=us-east-1", "HOME=" + dir, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
				"AWS_MAX_ATTEMPTS=1", "PATH=/usr/bin:/bin"}
			out, _ := cmd.CombinedOutput()
			if tt.want != "" {
				if !strings.Contains(string(out), tt.want) {
					t.Fatalf("aws %v: want %s, got %s", tt.args, tt.want, out)
				}
				return
			}
			for _, bad := range authFailures {
				if strings.Contains(string(out), bad) {
					t.Fatalf("aws %v was refused: %s", tt.args, out)
				}
			}
		})
	}
}
