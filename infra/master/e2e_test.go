package master_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stackerless/stackerless/infra/master"
	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/cdkcli"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// deployment is the master app deployed into a sandbox by the CDK CLI, as a
// user deploys it to AWS, with the Stacker roles of templates/stacker-role.yaml
// in every account.
type deployment struct {
	sb   *sandbox.Sandbox
	cfg  aws.Config
	s3   *s3.Client
	sfn  *sfn.Client
	outs map[string]string
}

// TestEndToEnd deploys the master app once and runs the seed example
// through it; subtests share the deployment.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("deploys the master app into a sandbox (minutes)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute)
	defer cancel()
	d := deploy(ctx, t, e2eOptions)

	t.Run("upload", func(t *testing.T) {
		// Templates and profiles first: only the config's upload starts a
		// run; nor does a write to the state bucket.
		for _, f := range []string{"templates/stacker-bucket.yaml", ".aws/config"} {
			d.put(ctx, t, d.outs[master.OutputConfigBucket], f, readRepo(t, f))
		}
		d.put(ctx, t, d.outs[master.OutputStateBucket], "stacker.yaml", readRepo(t, "stacker.yaml"))
		seed := strings.Replace(string(readRepo(t, "stacker.yaml")), "stacker_bucket: ''", "stacker_bucket: "+d.outs[master.OutputTemplateBucket], 1)
		d.put(ctx, t, d.outs[master.OutputConfigBucket], "stacker.yaml", []byte(seed))
		first := d.started(ctx, t, func(in string) bool { return strings.Contains(in, `"key":"stacker.yaml"`) })
		last, hops := d.follow(ctx, t, first)
		if last.Status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("run ended %s: %s %s", last.Status, aws.ToString(last.Error), aws.ToString(last.Cause))
		}
		// loops_per_execution is 1 here: every step after the first goes
		// on in a new execution.
		if hops < 1 {
			t.Errorf("the run never continued in a new execution")
		}
		for _, account := range []string{"prod", "stage"} {
			st := d.stack(ctx, t, account, "vpc")
			if st.StackStatus != cfntypes.StackStatusCreateComplete {
				t.Errorf("vpc in %s: %s", account, st.StackStatus)
			}
		}
		d.checkReport(ctx, t, last, "succeeded")
		// Only stacker.yaml started a run.
		if n := d.executionsWith(ctx, t, func(in string) bool { return strings.Contains(in, `"aws.s3"`) }); n != 1 {
			t.Errorf("%d executions started by uploads, want 1", n)
		}
	})

	t.Run("schedule", func(t *testing.T) {
		acct, _ := d.sb.Account("master")
		deliveries, err := d.sb.Fire("arn:aws:scheduler:" + d.sb.Region() + ":" + acct.ID + ":schedule/default/" + master.DefaultStackName + "-nightly")
		if err != nil {
			t.Fatal(err)
		}
		if len(deliveries) != 1 || deliveries[0].Err != nil {
			t.Fatalf("deliveries %+v", deliveries)
		}
		last, _ := d.follow(ctx, t, deliveries[0].Result)
		if last.Status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("scheduled run ended %s: %s %s", last.Status, aws.ToString(last.Error), aws.ToString(last.Cause))
		}
		d.checkReport(ctx, t, last, "succeeded")
	})

	t.Run("console", func(t *testing.T) {
		last, _ := d.follow(ctx, t, d.start(ctx, t, `{"action":"diff","config":"s3://`+d.outs[master.OutputConfigBucket]+`/stacker.yaml"}`))
		if last.Status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("console run ended %s: %s %s", last.Status, aws.ToString(last.Error), aws.ToString(last.Cause))
		}
		d.checkReport(ctx, t, last, "succeeded")
	})

	t.Run("attacks", func(t *testing.T) { d.attacks(ctx, t) })

	t.Run("invalid config", func(t *testing.T) {
		last, _ := d.follow(ctx, t, d.start(ctx, t, `{"action":"build","config":"s3://`+d.outs[master.OutputConfigBucket]+`/missing.yaml"}`))
		if last.Status != sfntypes.ExecutionStatusFailed || aws.ToString(last.Error) != "ConfigError" || !strings.Contains(aws.ToString(last.Cause), "missing.yaml") {
			t.Errorf("execution for a missing config: %s %s %s", last.Status, aws.ToString(last.Error), aws.ToString(last.Cause))
		}
	})
}

// deployOptions shape a deployment: the sandbox's accounts beside master
// (each gets a Stacker role; all are allowed), how long stack operations
// take, and the settings file's fields other than allowed_accounts,
// architecture and functions_dir.
type deployOptions struct {
	accounts      []sandbox.AccountSpec
	stackDuration time.Duration
	settings      string
}

// e2eOptions are TestEndToEnd's: the default accounts (master, prod,
// stage), a new execution for every step after the first, a schedule.
var e2eOptions = deployOptions{
	accounts: sandbox.DefaultOptions().Accounts[1:],
	settings: `"poll_seconds": 1, "approval_poll_seconds": 2, "loops_per_execution": 1,
		"schedules": [{"name": "nightly", "expression": "cron(0 3 * * ? *)", "action": "build", "config": "stacker.yaml"}]`,
}

// deploy builds the functions and the app, bootstraps the sandbox's master
// account, deploys the app with the CDK CLI, and deploys the Stacker role
// in every account trusting the deployer.
func deploy(ctx context.Context, t testing.TB, o deployOptions) *deployment {
	sb := sandboxtest.Start(t, func(so *sandbox.Options) {
		so.Accounts = append([]sandbox.AccountSpec{sandbox.DefaultOptions().Accounts[0]}, o.accounts...)
		if o.stackDuration > 0 {
			so.StackDuration = o.stackDuration
		}
	})
	work := t.TempDir()
	fns := filepath.Join(work, "dist")
	buildFunctions(t, fns)
	arch := "x86_64"
	if runtime.GOARCH == "arm64" {
		arch = "arm64"
	}
	var ids []string
	for _, acct := range sb.Accounts() {
		ids = append(ids, `"`+acct.ID+`"`)
	}
	// The tests upload, approve and freeze with master's root keys: the
	// one writer.
	masterAcct, _ := sb.Account("master")
	settings := filepath.Join(work, "settings.json")
	writeFile(t, settings, fmt.Sprintf(`{"allowed_accounts": [%s], "architecture": %q, "functions_dir": %q,
		"config_writers": ["arn:aws:iam::%s:root"], %s}`,
		strings.Join(ids, ", "), arch, fns, masterAcct.ID, o.settings))

	cli, err := cdkcli.New(sb, "master")
	if err != nil {
		t.Fatal(err)
	}
	cli.Dir = work
	app := filepath.Join(work, "app")
	goBuild(t, "..", app, nil)
	for _, args := range [][]string{
		{"bootstrap", cli.Environment()},
		{"deploy", "--app", app, "-c", "settings=" + settings, "--require-approval", "never"},
	} {
		if out, err := cli.Run(ctx, args...); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	cfg := sb.HTTPSConfig("master")
	d := &deployment{sb: sb, cfg: cfg, s3: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), sfn: sfn.NewFromConfig(cfg)}
	d.outs = d.outputs(ctx, t)

	// Every account's Stacker role, created together, then waited for.
	role := readRepo(t, "templates/stacker-role.yaml")
	clients := map[string]*cloudformation.Client{}
	for _, acct := range sb.Accounts() {
		c := cloudformation.NewFromConfig(sb.HTTPSConfig(acct.Name))
		clients[acct.Name] = c
		if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("stacker-role"), TemplateBody: aws.String(string(role)),
			Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityNamedIam},
			Parameters: []cfntypes.Parameter{
				{ParameterKey: aws.String("MasterAccountId"), ParameterValue: aws.String(masterAcct.ID)},
				{ParameterKey: aws.String("DeployerRoleArn"), ParameterValue: aws.String(d.outs[master.OutputDeployerRoleArn])},
			}}); err != nil {
			t.Fatal(err)
		}
	}
	for name, c := range clients {
		if st := sandboxtest.WaitStack(t, c, "stacker-role"); st.StackStatus != cfntypes.StackStatusCreateComplete {
			t.Fatalf("stacker-role in %s: %s", name, st.StackStatus)
		}
	}
	return d
}

func (d *deployment) outputs(ctx context.Context, t testing.TB) map[string]string {
	t.Helper()
	st := d.stack(ctx, t, "master", master.DefaultStackName)
	m := map[string]string{}
	for _, o := range st.Outputs {
		m[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	for _, k := range []string{master.OutputConfigBucket, master.OutputStateBucket, master.OutputTemplateBucket,
		master.OutputStateMachineArn, master.OutputEventBus, master.OutputDeployerRoleArn} {
		if m[k] == "" {
			t.Fatalf("outputs %v lack %s", m, k)
		}
	}
	return m
}

func (d *deployment) stack(ctx context.Context, t testing.TB, account, name string) cfntypes.Stack {
	t.Helper()
	out, err := cloudformation.NewFromConfig(d.sb.HTTPSConfig(account)).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		t.Fatalf("stack %s in %s: %v", name, account, err)
	}
	return out.Stacks[0]
}

func (d *deployment) put(ctx context.Context, t testing.TB, bucket, key string, body []byte) {
	t.Helper()
	if _, err := d.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: strings.NewReader(string(body))}); err != nil {
		t.Fatal(err)
	}
}

// start starts an execution with input, as the console does.
func (d *deployment) start(ctx context.Context, t testing.TB, input string) string {
	t.Helper()
	out, err := d.sfn.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(d.outs[master.OutputStateMachineArn]), Input: aws.String(input)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ExecutionArn)
}

// executionsWith counts the state machine's executions whose input matches.
func (d *deployment) executionsWith(ctx context.Context, t testing.TB, match func(input string) bool) int {
	t.Helper()
	return len(d.matching(ctx, t, match))
}

func (d *deployment) matching(ctx context.Context, t testing.TB, match func(input string) bool) []string {
	t.Helper()
	var arns []string
	p := sfn.NewListExecutionsPaginator(d.sfn, &sfn.ListExecutionsInput{StateMachineArn: aws.String(d.outs[master.OutputStateMachineArn])})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Executions {
			ex, err := d.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: e.ExecutionArn})
			if err != nil {
				t.Fatal(err)
			}
			if match(aws.ToString(ex.Input)) {
				arns = append(arns, aws.ToString(e.ExecutionArn))
			}
		}
	}
	return arns
}

// started waits for the one execution whose input matches.
func (d *deployment) started(ctx context.Context, t testing.TB, match func(input string) bool) string {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		arns := d.matching(ctx, t, match)
		switch {
		case len(arns) > 1:
			t.Fatalf("%d executions started, want 1", len(arns))
		case len(arns) == 1:
			return arns[0]
		case time.Now().After(deadline):
			t.Fatal("no execution started")
		}
	}
}

// follow waits for an execution to end and, while it ended by continuing
// the run, for the execution it continued in; it returns the last one and
// how many times the run continued.
func (d *deployment) follow(ctx context.Context, t testing.TB, arn string) (*sfn.DescribeExecutionOutput, int) {
	t.Helper()
	chain := d.chain(ctx, t, arn, 5*time.Minute)
	return chain[len(chain)-1], len(chain) - 1
}

// chain waits for a run's executions to end, from its first, following
// each that continued the run; it returns them in order.
func (d *deployment) chain(ctx context.Context, t testing.TB, arn string, timeout time.Duration) []*sfn.DescribeExecutionOutput {
	t.Helper()
	var chain []*sfn.DescribeExecutionOutput
	for deadline := time.Now().Add(timeout); ; time.Sleep(250 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("execution %s still running", arn)
		}
		ex, err := d.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		if ex.Status == sfntypes.ExecutionStatusRunning {
			continue
		}
		chain = append(chain, ex)
		var out struct {
			Status      string `json:"status"`
			ContinuedIn string `json:"continued_in"`
		}
		_ = json.Unmarshal([]byte(aws.ToString(ex.Output)), &out)
		if ex.Status != sfntypes.ExecutionStatusSucceeded || out.Status != "continued" {
			return chain
		}
		arn = out.ContinuedIn
	}
}

// checkReport reads the report of the run an execution ended.
func (d *deployment) checkReport(ctx context.Context, t testing.TB, ex *sfn.DescribeExecutionOutput, status string) {
	t.Helper()
	var out struct {
		Report struct {
			RunID     string `json:"run_id"`
			Status    string `json:"status"`
			ReportKey string `json:"report_key"`
		} `json:"report"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(ex.Output)), &out); err != nil || out.Report.ReportKey == "" {
		t.Fatalf("execution output %s: %v", aws.ToString(ex.Output), err)
	}
	if out.Report.Status != status {
		t.Errorf("report status %s, want %s", out.Report.Status, status)
	}
	obj, err := d.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(d.outs[master.OutputStateBucket]), Key: aws.String(out.Report.ReportKey)})
	if err != nil {
		t.Fatalf("report %s: %v", out.Report.ReportKey, err)
	}
	obj.Body.Close()
	// The run's lock is gone.
	var keys []string
	list, err := d.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(d.outs[master.OutputStateBucket]), Prefix: aws.String("locks/")})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range list.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	if len(keys) != 0 {
		t.Errorf("locks left after the run: %v", keys)
	}
}

// repoRoot is the repository's root (infra/master/../..).
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func readRepo(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// buildFunctions builds every functions/<name> for Linux on the host's
// architecture into dir/<GOARCH>/<name>/bootstrap, as `make functions` does
// for the sandbox. The Go build cache keeps later builds quick.
func buildFunctions(t testing.TB, dir string) {
	t.Helper()
	for _, name := range []string{"prepare", "advance", "report", "continue"} {
		cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w",
			"-o", filepath.Join(dir, runtime.GOARCH, name, "bootstrap"), "./functions/"+name)
		cmd.Dir = repoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build functions/%s: %v\n%s", name, err, out)
		}
	}
}

// goBuild builds the package in dir (relative to this package) to out.
func goBuild(t testing.TB, dir, out string, env []string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", dir, err, msg)
	}
}
