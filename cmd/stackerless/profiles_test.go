package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// stacker's 33 (profiles), across accounts: stacker's own profile shape
// (role_arn with credential_source = Environment) into the prod account, a
// profile with static keys in the shared credentials file (stage), and a
// role profile whose source_profile lives in that credentials file.
func TestFunctionalProfiles(t *testing.T) {
	c, sb := newCLI(t)
	c.copyFixtures("account.yaml")
	ctx := t.Context()
	master, _ := sb.Account("master")
	prod, _ := sb.Account("prod")
	stage, _ := sb.Account("stage")

	// A role in prod that master's and stage's root credentials may assume
	// (no MFA condition, unlike the seed's Stacker role).
	client := iam.NewFromConfig(sb.AWSConfig("prod"))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":["arn:aws:iam::` +
		master.ID + `:root","arn:aws:iam::` + stage.ID + `:root"]}}]}`
	if _, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("StackerTest"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("StackerTest"),
		PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
		t.Fatal(err)
	}
	roleARN := "arn:aws:iam::" + prod.ID + ":role/StackerTest"

	dir := t.TempDir()
	configFile, credsFile := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	// As stacker's test_helper writes it, plus the chained profile.
	if err := os.WriteFile(configFile, []byte(`[default]
region = us-east-1

[profile stacker]
region = us-east-1
role_arn = `+roleARN+`
credential_source = Environment

[profile chained]
region = us-east-1
role_arn = `+roleARN+`
role_session_name = chained
source_profile = stage-keys
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(credsFile, []byte("[stage-keys]\naws_access_key_id = "+stage.AccessKeyID+
		"\naws_secret_access_key = "+stage.SecretAccessKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", configFile)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", credsFile)

	// Templates inline: a bucket in master would need a policy for prod and stage to read it.
	cfg := c.writeConfig("profiles.yaml", `namespace: func-profiles
stacker_bucket: ''
stacks:
  - name: vpc
    profile: stacker
    template_path: account.yaml
  - name: local
    template_path: account.yaml
  - name: staged
    profile: stage-keys
    template_path: account.yaml
    variables:
      StringVariable: ${output vpc::AccountId}
  - name: chain
    profile: chained
    template_path: account.yaml
`)
	t.Run("33 stacks built with their profiles", func(t *testing.T) {
		c.run("", "build", cfg).expect(t, 0,
			"vpc: submitted (creating new stack)", "vpc: complete (creating new stack)",
			"local: complete (creating new stack)", "staged: complete (creating new stack)",
			"chain: complete (creating new stack)")
	})
	for _, tc := range []struct{ stack, account string }{
		{"func-profiles-vpc", "prod"}, {"func-profiles-local", "master"},
		{"func-profiles-staged", "stage"}, {"func-profiles-chain", "prod"},
	} {
		t.Run(tc.stack+" is in "+tc.account, func(t *testing.T) {
			for _, acct := range []string{"master", "prod", "stage"} {
				s := describeStack(t, sb, acct, tc.stack)
				if (s != nil) != (acct == tc.account) {
					t.Errorf("stack %s in %s: %v", tc.stack, acct, s != nil)
				}
			}
		})
	}
	t.Run("an output read across accounts", func(t *testing.T) {
		s := describeStack(t, sb, "stage", "func-profiles-staged")
		if s == nil || stackParameter(s, "StringVariable") != prod.ID {
			t.Fatalf("staged does not carry vpc's AccountId %s: %v", prod.ID, s)
		}
	})
	t.Run("info and destroy use the profiles", func(t *testing.T) {
		c.run("", "info", cfg).expect(t, 0, "func-profiles-vpc:", "AccountId: "+prod.ID, "AccountId: "+stage.ID)
		c.run("", "destroy", "--force", cfg).expect(t, 0, "vpc: complete (stack destroyed)",
			"staged: complete (stack destroyed)", "chain: complete (stack destroyed)")
		if s := describeStack(t, sb, "prod", "func-profiles-vpc"); s != nil {
			t.Errorf("vpc still in prod after destroy")
		}
	})
	t.Run("unknown profile is a config error", func(t *testing.T) {
		bad := c.writeConfig("bad-profile.yaml", "namespace: func-profiles\nstacks:\n  - name: vpc\n    profile: nope\n    template_path: account.yaml\n")
		r := c.run("", "build", bad)
		r.expect(t, 2, "nope")
		r.lacks(t, "submitted")
	})
}
