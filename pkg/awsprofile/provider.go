package awsprofile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TokenProvider returns an MFA code for a profile's mfa_serial (the CLI
// prompts for it). The serial names the device.
type TokenProvider func(serial string) (string, error)

// Option configures a Provider.
type Option func(*Provider)

// WithTokenProvider lets profiles with mfa_serial ask for a code. Without
// one (unattended runs), such profiles are an error.
func WithTokenProvider(tp TokenProvider) Option { return func(p *Provider) { p.token = tp } }

// WithBaseConfig uses cfg as the base configuration (endpoint, HTTP client,
// retryer, default credentials and region) instead of loading the SDK's
// default configuration.
func WithBaseConfig(cfg aws.Config) Option {
	return func(p *Provider) { c := cfg.Copy(); p.base = &c }
}

// WithCredentialsFile also reads static keys from a shared credentials file
// (as AWS_SHARED_CREDENTIALS_FILE / ~/.aws/credentials). A missing file is
// fine.
func WithCredentialsFile(path string) Option { return func(p *Provider) { p.credsPath = path } }

// WithFile uses an already parsed config file (for a bundle read from S3);
// the path given to NewProvider is then only used in messages.
func WithFile(f *File) Option { return func(p *Provider) { p.file = f } }

// Unattended says nobody is there to type an MFA code (the serverless
// runtime): a profile with mfa_serial is refused, naming its file and line,
// even when a TokenProvider is set.
func Unattended() Option { return func(p *Provider) { p.unattended = true } }

// WithEnvironmentCredentials makes credential_source = Environment use creds
// (in Lambda, the function's own role) instead of reading the AWS_*
// variables.
func WithEnvironmentCredentials(creds aws.CredentialsProvider) Option {
	return func(p *Provider) { p.envCreds = creds }
}

// WithAllowedAccounts lets role_arn name roles in these accounts only: any
// other is refused before AssumeRole is called, so a config cannot make the
// runtime act in an account the deployment does not allow. An empty list
// allows no role at all.
func WithAllowedAccounts(ids []string) Option {
	return func(p *Provider) { p.allowed = append([]string{}, ids...) }
}

// WithGetenv replaces os.Getenv for credential_source lookups (tests).
func WithGetenv(fn func(string) string) Option { return func(p *Provider) { p.getenv = fn } }

// Provider builds aws.Configs for the profiles of one AWS config file. It is
// safe for concurrent use; configs are cached per (profile, region) and
// credentials per profile, in memory only.
type Provider struct {
	path      string
	credsPath string
	token     TokenProvider
	getenv    func(string) string
	// unattended refuses mfa_serial; envCreds stands for the environment's
	// keys; allowed, when not nil, lists the accounts role_arn may name.
	unattended bool
	envCreds   aws.CredentialsProvider
	allowed    []string

	mu      sync.Mutex
	file    *File
	base    *aws.Config
	configs map[[2]string]aws.Config
	creds   map[string]aws.CredentialsProvider
}

// NewProvider returns a Provider for the config file at path ("" = no
// file: only the default credential chain is available). The file is read
// here so that a broken file is reported before any AWS call.
func NewProvider(path string, opts ...Option) (*Provider, error) {
	p := &Provider{
		path:    path,
		getenv:  os.Getenv,
		configs: map[[2]string]aws.Config{},
		creds:   map[string]aws.CredentialsProvider{},
	}
	for _, o := range opts {
		o(p)
	}
	if p.file == nil {
		if path == "" {
			p.file = &File{Profiles: map[string]*Profile{}}
			// Without a config file, the credentials file alone still names profiles.
			if data, err := os.ReadFile(p.credsPath); p.credsPath != "" && err == nil {
				if err := p.file.ParseCredentials(p.credsPath, data); err != nil {
					return nil, err
				}
			}
		} else {
			f, err := LoadFile(path, p.credsPath)
			if err != nil {
				return nil, err
			}
			p.file = f
		}
	}
	return p, nil
}

// File returns the parsed config file.
func (p *Provider) File() *File { return p.file }

// Config returns the aws.Config for a profile in a region. profile ""
// means the SDK's default chain (the process's own credentials); region ""
// means the profile's region, else the base configuration's.
func (p *Provider) Config(ctx context.Context, profile, region string) (aws.Config, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := [2]string{profile, region}
	if cfg, ok := p.configs[key]; ok {
		return cfg, nil
	}
	base, err := p.baseConfig(ctx)
	if err != nil {
		return aws.Config{}, err
	}
	cfg := base.Copy()
	if profile != "" && !(profile == "default" && p.file.Profiles["default"] == nil) {
		prof, err := p.profile(profile, profile)
		if err != nil {
			return aws.Config{}, err
		}
		creds, err := p.credentials(base, prof, nil)
		if err != nil {
			return aws.Config{}, err
		}
		cfg.Credentials = creds
		if prof.Region != "" {
			cfg.Region = prof.Region
		}
	}
	if region != "" {
		cfg.Region = region
	}
	p.configs[key] = cfg
	return cfg, nil
}

// Check validates a profile as Config would resolve it, without calling AWS
// or caching anything: the profile is defined, its source_profile chain has
// no loop and ends in keys or a credential_source (a profile may be its own
// source only when it holds keys), its credential_source can work here
// (Environment needs the variables set) and an mfa_serial has someone to ask.
// Callers check every profile a config uses before deploying anything, so
// that a broken one fails validation rather than a run halfway through.
func (p *Provider) Check(profile string) error {
	if profile == "" || (profile == "default" && p.file.Profiles["default"] == nil) {
		return nil
	}
	prof, err := p.profile(profile, profile)
	if err != nil {
		return err
	}
	// A scratch provider builds the credential chain, whose providers call
	// AWS only when asked for credentials, and is thrown away.
	scratch := &Provider{path: p.path, token: p.token, getenv: p.getenv, file: p.file, creds: map[string]aws.CredentialsProvider{},
		unattended: p.unattended, envCreds: p.envCreds, allowed: p.allowed}
	_, err = scratch.credentials(aws.Config{}, prof, nil)
	return err
}

func (p *Provider) baseConfig(ctx context.Context) (aws.Config, error) {
	if p.base != nil {
		return *p.base, nil
	}
	// The SDK's own settings give the endpoint (AWS_ENDPOINT_URL), retries
	// and the default credential chain. The profile machinery of
	// LoadDefaultConfig is not used for named profiles: this package
	// resolves them so that a bundle's file and clear errors apply.
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS SDK configuration: %w", err)
	}
	p.base = &cfg
	return cfg, nil
}

// profile finds a profile by name; from is the profile whose chain led here.
func (p *Provider) profile(name, from string) (*Profile, error) {
	prof, ok := p.file.Profiles[name]
	if ok {
		return prof, nil
	}
	where := p.path
	if where == "" {
		where = "no AWS config file (set AWS_CONFIG_FILE)"
	}
	hint := ""
	if len(p.file.Profiles) > 0 {
		hint = "; profiles defined: " + strings.Join(p.file.Names(), ", ")
	}
	if name != from {
		return nil, fmt.Errorf("profile %s: source_profile %s is not defined in %s%s", from, name, where, hint)
	}
	return nil, fmt.Errorf("profile %s is not defined in %s: add a [profile %s] section%s", name, where, name, hint)
}

// credentials builds (or reuses) the credentials of a profile, following
// source_profile chains. visited holds the chain so far, for loop errors.
func (p *Provider) credentials(base aws.Config, prof *Profile, visited []string) (aws.CredentialsProvider, error) {
	if c, ok := p.creds[prof.Name]; ok {
		return c, nil
	}
	visited = append(visited, prof.Name)
	loc := fmt.Sprintf("profile %s (%s:%d)", prof.Name, prof.File, prof.Line)

	if prof.RoleARN == "" {
		if prof.HasStaticKeys() {
			return p.remember(prof, credentials.NewStaticCredentialsProvider(prof.AccessKeyID, prof.SecretAccessKey, prof.SessionToken)), nil
		}
		if prof.CredentialSource != "" {
			return nil, fmt.Errorf("%s: credential_source needs role_arn (it names where the credentials to assume the role come from)", loc)
		}
		for _, k := range []string{"sso_session", "sso_start_url", "credential_process", "web_identity_token_file"} {
			if prof.Settings[k] != "" {
				return nil, fmt.Errorf("%s: %s is not supported by stackerless: use role_arn with source_profile or credential_source", loc, k)
			}
		}
		return nil, fmt.Errorf("%s has no credentials: give it role_arn with source_profile or credential_source, or aws_access_key_id and aws_secret_access_key", loc)
	}

	if err := p.checkRole(prof, loc); err != nil {
		return nil, err
	}
	if prof.MFASerial != "" && p.unattended {
		return nil, fmt.Errorf("%s: mfa_serial %s cannot be used here: the serverless runtime runs unattended, with nobody to type an MFA code. "+
			"Remove mfa_serial from this profile (keep it in your own laptop's profiles) and let the chain start from credential_source = Environment, the function's own role", loc, prof.MFASerial)
	}
	if prof.MFASerial != "" && p.token == nil {
		return nil, fmt.Errorf("profile %s needs an MFA code (mfa_serial %s): run interactively or use a profile without mfa_serial", prof.Name, prof.MFASerial)
	}

	var source aws.CredentialsProvider
	switch {
	case prof.SourceProfile != "" && prof.CredentialSource != "":
		return nil, fmt.Errorf("%s has both source_profile and credential_source: keep one", loc)
	case prof.SourceProfile == prof.Name:
		// A profile may be its own source when it holds the keys itself.
		if !prof.HasStaticKeys() {
			return nil, fmt.Errorf("%s: source_profile names itself but the profile has no aws_access_key_id / aws_secret_access_key", loc)
		}
		source = credentials.NewStaticCredentialsProvider(prof.AccessKeyID, prof.SecretAccessKey, prof.SessionToken)
	case prof.SourceProfile != "":
		for _, v := range visited {
			if v == prof.SourceProfile {
				return nil, fmt.Errorf("%s: source_profile loop %s -> %s: break the chain so it ends in a profile with keys or a credential_source",
					loc, strings.Join(visited, " -> "), prof.SourceProfile)
			}
		}
		src, err := p.profile(prof.SourceProfile, prof.Name)
		if err != nil {
			return nil, err
		}
		if src.HasStaticKeys() {
			// The AWS CLI uses a source profile's keys even when it also has
			// a role_arn.
			source = credentials.NewStaticCredentialsProvider(src.AccessKeyID, src.SecretAccessKey, src.SessionToken)
		} else {
			source, err = p.credentials(base, src, visited)
			if err != nil {
				return nil, err
			}
		}
	case prof.CredentialSource != "":
		var err error
		source, err = p.credentialSource(base, prof, loc)
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%s has role_arn but neither source_profile nor credential_source: add one (credential_source = Environment uses the process's own credentials)", loc)
	}

	stsCfg := base.Copy()
	stsCfg.Credentials = source
	if prof.Region != "" {
		stsCfg.Region = prof.Region
	}
	if stsCfg.Region == "" {
		stsCfg.Region = "us-east-1"
	}
	client := sts.NewFromConfig(stsCfg)
	ar := stscreds.NewAssumeRoleProvider(client, prof.RoleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = prof.RoleSessionName
		if prof.ExternalID != "" {
			o.ExternalID = aws.String(prof.ExternalID)
		}
		// The AWS CLI leaves DurationSeconds to STS (one hour); the SDK
		// would ask for 15 minutes.
		o.Duration = time.Hour
		if prof.DurationSeconds > 0 {
			o.Duration = time.Duration(prof.DurationSeconds) * time.Second
		}
		if prof.MFASerial != "" {
			serial, tp := prof.MFASerial, p.token
			o.SerialNumber = aws.String(serial)
			o.TokenProvider = func() (string, error) { return tp(serial) }
		}
	})
	return p.remember(prof, &roleProvider{profile: prof.Name, role: prof.RoleARN, next: ar}), nil
}

func (p *Provider) remember(prof *Profile, c aws.CredentialsProvider) aws.CredentialsProvider {
	cache := aws.NewCredentialsCache(c)
	p.creds[prof.Name] = cache
	return cache
}

// credentialSource resolves the AWS CLI's credential_source values.
func (p *Provider) credentialSource(base aws.Config, prof *Profile, loc string) (aws.CredentialsProvider, error) {
	switch prof.CredentialSource {
	case "Environment":
		if p.envCreds != nil {
			return p.envCreds, nil
		}
		id, secret := p.getenv("AWS_ACCESS_KEY_ID"), p.getenv("AWS_SECRET_ACCESS_KEY")
		if id == "" {
			id = p.getenv("AWS_ACCESS_KEY")
		}
		if secret == "" {
			secret = p.getenv("AWS_SECRET_KEY")
		}
		if id == "" || secret == "" {
			return nil, fmt.Errorf("%s: credential_source = Environment but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set: export them (e.g. from aws sts get-session-token)", loc)
		}
		return credentials.NewStaticCredentialsProvider(id, secret, p.getenv("AWS_SESSION_TOKEN")), nil
	case "Ec2InstanceMetadata":
		return ec2rolecreds.New(), nil
	case "EcsContainer":
		endpoint := p.getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")
		if rel := p.getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); rel != "" {
			endpoint = "http://169.254.170.2" + rel
		}
		if endpoint == "" {
			return nil, fmt.Errorf("%s: credential_source = EcsContainer but neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI is set: run in a container task or use another credential_source", loc)
		}
		getenv := p.getenv
		return endpointcreds.New(endpoint, func(o *endpointcreds.Options) {
			if base.HTTPClient != nil {
				o.HTTPClient = base.HTTPClient
			}
			o.AuthorizationTokenProvider = endpointcreds.TokenProviderFunc(func() (string, error) {
				if f := getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); f != "" {
					b, err := os.ReadFile(f)
					if err != nil {
						return "", fmt.Errorf("read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: %w", err)
					}
					return strings.TrimSpace(string(b)), nil
				}
				return getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN"), nil
			})
		}), nil
	default:
		return nil, fmt.Errorf("%s: credential_source %q is not one of Environment, Ec2InstanceMetadata, EcsContainer", loc, prof.CredentialSource)
	}
}

// checkRole holds a profile's role_arn to the allowed accounts, when there
// is an allow-list.
func (p *Provider) checkRole(prof *Profile, loc string) error {
	if p.allowed == nil {
		return nil
	}
	account, ok := roleAccount(prof.RoleARN)
	if !ok {
		return fmt.Errorf("%s: role_arn %q is not an IAM role ARN (arn:aws:iam::<account id>:role/<name>)", loc, prof.RoleARN)
	}
	if slices.Contains(p.allowed, account) {
		return nil
	}
	allowed := "none"
	if len(p.allowed) > 0 {
		allowed = strings.Join(p.allowed, ", ")
	}
	return fmt.Errorf("%s: role_arn %s is in account %s, where this deployment may not assume roles (allowed accounts: %s): "+
		"fix the role_arn, or add the account to the deployment's allow-list", loc, prof.RoleARN, account, allowed)
}

// roleAccount is the account of an IAM role ARN.
func roleAccount(arn string) (string, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || !strings.HasPrefix(parts[5], "role/") || len(parts[4]) != 12 {
		return "", false
	}
	for _, c := range parts[4] {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	return parts[4], true
}

// roleProvider names the profile and role in AssumeRole failures, which the
// SDK reports without them.
type roleProvider struct {
	profile, role string
	next          aws.CredentialsProvider
}

// Retrieve implements aws.CredentialsProvider.
func (r *roleProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := r.next.Retrieve(ctx)
	if err != nil {
		var re *roleError
		if errors.As(err, &re) {
			// An inner profile of the chain failed: keep its message, say
			// which profile needed it.
			return c, fmt.Errorf("profile %s: %w", r.profile, err)
		}
		return c, &roleError{profile: r.profile, role: r.role, err: err}
	}
	return c, nil
}

type roleError struct {
	profile, role string
	err           error
}

func (e *roleError) Error() string {
	return fmt.Sprintf("profile %s: assume role %s: %v (check the role's trust policy and that the source credentials may call sts:AssumeRole on it)", e.profile, e.role, e.err)
}

func (e *roleError) Unwrap() error { return e.err }
