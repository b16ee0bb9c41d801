package main

import (
	"os"
	"path/filepath"
	"testing"
)

// A profile that exists only in the shared credentials file (the layout
// `aws configure` writes) selects that account, as with the AWS CLI.
func TestFunctionalCredentialsFileProfile(t *testing.T) {
	c, sb := newCLI(t)
	prod, _ := sb.Account("prod")
	creds := filepath.Join(c.dir, "credentials")
	if err := os.WriteFile(creds, []byte("[prod]\naws_access_key_id = "+prod.AccessKeyID+"\naws_secret_access_key = "+prod.SecretAccessKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	cfg := c.writeConfig("creds.yaml", "namespace: func-creds\nstacker_bucket: ''\nstacks:\n  - name: app\n    template_path: dummy.yaml\n    profile: prod\n")
	c.run("", "build", cfg).expect(t, 0, "app: complete (creating new stack)")
	c.run("", "info", cfg).expect(t, 0, "func-creds-app:", "DummyId: dummy-1234")

	// The stack is in prod, not in master whose keys are the default.
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(c.dir, "none"))
	c.run("", "build", cfg).expect(t, 2, `profile "prod" is not defined`)
}
