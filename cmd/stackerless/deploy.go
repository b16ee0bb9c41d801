package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/stackerless/stackerless/pkg/awsprofile"
	"github.com/stackerless/stackerless/pkg/deploy"
	"github.com/stackerless/stackerless/pkg/engine"
)

// noStacksWarning is stacker's warning for a run with no stacks.
const noStacksWarning = "WARNING: No stacks detected (error in config?)"

// exitError carries a process exit code: 1 when a stack failed, 2 for usage
// and config errors.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// stackerFlags are the options of stacker's commands.
type stackerFlags struct {
	region, profile  string
	stacks, targets  []string
	env              []string
	maxParallel      int
	interactive      bool
	recreateFailed   bool
	continueRollback bool
	replacementsOnly bool
	tail             bool
	force            []string
	forceDestroy     bool
	outline          bool
	verbose          bool
	dump             string
	pollInterval     time.Duration
	retryFor         time.Duration
}

// registerCommon adds the options every stacker command takes.
func (f *stackerFlags) registerCommon(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.env, "env", "e", nil, "environment override KEY=VALUE (repeatable); overrides the environment file")
	fl.StringVarP(&f.region, "region", "r", "", "default AWS region for stacks that set none")
	fl.StringVarP(&f.profile, "profile", "p", "", "default AWS profile for stacks that set none")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log what CloudFormation reports at each poll (debug)")
	fl.BoolVarP(&f.interactive, "interactive", "i", false, "show change sets and ask before executing them")
	fl.BoolVar(&f.replacementsOnly, "replacements-only", false, "with --interactive, only ask about replacements")
	fl.BoolVar(&f.recreateFailed, "recreate-failed", false, "delete and create again stacks whose creation failed")
	fl.BoolVar(&f.continueRollback, "continue-rollback", false, "finish failed update rollbacks (ContinueUpdateRollback) before updating")
}

// registerSelection adds --stacks and its alias --targets: stack or target
// names (repeatable, or comma-separated).
func (f *stackerFlags) registerSelection(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.stacks, "stacks", nil, "only these stacks or targets (build and diff add their dependencies, destroy their dependents)")
	fl.StringSliceVar(&f.targets, "targets", nil, "same as --stacks")
}

// selection is what --stacks and --targets name together.
func (f *stackerFlags) selection() []string {
	return append(slices.Clone(f.stacks), f.targets...)
}

func (f *stackerFlags) register(cmd *cobra.Command, action engine.Action) {
	f.registerCommon(cmd)
	f.registerSelection(cmd)
	if action == "info" {
		return
	}
	fl := cmd.Flags()
	fl.IntVarP(&f.maxParallel, "max-parallel", "j", 0, "stacks in flight at once (0 = no limit)")
	fl.BoolVarP(&f.tail, "tail", "t", false, "print stack events as they happen")
	fl.DurationVar(&f.pollInterval, "poll-interval", pollIntervalDefault(), "how often to poll CloudFormation; the default comes from STACKER_STACK_POLL_TIME (seconds), as in stacker")
	fl.DurationVar(&f.retryFor, "retry-for", 10*time.Minute, "how long a stack keeps retrying AWS calls that are throttled or fail on AWS's side before it fails (0 = no limit)")
	switch action {
	case engine.Destroy:
		fl.BoolVarP(&f.forceDestroy, "force", "f", false, "destroy the stacks (without it, only print the plan)")
	default:
		fl.StringSliceVar(&f.force, "force", nil, "update these locked stacks anyway")
		fl.BoolVarP(&f.outline, "outline", "o", false, "print the plan and exit")
		fl.StringVarP(&f.dump, "dump", "d", "", "render the templates into DIR and exit, without AWS calls")
	}
}

// pollIntervalDefault reads STACKER_STACK_POLL_TIME (seconds), as stacker does.
func pollIntervalDefault() time.Duration {
	if v := os.Getenv("STACKER_STACK_POLL_TIME"); v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
			return time.Duration(secs * float64(time.Second))
		}
	}
	return 30 * time.Second
}

// configArgs splits stacker's positional arguments: [env-file] config.
func configArgs(args []string) (envFile, configPath string) {
	if len(args) == 2 {
		return args[0], args[1]
	}
	return "", args[0]
}

func newStackerCommand(action engine.Action, short string) *cobra.Command {
	f := &stackerFlags{}
	cmd := &cobra.Command{
		Use:   string(action) + " [env-file] config",
		Short: short,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return &exitError{code: 2, err: fmt.Errorf("%s takes [env-file] config, got %d arguments", action, len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStacker(cmd.Context(), cmd, action, f, args)
		},
	}
	f.register(cmd, action)
	return cmd
}

// loadProject loads and validates the config as far as checks asks. Only
// CheckAll reads the AWS profiles: graph and --dump make no AWS call and do
// not need them.
func loadProject(cmd *cobra.Command, f *stackerFlags, args []string, checks deploy.Checks) (*deploy.Project, error) {
	envFile, configPath := configArgs(args)
	stderr := cmd.ErrOrStderr()
	opts := deploy.Options{
		ConfigPath: configPath, Stdin: cmd.InOrStdin(), EnvFile: envFile, Env: f.env,
		Profile: f.profile, Region: f.region, Checks: checks,
		Warn: func(msg string) { fmt.Fprintln(stderr, "warning:", msg) },
	}
	if checks == deploy.CheckAll {
		provider, err := newProvider(cmd)
		if err != nil {
			return nil, &exitError{code: 2, err: err}
		}
		opts.AWS = provider
		opts.HasProfile = func(name string) bool { return provider.File() != nil && provider.File().Profiles[name] != nil }
		opts.CheckProfile = provider.Check
	}
	proj, err := deploy.Load(opts)
	if err != nil {
		if deploy.IsConfigError(err) {
			return nil, &exitError{code: 2, err: err}
		}
		return nil, err
	}
	return proj, nil
}

// newProvider reads the AWS profiles as the AWS CLI does: AWS_CONFIG_FILE,
// else ~/.aws/config (a missing file just means no profiles), and static
// keys from the shared credentials file, as `aws configure` puts them.
func newProvider(cmd *cobra.Command) (*awsprofile.Provider, error) {
	awsConfigFile := os.Getenv("AWS_CONFIG_FILE")
	if awsConfigFile == "" {
		if home, err := os.UserHomeDir(); err == nil {
			awsConfigFile = filepath.Join(home, ".aws", "config")
		}
	}
	if _, err := os.Stat(awsConfigFile); err != nil {
		awsConfigFile = ""
	}
	credsFile := os.Getenv("AWS_SHARED_CREDENTIALS_FILE")
	if credsFile == "" {
		if home, err := os.UserHomeDir(); err == nil {
			credsFile = filepath.Join(home, ".aws", "credentials")
		}
	}
	opts := []awsprofile.Option{awsprofile.WithCredentialsFile(credsFile)}
	if isTerminal(os.Stdin) {
		opts = append(opts, awsprofile.WithTokenProvider(promptMFA(cmd)))
	}
	return awsprofile.NewProvider(awsConfigFile, opts...)
}

// providerMode is the line stacker logs once its config is loaded, for
// every command; its functional tests grep for it.
func providerMode(w io.Writer, interactive bool) {
	if interactive {
		fmt.Fprintln(w, "Using interactive AWS provider mode.")
	} else {
		fmt.Fprintln(w, "Using default AWS provider mode")
	}
}

func promptMFA(cmd *cobra.Command) awsprofile.TokenProvider {
	return func(serial string) (string, error) {
		fmt.Fprintf(cmd.ErrOrStderr(), "Enter MFA code for %s: ", serial)
		line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
		return strings.TrimSpace(line), err
	}
}

// runStacker runs build, diff, destroy or info. As stacker, everything it
// reports goes to stderr (stacker logs it); stdout has only what stacker
// prints: the interactive prompts.
func runStacker(ctx context.Context, cmd *cobra.Command, action engine.Action, f *stackerFlags, args []string) error {
	checks := deploy.CheckAll
	if f.dump != "" {
		checks = deploy.CheckOffline
	}
	proj, err := loadProject(cmd, f, args, checks)
	if err != nil {
		return err
	}
	log := cmd.ErrOrStderr()
	providerMode(log, f.interactive)
	if action == "info" {
		return info(ctx, proj, f.selection(), log)
	}
	sel := deploy.Selection{Stacks: f.selection(), Force: f.force}
	run, err := proj.Plan(action, sel)
	if err != nil {
		return configExit(err)
	}
	steps, err := proj.Steps(action, sel)
	if err != nil {
		return configExit(err)
	}
	if len(run.Stacks) == 0 {
		fmt.Fprintln(log, noStacksWarning)
	}
	if f.dump != "" {
		if err := proj.CheckInline(ctx, run); err != nil {
			return configExit(err)
		}
		return proj.Dump(ctx, run, f.dump, log)
	}
	if f.outline || action == engine.Destroy && !f.forceDestroy {
		printPlan(log, proj, action, steps)
		if action == engine.Destroy {
			fmt.Fprintln(log, `To execute this plan, run with "--force" flag.`)
		}
		return nil
	}
	opts := engine.Options{
		MaxParallel: f.maxParallel, Interactive: f.interactive, RecreateFailed: f.recreateFailed,
		ContinueRollback: f.continueRollback, ReplacementsOnly: f.replacementsOnly, Tail: f.tail,
		RetryFor: f.retryFor,
	}
	if err := proj.Start(ctx, run, opts); err != nil {
		return configExit(err)
	}
	if action == engine.Diff && len(steps) > 0 {
		fmt.Fprintf(log, "Diffing stacks: %s\n", strings.Join(steps, ", "))
	}
	var reporter engine.Reporter = &lineReporter{w: log}
	if file, ok := log.(*os.File); ok && isTerminal(file) && fitsOnScreen(file, len(run.Stacks)) {
		reporter = newBoardReporter(log, run)
	}
	eng := &engine.Engine{Clients: proj, Preparer: proj, Reporter: reporter}
	if f.verbose {
		eng.Log = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	// Asked on stdin, as stacker does (also when it is a pipe); closed or
	// empty input means nobody is there and protected stacks stop for approval.
	eng.Approver = &promptApprover{in: bufio.NewReader(cmd.InOrStdin()), out: cmd.OutOrStdout(), log: log}
	if err := drive(ctx, eng, run, f.pollInterval, log); err != nil {
		return err
	}
	switch out := run.Outcome(); out.Status {
	case engine.StatusWaitingApproval:
		return &exitError{code: 1, err: fmt.Errorf("change sets need approval (protected stacks, no terminal to ask on): %s", strings.Join(out.Awaiting, ", "))}
	case engine.StatusFailed:
		return &exitError{code: 1, err: errors.New(engine.FailedSummary(out.Failed))}
	}
	return nil
}

// configExit gives usage and config errors exit code 2.
func configExit(err error) error {
	if deploy.IsConfigError(err) {
		return &exitError{code: 2, err: err}
	}
	return err
}

// persistentFailures is how many failed steps in a row earn a warning: a
// blip passes unseen, a lasting problem (a wrong endpoint, an outage) does not
// go unexplained until --retry-for runs out.
const persistentFailures = 5

// drive advances run until it is done, starting a step every poll interval;
// transient failures are retried (engine.Driver), with a warning once they
// persist.
func drive(ctx context.Context, eng *engine.Engine, run *engine.Run, interval time.Duration, warn io.Writer) error {
	d := &engine.Driver{Engine: eng, Interval: interval, OnRetry: func(failures int, err error) {
		if failures == persistentFailures {
			fmt.Fprintf(warn, "warning: AWS calls keep failing, retrying (--retry-for bounds it): %v\n", err)
		}
		if eng.Log != nil {
			eng.Log.Debug("step failed, retrying", "failures", failures, "error", err.Error())
		}
	}}
	return d.Drive(ctx, run)
}

// printPlan is the outline stacker prints for --outline and destroy without
// --force: its plan's steps, stacks and targets, in its order.
func printPlan(w io.Writer, proj *deploy.Project, action engine.Action, steps []string) {
	// stacker names the plan and, per step, the Python function that acts.
	names := map[engine.Action]struct{ desc, fn string }{
		engine.Build:   {"Create/Update stacks", "_launch_stack"},
		engine.Destroy: {"Destroy stacks", "_destroy_stack"},
		engine.Diff:    {"Diff stacks", "_diff_stack"},
	}[action]
	fmt.Fprintf(w, "Plan %q:\n", names.desc)
	for i, name := range steps {
		fn := names.fn
		if proj.Config.Stack(name) == nil {
			fn = "target_fn"
		}
		fmt.Fprintf(w, "  - step: %d: target: %q, action: %q\n", i+1, name, fn)
	}
}

// promptApprover asks on the terminal, as stacker's interactive mode: the
// question on stdout (Python's input() prompt), what it is about on stderr
// (stacker logs it), except the notice stacker prints to stdout.
type promptApprover struct {
	in       *bufio.Reader
	out, log io.Writer
}

func (p *promptApprover) Approve(_ context.Context, s *engine.StackState, q engine.Question) (bool, error) {
	if q.Notice != "" {
		fmt.Fprintln(p.out, q.Notice)
	}
	if q.Summary != "" {
		fmt.Fprintln(p.log, strings.TrimRight(q.Summary, "\n"))
	}
	options := "y/n"
	if q.Details != "" {
		options = "y/n/v" // v shows the full change set, then asks again
	}
	for {
		fmt.Fprintf(p.out, "Execute the above changes? [%s] ", options)
		line, err := p.in.ReadString('\n')
		if err != nil && line == "" {
			fmt.Fprintln(p.out)
			if errors.Is(err, io.EOF) {
				return false, engine.ErrUnattended
			}
			return false, fmt.Errorf("read approval for %s: %w", s.Name, err)
		}
		switch answer := strings.ToLower(strings.TrimSpace(line)); {
		case answer == "v" && q.Details != "":
			fmt.Fprintln(p.log, q.Details)
			options = "y/n"
		default:
			return answer == "y", nil
		}
	}
}
