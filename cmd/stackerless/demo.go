package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/stackerless/stackerless/pkg/awsprofile"
	"github.com/stackerless/stackerless/pkg/sandbox"
)

type demoFlags struct {
	dir           string
	listen        string
	stackDuration time.Duration
	pollInterval  time.Duration
	keep          bool
}

// seedFiles are the cross-account example's files the demo copies; the
// repository's own copies are never modified.
var seedFiles = []string{"stacker.yaml", ".aws/config", "templates/stacker-role.yaml", "templates/stacker-bucket.yaml"}

// newDemoCLICommand is `stackerless demo cli`: the example through the
// local CLI, as stacker runs it from a laptop (`make demo-cli`).
func newDemoCLICommand() *cobra.Command {
	f := demoFlags{dir: ".", listen: "127.0.0.1:0", stackDuration: time.Second, pollInterval: time.Second}
	cmd := &cobra.Command{
		Use:   "cli",
		Short: "Deploy the cross-account example with the local CLI (stacker's laptop path), step by step",
		Long: `Start a local AWS sandbox with three accounts (master, prod, stage) and run
stacker's cross-account example in it with the real stackerless verbs: the
Stacker roles, MFA session credentials, the stacker bucket in master, then a
VPC in prod and in stage through the role chain in .aws/config. Each step
shows the command you would type against real AWS.

The demo works in a temporary copy of the example (stacker.yaml, .aws/config,
templates/ in --dir); nothing reaches AWS.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.pollInterval <= 0 || f.stackDuration < 0 {
				return &exitError{code: 2, err: errors.New("demo: --poll-interval must be positive and --stack-duration not negative")}
			}
			return runDemo(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.dir, "dir", f.dir, "directory holding the example (stacker.yaml, .aws/config, templates/)")
	fl.StringVar(&f.listen, "listen", f.listen, "address the sandbox listens on")
	fl.DurationVar(&f.stackDuration, "stack-duration", f.stackDuration, "how long the sandbox's CloudFormation stack operations take")
	fl.DurationVar(&f.pollInterval, "poll-interval", f.pollInterval, "how often to poll CloudFormation")
	fl.BoolVar(&f.keep, "keep", false, "keep the VPCs and the sandbox running at the end, until Ctrl-C")
	return cmd
}

// narrator prints a walk-through: numbered steps, the commands a user
// would type (lines starting with $) and what they show.
type narrator struct {
	out, errOut io.Writer
	styled      bool
	step, steps int
}

func newNarrator(out, errOut io.Writer) narrator {
	n := narrator{out: out, errOut: errOut}
	if file, ok := out.(*os.File); ok && isTerminal(file) && os.Getenv("NO_COLOR") == "" {
		n.styled = true
	}
	return n
}

// demo is one run of the CLI walkthrough.
type demo struct {
	narrator
	f        demoFlags
	sb       *sandbox.Sandbox
	master   sandbox.Account
	work     string // the temporary copy of the example
	bucket   string
	profiles *awsprofile.Provider
}

func runDemo(ctx context.Context, out, errOut io.Writer, f demoFlags) (err error) {
	d := &demo{narrator: newNarrator(out, errOut), f: f}
	// Checked before anything starts: the usual mistake is running the
	// binary outside the repository.
	for _, name := range seedFiles {
		if _, err := os.Stat(filepath.Join(f.dir, name)); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("demo: the example's %s is missing in %s: run from the repository root or pass --dir", name, f.dir)}
		}
	}

	var stop func() error
	d.sb, d.work, stop, err = startDemoSandbox(ctx, f.listen, f.stackDuration)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := stop(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	d.master, _ = d.sb.Account("master")

	// The CLI verbs read the process's environment and resolve template
	// paths from the working directory, as stacker does: set both for the
	// demo and put them back afterwards.
	env := &envSaver{}
	defer env.restore()
	wd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("read working directory: %w", err)
	}
	defer func() { _ = os.Chdir(wd) }()

	steps := []demoStep{
		{"Start a local AWS with three accounts", d.startSandbox},
		{"Work in a copy of the example", func(ctx context.Context) error { return d.copySeed(env) }},
		{"Create the Stacker role in every account, with that account's admin credentials", d.bootstrapRoles},
		{"Get MFA session credentials in master (the human's step)", func(ctx context.Context) error { return d.mfaSession(ctx, env) }},
		{"Check the role chain in .aws/config", d.callerIdentities},
		{"Bootstrap the stacker bucket in master", d.buildBucket},
		{"Point stacker_bucket at the new bucket", d.setBucket},
		{"Provision a VPC in prod and in stage through their Stacker roles", d.buildAll},
		{"CloudFormation in prod and stage read the templates from master's bucket", d.listTemplates},
		{"The dependency graph", d.graph},
		{"Nothing left to change", d.diff},
		{"The stacks' outputs, in every account", d.info},
	}
	if f.keep {
		steps = append(steps, demoStep{"Keep the sandbox running", d.keepRunning})
	} else {
		steps = append(steps, demoStep{"Destroy the VPCs", d.destroy})
	}
	fmt.Fprintln(out, "stackerless demo cli: stacker's cross-account example from a laptop, deployed into a local AWS sandbox.")
	fmt.Fprintln(out, "Each step shows the command you would type against real AWS (lines starting with $), then its output here.")
	if err := d.runSteps(ctx, steps); err != nil {
		return err
	}
	if !f.keep {
		d.say("")
		d.say("Done: the example ran end to end. The sandbox stops now and takes the bucket and roles with it;")
		d.say("run `stackerless demo cli --keep` to explore them with the AWS CLI.")
	}
	return nil
}

// demoStep is one numbered step of a walk-through.
type demoStep struct {
	title string
	run   func(context.Context) error
}

// runSteps runs the steps in order under their headings; the first
// failure ends the walk-through.
func (d *narrator) runSteps(ctx context.Context, steps []demoStep) error {
	d.steps = len(steps)
	for _, s := range steps {
		d.heading(s.title)
		if err := s.run(ctx); err != nil {
			return fmt.Errorf("demo step %d (%s): %w", d.step, s.title, err)
		}
	}
	return nil
}

// startDemoSandbox starts a demo's sandbox and makes its temporary
// directory; stop closes the sandbox (its Lambda instances and state
// machine interpreter with it) and removes the directory.
func startDemoSandbox(ctx context.Context, listen string, stackDuration time.Duration) (sb *sandbox.Sandbox, work string, stop func() error, err error) {
	opts := sandbox.DefaultOptions()
	opts.Listen, opts.StackDuration = listen, stackDuration
	sb, err = sandbox.Start(ctx, opts)
	if err != nil {
		return nil, "", nil, err
	}
	work, err = os.MkdirTemp("", "stackerless-demo-")
	if err != nil {
		_ = sb.Close()
		return nil, "", nil, fmt.Errorf("create demo directory: %w", err)
	}
	return sb, work, func() error {
		err := sb.Close()
		_ = os.RemoveAll(work)
		return err
	}, nil
}

func (d *narrator) heading(title string) {
	d.step++
	line := fmt.Sprintf("==> Step %d/%d: %s", d.step, d.steps, title)
	if d.styled {
		line = "\x1b[1m" + line + "\x1b[0m"
	}
	fmt.Fprintf(d.out, "\n%s\n", line)
}

// command prints what a user would type: one command, continued over lines.
func (d *narrator) command(lines ...string) {
	fmt.Fprintf(d.out, "$ %s\n", strings.Join(lines, " \\\n    "))
}

func (d *narrator) say(format string, args ...any) {
	fmt.Fprintf(d.out, format+"\n", args...)
}

func (d *demo) startSandbox(context.Context) error {
	d.say("# On AWS these are your organization's accounts. Here: `stackerless sandbox`, in-process.")
	for _, a := range d.sb.Accounts() {
		d.say("%-7s %s", a.Name, a.ID)
	}
	d.say("Every API call goes to %s (AWS_ENDPOINT_URL), region %s.", d.sb.URL(), d.sb.Region())
	return nil
}

func (d *demo) copySeed(env *envSaver) error {
	d.command("cp -R stacker.yaml .aws templates "+d.work, "&& cd "+d.work)
	for _, name := range seedFiles {
		data, err := os.ReadFile(filepath.Join(d.f.dir, name))
		if err != nil {
			return fmt.Errorf("read example: %w", err)
		}
		dst := filepath.Join(d.work, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("copy example: %w", err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return fmt.Errorf("copy example: %w", err)
		}
	}
	if err := os.Chdir(d.work); err != nil {
		return fmt.Errorf("enter demo directory: %w", err)
	}
	// The SDK's own settings point every client at the sandbox. Whatever
	// the user's shell holds (profiles, keys, endpoints) must not leak in.
	env.set("AWS_ENDPOINT_URL", d.sb.URL())
	env.set("AWS_REGION", d.sb.Region())
	env.set("AWS_CONFIG_FILE", filepath.Join(d.work, ".aws", "config"))
	env.set("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(d.work, ".aws", "credentials"))
	env.isolateAWS()
	d.say("stacker.yaml      the stacker bucket in master, a VPC in prod and in stage (profile: picks the account)")
	d.say(".aws/config       profiles master, prod, stage: each assumes its account's Stacker role")
	d.say("templates/        stacker-role.yaml, stacker-bucket.yaml")
	return nil
}

func (d *demo) bootstrapRoles(ctx context.Context) error {
	d.command("aws cloudformation deploy --stack-name stacker-role",
		"--template-file templates/stacker-role.yaml",
		"--parameter-overrides MasterAccountId="+d.master.ID,
		"--capabilities CAPABILITY_NAMED_IAM")
	d.say("# In master first, then in the other accounts: their roles trust master's role, which must exist.")
	body, err := os.ReadFile(filepath.Join(d.work, "templates", "stacker-role.yaml"))
	if err != nil {
		return fmt.Errorf("read stacker-role template: %w", err)
	}
	// The other accounts' roles trust master's role, and IAM refuses a trust
	// policy naming a role that does not exist ("Invalid principal in
	// policy"): master's role comes first, then the others together.
	var others []sandbox.Account
	for _, a := range d.sb.Accounts() {
		if a.Name != d.master.Name {
			others = append(others, a)
		}
	}
	for _, wave := range [][]sandbox.Account{{d.master}, others} {
		if err := d.createRoleStacks(ctx, string(body), wave); err != nil {
			return err
		}
	}
	d.say("# The prod and stage roles trust only master's Stacker role; every role wants MFA.")
	return nil
}

// createRoleStacks creates the stacker-role stack in each account at once,
// then waits for them and shows their role ARNs.
func (d *demo) createRoleStacks(ctx context.Context, body string, accts []sandbox.Account) error {
	for _, a := range accts {
		_, err := cloudformation.NewFromConfig(d.sb.AWSConfig(a.Name)).CreateStack(ctx, &cloudformation.CreateStackInput{
			StackName:    aws.String("stacker-role"),
			TemplateBody: aws.String(body),
			Parameters:   []cfntypes.Parameter{{ParameterKey: aws.String("MasterAccountId"), ParameterValue: aws.String(d.master.ID)}},
			Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityNamedIam},
		})
		if err != nil {
			return fmt.Errorf("create stacker-role in %s: %w", a.Name, err)
		}
	}
	for _, a := range accts {
		client := cloudformation.NewFromConfig(d.sb.AWSConfig(a.Name))
		waiter := cloudformation.NewStackCreateCompleteWaiter(client, func(o *cloudformation.StackCreateCompleteWaiterOptions) {
			o.MinDelay, o.MaxDelay = d.f.pollInterval, d.f.pollInterval
		})
		stack, err := waiter.WaitForOutput(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("stacker-role")}, 10*time.Minute)
		if err != nil {
			return fmt.Errorf("stacker-role in %s: %w", a.Name, err)
		}
		role := ""
		for _, o := range stack.Stacks[0].Outputs {
			if aws.ToString(o.OutputKey) == "StackerRole" {
				role = aws.ToString(o.OutputValue)
			}
		}
		d.say("%-7s stacker-role %s   StackerRole %s", a.Name, stack.Stacks[0].StackStatus, role)
	}
	return nil
}

func (d *demo) mfaSession(ctx context.Context, env *envSaver) error {
	serial := "arn:aws:iam::" + d.master.ID + ":mfa/demo"
	d.command("aws sts get-session-token --serial-number "+serial, "--token-code 123456")
	d.command("export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... AWS_SESSION_TOKEN=...")
	d.command("export AWS_CONFIG_FILE=.aws/config")
	out, err := sts.NewFromConfig(d.sb.AWSConfig("master")).GetSessionToken(ctx, &sts.GetSessionTokenInput{
		SerialNumber: aws.String(serial), TokenCode: aws.String("123456"),
	})
	if err != nil {
		return fmt.Errorf("get session token: %w", err)
	}
	c := out.Credentials
	env.set("AWS_ACCESS_KEY_ID", aws.ToString(c.AccessKeyId))
	env.set("AWS_SECRET_ACCESS_KEY", aws.ToString(c.SecretAccessKey))
	env.set("AWS_SESSION_TOKEN", aws.ToString(c.SessionToken))
	d.say("Session %s, MFA-authenticated, expires %s (the sandbox takes any 6-digit code).",
		aws.ToString(c.AccessKeyId), aws.ToTime(c.Expiration).UTC().Format(time.RFC3339))
	return nil
}

func (d *demo) callerIdentities(ctx context.Context) error {
	d.command("for p in master prod stage; do aws sts get-caller-identity --profile $p --query Arn --output text; done")
	for _, name := range []string{"master", "prod", "stage"} {
		cfg, err := d.profileConfig(ctx, name)
		if err != nil {
			return err
		}
		id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return fmt.Errorf("profile %s: %w", name, err)
		}
		d.say("%s", aws.ToString(id.Arn))
	}
	return nil
}

// profileConfig resolves a profile of the demo's .aws/config as the CLI
// verbs do, with the session credentials in the environment.
func (d *demo) profileConfig(ctx context.Context, name string) (aws.Config, error) {
	if d.profiles == nil {
		p, err := awsprofile.NewProvider(filepath.Join(d.work, ".aws", "config"))
		if err != nil {
			return aws.Config{}, fmt.Errorf("load .aws/config: %w", err)
		}
		d.profiles = p
	}
	cfg, err := d.profiles.Config(ctx, name, "")
	if err != nil {
		return aws.Config{}, fmt.Errorf("profile %s: %w", name, err)
	}
	return cfg, nil
}

func (d *demo) buildBucket(ctx context.Context) error {
	return d.stackerless(ctx, "build", "--profile", "master", "--stacks", "stacker-bucket", "stacker.yaml")
}

func (d *demo) setBucket(ctx context.Context) error {
	var buf strings.Builder
	if err := d.stackerlessTo(ctx, io.MultiWriter(d.out, &buf), "info", "--profile", "master", "stacker.yaml"); err != nil {
		return err
	}
	for _, line := range strings.Split(buf.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "\tBucketId: "); ok {
			d.bucket = strings.TrimSpace(v)
		}
	}
	if d.bucket == "" {
		return errors.New("stackerless info shows no BucketId output for stacker-bucket")
	}
	const unset = "stacker_bucket: ''"
	d.command(fmt.Sprintf(`sed -i "s/^%s/stacker_bucket: %s/" stacker.yaml`, unset, d.bucket))
	path := filepath.Join(d.work, "stacker.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read stacker.yaml: %w", err)
	}
	updated := strings.Replace(string(data), "\n"+unset+"\n", "\nstacker_bucket: "+d.bucket+"\n", 1)
	if updated == string(data) {
		return fmt.Errorf("the example's stacker.yaml has no line %q to replace", unset)
	}
	if err := os.WriteFile(path, []byte(updated), 0o644); err != nil {
		return fmt.Errorf("write stacker.yaml: %w", err)
	}
	d.say("stacker_bucket: %s", d.bucket)
	return nil
}

func (d *demo) buildAll(ctx context.Context) error {
	return d.stackerless(ctx, "build", "--profile", "master", "stacker.yaml")
}

func (d *demo) listTemplates(ctx context.Context) error {
	d.command("aws s3 ls --recursive s3://" + d.bucket + "/stack_templates/")
	out, err := s3.NewFromConfig(d.sb.AWSConfig("master")).ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket: aws.String(d.bucket), Prefix: aws.String("stack_templates/"),
	})
	if err != nil {
		return fmt.Errorf("list templates: %w", err)
	}
	for _, o := range out.Contents {
		d.say("%s %8d %s", aws.ToTime(o.LastModified).UTC().Format(time.DateTime), aws.ToInt64(o.Size), aws.ToString(o.Key))
	}
	d.say("# The bucket policy lets prod's and stage's Stacker roles s3:GetObject; nobody else outside master.")
	return nil
}

func (d *demo) graph(ctx context.Context) error {
	// JSON lists every stack; dot (stacker's default) shows only edges,
	// and this example has none.
	return d.stackerless(ctx, "graph", "--format", "json", "stacker.yaml")
}

func (d *demo) diff(ctx context.Context) error {
	return d.stackerless(ctx, "diff", "--profile", "master", "stacker.yaml")
}

func (d *demo) info(ctx context.Context) error {
	if err := d.stackerless(ctx, "info", "--profile", "master", "stacker.yaml"); err != nil {
		return err
	}
	// info names stacks, not accounts: both VPC stacks are "vpc".
	d.command("for p in prod stage; do aws cloudformation describe-stacks --profile $p --stack-name vpc",
		"--query 'Stacks[0].[StackId,StackStatus]' --output text; done")
	for _, name := range []string{"prod", "stage"} {
		cfg, err := d.profileConfig(ctx, name)
		if err != nil {
			return err
		}
		out, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("vpc")})
		if err != nil {
			return fmt.Errorf("describe vpc in %s: %w", name, err)
		}
		d.say("%s\t%s", aws.ToString(out.Stacks[0].StackId), out.Stacks[0].StackStatus)
	}
	return nil
}

func (d *demo) destroy(ctx context.Context) error {
	return d.stackerless(ctx, "destroy", "--profile", "master", "--stacks", "prod/vpc,stage/vpc", "--force", "stacker.yaml")
}

func (d *demo) keepRunning(ctx context.Context) error {
	d.say("# The VPCs stay. Explore with the AWS CLI (root keys below), or with the demo's files in")
	d.say("#   %s", d.work)
	d.say("# after getting a session as in step 4 (the Stacker roles want MFA):")
	d.say("#   cd %s && export AWS_CONFIG_FILE=.aws/config", d.work)
	d.say("#   stackerless info --profile master stacker.yaml")
	d.say("")
	printBanner(d.out, d.sb)
	<-ctx.Done()
	fmt.Fprintln(d.errOut, "stopping the sandbox")
	return nil
}

// stackerless shows a stackerless command and runs it in-process with the
// real verbs; build, diff and destroy poll at the demo's interval.
func (d *demo) stackerless(ctx context.Context, args ...string) error {
	return d.stackerlessTo(ctx, d.out, args...)
}

func (d *demo) stackerlessTo(ctx context.Context, out io.Writer, args ...string) error {
	d.command("stackerless " + strings.Join(args, " "))
	run := args
	switch args[0] {
	case "build", "diff", "destroy":
		run = append([]string{args[0], "--poll-interval", d.f.pollInterval.String()}, args[1:]...)
	}
	cmd := newRootCommand()
	cmd.SetArgs(run)
	// stacker reports on stderr; the walkthrough shows both streams as a
	// terminal would, in order.
	cmd.SetOut(out)
	cmd.SetErr(out)
	// Nobody answers prompts during the demo.
	cmd.SetIn(strings.NewReader(""))
	if err := cmd.ExecuteContext(ctx); err != nil {
		return fmt.Errorf("stackerless %s: %w", args[0], err)
	}
	return nil
}

// envSaver changes environment variables and remembers how to put them back.
type envSaver struct {
	saved []savedEnv
}

type savedEnv struct {
	key, value string
	was        bool
}

func (e *envSaver) remember(key string) {
	v, ok := os.LookupEnv(key)
	e.saved = append(e.saved, savedEnv{key: key, value: v, was: ok})
}

func (e *envSaver) set(key, value string) {
	e.remember(key)
	_ = os.Setenv(key, value)
}

func (e *envSaver) unset(key string) {
	e.remember(key)
	_ = os.Unsetenv(key)
}

// isolateAWS clears the AWS settings of the user's shell (profiles, keys,
// per-service endpoints) that must not leak into a demo: it sets its own.
func (e *envSaver) isolateAWS() {
	e.set("AWS_EC2_METADATA_DISABLED", "true")
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_ENDPOINT_URL_STS",
		"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_CLOUDFORMATION", "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL_SSM",
		"AWS_ENDPOINT_URL_SFN", "AWS_ENDPOINT_URL_LAMBDA", "AWS_CA_BUNDLE",
		"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "STACKER_STACK_POLL_TIME"} {
		e.unset(k)
	}
}

// restore undoes the changes, newest first, so a key changed twice ends
// with its original value.
func (e *envSaver) restore() {
	for i := len(e.saved) - 1; i >= 0; i-- {
		s := e.saved[i]
		if s.was {
			_ = os.Setenv(s.key, s.value)
		} else {
			_ = os.Unsetenv(s.key)
		}
	}
	e.saved = nil
}
