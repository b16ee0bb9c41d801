// Package iam is the sandbox's identity store: accounts and their root keys,
// roles with trust and permission policies, managed policies, role sessions,
// the Authorizer every service calls, and the IAM Query API.
package iam

import (
	"net/http"
	"sync"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// Account is one sandbox account.
type Account struct {
	Name string
	ID   string // 12 digits
}

// Options configure a Store.
type Options struct {
	Accounts []Account
	// OrgID is reported as aws:PrincipalOrgID for every principal.
	OrgID string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Credential is what the core needs to verify a request signed with an access key.
type Credential struct {
	SecretAccessKey string
	// SessionToken is empty for root keys; session requests must present it.
	SessionToken string
	Caller       awsapi.Caller
}

// RoleSpec describes a role for CreateRole / UpdateRole.
type RoleSpec struct {
	Name, Path, AssumeRolePolicy, Description string // Path default "/"
	MaxSessionDuration                        int32  // seconds, default 3600
	Policies                                  map[string]string
	ManagedPolicyARNs                         []string
	Tags                                      map[string]string
}

// Store holds the sandbox's identities. It is safe for concurrent use.
type Store struct {
	mu  sync.RWMutex
	now func() time.Time
}

var _ awsapi.Authorizer = (*Store)(nil)

// NewStore creates the accounts with fresh random root keys.
func NewStore(opts Options) *Store {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Store{now: now}
}

// RootKeys returns the root access key of an account.
func (s *Store) RootKeys(accountID string) (akid, secret string) { return "", "" }

// LookupAccessKey returns the credential behind an access key ID.
func (s *Store) LookupAccessKey(akid string) (Credential, bool) { return Credential{}, false }

// Authorize implements awsapi.Authorizer.
func (s *Store) Authorize(call *awsapi.Call, action string, res awsapi.Resource, extra map[string]string) error {
	return awsapi.AccessDenied("not implemented")
}

func notImplemented() error {
	return awsapi.Errorf(http.StatusNotImplemented, "NotImplemented", "not implemented")
}

// CreateRole creates a role.
func (s *Store) CreateRole(account string, spec RoleSpec) (arn, roleID string, err error) {
	return "", "", notImplemented()
}

// UpdateRole replaces a role's trust policy, inline and managed policies and description.
func (s *Store) UpdateRole(account string, spec RoleSpec) error { return notImplemented() }

// DeleteRole deletes a role with its inline policies and attachments.
func (s *Store) DeleteRole(account, name string) error { return notImplemented() }

// PutRolePolicy sets an inline policy.
func (s *Store) PutRolePolicy(account, role, policyName, document string) error {
	return notImplemented()
}

// DeleteRolePolicy removes an inline policy.
func (s *Store) DeleteRolePolicy(account, role, policyName string) error { return notImplemented() }

// CreatePolicy creates a customer managed policy.
func (s *Store) CreatePolicy(account, name, path, document string) (arn string, err error) {
	return "", notImplemented()
}

// UpdatePolicy sets a new default version of a managed policy.
func (s *Store) UpdatePolicy(account, arn, document string) error { return notImplemented() }

// DeletePolicy deletes a managed policy, detaching it first.
func (s *Store) DeletePolicy(account, arn string) error { return notImplemented() }

// AttachRolePolicy attaches a managed policy to a role.
func (s *Store) AttachRolePolicy(account, role, policyARN string) error { return notImplemented() }

// DetachRolePolicy detaches a managed policy from a role.
func (s *Store) DetachRolePolicy(account, role, policyARN string) error { return notImplemented() }

// API serves the IAM Query API.
type API struct{ store *Store }

// NewAPI returns the IAM Query API handler.
func NewAPI(store *Store) *API { return &API{store: store} }

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	awsapi.WriteQueryError(w, awsapi.CallFrom(r.Context()), "https://iam.amazonaws.com/doc/2010-05-08/", notImplemented())
}
