package s3_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// TestAWSCLI drives the sandbox's S3 with Debian's AWS CLI (2.9, which needs
// --endpoint-url): bucket creation, a multipart `s3 cp` of a 9 MiB file
// (the CLI's threshold is 8 MiB), listing, download and removal (s3 rm --recursive uses DeleteObjects).
func TestAWSCLI(t *testing.T) {
	const cli = "/usr/bin/aws"
	if _, err := os.Stat(cli); err != nil {
		t.Skip("AWS CLI not installed at /usr/bin/aws")
	}
	if testing.Short() {
		t.Skip("slow: runs the AWS CLI")
	}
	sb := sandboxtest.Start(t)
	acct, _ := sb.Account("master")
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), cli, append([]string{"--endpoint-url", sb.URL(), "--no-cli-pager"}, args...)...)
		cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin", "AWS_ACCESS_KEY_ID=" + acct.AccessKeyID,
			"AWS_SECRET_ACCESS_KEY=" + acct.SecretAccessKey, "AWS_DEFAULT_REGION=us-east-1",
			"AWS_CONFIG_FILE=" + filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "none")}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), (9<<20)/16)
	src := filepath.Join(dir, "big.bin")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	run("s3", "mb", "s3://cli-bucket")
	run("s3", "cp", src, "s3://cli-bucket/dir/big file.bin")
	if out := run("s3", "ls", "s3://cli-bucket/dir/"); !strings.Contains(out, "big file.bin") || !strings.Contains(out, "9437184") {
		t.Fatalf("s3 ls = %s", out)
	}
	head, err := client(sb, "master").HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("cli-bucket"), Key: aws.String("dir/big file.bin")})
	if err != nil || !strings.HasSuffix(aws.ToString(head.ETag), `-2"`) {
		t.Fatalf("HeadObject after cp (want a 2-part multipart ETag) = %v, %v", head, err)
	}
	var back []byte
	dst := filepath.Join(dir, "back.bin")
	run("s3", "cp", "s3://cli-bucket/dir/big file.bin", dst)
	back, err = os.ReadFile(dst)
	if err != nil || !bytes.Equal(back, data) {
		t.Fatalf("downloaded copy differs (%d bytes, %v)", len(back), err)
	}
	run("s3", "rm", "--recursive", "s3://cli-bucket/")
	if _, err := client(sb, "master").DeleteBucket(t.Context(), &s3.DeleteBucketInput{Bucket: aws.String("cli-bucket")}); err != nil {
		t.Fatalf("bucket not empty after s3 rm --recursive: %v", err)
	}
}
