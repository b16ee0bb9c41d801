package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestServerlessDemo runs `stackerless demo` (make demo) as CI can: with
// short stack operations and no terminal, the CDK CLI deploying the master
// app into the sandbox. It checks the walk-through's key lines, and that
// neither a full run nor a Ctrl-C in the middle of `cdk deploy` leaves a
// process or a temporary file behind.
func TestServerlessDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("deploys the master app with the CDK CLI (a minute or two)")
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	build := t.TempDir()
	buildDemoInputs(t, repo, build)
	args := []string{"demo", "--dir", repo, "--functions-dir", filepath.Join(build, "dist"), "--app", filepath.Join(build, "master-app"),
		"--stack-duration", "50ms", "--interval", "1s"}

	t.Run("deploys, uploads twice and cleans up", func(t *testing.T) {
		got, code := runDemoCommand(t, args, "")
		r := result{out: got, code: code}
		r.expect(t, 0,
			"==> Step 1/10: Build the CLI and the Lambda binaries",
			"$ npx cdk bootstrap aws://111111111111/us-east-1",
			"Environment aws://111111111111/us-east-1 bootstrapped",
			"$ cd infra && npx cdk deploy --require-approval never",
			"TemplateBucket ",
			"master  stacker-role CREATE_COMPLETE   StackerRole arn:aws:iam::111111111111:role/Stacker",
			"stage   stacker-role CREATE_COMPLETE   StackerRole arn:aws:iam::333333333333:role/Stacker",
			"+stacker_bucket: ",
			"-  - name: stacker-bucket",
			"$ stackerless submit .",
			"Uploaded s3://",
			"$ stackerless watch r-",
			"prod/vpc: complete",
			"stage/vpc: complete",
			"$ aws cloudformation describe-stacks --profile prod --stack-name vpc --query 'Stacks[0].Outputs' --output text",
			"VpcId\tvpc-",
			"+      CidrBlock: 10.130.0.0/16",
			"$ stackerless submit --wait .",
			"Done in ",
		)
		r.lacks(t, "--interval", "\x1b[", "warning:")
		// The second run updates stage's VPC and skips prod's.
		second := got[strings.Index(got, "$ stackerless submit --wait ."):]
		for _, want := range []string{"stage/vpc: complete (updating existing stack)", "prod/vpc: skipped (nochange)"} {
			if !strings.Contains(second, want) {
				t.Errorf("the second run lacks %q", want)
			}
		}
	})

	t.Run("Ctrl-C during cdk deploy stops everything", func(t *testing.T) {
		got, code := runDemoCommand(t, args, "$ cd infra && npx cdk deploy")
		if code == 0 || !strings.Contains(got, "context canceled") {
			t.Errorf("a cancelled demo exited %d, want a failure naming the cancellation", code)
		}
		if strings.Contains(got, "==> Step 5/10") {
			t.Error("the demo went on after Ctrl-C")
		}
	})
}

// runDemoCommand runs the demo in-process with TMPDIR a fresh directory,
// cancelling it (Ctrl-C) once its output holds stopOn; it checks that the
// demo left no child process and no temporary file, and the user's
// environment and working directory as they were.
func runDemoCommand(t *testing.T, args []string, stopOn string) (string, int) {
	t.Helper()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("AWS_PROFILE", "user-profile")
	t.Setenv("AWS_ENDPOINT_URL", "http://user-endpoint.invalid")
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	out := &watchedBuffer{marker: stopOn}
	if stopOn != "" {
		out.onMatch = cancel
	}
	cmd := newRootCommand()
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(out)
	code := 0
	start := time.Now()
	if err := cmd.ExecuteContext(ctx); err != nil {
		_, _ = out.Write([]byte(err.Error() + "\n"))
		code = exitCode(err)
	}
	got := out.String()
	t.Logf("$ stackerless %s  (%s)\n%s", strings.Join(args, " "), time.Since(start).Round(time.Second), got)

	if kids := children(t); len(kids) > 0 {
		t.Errorf("processes left running after the demo: %v", kids)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("temporary file left after the demo: %s", filepath.Join(tmp, e.Name()))
	}
	if now, _ := os.Getwd(); now != wd {
		t.Errorf("working directory is %s after the demo, want %s", now, wd)
	}
	if v := os.Getenv("AWS_PROFILE"); v != "user-profile" {
		t.Errorf("after the demo AWS_PROFILE=%q, want the user's", v)
	}
	if v := os.Getenv("AWS_ENDPOINT_URL"); v != "http://user-endpoint.invalid" {
		t.Errorf("after the demo AWS_ENDPOINT_URL=%q, want the user's", v)
	}
	return got, code
}

// children lists the test process's live child processes (pid and command),
// waiting a little for those being stopped to go.
func children(t *testing.T) []string {
	t.Helper()
	if runtime.GOOS != "linux" {
		return nil
	}
	self := strconv.Itoa(os.Getpid())
	var kids []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		kids = kids[:0]
		stats, _ := filepath.Glob("/proc/[0-9]*/stat")
		for _, p := range stats {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			// pid (comm) state ppid ...: comm may hold spaces.
			s := string(b)
			i := strings.LastIndexByte(s, ')')
			if i < 0 {
				continue
			}
			f := strings.Fields(s[i+1:])
			if len(f) > 2 && f[1] == self && f[0] != "Z" {
				kids = append(kids, s[:i+1])
			}
		}
		if len(kids) == 0 || time.Now().After(deadline) {
			return kids
		}
	}
}

// buildDemoInputs builds what `make demo` builds for the demo into dir: the
// Lambda binaries for the host (dist/<arch>/<fn>/bootstrap) and the master
// app (master-app). The Go build cache makes it quick after the first time.
func buildDemoInputs(t *testing.T, repo, dir string) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the Lambda binaries and the master app")
	}
	run := func(wd string, env []string, args ...string) {
		cmd := exec.Command(goBin, args...)
		cmd.Dir = wd
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, fn := range lambdaFunctions {
		run(repo, []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + runtime.GOARCH},
			"build", "-trimpath", "-ldflags=-s -w", "-tags", "lambda.norpc",
			"-o", filepath.Join(dir, "dist", runtime.GOARCH, fn, "bootstrap"), "./functions/"+fn)
	}
	run(filepath.Join(repo, "infra"), nil, "build", "-o", filepath.Join(dir, "master-app"), ".")
	if _, err := os.Stat(filepath.Join(dir, "master-app")); errors.Is(err, os.ErrNotExist) {
		t.Fatal("the master app did not build")
	}
}
