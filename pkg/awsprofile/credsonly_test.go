package awsprofile

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// With no config file, profiles in the shared credentials file still work,
// as `aws configure` lays them out.
func TestCredentialsFileWithoutConfigFile(t *testing.T) {
	creds := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(creds, []byte("[prod]\naws_access_key_id = AKIAPROD\naws_secret_access_key = secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := NewProvider("", WithCredentialsFile(creds))
	if err != nil {
		t.Fatal(err)
	}
	if p.File().Profiles["prod"] == nil {
		t.Fatalf("profiles = %v, want prod", p.File().Names())
	}
	cfg, err := p.Config(context.Background(), "prod", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || got.AccessKeyID != "AKIAPROD" {
		t.Errorf("credentials = %+v, %v", got, err)
	}
	if _, err := NewProvider("", WithCredentialsFile(filepath.Join(t.TempDir(), "missing"))); err != nil {
		t.Errorf("a missing credentials file is fine: %v", err)
	}
}
