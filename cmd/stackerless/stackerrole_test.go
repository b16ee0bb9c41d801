package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// TestStackerRoleDeployerDoor deploys templates/stacker-role.yaml with a
// DeployerRoleArn: the deployer (no MFA) enters master's Stacker role and
// chains from it into the other accounts; any other principal of master
// without MFA is refused at master's door and at the sub-accounts' roles.
func TestStackerRoleDeployerDoor(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	deployer := createMasterRole(ctx, t, sb, "stackerless-deployer")
	intruder := createMasterRole(ctx, t, sb, "not-the-deployer")
	bootstrapStackerRoles(t, sb, cfntypes.Parameter{ParameterKey: aws.String("DeployerRoleArn"), ParameterValue: aws.String(deployer)})

	stackerIn := func(acct string) string {
		a, _ := sb.Account(acct)
		return "arn:aws:iam::" + a.ID + ":role/Stacker"
	}
	rootSTS := sts.NewFromConfig(sb.AWSConfig("master"))

	deployerSTS := assumeInto(ctx, t, sb, rootSTS, deployer)
	masterStacker := assumeInto(ctx, t, sb, deployerSTS, stackerIn("master"))
	for _, acct := range []string{"prod", "stage"} {
		id, err := assumeInto(ctx, t, sb, masterStacker, stackerIn(acct)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("deployer -> master Stacker -> %s Stacker: %v", acct, err)
		}
		if a, _ := sb.Account(acct); aws.ToString(id.Account) != a.ID {
			t.Errorf("chained into %s but the caller is in %s", acct, aws.ToString(id.Account))
		}
	}

	intruderSTS := assumeInto(ctx, t, sb, rootSTS, intruder)
	for _, target := range []string{stackerIn("master"), stackerIn("prod")} {
		_, err := intruderSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(target), RoleSessionName: aws.String("probe")})
		if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
			t.Errorf("a master role other than the deployer assumed %s without MFA: %v", target, err)
		}
	}
	// Master's own credentials without MFA stay outside, as in the seed.
	if _, err := rootSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(stackerIn("master")), RoleSessionName: aws.String("probe")}); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("master's credentials without MFA assumed %s: %v", stackerIn("master"), err)
	}
}

// createMasterRole makes a role in master that master's principals may
// assume and that may assume any role (its trust is what is under test).
func createMasterRole(ctx context.Context, t *testing.T, sb *sandbox.Sandbox, name string) string {
	t.Helper()
	master, _ := sb.Account("master")
	client := iam.NewFromConfig(sb.AWSConfig("master"))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"arn:aws:iam::` + master.ID + `:root"}}]}`
	out, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`
	if _, err := client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("assume"), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Role.Arn)
}

// assumeInto assumes role with the given client and returns an STS client
// signing with the new session.
func assumeInto(ctx context.Context, t *testing.T, sb *sandbox.Sandbox, client *sts.Client, role string) *sts.Client {
	t.Helper()
	out, err := client.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("test")})
	if err != nil {
		t.Fatalf("assume %s: %v", role, err)
	}
	c := out.Credentials
	return sts.NewFromConfig(sb.ConfigWith(credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))))
}
