package master

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Settings are what a deployment chooses. They come from one JSON file
// (LoadSettings), and Validate checks them before anything is synthesised.
type Settings struct {
	// AllowedAccounts are the account ids a config's profiles may name in
	// role_arn; the Lambdas may assume roles in these accounts only.
	AllowedAccounts []string `json:"allowed_accounts"`
	// StackerRoleName is the name of the Stacker role in every allowed
	// account (templates/stacker-role.yaml's RoleName): the template
	// bucket lets those roles read templates.
	StackerRoleName string `json:"stacker_role_name,omitempty"`
	// PollSeconds is the wait between two Advance steps while stacks are in
	// flight; ApprovalPollSeconds while only approvals are awaited. The
	// state machine never waits longer than the larger of the two.
	PollSeconds         int `json:"poll_seconds,omitempty"`
	ApprovalPollSeconds int `json:"approval_poll_seconds,omitempty"`
	// LoopsPerExecution bounds the Advance/Wait loops of one execution;
	// then the run continues in a new execution, well before Step
	// Functions' 25,000 history events.
	LoopsPerExecution int `json:"loops_per_execution,omitempty"`
	// Schedules start runs on a schedule (e.g. a nightly diff).
	Schedules []Schedule `json:"schedules,omitempty"`
	// ConfigWriters are the IAM principals (role, user or account root
	// ARNs, matched against aws:PrincipalArn) that may write the config
	// bucket (configs, templates, profiles), approvals and the freeze
	// object: writing there is the permission to deploy. The buckets deny
	// those writes to everyone else, the master account's administrators
	// included. Empty leaves the decision to the master account's IAM
	// policies (and synth warns).
	ConfigWriters []string `json:"config_writers,omitempty"`
	// Approvers are the principal ids (aws:userid) whose approvals count
	// (APPROVERS of docs/runtime.md).
	Approvers []string `json:"approvers,omitempty"`
	// Architecture of the Lambda binaries: "arm64" (the default) or
	// "x86_64".
	Architecture string `json:"architecture,omitempty"`
	// Prefix and Suffixes select the config bucket keys whose upload
	// starts a run.
	Prefix   string   `json:"prefix,omitempty"`
	Suffixes []string `json:"suffixes,omitempty"`
	// ReservedConcurrency caps the concurrent instances of prepare and
	// advance each, so that many runs at once do not exhaust the accounts'
	// CloudFormation and STS request rates (a throttled step is retried by
	// the state machine). 0 leaves them unreserved, as an account whose
	// concurrency limit is below 100 + 2 x the cap must.
	ReservedConcurrency *int `json:"reserved_concurrency,omitempty"`
	// FunctionsDir holds the built functions, <dir>/<Go arch>/<name>/bootstrap
	// (`make functions` writes dist/arm64 and dist/<host arch>).
	FunctionsDir string `json:"functions_dir,omitempty"`
}

// Schedule starts a run of one config on a schedule.
type Schedule struct {
	// Name is the schedule's name, in the execution's input.
	Name string `json:"name"`
	// Expression is EventBridge Scheduler's rate(...) or cron(...).
	Expression string `json:"expression"`
	// TimeZone of a cron expression (IANA name); empty is UTC.
	TimeZone string `json:"time_zone,omitempty"`
	// Action is "build" or "diff".
	Action string `json:"action"`
	// Config is the key of the config in the config bucket.
	Config string `json:"config"`
}

// Defaults of the settings a file may leave out.
const (
	DefaultPollSeconds         = 5
	DefaultApprovalPollSeconds = 60
	DefaultLoopsPerExecution   = 300
	DefaultArchitecture        = "arm64"
	DefaultStackerRoleName     = "Stacker"
	DefaultFunctionsDir        = "../dist"
	DefaultReservedConcurrency = 10
)

// DefaultSuffixes are the keys whose upload starts a run: a stacker config
// or an archive bundle, not the templates and profiles beside a config.
var DefaultSuffixes = []string{"stacker.yaml", "stacker.yml", ".zip", ".tar.gz", ".tgz"}

// LoadSettings reads a settings file, refusing unknown keys, and fills in
// the defaults. It does not validate: call Validate.
func LoadSettings(path string) (*Settings, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	s, err := ParseSettings(data)
	if err != nil {
		return nil, fmt.Errorf("settings %s: %w", path, err)
	}
	return s, nil
}

// ParseSettings decodes settings JSON, refusing unknown keys, and fills in
// the defaults.
func ParseSettings(data []byte) (*Settings, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Settings
	if err := dec.Decode(&s); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			line := 1 + bytes.Count(data[:syn.Offset], []byte("\n"))
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		return nil, err
	}
	s.fillDefaults()
	return &s, nil
}

func (s *Settings) fillDefaults() {
	if s.PollSeconds == 0 {
		s.PollSeconds = DefaultPollSeconds
	}
	if s.ApprovalPollSeconds == 0 {
		s.ApprovalPollSeconds = DefaultApprovalPollSeconds
	}
	if s.LoopsPerExecution == 0 {
		s.LoopsPerExecution = DefaultLoopsPerExecution
	}
	if s.Architecture == "" {
		s.Architecture = DefaultArchitecture
	}
	if s.StackerRoleName == "" {
		s.StackerRoleName = DefaultStackerRoleName
	}
	if s.Suffixes == nil {
		s.Suffixes = append([]string(nil), DefaultSuffixes...)
	}
	if s.FunctionsDir == "" {
		s.FunctionsDir = DefaultFunctionsDir
	}
	if s.ReservedConcurrency == nil {
		n := DefaultReservedConcurrency
		s.ReservedConcurrency = &n
	}
}

var (
	accountID = regexp.MustCompile(`^[0-9]{12}$`)
	roleName  = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	// A schedule is named <stack name>-<name>, at most 64 characters.
	scheduleNm = regexp.MustCompile(`^[0-9a-zA-Z-_.]{1,32}$`)
	// A writer is matched by aws:PrincipalArn, which for a role session
	// is the role's ARN: sessions (sts::...:assumed-role/...) never match.
	principal   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:(root|(role|user)/[\w+=,.@/-]+)$`)
	rateExpr    = regexp.MustCompile(`^rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\)$`)
	cronExpr    = regexp.MustCompile(`^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$`)
	approverID  = regexp.MustCompile(`^[A-Z0-9]{16,128}(:[\w+=,.@-]*)?$`)
	keyWildcard = strings.NewReplacer("*", "", `\`, "")
)

// Validate checks every setting and returns all problems at once, each
// naming its key.
func (s *Settings) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if len(s.AllowedAccounts) == 0 {
		bad("allowed_accounts", "list the account ids the Lambdas may deploy into (at least the master account)")
	}
	seen := map[string]bool{}
	for i, a := range s.AllowedAccounts {
		switch {
		case !accountID.MatchString(a):
			bad(fmt.Sprintf("allowed_accounts[%d]", i), "%q is not a 12-digit account id", a)
		case seen[a]:
			bad(fmt.Sprintf("allowed_accounts[%d]", i), "%s is listed twice", a)
		}
		seen[a] = true
	}
	if !roleName.MatchString(s.StackerRoleName) {
		bad("stacker_role_name", "%q is not an IAM role name", s.StackerRoleName)
	}
	if s.PollSeconds < 1 || s.PollSeconds > 3600 {
		bad("poll_seconds", "%d is outside 1..3600", s.PollSeconds)
	}
	if s.ApprovalPollSeconds < 1 || s.ApprovalPollSeconds > 3600 {
		bad("approval_poll_seconds", "%d is outside 1..3600", s.ApprovalPollSeconds)
	}
	if maxLoops := MaxLoopsPerExecution(); s.LoopsPerExecution < 1 || s.LoopsPerExecution > maxLoops {
		bad("loops_per_execution", "%d is outside 1..%d (an execution must end before 25,000 history events, every retry counted)", s.LoopsPerExecution, maxLoops)
	}
	names := map[string]bool{}
	for i, sc := range s.Schedules {
		key := fmt.Sprintf("schedules[%d]", i)
		if !scheduleNm.MatchString(sc.Name) {
			bad(key+".name", "%q must be 1-32 letters, digits, '-', '_' or '.'", sc.Name)
		} else if names[sc.Name] {
			bad(key+".name", "%q is used twice", sc.Name)
		}
		names[sc.Name] = true
		if !rateExpr.MatchString(sc.Expression) && !cronExpr.MatchString(sc.Expression) {
			bad(key+".expression", "%q is neither rate(N unit) nor cron(minutes hours day-of-month month day-of-week year)", sc.Expression)
		}
		if sc.TimeZone != "" && !strings.HasPrefix(sc.Expression, "cron(") {
			bad(key+".time_zone", "applies to cron expressions only")
		}
		if sc.Action != "build" && sc.Action != "diff" {
			bad(key+".action", "%q must be build or diff", sc.Action)
		}
		if sc.Config == "" || strings.HasPrefix(sc.Config, "/") || strings.HasPrefix(sc.Config, "s3://") {
			bad(key+".config", "%q must be a key in the config bucket (no leading / or s3://)", sc.Config)
		}
	}
	for i, w := range s.ConfigWriters {
		if !principal.MatchString(w) {
			bad(fmt.Sprintf("config_writers[%d]", i), "%q is not an IAM principal ARN (arn:aws:iam::ACCOUNT:root, :role/NAME or :user/NAME; name a role, not a session)", w)
		}
	}
	for i, a := range s.Approvers {
		if !approverID.MatchString(a) {
			bad(fmt.Sprintf("approvers[%d]", i), "%q is not a principal id (AROA...:session, AROA...: or AIDA...)", a)
		}
	}
	if s.Architecture != "arm64" && s.Architecture != "x86_64" {
		bad("architecture", "%q must be arm64 or x86_64", s.Architecture)
	}
	if keyWildcard.Replace(s.Prefix) != s.Prefix || strings.HasPrefix(s.Prefix, "/") {
		bad("prefix", "%q may not hold '*' or '\\' or start with '/'", s.Prefix)
	}
	if len(s.Suffixes) == 0 {
		bad("suffixes", "list at least one key suffix that starts a run")
	}
	for i, x := range s.Suffixes {
		if x == "" || keyWildcard.Replace(x) != x {
			bad(fmt.Sprintf("suffixes[%d]", i), "%q must be non-empty, without '*' or '\\'", x)
		}
	}
	if s.ReservedConcurrency != nil && (*s.ReservedConcurrency < 0 || *s.ReservedConcurrency > 1000) {
		bad("reserved_concurrency", "%d is outside 0..1000", *s.ReservedConcurrency)
	}
	if s.FunctionsDir == "" {
		bad("functions_dir", "name the directory holding the built functions")
	}
	return errors.Join(errs...)
}

// GoArch is the Go architecture (GOARCH) of Architecture.
func (s *Settings) GoArch() string {
	if s.Architecture == "x86_64" {
		return "amd64"
	}
	return "arm64"
}

// FunctionDir is the folder holding the named function's bootstrap for the
// deployment's architecture.
func (s *Settings) FunctionDir(name string) string {
	return filepath.Join(s.FunctionsDir, s.GoArch(), name)
}
