package awsprofile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
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
