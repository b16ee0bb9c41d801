package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stackerless/stackerless/pkg/sandbox"
)

// bootstrapStackerRoles deploys templates/stacker-role.yaml in every account
// with its root keys, as the seed README's first step, and waits for them.
func bootstrapStackerRoles(t *testing.T, sb *sandbox.Sandbox, extra ...cfntypes.Parameter) {
	t.Helper()
	ctx := t.Context()
	body, err := os.ReadFile(filepath.Join("..", "..", "templates", "stacker-role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	master, _ := sb.Account("master")
	for _, acct := range sb.Accounts() {
		client := cloudformation.NewFromConfig(sb.AWSConfig(acct.Name))
		_, err := client.CreateStack(ctx, &cloudformation.CreateStackInput{
			StackName:    aws.String("stacker-role"),
			TemplateBody: aws.String(string(body)),
			Parameters:   append([]cfntypes.Parameter{{ParameterKey: aws.String("MasterAccountId"), ParameterValue: aws.String(master.ID)}}, extra...),
			Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityNamedIam},
		})
		if err != nil {
			t.Fatalf("create stacker-role in %s: %v", acct.Name, err)
		}
		waiter := cloudformation.NewStackCreateCompleteWaiter(client, func(o *cloudformation.StackCreateCompleteWaiterOptions) {
			o.MinDelay, o.MaxDelay = 20*time.Millisecond, 100*time.Millisecond
		})
		if err := waiter.Wait(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("stacker-role")}, 30*time.Second); err != nil {
			t.Fatalf("stacker-role in %s: %v", acct.Name, err)
		}
	}
}

// mfaSession puts master MFA session credentials in the environment, as
// `aws sts get-session-token --serial-number ... --token-code ...` would.
func mfaSession(ctx context.Context, t *testing.T, sb *sandbox.Sandbox) {
	t.Helper()
	master, _ := sb.Account("master")
	out, err := sts.NewFromConfig(sb.AWSConfig("master")).GetSessionToken(ctx, &sts.GetSessionTokenInput{
		SerialNumber: aws.String("arn:aws:iam::" + master.ID + ":mfa/alice"), TokenCode: aws.String("123456"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", aws.ToString(out.Credentials.AccessKeyId))
	t.Setenv("AWS_SECRET_ACCESS_KEY", aws.ToString(out.Credentials.SecretAccessKey))
	t.Setenv("AWS_SESSION_TOKEN", aws.ToString(out.Credentials.SessionToken))
}

// TestSeedExample runs the repository's cross-account example as its README
// says: the stacker bucket in master, then the VPCs in prod and stage through
// the .aws/config role chain, with templates read from the master bucket.
func TestSeedExample(t *testing.T) {
	c, sb := newCLI(t)
	ctx := t.Context()
	bootstrapStackerRoles(t, sb)
	for _, f := range []string{"stacker.yaml", ".aws/config", "templates/stacker-bucket.yaml", "templates/stacker-role.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "..", f))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(c.dir, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(c.dir, ".aws", "config"))

	t.Run("without MFA the master role is refused", func(t *testing.T) {
		r := c.run("", "build", "--profile", "master", "--stacks", "stacker-bucket", "stacker.yaml")
		r.expect(t, 1, "AccessDenied")
	})

	mfaSession(ctx, t, sb)
	r := c.run("", "build", "--profile", "master", "--stacks", "stacker-bucket", "stacker.yaml")
	r.expect(t, 0, "stacker-bucket: complete (creating new stack)")
	r.lacks(t, "prod/vpc")

	m := regexp.MustCompile(`(?m)^\tBucketId: (\S+)$`).FindStringSubmatch(c.run("", "info", "--profile", "master", "stacker.yaml").out)
	if m == nil {
		t.Fatal("info shows no BucketId")
	}
	bucket := m[1]
	seed, _ := os.ReadFile(filepath.Join(c.dir, "stacker.yaml"))
	withBucket := strings.Replace(string(seed), "stacker_bucket: ''", "stacker_bucket: "+bucket, 1)
	if withBucket == string(seed) {
		t.Fatal("seed stacker.yaml has no `stacker_bucket: ''` line to replace")
	}
	c.writeConfig("stacker.yaml", withBucket)

	c.run("", "build", "--profile", "master", "stacker.yaml").expect(t, 0,
		"stacker-bucket: skipped (nochange)",
		"prod/vpc: complete (creating new stack)",
		"stage/vpc: complete (creating new stack)")

	for _, acct := range []string{"prod", "stage"} {
		out, err := cloudformation.NewFromConfig(sb.AWSConfig(acct)).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("vpc")})
		if err != nil {
			t.Fatalf("vpc in %s: %v", acct, err)
		}
		if got := out.Stacks[0].StackStatus; got != cfntypes.StackStatusCreateComplete {
			t.Errorf("vpc in %s is %s", acct, got)
		}
	}
	list, err := s3.NewFromConfig(sb.AWSConfig("master")).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("stack_templates/")})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	for _, want := range []string{"stack_templates/prod/vpc/prod/vpc-", "stack_templates/stage/vpc/stage/vpc-"} {
		if !slicesHasPrefix(keys, want) {
			t.Errorf("bucket lacks a template under %s (has %v)", want, keys)
		}
	}
}

func slicesHasPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}
