package awsprofile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// TestSandboxChain runs the seed's role chain against the sandbox: the
// master account's root keys in the environment (credential_source =
// Environment) assume master's Stacker role, which assumes prod's Stacker
// role (trusting only master's role, with an external id).
func TestSandboxChain(t *testing.T) {
	sb := sandboxtest.Start(t)
	master, _ := sb.Account("master")
	prod, _ := sb.Account("prod")

	createRole := func(account, trusted, condition string) {
		t.Helper()
		client := iam.NewFromConfig(sb.AWSConfig(account))
		trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":%q},"Action":"sts:AssumeRole"%s}]}`, trusted, condition)
		if _, err := client.CreateRole(t.Context(), &iam.CreateRoleInput{
			RoleName: aws.String("Stacker"), AssumeRolePolicyDocument: aws.String(trust),
		}); err != nil {
			t.Fatalf("create role in %s: %v", account, err)
		}
		if _, err := client.AttachRolePolicy(t.Context(), &iam.AttachRolePolicyInput{
			RoleName: aws.String("Stacker"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess"),
		}); err != nil {
			t.Fatalf("attach policy in %s: %v", account, err)
		}
	}
	createRole("master", "arn:aws:iam::"+master.ID+":root", "")
	createRole("prod", "arn:aws:iam::"+master.ID+":role/Stacker", `,"Condition":{"StringEquals":{"sts:ExternalId":"ext-1"}}`)

	cfgText := fmt.Sprintf(`[profile master]
role_arn = arn:aws:iam::%[1]s:role/Stacker
role_session_name = stacker
credential_source = Environment

[profile prod]
role_arn = arn:aws:iam::%[2]s:role/Stacker
role_session_name = stacker
source_profile = master
external_id = ext-1

[profile prod-wrong-id]
role_arn = arn:aws:iam::%[2]s:role/Stacker
source_profile = master
external_id = nope
`, master.ID, prod.ID)
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AWS_ACCESS_KEY_ID": master.AccessKeyID, "AWS_SECRET_ACCESS_KEY": master.SecretAccessKey}
	p, err := NewProvider(path, WithBaseConfig(sb.ConfigWith(nil)), WithGetenv(func(k string) string { return env[k] }))
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ profile, arn string }{
		{"master", "arn:aws:sts::" + master.ID + ":assumed-role/Stacker/stacker"},
		{"prod", "arn:aws:sts::" + prod.ID + ":assumed-role/Stacker/stacker"},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			cfg, err := p.Config(t.Context(), tc.profile, "")
			if err != nil {
				t.Fatal(err)
			}
			out, err := sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(out.Arn); got != tc.arn {
				t.Errorf("caller %s, want %s", got, tc.arn)
			}
		})
	}

	t.Run("wrong external id", func(t *testing.T) {
		cfg, err := p.Config(t.Context(), "prod-wrong-id", "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
		if err == nil || !strings.Contains(err.Error(), "profile prod-wrong-id: assume role") || !strings.Contains(err.Error(), "AccessDenied") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestSandboxUnattended is the serverless runtime's use of a bundle's
// profiles: credential_source = Environment is the function's own role,
// mfa_serial is refused, and a role_arn outside the allowed accounts is
// refused before AssumeRole, though the role would trust the chain.
func TestSandboxUnattended(t *testing.T) {
	sb := sandboxtest.Start(t)
	master, _ := sb.Account("master")
	prod, _ := sb.Account("prod")
	stage, _ := sb.Account("stage")
	ctx := t.Context()
	createRole := func(account, name, trusted string) {
		t.Helper()
		client := iam.NewFromConfig(sb.AWSConfig(account))
		trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":%q},"Action":"sts:AssumeRole"}]}`, trusted)
		if _, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
			t.Fatalf("create role %s in %s: %v", name, account, err)
		}
		if _, err := client.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(name),
			PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
			t.Fatal(err)
		}
	}
	// The function's role, which only master's Stacker role trusts.
	createRole("master", "Prepare", "arn:aws:iam::"+master.ID+":root")
	createRole("master", "Stacker", "arn:aws:iam::"+master.ID+":role/Prepare")
	createRole("prod", "Stacker", "arn:aws:iam::"+master.ID+":role/Stacker")
	createRole("stage", "Stacker", "arn:aws:iam::"+master.ID+":role/Stacker")
	fn, err := sts.NewFromConfig(sb.AWSConfig("master")).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + master.ID + ":role/Prepare"), RoleSessionName: aws.String("prepare")})
	if err != nil {
		t.Fatal(err)
	}
	fnCreds := aws.NewCredentialsCache(credentialsOf(fn))

	f, err := Parse(".aws/config", []byte(fmt.Sprintf(`[profile master]
role_arn = arn:aws:iam::%[1]s:role/Stacker
credential_source = Environment

[profile prod]
role_arn = arn:aws:iam::%[2]s:role/Stacker
source_profile = master

[profile stage]
role_arn = arn:aws:iam::%[3]s:role/Stacker
source_profile = master

[profile via-stage]
role_arn = arn:aws:iam::%[2]s:role/Stacker
source_profile = stage

[profile human]
role_arn = arn:aws:iam::%[1]s:role/Stacker
credential_source = Environment
mfa_serial = arn:aws:iam::%[1]s:mfa/alice

[profile typo]
role_arn = arn:aws:iam::%[2]s:Stacker
source_profile = master
`, master.ID, prod.ID, stage.ID)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProvider(".aws/config", WithFile(f), WithBaseConfig(sb.ConfigWith(nil)), Unattended(),
		WithEnvironmentCredentials(fnCreds), WithAllowedAccounts([]string{master.ID, prod.ID}),
		WithTokenProvider(func(string) (string, error) { return "123456", nil }),
		WithGetenv(func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := p.Config(ctx, "prod", "")
	if err != nil {
		t.Fatal(err)
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(out.Arn), "arn:aws:sts::"+prod.ID+":assumed-role/Stacker/"; !strings.HasPrefix(got, want) {
		t.Errorf("prod's caller %s, want %s...", got, want)
	}

	outside := "profile stage (.aws/config:9): role_arn arn:aws:iam::" + stage.ID + ":role/Stacker is in account " + stage.ID +
		", where this deployment may not assume roles (allowed accounts: " + master.ID + ", " + prod.ID + "): fix the role_arn, or add the account to the deployment's allow-list"
	for _, tc := range []struct{ profile, want string }{
		{"stage", outside},
		{"via-stage", outside},
		{"human", "profile human (.aws/config:17): mfa_serial arn:aws:iam::" + master.ID + ":mfa/alice cannot be used here: the serverless runtime runs unattended"},
		{"typo", `profile typo (.aws/config:22): role_arn "arn:aws:iam::` + prod.ID + `:Stacker" is not an IAM role ARN (arn:aws:iam::<account id>:role/<name>)`},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			if err := p.Check(tc.profile); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Check(%s) = %v\nwant it to start with %s", tc.profile, err, tc.want)
			}
			// Refused before AssumeRole: the role in stage trusts the
			// chain, so only the allow-list stops it.
			if _, err := p.Config(ctx, tc.profile, ""); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Config(%s) = %v\nwant it to start with %s", tc.profile, err, tc.want)
			}
		})
	}

	// Without the allow-list, the same chain reaches stage: the check is
	// what refused it.
	open, err := NewProvider(".aws/config", WithFile(f), WithBaseConfig(sb.ConfigWith(nil)), WithEnvironmentCredentials(fnCreds))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err = open.Config(ctx, "stage", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Errorf("stage without an allow-list: %v", err)
	}
}

func credentialsOf(out *sts.AssumeRoleOutput) aws.CredentialsProvider {
	c := out.Credentials
	return credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
}
