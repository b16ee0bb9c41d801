// Package awsprofile turns the profiles of an AWS config file into
// aws.Configs, with the AWS CLI's semantics for assume-role profiles:
// role_arn with source_profile (chains of any depth) or credential_source,
// external_id, role_session_name, duration_seconds, region and mfa_serial.
// Role credentials come from aws-sdk-go-v2's stscreds, cached per profile.
package awsprofile

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Profile is one profile of an AWS config file. Only the settings stackerless
// uses are fields; Settings has every key.
type Profile struct {
	Name string
	// File and Line locate the section header, for error messages.
	File string
	Line int

	RoleARN          string
	SourceProfile    string
	CredentialSource string
	ExternalID       string
	RoleSessionName  string
	DurationSeconds  int
	Region           string
	MFASerial        string

	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string

	Settings map[string]string
}

// HasStaticKeys reports an access key pair in the profile.
func (p *Profile) HasStaticKeys() bool { return p.AccessKeyID != "" && p.SecretAccessKey != "" }

// File is a parsed config file (plus an optional credentials file).
type File struct {
	Path     string
	Profiles map[string]*Profile
}

// Names lists the profile names, sorted.
func (f *File) Names() []string {
	out := make([]string, 0, len(f.Profiles))
	for k := range f.Profiles {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// section is one INI section as read.
type section struct {
	name string
	line int
	kv   map[string]string
}

// parseINI reads the INI dialect botocore reads with configparser: `[name]`
// headers, `key = value` or `key: value`, `#` and `;` comment lines, option
// names lower-cased, and indented continuation lines (nested settings such
// as `s3 =` blocks) kept with their key.
func parseINI(path string, data []byte) ([]section, error) {
	var out []section
	var cur *section
	seen := map[string]int{}
	lastKey := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		raw := strings.TrimRight(sc.Text(), "\r")
		line := strings.TrimSpace(raw)
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if raw[0] == ' ' || raw[0] == '\t' {
			if cur == nil || lastKey == "" {
				return nil, fmt.Errorf("%s:%d: indented line outside a setting: %q", path, n, line)
			}
			cur.kv[lastKey] += "\n" + line
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("%s:%d: section header %q has no closing ]", path, n, line)
			}
			name := strings.TrimSpace(line[1 : len(line)-1])
			if prev, ok := seen[name]; ok {
				return nil, fmt.Errorf("%s:%d: section [%s] already defined on line %d: merge the two", path, n, name, prev)
			}
			seen[name] = n
			out = append(out, section{name: name, line: n, kv: map[string]string{}})
			cur = &out[len(out)-1]
			lastKey = ""
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("%s:%d: setting %q comes before any [section] header", path, n, line)
		}
		i := strings.IndexAny(line, "=:")
		if i <= 0 {
			return nil, fmt.Errorf("%s:%d: %q is not a `key = value` setting", path, n, line)
		}
		lastKey = strings.ToLower(strings.TrimSpace(line[:i]))
		cur.kv[lastKey] = strings.TrimSpace(line[i+1:])
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// Parse reads a config file's contents: `[default]` and `[profile name]`
// sections are profiles; other sections (sso-session, services, a bare
// `[name]`) are not, as in the AWS CLI.
func Parse(path string, data []byte) (*File, error) {
	secs, err := parseINI(path, data)
	if err != nil {
		return nil, err
	}
	f := &File{Path: path, Profiles: map[string]*Profile{}}
	for _, s := range secs {
		var name string
		switch {
		case s.name == "default":
			name = "default"
		case strings.HasPrefix(s.name, "profile ") || strings.HasPrefix(s.name, "profile\t"):
			name = strings.TrimSpace(s.name[len("profile"):])
		default:
			continue
		}
		if _, dup := f.Profiles[name]; dup {
			// [default] and [profile default]: the CLI prefers the latter.
			if s.name == "default" {
				continue
			}
		}
		p, err := newProfile(name, path, s)
		if err != nil {
			return nil, err
		}
		f.Profiles[name] = p
	}
	return f, nil
}

// ParseCredentials reads a shared credentials file (`[name]` sections with
// aws_access_key_id / aws_secret_access_key / aws_session_token) and adds its
// keys to the profiles of f, creating profiles that only exist there. Keys
// in the credentials file win, as in the AWS CLI.
func (f *File) ParseCredentials(path string, data []byte) error {
	secs, err := parseINI(path, data)
	if err != nil {
		return err
	}
	for _, s := range secs {
		p, ok := f.Profiles[s.name]
		if !ok {
			p = &Profile{Name: s.name, File: path, Line: s.line, Settings: map[string]string{}}
			f.Profiles[s.name] = p
		}
		for k, v := range s.kv {
			switch k {
			case "aws_access_key_id":
				p.AccessKeyID = v
			case "aws_secret_access_key":
				p.SecretAccessKey = v
			case "aws_session_token":
				p.SessionToken = v
			default:
				continue
			}
			p.Settings[k] = v
		}
	}
	return nil
}

func newProfile(name, path string, s section) (*Profile, error) {
	p := &Profile{Name: name, File: path, Line: s.line, Settings: s.kv}
	for k, v := range s.kv {
		switch k {
		case "role_arn":
			p.RoleARN = v
		case "source_profile":
			p.SourceProfile = v
		case "credential_source":
			p.CredentialSource = v
		case "external_id":
			p.ExternalID = v
		case "role_session_name":
			p.RoleSessionName = v
		case "region":
			p.Region = v
		case "mfa_serial":
			p.MFASerial = v
		case "aws_access_key_id":
			p.AccessKeyID = v
		case "aws_secret_access_key":
			p.SecretAccessKey = v
		case "aws_session_token":
			p.SessionToken = v
		case "duration_seconds":
			var d int
			if _, err := fmt.Sscanf(v, "%d", &d); err != nil || fmt.Sprint(d) != v || d < 900 || d > 43200 {
				return nil, fmt.Errorf("%s:%d: profile %s: duration_seconds %q must be a whole number of seconds between 900 and 43200", path, s.line, name, v)
			}
			p.DurationSeconds = d
		}
	}
	return p, nil
}

// LoadFile reads and parses a config file, and a credentials file when
// credsPath is not empty (a missing credentials file is fine).
func LoadFile(path, credsPath string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read AWS config file: %w (set AWS_CONFIG_FILE or the bundle's .aws/config)", err)
	}
	f, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if credsPath != "" {
		data, err := os.ReadFile(credsPath)
		switch {
		case os.IsNotExist(err):
		case err != nil:
			return nil, fmt.Errorf("read AWS credentials file: %w", err)
		default:
			if err := f.ParseCredentials(credsPath, data); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}
