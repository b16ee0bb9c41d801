package cdkcli_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/cdkcli"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// TestBootstrap runs `cdk bootstrap` (the CLI's modern template) into two
// sandbox accounts at once, as a user bootstraps each account, and checks
// what the CLI later relies on: the version parameter, the TLS-only assets
// bucket and the roles it assumes. A second bootstrap changes nothing.
func TestBootstrap(t *testing.T) {
	sb := sandboxtest.Start(t)
	for _, account := range []string{"master", "prod"} {
		t.Run(account, func(t *testing.T) {
			t.Parallel()
			cli, err := cdkcli.New(sb, account)
			if err != nil {
				t.Fatal(err)
			}
			cli.Dir = t.TempDir()
			out, err := cli.Run(t.Context(), "bootstrap", cli.Environment())
			if err != nil {
				t.Fatal(err)
			}
			if want := "Environment " + cli.Environment() + " bootstrapped."; !strings.Contains(out, want) {
				t.Fatalf("output lacks %q:\n%s", want, out)
			}
			checkBootstrapped(t, sb, account)
			if account != "master" {
				return
			}
			// Bootstrapping again, as users do after upgrading the CLI, changes nothing.
			out, err = cli.Run(t.Context(), "bootstrap", cli.Environment())
			if err != nil {
				t.Fatal(err)
			}
			if want := "bootstrapped (no changes)."; !strings.Contains(out, want) {
				t.Fatalf("second bootstrap: output lacks %q:\n%s", want, out)
			}
		})
	}
}

func checkBootstrapped(t *testing.T, sb *sandbox.Sandbox, account string) {
	t.Helper()
	ctx := t.Context()
	a, _ := sb.Account(account)
	cfg := sb.HTTPSConfig(account)
	stacks, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("CDKToolkit")})
	if err != nil {
		t.Fatal(err)
	}
	st := stacks.Stacks[0]
	outputs := map[string]string{}
	for _, o := range st.Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	if st.StackStatus != "CREATE_COMPLETE" || outputs["BootstrapVersion"] == "" {
		t.Fatalf("CDKToolkit %s, outputs %v", st.StackStatus, outputs)
	}
	param, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/cdk-bootstrap/hnb659fds/version")})
	if err != nil {
		t.Fatal(err)
	}
	if v := aws.ToString(param.Parameter.Value); v != outputs["BootstrapVersion"] {
		t.Errorf("version parameter %s, stack output %s", v, outputs["BootstrapVersion"])
	}

	// The assets bucket takes uploads over TLS only, as its policy says.
	bucket := outputs["BucketName"]
	if want := "cdk-hnb659fds-assets-" + a.ID + "-" + sb.Region(); bucket != want {
		t.Errorf("BucketName %q, want %q", bucket, want)
	}
	put := func(cfg aws.Config) error {
		_, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String("probe"), Body: strings.NewReader("x")})
		return err
	}
	if err := put(cfg); err != nil {
		t.Errorf("put over HTTPS: %v", err)
	}
	var apiErr smithy.APIError
	if err := put(sb.AWSConfig(account)); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
		t.Errorf("put over plain HTTP: %v, want AccessDenied", err)
	}

	// The CLI's roles trust the account: its root user assumes each.
	for _, role := range []string{"deploy-role", "file-publishing-role", "image-publishing-role", "lookup-role"} {
		arn := "arn:aws:iam::" + a.ID + ":role/cdk-hnb659fds-" + role + "-" + a.ID + "-" + sb.Region()
		if err := assume(ctx, cfg, arn); err != nil {
			t.Errorf("assume %s: %v", role, err)
		}
	}
	// The execution role is CloudFormation's alone.
	exec := "arn:aws:iam::" + a.ID + ":role/cdk-hnb659fds-cfn-exec-role-" + a.ID + "-" + sb.Region()
	if err := assume(ctx, cfg, exec); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
		t.Errorf("assume cfn-exec-role as the account: %v, want AccessDenied", err)
	}
}

func assume(ctx context.Context, cfg aws.Config, arn string) error {
	_, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String("probe")})
	return err
}
