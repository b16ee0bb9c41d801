package sandboxcheck_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/cdkcli"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// TestCDKDeploy deploys the check app into a sandbox the way a user deploys
// to AWS, with the CDK CLI unchanged: bootstrap, deploy (assets published,
// a change set through the CloudFormation execution role), an upload that
// runs the state machine through the real Go Lambda, a second deploy after
// a code change, and destroy.
func TestCDKDeploy(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	sb := sandboxtest.Start(t)
	cli, err := cdkcli.New(sb, "master")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	cli.Dir = work
	handler := filepath.Join(work, "handler")
	cli.Setenv("SANDBOXCHECK_HANDLER_DIR", handler)
	app := buildApp(t)
	cfg := sb.HTTPSConfig("master")

	run := func(args ...string) string {
		t.Helper()
		out, err := cli.Run(ctx, args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	run("bootstrap", cli.Environment())

	// First deploy.
	buildHandler(t, handler, "v1")
	out := run("deploy", "--app", app, "--output", filepath.Join(work, "out1"), "--require-approval", "never")
	outs := stackOutputs(ctx, t, cfg)
	for _, want := range []string{
		"CREATE_COMPLETE", "AWS::Lambda::Function", "AWS::StepFunctions::StateMachine", // the stack events it follows
		"SandboxCheck.UploadsBucket = " + outs["UploadsBucket"], // and the outputs
	} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy output lacks %q:\n%s", want, out)
		}
	}
	checkExecutionRole(ctx, t, sb, cfg)
	// The nightly schedule runs it too (fired now rather than at 03:00).
	if got := fireAndRun(ctx, t, sb, cfg, outs["ScheduleArn"]); got.Version != "v1" || got.Source != "schedule" {
		t.Errorf("scheduled execution output %+v, want v1 from the schedule", got)
	}

	// An upload runs the state machine, which runs the function.
	if got := uploadAndRun(ctx, t, cfg, outs, "stacker.yaml"); got.Version != "v1" || got.Key != "stacker.yaml" || got.Bucket != outs["UploadsBucket"] {
		t.Errorf("execution output %+v, want v1 for stacker.yaml in %s", got, outs["UploadsBucket"])
	}

	// A code change updates the function in place.
	buildHandler(t, handler, "v2")
	out2 := filepath.Join(work, "out2")
	out = run("deploy", "--app", app, "--output", out2, "--require-approval", "never")
	if !strings.Contains(out, "UPDATE_COMPLETE") || !strings.Contains(out, "AWS::Lambda::Function") {
		t.Errorf("second deploy output lacks the function's UPDATE_COMPLETE:\n%s", out)
	}
	if again := stackOutputs(ctx, t, cfg); again["FunctionName"] != outs["FunctionName"] {
		t.Errorf("function replaced: %s, was %s", again["FunctionName"], outs["FunctionName"])
	}
	if got := uploadAndRun(ctx, t, cfg, outs, "again.yaml"); got.Version != "v2" {
		t.Errorf("execution after the update ran %q, want v2", got.Version)
	}

	// Destroy: a bucket the stack deletes fails while it holds objects, as
	// on AWS; emptied, the stack goes and the retained bucket stays.
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	put(ctx, t, s3c, outs["ScratchBucket"], "left-over")
	if out, err := cli.Run(ctx, "destroy", "--app", out2, "--force"); err == nil || !strings.Contains(out, "The bucket you tried to delete is not empty") {
		t.Fatalf("destroy with a non-empty bucket: %v\n%s", err, out)
	}
	if _, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(outs["ScratchBucket"]), Key: aws.String("left-over")}); err != nil {
		t.Fatal(err)
	}
	run("destroy", "--app", out2, "--force")
	var apiErr smithy.APIError
	if _, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("SandboxCheck")}); !errors.As(err, &apiErr) || !strings.Contains(apiErr.ErrorMessage(), "does not exist") {
		t.Errorf("stack after destroy: %v", err)
	}
	if _, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(outs["UploadsBucket"])}); err != nil {
		t.Errorf("retained bucket %s: %v", outs["UploadsBucket"], err)
	}
	if _, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(outs["ScratchBucket"])}); err == nil {
		t.Errorf("bucket %s outlived the stack", outs["ScratchBucket"])
	}
}

// result is what the check Lambda answers.
type result struct {
	Version string `json:"version"`
	Source  string `json:"source"`
	Bucket  string `json:"bucket"`
	Key     string `json:"key"`
}

// uploadAndRun uploads key to the uploads bucket and returns the output of
// the one execution it started, which must succeed.
func uploadAndRun(ctx context.Context, t *testing.T, cfg aws.Config, outs map[string]string, key string) result {
	t.Helper()
	c := sfn.NewFromConfig(cfg)
	put(ctx, t, s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), outs["UploadsBucket"], key)
	// The execution's input is the upload's event; the schedule's could
	// start others meanwhile.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		list, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(outs["StateMachineArn"])})
		if err != nil {
			t.Fatal(err)
		}
		var started []string
		for _, e := range list.Executions {
			ex, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: e.ExecutionArn})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(aws.ToString(ex.Input), `"key":"`+key+`"`) {
				started = append(started, aws.ToString(e.ExecutionArn))
			}
		}
		switch {
		case len(started) > 1:
			t.Fatalf("uploading %s started %d executions", key, len(started))
		case len(started) == 1:
			return finished(ctx, t, c, started[0])
		case time.Now().After(deadline):
			t.Fatalf("no execution after uploading %s", key)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// finished waits for the execution to end and returns its output; it must
// have succeeded.
func finished(ctx context.Context, t *testing.T, c *sfn.Client, arn string) result {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ex, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case ex.Status == sfntypes.ExecutionStatusSucceeded:
			var r result
			if err := json.Unmarshal([]byte(aws.ToString(ex.Output)), &r); err != nil {
				t.Fatalf("execution output %s: %v", aws.ToString(ex.Output), err)
			}
			return r
		case ex.Status != sfntypes.ExecutionStatusRunning:
			t.Fatalf("execution %s: %s %s", arn, ex.Status, aws.ToString(ex.Cause))
		case time.Now().After(deadline):
			t.Fatalf("execution %s still running", arn)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func put(ctx context.Context, t *testing.T, c *s3.Client, bucket, key string) {
	t.Helper()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("namespace: check\n")}); err != nil {
		t.Fatal(err)
	}
}

func stackOutputs(ctx context.Context, t *testing.T, cfg aws.Config) map[string]string {
	t.Helper()
	out, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("SandboxCheck")})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		m[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	for _, k := range []string{"UploadsBucket", "ScratchBucket", "StateMachineArn", "FunctionName", "ScheduleArn"} {
		if m[k] == "" {
			t.Fatalf("stack outputs %v lack %s", m, k)
		}
	}
	return m
}

// checkExecutionRole: the CLI has CloudFormation act as the bootstrap's
// execution role, which its deploy role passes.
func checkExecutionRole(ctx context.Context, t *testing.T, sb *sandbox.Sandbox, cfg aws.Config) {
	t.Helper()
	out, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("SandboxCheck")})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := sb.Account("master")
	want := "arn:aws:iam::" + a.ID + ":role/cdk-hnb659fds-cfn-exec-role-" + a.ID + "-" + sb.Region()
	if got := aws.ToString(out.Stacks[0].RoleARN); got != want {
		t.Errorf("stack's RoleARN %q, want %q", got, want)
	}
}

// fireAndRun fires the schedule and returns the output of the execution
// it started, which must succeed.
func fireAndRun(ctx context.Context, t *testing.T, sb *sandbox.Sandbox, cfg aws.Config, schedule string) result {
	t.Helper()
	deliveries, err := sb.Fire(schedule)
	if err != nil {
		t.Fatal(err)
	}
	if len(deliveries) != 1 || deliveries[0].Err != nil {
		t.Fatalf("schedule deliveries %+v, want one to the state machine", deliveries)
	}
	return finished(ctx, t, sfn.NewFromConfig(cfg), deliveries[0].Result)
}

// buildApp builds the app the CDK CLI runs to synthesize. The Go build cache
// keeps later builds quick; the first compiles the CDK (about a minute).
func buildApp(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "app")
	goBuild(t, "./app", bin)
	return bin
}

// buildHandler builds the Lambda's bootstrap into dir, reporting version.
func buildHandler(t *testing.T, dir, version string) {
	t.Helper()
	goBuild(t, "./handler", filepath.Join(dir, "bootstrap"), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH,
		"-ldflags=-s -w -X main.version="+version, "-tags=lambda.norpc")
}

// goBuild builds pkg to out; args holding "=" before any flag are
// environment settings, the rest build flags.
func goBuild(t *testing.T, pkg, out string, args ...string) {
	t.Helper()
	var env, flags []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			flags = append(flags, a)
		} else {
			env = append(env, a)
		}
	}
	// No -trimpath: it would keep the CDK's compiled packages (a minute to
	// build) from being shared with go vet's and earlier builds.
	cmd := exec.Command("go", append(append([]string{"build", "-o", out}, flags...), pkg)...)
	cmd.Env = append(os.Environ(), env...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
}
