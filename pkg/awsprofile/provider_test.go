package awsprofile

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/google/go-cmp/cmp"
)

// stsCall is one AssumeRole request seen by fakeSTS.
type stsCall struct {
	SignedBy                                   string // access key id of the signature
	RoleArn, SessionName, ExternalID, Duration string
	SerialNumber, TokenCode                    string
}

// fakeSTS answers AssumeRole with credentials whose access key id is
// "AK-<role name>", so the next hop's signature shows whose credentials
// signed it. Roles named "denied" are refused.
type fakeSTS struct {
	mu    sync.Mutex
	calls []stsCall
}

func (f *fakeSTS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "AssumeRole" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	auth := r.Header.Get("Authorization")
	signedBy := ""
	if _, after, ok := strings.Cut(auth, "Credential="); ok {
		signedBy, _, _ = strings.Cut(after, "/")
	}
	c := stsCall{
		SignedBy: signedBy, RoleArn: r.Form.Get("RoleArn"), SessionName: r.Form.Get("RoleSessionName"),
		ExternalID: r.Form.Get("ExternalId"), Duration: r.Form.Get("DurationSeconds"),
		SerialNumber: r.Form.Get("SerialNumber"), TokenCode: r.Form.Get("TokenCode"),
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	role := c.RoleArn[strings.LastIndex(c.RoleArn, "/")+1:]
	w.Header().Set("Content-Type", "text/xml")
	if role == "denied" {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: %s is not authorized to perform: sts:AssumeRole on resource: %s</Message></Error><RequestId>1</RequestId></ErrorResponse>`, signedBy, c.RoleArn)
		return
	}
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
<Credentials><AccessKeyId>AK-%s</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>
<AssumedRoleUser><Arn>%s/%s</Arn><AssumedRoleId>AROA:%s</AssumedRoleId></AssumedRoleUser>
</AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>`, role, c.RoleArn, c.SessionName, c.SessionName)
}

func (f *fakeSTS) take() []stsCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

const testConfig = `
[profile master]
region = eu-west-1
role_arn = arn:aws:iam::111111111111:role/Stacker
role_session_name = stacker
credential_source = Environment

[profile prod]
role_arn = arn:aws:iam::222222222222:role/Stacker
source_profile = master
external_id = ext-123
duration_seconds = 1800
role_session_name = deploy

[profile deep]
role_arn = arn:aws:iam::333333333333:role/Deep
source_profile = prod

[profile keyed]
role_arn = arn:aws:iam::444444444444:role/Keyed
source_profile = keys

[profile keys]
role_arn = arn:aws:iam::444444444444:role/Ignored
source_profile = master

[profile self]
role_arn = arn:aws:iam::555555555555:role/Self
source_profile = self
aws_access_key_id = AK-SELF
aws_secret_access_key = s

[profile mfa]
role_arn = arn:aws:iam::666666666666:role/Mfa
source_profile = master
mfa_serial = arn:aws:iam::111111111111:mfa/alice

[profile denied]
role_arn = arn:aws:iam::222222222222:role/denied
source_profile = master

[profile after-denied]
role_arn = arn:aws:iam::222222222222:role/After
source_profile = denied

[profile loop-a]
role_arn = arn:aws:iam::1:role/A
source_profile = loop-b

[profile loop-b]
role_arn = arn:aws:iam::1:role/B
source_profile = loop-c

[profile loop-c]
role_arn = arn:aws:iam::1:role/C
source_profile = loop-a

[profile both]
role_arn = arn:aws:iam::1:role/X
source_profile = master
credential_source = Environment

[profile nosource]
role_arn = arn:aws:iam::1:role/X

[profile badsource]
role_arn = arn:aws:iam::1:role/X
credential_source = Laptop

[profile ecs]
role_arn = arn:aws:iam::1:role/X
credential_source = EcsContainer

[profile missing-source]
role_arn = arn:aws:iam::1:role/X
source_profile = ghost

[profile empty]
region = us-west-2

[profile sso]
sso_session = corp

[profile selfnokeys]
role_arn = arn:aws:iam::1:role/X
source_profile = selfnokeys
`

func newTestProvider(t *testing.T, env map[string]string, opts ...Option) (*Provider, *fakeSTS) {
	t.Helper()
	fake := &fakeSTS{}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, []byte(testConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(creds, []byte("[keys]\naws_access_key_id = AK-KEYS\naws_secret_access_key = s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AK-DEFAULT", "s", ""),
	}
	all := append([]Option{
		WithBaseConfig(base),
		WithCredentialsFile(creds),
		WithGetenv(func(k string) string { return env[k] }),
	}, opts...)
	p, err := NewProvider(path, all...)
	if err != nil {
		t.Fatal(err)
	}
	return p, fake
}

var rootEnv = map[string]string{"AWS_ACCESS_KEY_ID": "AK-ROOT", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"}

func retrieve(t *testing.T, p *Provider, profile, region string) (aws.Config, aws.Credentials) {
	t.Helper()
	cfg, err := p.Config(t.Context(), profile, region)
	if err != nil {
		t.Fatalf("Config(%q): %v", profile, err)
	}
	c, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatalf("Retrieve(%q): %v", profile, err)
	}
	return cfg, c
}

func TestChains(t *testing.T) {
	master := stsCall{SignedBy: "AK-ROOT", RoleArn: "arn:aws:iam::111111111111:role/Stacker", SessionName: "stacker", Duration: "3600"}
	prod := stsCall{SignedBy: "AK-Stacker", RoleArn: "arn:aws:iam::222222222222:role/Stacker", SessionName: "deploy", ExternalID: "ext-123", Duration: "1800"}
	tests := []struct {
		profile, region string
		wantKey         string
		wantRegion      string
		calls           []stsCall
	}{
		{profile: "master", wantKey: "AK-Stacker", wantRegion: "eu-west-1", calls: []stsCall{master}},
		{profile: "prod", region: "ap-south-1", wantKey: "AK-Stacker", wantRegion: "ap-south-1", calls: []stsCall{master, prod}},
		{profile: "deep", wantKey: "AK-Deep", wantRegion: "us-east-1", calls: []stsCall{master, prod,
			{SignedBy: "AK-Stacker", RoleArn: "arn:aws:iam::333333333333:role/Deep", Duration: "3600"}}},
		// A source profile with keys (here from the credentials file) is
		// used for its keys even though it also has a role_arn.
		{profile: "keyed", wantKey: "AK-Keyed", wantRegion: "us-east-1", calls: []stsCall{
			{SignedBy: "AK-KEYS", RoleArn: "arn:aws:iam::444444444444:role/Keyed", Duration: "3600"}}},
		{profile: "self", wantKey: "AK-Self", wantRegion: "us-east-1", calls: []stsCall{
			{SignedBy: "AK-SELF", RoleArn: "arn:aws:iam::555555555555:role/Self", Duration: "3600"}}},
		{profile: "", wantKey: "AK-DEFAULT", wantRegion: "us-east-1"},
		{profile: "default", region: "eu-central-1", wantKey: "AK-DEFAULT", wantRegion: "eu-central-1"},
	}
	for _, tc := range tests {
		t.Run(tc.profile, func(t *testing.T) {
			p, fake := newTestProvider(t, rootEnv)
			cfg, c := retrieve(t, p, tc.profile, tc.region)
			if c.AccessKeyID != tc.wantKey || cfg.Region != tc.wantRegion {
				t.Errorf("key %s region %s, want %s %s", c.AccessKeyID, cfg.Region, tc.wantKey, tc.wantRegion)
			}
			got := fake.take()
			for i := range got {
				// The SDK makes up a session name when none is configured.
				if tc.calls != nil && i < len(tc.calls) && tc.calls[i].SessionName == "" && strings.HasPrefix(got[i].SessionName, "aws-go-sdk-") {
					got[i].SessionName = ""
				}
			}
			if diff := cmp.Diff(tc.calls, got); diff != "" {
				t.Errorf("STS calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCaching(t *testing.T) {
	p, fake := newTestProvider(t, rootEnv)
	retrieve(t, p, "prod", "")
	retrieve(t, p, "prod", "")
	retrieve(t, p, "prod", "us-west-2")
	retrieve(t, p, "master", "")
	if n := len(fake.take()); n != 2 {
		t.Errorf("%d AssumeRole calls, want 2 (one per profile of the chain)", n)
	}
	a, _ := p.Config(t.Context(), "prod", "")
	b, _ := p.Config(t.Context(), "prod", "us-west-2")
	if a.Region != "us-east-1" || b.Region != "us-west-2" {
		t.Errorf("regions %s %s", a.Region, b.Region)
	}
}

func TestMFA(t *testing.T) {
	p, _ := newTestProvider(t, rootEnv)
	_, err := p.Config(t.Context(), "mfa", "")
	want := "profile mfa needs an MFA code (mfa_serial arn:aws:iam::111111111111:mfa/alice): run interactively or use a profile without mfa_serial"
	if err == nil || err.Error() != want {
		t.Fatalf("unattended: err = %v", err)
	}

	var asked []string
	p, fake := newTestProvider(t, rootEnv, WithTokenProvider(func(serial string) (string, error) {
		asked = append(asked, serial)
		return "123456", nil
	}))
	_, c := retrieve(t, p, "mfa", "")
	if c.AccessKeyID != "AK-Mfa" {
		t.Errorf("key %s", c.AccessKeyID)
	}
	calls := fake.take()
	if len(calls) != 2 || calls[1].SerialNumber != "arn:aws:iam::111111111111:mfa/alice" || calls[1].TokenCode != "123456" || calls[0].TokenCode != "" {
		t.Errorf("calls %+v", calls)
	}
	if diff := cmp.Diff([]string{"arn:aws:iam::111111111111:mfa/alice"}, asked); diff != "" {
		t.Error(diff)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		profile string
		env     map[string]string
		want    string
	}{
		{"ghost", rootEnv, "profile ghost is not defined in %CONFIG%: add a [profile ghost] section; profiles defined: after-denied, badsource, both,"},
		{"missing-source", rootEnv, "profile missing-source: source_profile ghost is not defined in %CONFIG%"},
		{"loop-a", rootEnv, "source_profile loop loop-a -> loop-b -> loop-c -> loop-a"},
		{"both", rootEnv, "has both source_profile and credential_source: keep one"},
		{"nosource", rootEnv, "has role_arn but neither source_profile nor credential_source"},
		{"badsource", rootEnv, `credential_source "Laptop" is not one of Environment, Ec2InstanceMetadata, EcsContainer`},
		{"master", nil, "profile master (%CONFIG%:2): credential_source = Environment but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"},
		{"prod", nil, "credential_source = Environment but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"},
		{"ecs", nil, "credential_source = EcsContainer but neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI is set"},
		{"empty", rootEnv, "has no credentials: give it role_arn with source_profile or credential_source, or aws_access_key_id and aws_secret_access_key"},
		{"sso", rootEnv, "sso_session is not supported by stackerless"},
		{"selfnokeys", rootEnv, "source_profile names itself but the profile has no aws_access_key_id"},
	}
	for _, tc := range tests {
		t.Run(tc.profile, func(t *testing.T) {
			p, fake := newTestProvider(t, tc.env)
			want := strings.ReplaceAll(tc.want, "%CONFIG%", p.path)
			// Check finds the same problem first, before anything is deployed.
			if err := p.Check(tc.profile); err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("Check: %v\nwant it to contain %q", err, want)
			}
			_, err := p.Config(t.Context(), tc.profile, "")
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, want)
			}
			if n := len(fake.take()); n != 0 {
				t.Errorf("%d STS calls before a config error", n)
			}
		})
	}
}

func TestAssumeRoleDenied(t *testing.T) {
	for _, tc := range []struct{ profile, want string }{
		{"denied", "profile denied: assume role arn:aws:iam::222222222222:role/denied:"},
		{"after-denied", "profile after-denied: "},
	} {
		t.Run(tc.profile, func(t *testing.T) {
			p, _ := newTestProvider(t, rootEnv)
			cfg, err := p.Config(t.Context(), tc.profile, "")
			if err != nil {
				t.Fatal(err)
			}
			_, err = cfg.Credentials.Retrieve(context.WithoutCancel(t.Context()))
			var re *roleError
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "AccessDenied") || !errors.As(err, &re) || re.profile != "denied" {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestNewProviderErrors(t *testing.T) {
	if _, err := NewProvider(filepath.Join(t.TempDir(), "nope")); err == nil || !strings.Contains(err.Error(), "set AWS_CONFIG_FILE") {
		t.Errorf("missing file: %v", err)
	}
	p, err := NewProvider("", WithBaseConfig(aws.Config{Region: "us-east-1"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Config(t.Context(), "prod", ""); err == nil || !strings.Contains(err.Error(), "profile prod is not defined in no AWS config file (set AWS_CONFIG_FILE)") {
		t.Errorf("no file: %v", err)
	}
}

// Check accepts every usable profile without calling AWS or caching
// credentials that Config would then reuse.
func TestCheckUsableProfiles(t *testing.T) {
	p, fake := newTestProvider(t, rootEnv)
	for _, name := range []string{"", "default", "master", "prod", "deep", "keyed", "self"} {
		if err := p.Check(name); err != nil {
			t.Errorf("Check(%q): %v", name, err)
		}
	}
	if n := len(fake.take()); n != 0 {
		t.Errorf("Check made %d STS calls", n)
	}
	if len(p.creds) != 0 || len(p.configs) != 0 {
		t.Errorf("Check cached %d credentials and %d configs", len(p.creds), len(p.configs))
	}
	// Without a way to ask for a code, an MFA profile cannot work.
	if err := p.Check("mfa"); err == nil || !strings.Contains(err.Error(), "needs an MFA code") {
		t.Errorf("Check(mfa) = %v", err)
	}
}
