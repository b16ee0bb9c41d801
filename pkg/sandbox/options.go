package sandbox

import (
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/sfn"
)

// AccountSpec names one account of the sandbox.
type AccountSpec struct {
	Name string // e.g. "master"
	ID   string // 12 digits
}

// Options configure a Sandbox.
type Options struct {
	// Listen is the TCP address to serve plain HTTP on; "127.0.0.1:0" picks a free port.
	Listen string
	// HTTPSListen is the TCP address to serve HTTPS on; empty picks a free
	// port on Listen's host. Requests over it have aws:SecureTransport true.
	HTTPSListen string
	// CADir keeps the certificate authority that signs the HTTPS listener's
	// certificate (ca.pem, ca-key.pem): made there on first use and reused
	// after, so clients trust it once. Empty makes a CA for this run only.
	CADir string
	// Accounts are created at start, in this order. Each gets random root keys.
	Accounts []AccountSpec
	// StackDuration is how long CloudFormation stack operations take.
	StackDuration time.Duration
	// OrgID is the organization every account belongs to (aws:PrincipalOrgID).
	OrgID string
	// Region is the region AWSConfig points clients at (default us-east-1).
	Region string
	// Logger receives structured request logs; nil discards them.
	Logger *slog.Logger
	// Now is the sandbox's clock (default time.Now). Signatures are checked against it.
	Now func() time.Time
	// Seed, if non-zero, makes fault injection deterministic.
	Seed int64
	// Tasks runs the Lambda functions of Step Functions Task states; nil
	// runs them with the sandbox's own Lambda Invoke. Tests of state
	// machines may give a Go stand-in.
	Tasks TaskInvoker
	// LambdaStateDelay is how long functions created or updated through the
	// Lambda API stay Pending / InProgress (default 100ms), so that clients
	// which do not wait for Active, as they must on AWS, fail here too.
	LambdaStateDelay time.Duration
}

// TaskInvoker runs a Step Functions Task state's function as the state
// machine's role (see sfn.TaskInvoker).
type TaskInvoker = sfn.TaskInvoker

// DefaultOptions returns the options `stackerless sandbox` starts with.
func DefaultOptions() Options {
	return Options{
		Listen: "127.0.0.1:4566",
		Accounts: []AccountSpec{
			{Name: "master", ID: "111111111111"},
			{Name: "prod", ID: "222222222222"},
			{Name: "stage", ID: "333333333333"},
		},
		StackDuration: 2 * time.Second,
		OrgID:         "o-sandbox",
		Region:        "us-east-1",
	}
}

var (
	accountIDPattern   = regexp.MustCompile(`^[0-9]{12}$`)
	accountNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// ParseAccounts parses "master=111111111111,prod=222222222222" into account
// specs, in order. Names and IDs must be unique and IDs 12 digits.
func ParseAccounts(s string) ([]AccountSpec, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("parse accounts: no accounts given (want name=123456789012,...)")
	}
	var out []AccountSpec
	names := map[string]bool{}
	ids := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		name, id, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("parse accounts: %q: want name=123456789012", part)
		}
		spec := AccountSpec{Name: strings.TrimSpace(name), ID: strings.TrimSpace(id)}
		if err := validateAccount(spec); err != nil {
			return nil, fmt.Errorf("parse accounts: %w", err)
		}
		if names[spec.Name] {
			return nil, fmt.Errorf("parse accounts: account name %q given twice", spec.Name)
		}
		if ids[spec.ID] {
			return nil, fmt.Errorf("parse accounts: account ID %s given twice", spec.ID)
		}
		names[spec.Name], ids[spec.ID] = true, true
		out = append(out, spec)
	}
	return out, nil
}

func validateAccount(a AccountSpec) error {
	if !accountNamePattern.MatchString(a.Name) {
		return fmt.Errorf("account name %q: use letters, digits, '.', '_' or '-'", a.Name)
	}
	if !accountIDPattern.MatchString(a.ID) {
		return fmt.Errorf("account %s: ID %q is not 12 digits", a.Name, a.ID)
	}
	return nil
}

// validate checks opts and fills defaults.
func (o *Options) validate() error {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:4566"
	}
	if o.HTTPSListen == "" {
		host, _, err := net.SplitHostPort(o.Listen)
		if err != nil {
			return fmt.Errorf("listen address %q: %w", o.Listen, err)
		}
		o.HTTPSListen = net.JoinHostPort(host, "0")
	}
	if len(o.Accounts) == 0 {
		o.Accounts = DefaultOptions().Accounts
	}
	names := map[string]bool{}
	ids := map[string]bool{}
	for _, a := range o.Accounts {
		if err := validateAccount(a); err != nil {
			return err
		}
		if names[a.Name] || ids[a.ID] {
			return fmt.Errorf("account %s=%s: name or ID given twice", a.Name, a.ID)
		}
		names[a.Name], ids[a.ID] = true, true
	}
	if o.StackDuration < 0 {
		return fmt.Errorf("stack duration %s is negative", o.StackDuration)
	}
	if o.StackDuration == 0 {
		o.StackDuration = 2 * time.Second
	}
	if o.OrgID == "" {
		o.OrgID = "o-sandbox"
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}
