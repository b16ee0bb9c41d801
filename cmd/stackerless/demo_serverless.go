package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/spf13/cobra"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/cdkcli"
)

type serverlessFlags struct {
	dir           string
	functionsDir  string
	app           string
	stackDuration time.Duration
	interval      time.Duration
}

// lambdaFunctions are the functions the master app deploys (functions/).
var lambdaFunctions = []string{"prepare", "advance", "report", "continue"}

// serverlessSeed are the example's files the serverless demo uploads: no
// stacker-bucket template, the deployment has its template bucket.
var serverlessSeed = []string{"stacker.yaml", ".aws/config", "templates/stacker-role.yaml"}

// newDemoCommand is `stackerless demo` (`make demo`): the serverless path.
func newDemoCommand() *cobra.Command {
	f := serverlessFlags{dir: ".", functionsDir: "dist", app: "bin/stackerless-master", stackDuration: 2 * time.Second, interval: time.Second}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Deploy stackerless and run the cross-account example through it, in a local AWS sandbox",
		Long: `Start a local AWS sandbox with three accounts (master, prod, stage) and set
stackerless up in it as on AWS: cdk bootstrap and cdk deploy of the master app
(the real Lambda binaries, the synthesised state machine), the Stacker role in
every account. Then upload stacker's cross-account example with stackerless
submit, follow the run it starts with stackerless watch, check the VPCs in
prod and stage, change one variable and upload again. Each step shows the
command you would type against real AWS.

It needs the Lambda binaries (--functions-dir, from make functions), the
master app built as a binary (--app) and the pinned CDK CLI in node_modules:
make demo builds them all. Everything it starts stops when it ends, also on
Ctrl-C. 'stackerless demo cli' is the laptop path (make demo-cli).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.interval <= 0 || f.stackDuration < 0 {
				return &exitError{code: 2, err: errors.New("demo: --interval must be positive and --stack-duration not negative")}
			}
			return runServerlessDemo(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.dir, "dir", f.dir, "the repository: the example (stacker.yaml, .aws/config, templates/)")
	fl.StringVar(&f.functionsDir, "functions-dir", f.functionsDir, "the Lambda binaries, <dir>/<arch>/<name>/bootstrap (make functions), relative to --dir")
	fl.StringVar(&f.app, "app", f.app, "the master CDK app as a binary (make master-app), relative to --dir")
	fl.DurationVar(&f.stackDuration, "stack-duration", f.stackDuration, "how long the sandbox's CloudFormation stack operations take")
	fl.DurationVar(&f.interval, "interval", f.interval, "the state machine's wait between two steps, and how often watch reads the run")
	cmd.AddCommand(newDemoCLICommand())
	return cmd
}

// serverlessDemo is one run of the serverless walk-through.
type serverlessDemo struct {
	narrator
	f        serverlessFlags
	sb       *sandbox.Sandbox
	master   sandbox.Account
	work     string // temporary: the example's copy, the settings, cdk.out
	seed     string // work/cross-account, the directory submitted
	fns, app string // absolute paths
	outputs  map[string]string
	runID    string
}

func runServerlessDemo(ctx context.Context, out, errOut io.Writer, f serverlessFlags) (err error) {
	started := time.Now()
	d := &serverlessDemo{narrator: newNarrator(out, errOut), f: f}
	if err := d.checkInputs(); err != nil {
		return err
	}
	var stop func() error
	d.sb, d.work, stop, err = startDemoSandbox(ctx, "127.0.0.1:0", f.stackDuration)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := stop(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	d.master, _ = d.sb.Account("master")
	d.seed = filepath.Join(d.work, "cross-account")

	env := &envSaver{}
	defer env.restore()
	wd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("read working directory: %w", err)
	}
	defer func() { _ = os.Chdir(wd) }()

	steps := []demoStep{
		{"Build the CLI and the Lambda binaries", d.showBuild},
		{"Start a local AWS with three accounts", func(context.Context) error { return d.startSandbox(env) }},
		{"Bootstrap the CDK in master", d.cdkBootstrap},
		{"Deploy the master app with the CDK", d.cdkDeploy},
		{"Create the Stacker role in every account, admitting the deployer role", d.stackerRoles},
		{"Point the example at the deployment", d.prepareSeed},
		{"Upload the example: the upload starts a run", d.submit},
		{"Follow the run", d.watch},
		{"Check the VPCs in prod and stage", d.checkVPCs},
		{"Change one variable and upload again", d.update},
	}
	d.say("stackerless demo: stackerless deployed into a local AWS (master, prod, stage) as on AWS, and stacker's")
	d.say("cross-account example run through it: an upload starts the state machine, whose Lambdas deploy the stacks.")
	d.say("Each step shows the command you would type against real AWS (lines starting with $), then its output here.")
	if err := d.runSteps(ctx, steps); err != nil {
		return err
	}
	d.say("")
	d.say("Done in %s: stackerless ran the example twice from uploads. The sandbox stops now and takes", time.Since(started).Round(time.Second))
	d.say("everything with it; `stackerless sandbox` keeps one running to explore (its banner says how).")
	return nil
}

// checkInputs finds the example and the built artefacts before anything
// starts: the usual mistake is running the binary alone, not `make demo`.
func (d *serverlessDemo) checkInputs() error {
	for _, name := range serverlessSeed {
		if _, err := os.Stat(filepath.Join(d.f.dir, name)); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("demo: the example's %s is missing in %s: run from the repository root or pass --dir", name, d.f.dir)}
		}
	}
	abs := func(p string) (string, error) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(d.f.dir, p)
		}
		return filepath.Abs(p)
	}
	var err error
	if d.fns, err = abs(d.f.functionsDir); err != nil {
		return err
	}
	if d.app, err = abs(d.f.app); err != nil {
		return err
	}
	for _, fn := range lambdaFunctions {
		if _, err := os.Stat(filepath.Join(d.fns, runtime.GOARCH, fn, "bootstrap")); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("demo: no Lambda binary %s: run make demo (or make functions)", filepath.Join(d.fns, runtime.GOARCH, fn, "bootstrap"))}
		}
	}
	if _, err := os.Stat(d.app); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("demo: no master app binary %s: run make demo (or make master-app)", d.app)}
	}
	if _, err := cdkcli.FindBin(); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("demo: %w (make node_modules)", err)}
	}
	return nil
}

func (d *serverlessDemo) showBuild(context.Context) error {
	d.command("make build functions")
	d.say("# make demo has built them: the CLI, and each Lambda as a bootstrap binary (arm64 for AWS, the host's for here).")
	for _, fn := range lambdaFunctions {
		p := filepath.Join(d.fns, runtime.GOARCH, fn, "bootstrap")
		info, err := os.Stat(p)
		if err != nil {
			return err
		}
		d.say("%-9s %s  %4.1f MB", fn, relTo(d.f.dir, p), float64(info.Size())/1e6)
	}
	return nil
}

// relTo shows p relative to dir when it is inside it.
func relTo(dir, p string) string {
	base, err := filepath.Abs(dir)
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(base, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

func (d *serverlessDemo) startSandbox(env *envSaver) error {
	d.command("stackerless sandbox")
	d.say("# On AWS these are your organization's accounts. Here: the sandbox, in-process.")
	for _, a := range d.sb.Accounts() {
		d.say("%-7s %s", a.Name, a.ID)
	}
	d.say("Every API call goes to %s (AWS_ENDPOINT_URL), region %s; its CA is trusted", d.sb.HTTPSURL(), d.sb.Region())
	d.say("through AWS_CA_BUNDLE and NODE_EXTRA_CA_CERTS. The commands below run with master's keys.")
	// The stackerless verbs run in-process with the SDK's own settings:
	// master's keys, the sandbox's HTTPS endpoint (the deployment's buckets
	// deny requests without TLS). The user's shell must not leak in.
	env.isolateAWS()
	env.set("AWS_ENDPOINT_URL", d.sb.HTTPSURL())
	env.set("AWS_CA_BUNDLE", d.sb.CAFile())
	env.set("AWS_REGION", d.sb.Region())
	env.set("AWS_CONFIG_FILE", os.DevNull)
	env.set("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	env.set("AWS_ACCESS_KEY_ID", d.master.AccessKeyID)
	env.set("AWS_SECRET_ACCESS_KEY", d.master.SecretAccessKey)
	return nil
}

func (d *serverlessDemo) cdk(ctx context.Context, args ...string) (string, error) {
	cli, err := cdkcli.New(d.sb, "master")
	if err != nil {
		return "", err
	}
	cli.Dir = d.work
	return cli.Run(ctx, args...)
}

func (d *serverlessDemo) cdkBootstrap(ctx context.Context) error {
	env := "aws://" + d.master.ID + "/" + d.sb.Region()
	d.command("npx cdk bootstrap " + env)
	out, err := d.cdk(ctx, "bootstrap", env)
	if err != nil {
		return err
	}
	d.showLines(out, "bootstrapped")
	return nil
}

// showLines prints the lines of out that contain one of the words.
func (d *serverlessDemo) showLines(out string, words ...string) {
	for _, l := range strings.Split(out, "\n") {
		for _, w := range words {
			if strings.Contains(l, w) {
				d.say("%s", strings.TrimSpace(l))
				break
			}
		}
	}
}

func (d *serverlessDemo) cdkDeploy(ctx context.Context) error {
	var ids []string
	for _, a := range d.sb.Accounts() {
		ids = append(ids, `"`+a.ID+`"`)
	}
	arch := "x86_64"
	if runtime.GOARCH == "arm64" {
		arch = "arm64"
	}
	secs := max(1, int(d.f.interval.Round(time.Second)/time.Second))
	settings := fmt.Sprintf(`{
  "allowed_accounts": [%s],
  "architecture": %q,
  "functions_dir": %q,
  "poll_seconds": %d
}
`, strings.Join(ids, ", "), arch, d.fns, secs)
	path := filepath.Join(d.work, "settings.json")
	if err := os.WriteFile(path, []byte(settings), 0o644); err != nil {
		return err
	}
	d.say("# infra/settings.json: the accounts the Lambdas may assume roles in, the Lambdas' architecture, ...")
	d.say("%s", strings.TrimRight(settings, "\n"))
	d.command("cd infra && npx cdk deploy --require-approval never")
	out, err := d.cdk(ctx, "deploy", "--app", d.app, "-c", "settings="+path, "--require-approval", "never")
	if err != nil {
		return err
	}
	d.showLines(out, "✅")
	st, err := d.describe(ctx, "master", defaultDeploymentStack)
	if err != nil {
		return err
	}
	d.outputs = map[string]string{}
	for _, o := range st.Outputs {
		d.outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	d.command("aws cloudformation describe-stacks --stack-name " + defaultDeploymentStack + " --query 'Stacks[0].Outputs' --output text")
	keys := make([]string, 0, len(d.outputs))
	for k := range d.outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		d.say("%-16s %s", k, d.outputs[k])
	}
	for _, k := range []string{"ConfigBucket", "TemplateBucket", "DeployerRoleArn", "StateMachineArn"} {
		if d.outputs[k] == "" {
			return fmt.Errorf("stack %s has no output %s", defaultDeploymentStack, k)
		}
	}
	return nil
}

func (d *serverlessDemo) describe(ctx context.Context, account, stack string) (cfntypes.Stack, error) {
	out, err := cloudformation.NewFromConfig(d.sb.HTTPSConfig(account)).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		return cfntypes.Stack{}, fmt.Errorf("describe %s in %s: %w", stack, account, err)
	}
	if len(out.Stacks) == 0 {
		return cfntypes.Stack{}, fmt.Errorf("describe %s in %s: no stack", stack, account)
	}
	return out.Stacks[0], nil
}

func (d *serverlessDemo) stackerRoles(ctx context.Context) error {
	deployer := d.outputs["DeployerRoleArn"]
	d.command("aws cloudformation deploy --stack-name stacker-role",
		"--template-file templates/stacker-role.yaml",
		"--parameter-overrides MasterAccountId="+d.master.ID+" DeployerRoleArn="+deployer,
		"--capabilities CAPABILITY_NAMED_IAM")
	d.say("# With each account's admin credentials: master first, whose role the others trust.")
	body, err := os.ReadFile(filepath.Join(d.f.dir, "templates", "stacker-role.yaml"))
	if err != nil {
		return fmt.Errorf("read stacker-role template: %w", err)
	}
	params := []cfntypes.Parameter{
		{ParameterKey: aws.String("MasterAccountId"), ParameterValue: aws.String(d.master.ID)},
		{ParameterKey: aws.String("DeployerRoleArn"), ParameterValue: aws.String(deployer)},
	}
	var others []string
	for _, a := range d.sb.Accounts() {
		if a.Name != d.master.Name {
			others = append(others, a.Name)
		}
	}
	for _, wave := range [][]string{{d.master.Name}, others} {
		for _, a := range wave {
			_, err := cloudformation.NewFromConfig(d.sb.HTTPSConfig(a)).CreateStack(ctx, &cloudformation.CreateStackInput{
				StackName: aws.String("stacker-role"), TemplateBody: aws.String(string(body)), Parameters: params,
				Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityNamedIam},
			})
			if err != nil {
				return fmt.Errorf("create stacker-role in %s: %w", a, err)
			}
		}
		for _, a := range wave {
			c := cloudformation.NewFromConfig(d.sb.HTTPSConfig(a))
			w := cloudformation.NewStackCreateCompleteWaiter(c, func(o *cloudformation.StackCreateCompleteWaiterOptions) {
				o.MinDelay, o.MaxDelay = 200*time.Millisecond, time.Second
			})
			st, err := w.WaitForOutput(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("stacker-role")}, 10*time.Minute)
			if err != nil {
				return fmt.Errorf("stacker-role in %s: %w", a, err)
			}
			role := ""
			for _, o := range st.Stacks[0].Outputs {
				if aws.ToString(o.OutputKey) == "StackerRole" {
					role = aws.ToString(o.OutputValue)
				}
			}
			d.say("%-7s stacker-role %s   StackerRole %s", a, st.Stacks[0].StackStatus, role)
		}
	}
	d.say("# master's role admits the deployer role (the Lambdas') and humans with MFA; prod's and stage's")
	d.say("# trust master's role only.")
	return nil
}

// The seed's stacker.yaml lines the demo changes.
const (
	unsetBucket       = "stacker_bucket: ''"
	bucketStackMarker = "  - name: stacker-bucket"
	stageStackMarker  = "  - name: stage/vpc"
)

func (d *serverlessDemo) prepareSeed(context.Context) error {
	for _, name := range serverlessSeed {
		data, err := os.ReadFile(filepath.Join(d.f.dir, name))
		if err != nil {
			return fmt.Errorf("read example: %w", err)
		}
		dst := filepath.Join(d.seed, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("copy example: %w", err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return fmt.Errorf("copy example: %w", err)
		}
	}
	bucket := d.outputs["TemplateBucket"]
	d.command("cp -R stacker.yaml .aws templates cross-account/ && cd cross-account")
	d.say("# The account ids in stacker.yaml and .aws/config are the sandbox's; on AWS, put yours there.")
	d.say("# stacker_bucket: the master stack's TemplateBucket output. Why no stacker-bucket stack: on a laptop")
	d.say("# it is a bootstrap step (build the bucket, then set stacker_bucket). The master app already made")
	d.say("# that bucket, readable by every allowed account's Stacker role, so the example's stacker-bucket")
	d.say("# stack (and templates/stacker-bucket.yaml) is left out rather than making a second one.")
	path := filepath.Join(d.seed, "stacker.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	updated, removed, err := pointSeedAtDeployment(string(data), bucket)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
		return fmt.Errorf("write stacker.yaml: %w", err)
	}
	d.say("-%s", unsetBucket)
	d.say("+stacker_bucket: %s", bucket)
	for _, l := range removed {
		d.say("-%s", l)
	}
	return nil
}

// pointSeedAtDeployment sets the seed's stacker_bucket and removes its
// stacker-bucket stack (with the comment above it); it returns the new
// text and the removed lines.
func pointSeedAtDeployment(seed, bucket string) (string, []string, error) {
	if !strings.Contains(seed, "\n"+unsetBucket+"\n") {
		return "", nil, fmt.Errorf("the example's stacker.yaml has no line %q to replace", unsetBucket)
	}
	seed = strings.Replace(seed, "\n"+unsetBucket+"\n", "\nstacker_bucket: "+bucket+"\n", 1)
	lines := strings.Split(seed, "\n")
	start := -1
	for i, l := range lines {
		if l == bucketStackMarker {
			start = i
		}
	}
	if start < 0 {
		return "", nil, fmt.Errorf("the example's stacker.yaml has no stack %q", strings.TrimSpace(bucketStackMarker))
	}
	for start > 0 && strings.HasPrefix(strings.TrimSpace(lines[start-1]), "#") {
		start--
	}
	end := start
	for end < len(lines) && strings.TrimSpace(lines[end]) != "" {
		end++
	}
	// The blank line after the stack goes with it.
	if end < len(lines) {
		end++
	}
	removed := append([]string(nil), lines[start:end]...)
	if len(removed) > 0 && removed[len(removed)-1] == "" {
		removed = removed[:len(removed)-1]
	}
	out := append(append([]string(nil), lines[:start]...), lines[end:]...)
	return strings.Join(out, "\n"), removed, nil
}

func (d *serverlessDemo) submit(ctx context.Context) error {
	d.say("# Bundles stacker.yaml, templates/ and .aws/config, checks them as the deployment's Prepare does,")
	d.say("# uploads the bundle to the config bucket and prints the run the upload started.")
	var stdout bytes.Buffer
	if err := d.stackerless(ctx, &stdout, "submit", "."); err != nil {
		return err
	}
	d.runID = strings.TrimSpace(stdout.String())
	d.say("%s", d.runID)
	if d.runID == "" {
		return errors.New("submit printed no run id")
	}
	return nil
}

func (d *serverlessDemo) watch(ctx context.Context) error {
	d.say("# The state machine's Lambdas assume each stack's profile and drive CloudFormation; watch reads the")
	d.say("# run's state from the state bucket, then prints the run report (also in the state bucket, and an event).")
	return d.stackerless(ctx, d.out, "watch", "--interval", d.f.interval.String(), d.runID)
}

func (d *serverlessDemo) checkVPCs(ctx context.Context) error {
	d.say("# The example's own check, with each account's credentials (the AWS CLI's output; here through the SDK).")
	for _, account := range []string{"prod", "stage"} {
		d.command("aws cloudformation describe-stacks --profile " + account + " --stack-name vpc --query 'Stacks[0].Outputs' --output text")
		st, err := d.describe(ctx, account, "vpc")
		if err != nil {
			return err
		}
		outs := append([]cfntypes.Output(nil), st.Outputs...)
		sort.Slice(outs, func(i, j int) bool { return aws.ToString(outs[i].OutputKey) < aws.ToString(outs[j].OutputKey) })
		for _, o := range outs {
			// --output text prints each output's fields in key order.
			var fields []string
			if v := aws.ToString(o.Description); v != "" {
				fields = append(fields, v)
			}
			if v := aws.ToString(o.ExportName); v != "" {
				fields = append(fields, v)
			}
			fields = append(fields, aws.ToString(o.OutputKey), aws.ToString(o.OutputValue))
			d.say("%s", strings.Join(fields, "\t"))
		}
	}
	return nil
}

func (d *serverlessDemo) update(ctx context.Context) error {
	const variable = "    variables:\n      CidrBlock: 10.130.0.0/16"
	path := filepath.Join(d.seed, "stacker.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	text := string(data)
	i := strings.Index(text, stageStackMarker+"\n")
	if i < 0 {
		return fmt.Errorf("the example's stacker.yaml has no stack %q", strings.TrimSpace(stageStackMarker))
	}
	// The end of stage/vpc's block: the first blank line or the end.
	end := i + strings.Index(text[i:], "\n\n")
	if end < i {
		end = len(strings.TrimRight(text, "\n"))
	}
	text = text[:end] + "\n" + variable + text[end:]
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return err
	}
	d.say("# stage's VPC gets its own CIDR block (the blueprint's default is 10.128.0.0/16):")
	d.say(" %s", stageStackMarker)
	for _, l := range strings.Split(variable, "\n") {
		d.say("+%s", l)
	}
	d.say("# submit --wait uploads and follows the run as watch does: stage's VPC is updated, prod's is skipped.")
	return d.stackerless(ctx, d.out, "submit", "--wait", "--interval", d.f.interval.String(), ".")
}

// stackerless shows a stackerless command and runs it in-process in the
// example's directory; stdout goes to out, stderr (status, progress) to the
// demo's output.
func (d *serverlessDemo) stackerless(ctx context.Context, out io.Writer, args ...string) error {
	shown := args
	if args[0] == "watch" || args[0] == "submit" {
		// --interval is the demo's pace, not what a user types.
		shown = nil
		for i := 0; i < len(args); i++ {
			if args[i] == "--interval" {
				i++
				continue
			}
			shown = append(shown, args[i])
		}
	}
	d.command("stackerless " + strings.Join(shown, " "))
	if err := os.Chdir(d.seed); err != nil {
		return fmt.Errorf("enter %s: %w", d.seed, err)
	}
	cmd := newRootCommand()
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(d.out)
	cmd.SetIn(strings.NewReader(""))
	if err := cmd.ExecuteContext(ctx); err != nil {
		return fmt.Errorf("stackerless %s: %w", args[0], err)
	}
	return nil
}
