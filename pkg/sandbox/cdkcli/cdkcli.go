// Package cdkcli runs the AWS CDK CLI (aws-cdk, pinned in the repository's
// package.json and installed by `make node_modules`) against a sandbox, the
// way a user runs it against AWS: the same commands, with the SDK's own
// settings (AWS_ENDPOINT_URL, the account's keys) pointing it at the
// sandbox's HTTPS listener, whose CA Node trusts through NODE_EXTRA_CA_CERTS.
//
//	cli, err := cdkcli.New(sb, "master")
//	out, err := cli.Run(ctx, "bootstrap", cli.Environment())
//	out, err = cli.Run(ctx, "deploy", "--app", appBinary, "--require-approval", "never")
package cdkcli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/asl"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// CLI is the CDK CLI acting as one sandbox account.
type CLI struct {
	bin     string
	env     []string
	account sandbox.Account
	region  string
	// Dir is the directory the CLI runs in (cdk.json, cdk.out); empty is
	// the working directory.
	Dir string
}

// New returns the CDK CLI of the nearest node_modules (see FindBin) signing
// as the named account's root user and sending every call to sb's HTTPS
// listener.
func New(sb *sandbox.Sandbox, account string) (*CLI, error) {
	a, ok := sb.Account(account)
	if !ok {
		return nil, fmt.Errorf("cdk cli: no sandbox account %q", account)
	}
	bin, err := FindBin()
	if err != nil {
		return nil, err
	}
	env := append(baseEnv(os.Environ()),
		"AWS_ENDPOINT_URL="+sb.HTTPSURL(),
		"AWS_REGION="+sb.Region(),
		"AWS_DEFAULT_REGION="+sb.Region(),
		"AWS_ACCESS_KEY_ID="+a.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+a.SecretAccessKey,
	)
	env = append(env, sandboxtest.CAEnv(sb)...)
	return &CLI{bin: bin, env: env, account: a, region: sb.Region()}, nil
}

// baseEnv is the caller's environment without the AWS settings that could
// send the CLI elsewhere (profiles, other keys, config files) and with the
// CLI kept offline and quiet: no version check, no telemetry, no instance
// metadata lookups, no jsii warning for Node 20.
func baseEnv(environ []string) []string {
	var env []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "CDK_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"AWS_CONFIG_FILE="+os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
		"CDK_DISABLE_VERSION_CHECK=1",
		"CDK_DISABLE_CLI_TELEMETRY=true",
		"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20",
	)
}

// Environment is the account's CDK environment, aws://<account>/<region>,
// as `cdk bootstrap` takes it.
func (c *CLI) Environment() string {
	return "aws://" + c.account.ID + "/" + c.region
}

// Env is the environment the CLI runs with (it holds the account's keys).
func (c *CLI) Env() []string { return append([]string(nil), c.env...) }

// Setenv adds name=value to the CLI's environment, e.g. a setting its app
// reads when the CLI runs it to synthesize.
func (c *CLI) Setenv(name, value string) { c.env = append(c.env, name+"="+value) }

// Run runs `cdk args... --no-notices` and returns its output, stdout and
// stderr interleaved as the user sees them. A failure's error carries the
// output's last lines. When ctx ends, the CLI and what it started (the
// app's synth process) are killed.
func (c *CLI) Run(ctx context.Context, args ...string) (string, error) {
	args = append(append([]string(nil), args...), "--no-notices")
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Dir, cmd.Env = c.Dir, c.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	isolate(cmd)
	cmd.Cancel = func() error { return kill(cmd) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("cdk %s: %w\n%s", args[0], err, tail(out.String(), 40))
	}
	return out.String(), nil
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FindBin returns the CDK CLI's executable, node_modules/.bin/cdk, in the
// node_modules the sandbox's Step Functions uses too: under
// $STACKERLESS_NODE_MODULES if set, else the nearest above the working
// directory or above the sandbox's source.
func FindBin() (string, error) {
	bin := filepath.Join(".bin", "cdk")
	nm, err := asl.NodeModulesHolding(bin, "the CDK CLI (aws-cdk)")
	if err != nil {
		return "", err
	}
	return filepath.Join(nm, bin), nil
}
