package awsprofile

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		data string
		want map[string]*Profile
	}{
		{
			name: "seed config",
			data: `# comment
[profile master]
region = us-east-1
role_arn = arn:aws:iam::111111111111:role/Stacker
role_session_name = stacker
credential_source = Environment

[profile prod]
region = us-east-1
role_arn = arn:aws:iam::222222222222:role/Stacker
source_profile = master
`,
			want: map[string]*Profile{
				"master": {Name: "master", Line: 2, Region: "us-east-1", RoleARN: "arn:aws:iam::111111111111:role/Stacker",
					RoleSessionName: "stacker", CredentialSource: "Environment"},
				"prod": {Name: "prod", Line: 8, Region: "us-east-1", RoleARN: "arn:aws:iam::222222222222:role/Stacker",
					SourceProfile: "master"},
			},
		},
		{
			name: "default, colon separator, key case, comments, nested block, bare section ignored",
			data: "\ufeff[default]\r\nRegion: eu-west-1\r\n; semi comment\n" +
				"aws_access_key_id=AKID\naws_secret_access_key = SECRET\naws_session_token = TOKEN\n" +
				"s3 =\n  max_concurrent_requests = 10\n" +
				"[prod]\nregion = us-west-2\n" +
				"[sso-session x]\nsso_region = us-east-1\n" +
				"[profile   spaced]\nexternal_id = ext\nduration_seconds = 1800\nmfa_serial = arn:aws:iam::1:mfa/u\n",
			want: map[string]*Profile{
				"default": {Name: "default", Line: 1, Region: "eu-west-1", AccessKeyID: "AKID", SecretAccessKey: "SECRET", SessionToken: "TOKEN"},
				"spaced":  {Name: "spaced", Line: 13, ExternalID: "ext", DurationSeconds: 1800, MFASerial: "arn:aws:iam::1:mfa/u"},
			},
		},
		{
			name: "[profile default] wins over [default]",
			data: "[profile default]\nregion = a\n[default]\nregion = b\n",
			want: map[string]*Profile{"default": {Name: "default", Line: 1, Region: "a"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("config", []byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tc.want {
				p.File = "config"
			}
			if diff := cmp.Diff(tc.want, f.Profiles, cmpopts.IgnoreFields(Profile{}, "Settings")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseNestedSetting(t *testing.T) {
	f, err := Parse("config", []byte("[default]\ns3 =\n  max_concurrent_requests = 10\n  addressing_style = path\nregion = x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Profiles["default"].Settings["s3"]; got != "\nmax_concurrent_requests = 10\naddressing_style = path" {
		t.Errorf("s3 = %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"unclosed header", "[profile a\n", "config:1: section header \"[profile a\" has no closing ]"},
		{"setting before header", "region = x\n", "config:1: setting \"region = x\" comes before any [section] header"},
		{"not a setting", "[default]\njunk\n", "config:2: \"junk\" is not a `key = value` setting"},
		{"duplicate section", "[profile a]\n[profile a]\n", "config:2: section [profile a] already defined on line 1"},
		{"bad duration", "[profile a]\nduration_seconds = 10\n", "config:1: profile a: duration_seconds \"10\" must be a whole number of seconds between 900 and 43200"},
		{"indent outside setting", "[default]\n  x = 1\n", "config:2: indented line outside a setting"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("config", []byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseCredentials(t *testing.T) {
	f, err := Parse("config", []byte("[profile keys]\nregion = eu-west-1\naws_access_key_id = OLD\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = f.ParseCredentials("credentials", []byte("[keys]\naws_access_key_id = AK\naws_secret_access_key = SK\n[only]\naws_access_key_id = AK2\naws_secret_access_key = SK2\nregion = ignored\n"))
	if err != nil {
		t.Fatal(err)
	}
	k := f.Profiles["keys"]
	if k.AccessKeyID != "AK" || k.SecretAccessKey != "SK" || k.Region != "eu-west-1" || !k.HasStaticKeys() {
		t.Errorf("keys = %+v", k)
	}
	o := f.Profiles["only"]
	if o == nil || o.AccessKeyID != "AK2" || o.Region != "" {
		t.Errorf("only = %+v", o)
	}
	if diff := cmp.Diff([]string{"keys", "only"}, f.Names()); diff != "" {
		t.Error(diff)
	}
}
