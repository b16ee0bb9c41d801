package sts_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// TestSDKSourceIdentity: a source identity is set only where the trust
// policy allows sts:SetSourceIdentity, persists through role chaining (the
// next role's trust must allow it again, and sees it as aws:SourceIdentity),
// and cannot be changed.
func TestSDKSourceIdentity(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	admin := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	create := func(account, name, trustDoc string) string {
		t.Helper()
		client := iam.NewFromConfig(sb.AWSConfig(account))
		out, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trustDoc)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("admin"), PolicyDocument: aws.String(admin)}); err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Role.Arn)
	}
	root := `{"AWS":"arn:aws:iam::` + masterID + `:root"}`
	entry := create("master", "Entry", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":`+root+`,
		"Action":["sts:AssumeRole","sts:SetSourceIdentity"],"Condition":{"StringEquals":{"sts:SourceIdentity":"deployer"}}}]}`)
	plain := create("master", "Plain", trust("arn:aws:iam::"+masterID+":root", ""))
	next := create("prod", "Next", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":`+root+`,
		"Action":["sts:AssumeRole","sts:SetSourceIdentity"],"Condition":{"ArnEquals":{"aws:PrincipalArn":"`+entry+`"},
		"StringEquals":{"aws:SourceIdentity":"deployer","sts:SourceIdentity":"deployer"}}}]}`)
	noSet := create("prod", "NoSet", trust("arn:aws:iam::"+masterID+":root", ""))

	masterSTS := sts.NewFromConfig(sb.AWSConfig("master"), noRetry)
	assume := func(client *sts.Client, role, sourceIdentity string) (*sts.AssumeRoleOutput, error) {
		in := &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("si")}
		if sourceIdentity != "" {
			in.SourceIdentity = aws.String(sourceIdentity)
		}
		return client.AssumeRole(ctx, in)
	}
	for _, tc := range []struct{ name, role, si string }{
		{"trust asks for a source identity", entry, ""},
		{"another source identity", entry, "other"},
		{"trust without sts:SetSourceIdentity", plain, "deployer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := assume(masterSTS, tc.role, tc.si)
			apiError(t, err, "AccessDenied", "")
		})
	}
	t.Run("validation", func(t *testing.T) {
		_, err := assume(masterSTS, entry, "aws:deployer")
		apiError(t, err, "ValidationError", "")
		_, err = assume(masterSTS, entry, "d")
		apiError(t, err, "ValidationError", "1 validation error detected: Value 'd' at 'sourceIdentity' failed to satisfy constraint: Member must have length greater than or equal to 2")
	})

	out, err := assume(masterSTS, entry, "deployer")
	if err != nil || aws.ToString(out.SourceIdentity) != "deployer" {
		t.Fatalf("assume Entry with its source identity: %+v, %v", out, err)
	}
	c := out.Credentials
	entrySTS := sts.NewFromConfig(sb.ConfigWith(credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)), noRetry)
	t.Run("persists through chaining", func(t *testing.T) {
		out, err := assume(entrySTS, next, "")
		if err != nil || aws.ToString(out.SourceIdentity) != "deployer" {
			t.Fatalf("chain into Next: %+v, %v", out, err)
		}
		// Stating the same value again is no change.
		if _, err := assume(entrySTS, next, "deployer"); err != nil {
			t.Fatalf("chain into Next restating the source identity: %v", err)
		}
	})
	t.Run("cannot be changed", func(t *testing.T) {
		_, err := assume(entrySTS, next, "other")
		apiError(t, err, "AccessDenied", "")
	})
	t.Run("the next role must allow it", func(t *testing.T) {
		_, err := assume(entrySTS, noSet, "")
		apiError(t, err, "AccessDenied", "User: arn:aws:sts::"+masterID+":assumed-role/Entry/si is not authorized to perform: sts:SetSourceIdentity on resource: "+noSet)
	})
	t.Run("a session without one is not let in by aws:SourceIdentity", func(t *testing.T) {
		out, err := assume(masterSTS, plain, "")
		if err != nil {
			t.Fatal(err)
		}
		c := out.Credentials
		plainSTS := sts.NewFromConfig(sb.ConfigWith(credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)), noRetry)
		_, err = assume(plainSTS, next, "deployer")
		apiError(t, err, "AccessDenied", "")
	})
}
