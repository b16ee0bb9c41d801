package cdkcli_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stackerless/stackerless/pkg/sandbox/cdkcli"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

func TestNewEnv(t *testing.T) {
	// Settings that would send the CLI to another account or to AWS.
	t.Setenv("AWS_PROFILE", "production")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAOTHERACCOUNT")
	t.Setenv("AWS_ENDPOINT_URL", "https://example.com")
	t.Setenv("CDK_DEFAULT_ACCOUNT", "999999999999")
	sb := sandboxtest.Start(t)
	cli, err := cdkcli.New(sb, "prod")
	if err != nil {
		t.Fatal(err)
	}
	prod, _ := sb.Account("prod")
	env := cli.Env()
	for _, want := range []string{
		"AWS_ENDPOINT_URL=" + sb.HTTPSURL(),
		"AWS_ACCESS_KEY_ID=" + prod.AccessKeyID,
		"AWS_REGION=" + sb.Region(),
		"NODE_EXTRA_CA_CERTS=" + sb.CAFile(),
		"CDK_DISABLE_VERSION_CHECK=1",
	} {
		if !slices.Contains(env, want) {
			t.Errorf("env lacks %s", want)
		}
	}
	for _, kv := range env {
		for _, gone := range []string{"AWS_PROFILE=", "AWS_ACCESS_KEY_ID=AKIAOTHER", "AWS_ENDPOINT_URL=https://example.com", "CDK_DEFAULT_ACCOUNT="} {
			if strings.HasPrefix(kv, gone) {
				t.Errorf("env keeps %s", kv)
			}
		}
	}
	cli.Setenv("APP_SETTING", "x")
	if !slices.Contains(cli.Env(), "APP_SETTING=x") {
		t.Errorf("Setenv: env lacks APP_SETTING=x")
	}
	if got, want := cli.Environment(), "aws://"+prod.ID+"/"+sb.Region(); got != want {
		t.Errorf("Environment() = %s, want %s", got, want)
	}
	if _, err := cdkcli.New(sb, "nobody"); err == nil || !strings.Contains(err.Error(), `"nobody"`) {
		t.Errorf("unknown account: %v", err)
	}
}

func TestFindBinNamesTheFix(t *testing.T) {
	t.Setenv("STACKERLESS_NODE_MODULES", t.TempDir())
	_, err := cdkcli.FindBin()
	if err == nil || !strings.Contains(err.Error(), "npm ci") {
		t.Fatalf("FindBin with an empty node_modules: %v", err)
	}
}
