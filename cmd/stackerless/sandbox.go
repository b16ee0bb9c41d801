package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/faults"
)

// defaultHTTPSListen is where `stackerless sandbox` serves HTTPS, beside
// the plain HTTP port.
const defaultHTTPSListen = "127.0.0.1:4567"

type sandboxFlags struct {
	listen        string
	httpsListen   string
	caDir         string
	accounts      string
	stackDuration time.Duration
	faults        faults.Flags
	seed          int64
	verbose       bool
}

func newSandboxCommand() *cobra.Command {
	def := sandbox.DefaultOptions()
	var names []string
	for _, a := range def.Accounts {
		names = append(names, a.Name+"="+a.ID)
	}
	f := sandboxFlags{listen: def.Listen, httpsListen: defaultHTTPSListen, accounts: strings.Join(names, ","), stackDuration: def.StackDuration}
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run a local multi-account AWS (STS, IAM, S3, CloudFormation, SSM, EventBridge, Scheduler, Step Functions, Lambda, Logs)",
		Long: `Run a local AWS that speaks the real wire protocols, for tests and demos.
Every account gets fresh root keys, printed at start. Stop it with Ctrl-C.
It serves plain HTTP and HTTPS; the HTTPS certificate is signed by a CA made
at start (or kept under --ca-dir), whose file is printed with how to trust it.

Fault flags take API keys "service:Action", "service:*" or "*" (service is the
SigV4 name: sts, iam, s3, cloudformation, ssm, events), e.g.
  --throttle cloudformation:DescribeStacks=0.3 --server-errors 's3:*=5%' --latency '*=50ms'
The -after forms let the call take effect and then replace its response (a
lost response: the client retries a call that already acted), e.g.
  --server-errors-after cloudformation:CreateStack=0.5
--throttle-lambda NAME=N throttles the next N synchronous invocations of a
function (a Step Functions Task sees Lambda.TooManyRequestsException).

Fire a schedule of a running sandbox now with 'stackerless sandbox fire ARN'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSandbox(cmd, f) },
	}
	cmd.AddCommand(newSandboxFireCommand())
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", f.listen, "address to serve plain HTTP on")
	fl.StringVar(&f.httpsListen, "https-listen", f.httpsListen, "address to serve HTTPS on")
	fl.StringVar(&f.caDir, "ca-dir", "", "directory to keep the HTTPS CA in, made on first use (default: a new CA each start)")
	fl.StringVar(&f.accounts, "accounts", f.accounts, "accounts as name=id,... (12-digit IDs)")
	fl.DurationVar(&f.stackDuration, "stack-duration", f.stackDuration, "how long CloudFormation stack operations take")
	fl.StringArrayVar(&f.faults.Throttle, "throttle", nil, "throttle a share of calls: API=share (0..1 or N%), repeatable")
	fl.StringArrayVar(&f.faults.ServerErrors, "server-errors", nil, "answer a share of calls with a 5xx: API=share, repeatable")
	fl.StringArrayVar(&f.faults.ThrottleAfter, "throttle-after", nil, "let a share of calls take effect, then answer throttled: API=share, repeatable")
	fl.StringArrayVar(&f.faults.ServerErrorsAfter, "server-errors-after", nil, "let a share of calls take effect, then answer a 5xx: API=share, repeatable")
	fl.StringArrayVar(&f.faults.Latency, "latency", nil, "add latency to calls: API=duration, repeatable")
	fl.StringArrayVar(&f.faults.FailStacks, "fail-stack", nil, "make the stack NAME fail (NAME or NAME=reason), repeatable")
	fl.StringArrayVar(&f.faults.ThrottleLambda, "throttle-lambda", nil, "throttle the next N synchronous invocations of the Lambda function NAME (NAME=N), repeatable")
	fl.Int64Var(&f.seed, "seed", 0, "seed for fault injection (0 = random)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log every request to stderr")
	return cmd
}

func runSandbox(cmd *cobra.Command, f sandboxFlags) error {
	accounts, err := sandbox.ParseAccounts(f.accounts)
	if err != nil {
		return fmt.Errorf("--accounts: %w", err)
	}
	opts := sandbox.DefaultOptions()
	opts.Listen, opts.Accounts, opts.StackDuration, opts.Seed = f.listen, accounts, f.stackDuration, f.seed
	opts.HTTPSListen, opts.CADir = f.httpsListen, f.caDir
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelInfo
	}
	opts.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))

	ctx := cmd.Context()
	sb, err := sandbox.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer sb.Close()
	if err := f.faults.Apply(sb.Faults()); err != nil {
		return err
	}
	printBanner(cmd.OutOrStdout(), sb)
	<-ctx.Done()
	fmt.Fprintln(cmd.ErrOrStderr(), "stopping the sandbox")
	return sb.Close()
}

// printBanner prints one line per account (the format scripts parse), then a
// snippet to paste.
func printBanner(w io.Writer, sb *sandbox.Sandbox) {
	accts := sb.Accounts()
	for _, a := range accts {
		fmt.Fprintf(w, "%s %s AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s\n", a.Name, a.ID, a.AccessKeyID, a.SecretAccessKey)
	}
	first := accts[0]
	fmt.Fprintf(w, `
# Sandbox listening on %[1]s. Use it from a shell (account %[2]s):
export AWS_ENDPOINT_URL=%[1]s
export AWS_REGION=%[3]s
export AWS_ACCESS_KEY_ID=%[4]s
export AWS_SECRET_ACCESS_KEY=%[5]s
#
# or in ~/.aws/config (aws-sdk-go-v2 and AWS CLI >= 2.13 honour endpoint_url):
`, sb.URL(), first.Name, sb.Region(), first.AccessKeyID, first.SecretAccessKey)
	for _, a := range accts {
		fmt.Fprintf(w, "# [profile sandbox-%s]\n# region = %s\n# endpoint_url = %s\n", a.Name, sb.Region(), sb.URL())
	}
	fmt.Fprintf(w, `# (put each account's keys in ~/.aws/credentials under the same profile names)
#
# The AWS CLI before 2.13 (Debian's awscli is 2.9) ignores AWS_ENDPOINT_URL and
# endpoint_url: pass --endpoint-url %[1]s to every command, e.g.
#   aws --endpoint-url %[1]s sts get-caller-identity
#
# HTTPS (for buckets that deny requests without TLS) on %[2]s.
# Its certificate is signed by the CA in %[3]s; trust it with
#   export AWS_CA_BUNDLE=%[3]s        # AWS CLI, aws-sdk-go-v2 and the other AWS SDKs
#   export NODE_EXTRA_CA_CERTS=%[3]s  # Node.js and the CDK CLI
#   export SSL_CERT_FILE=%[3]s        # other OpenSSL tools (it replaces their default CAs)
# then use AWS_ENDPOINT_URL=%[2]s (or --endpoint-url %[2]s).
#
# The CDK CLI (npx cdk) deploys over HTTPS: with the account's keys above,
#   export AWS_ENDPOINT_URL=%[2]s NODE_EXTRA_CA_CERTS=%[3]s CDK_DISABLE_VERSION_CHECK=1
#   npx cdk bootstrap aws://%[4]s/%[5]s && npx cdk deploy
# Stop the sandbox with Ctrl-C.
`, sb.URL(), sb.HTTPSURL(), sb.CAFile(), first.ID, sb.Region())
}
