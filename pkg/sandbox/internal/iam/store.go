// Package iam is the sandbox's identity store: accounts and their root keys,
// roles with trust and permission policies, managed policies, role sessions,
// the Authorizer every service calls, and the IAM Query API.
package iam

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/policy"
)

// Account is one sandbox account.
type Account struct {
	Name string
	ID   string // 12 digits
}

// Options configure a Store.
type Options struct {
	Accounts []Account
	// OrgID is reported as aws:PrincipalOrgID for every principal of the sandbox.
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
	// Policies maps inline policy names to JSON documents.
	Policies          map[string]string
	ManagedPolicyARNs []string
	Tags              map[string]string
}

// Store holds the sandbox's identities. It is safe for concurrent use.
type Store struct {
	now   func() time.Time
	orgID string

	mu       sync.RWMutex
	accounts map[string]*account
	order    []Account
	keys     map[string]*Credential // root keys and live sessions
	sweepAt  int
	builtin  map[string]*managedPolicy
}

type account struct {
	Account
	rootKey string
	roles   map[string]*role          // by lower-case name: IAM names are case-insensitive
	managed map[string]*managedPolicy // customer managed, by ARN
}

type role struct {
	name, path, arn, id string
	description         string
	trust               string
	maxSession          int32
	created             time.Time
	inline              map[string]*inlinePolicy
	attached            []string // managed policy ARNs, in attach order
	tags                map[string]string
}

type inlinePolicy struct {
	name, doc string
	parsed    *policy.Policy
}

type managedPolicy struct {
	arn, name, path, id, description string
	doc                              string
	parsed                           *policy.Policy
	version                          int
	created, updated                 time.Time
}

var _ awsapi.Authorizer = (*Store)(nil)

// NewStore creates the accounts with fresh random root keys.
func NewStore(opts Options) *Store {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Store{now: now, orgID: opts.OrgID, accounts: map[string]*account{}, keys: map[string]*Credential{}, sweepAt: 1024}
	s.builtin = builtinPolicies(now())
	for _, a := range opts.Accounts {
		akid := "AKIA" + randomString(16, upperAlnum)
		acct := &account{Account: a, rootKey: akid, roles: map[string]*role{}, managed: map[string]*managedPolicy{}}
		s.accounts[a.ID] = acct
		s.order = append(s.order, a)
		s.keys[akid] = &Credential{
			SecretAccessKey: randomString(40, secretChars),
			Caller: awsapi.Caller{
				Account:     a.ID,
				ARN:         rootARN(a.ID),
				UserID:      a.ID,
				Root:        true,
				AccessKeyID: akid,
			},
		}
	}
	return s
}

// Accounts returns the sandbox's accounts in the order given to NewStore.
func (s *Store) Accounts() []Account { return append([]Account(nil), s.order...) }

// RootKeys returns the root access key of an account ("", "" for an unknown account).
func (s *Store) RootKeys(accountID string) (akid, secret string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.accounts[accountID]
	if !ok {
		return "", ""
	}
	return a.rootKey, s.keys[a.rootKey].SecretAccessKey
}

// LookupAccessKey returns the credential behind an access key ID. Expired
// sessions are still returned (Caller.Expires is in the past) for a while, so
// the caller can answer ExpiredToken rather than InvalidClientTokenId;
// Authorize refuses them.
func (s *Store) LookupAccessKey(akid string) (Credential, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.keys[akid]
	if !ok {
		return Credential{}, false
	}
	return *c, true
}

func rootARN(account string) string { return "arn:aws:iam::" + account + ":root" }

const (
	upperAlnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			// crypto/rand does not fail on supported platforms.
			panic(fmt.Sprintf("read random: %v", err))
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

func sessionToken() string {
	b := make([]byte, 120)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

var (
	namePattern = regexp.MustCompile(`^[\w+=,.@-]+$`)
	pathPattern = regexp.MustCompile(`^/([\x21-\x7e]*/)?$`)
)

func noSuchRole(name string) error {
	return awsapi.Errorf(http.StatusNotFound, "NoSuchEntity", "The role with name %s cannot be found.", name)
}

func noSuchPolicy(arn string) error {
	return awsapi.Errorf(http.StatusNotFound, "NoSuchEntity", "Policy %s does not exist or is not attachable.", arn)
}

func malformed(err error) error {
	return awsapi.Errorf(http.StatusBadRequest, "MalformedPolicyDocument", "%s", err.Error())
}

func validateName(field, value string, max int) error {
	switch {
	case value == "":
		return awsapi.ValidationError("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", field)
	case len(value) > max:
		return awsapi.ValidationError("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", value, field, max)
	case !namePattern.MatchString(value):
		return awsapi.ValidationError("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", value, field)
	}
	return nil
}

func normalizePath(p string) (string, error) {
	if p == "" {
		return "/", nil
	}
	if len(p) > 512 || !pathPattern.MatchString(p) {
		return "", awsapi.ValidationError("The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.")
	}
	return p, nil
}

func (s *Store) account(id string) (*account, error) {
	a, ok := s.accounts[id]
	if !ok {
		return nil, awsapi.Errorf(http.StatusNotFound, "NoSuchEntity", "The account %s does not exist in this sandbox.", id)
	}
	return a, nil
}

// parseTrustLocked is parseTrust taking the read lock.
func (s *Store) parseTrustLocked(doc string) (*policy.Policy, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.parseTrust(doc)
}

// parseTrust validates a trust policy as IAM does, including that role
// principals of sandbox accounts exist (AWS rejects unknown role ARNs).
func (s *Store) parseTrust(doc string) (*policy.Policy, error) {
	if len(doc) > 2048 {
		return nil, awsapi.Errorf(http.StatusConflict, "LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048")
	}
	p, err := policy.Parse(doc, policy.Trust)
	if err != nil {
		return nil, malformed(err)
	}
	for _, st := range p.Statements {
		if st.Principal == nil {
			continue
		}
		for _, a := range st.Principal.AWS {
			acct, rest, ok := strings.Cut(strings.TrimPrefix(a, "arn:aws:iam::"), ":")
			if !ok || !strings.HasPrefix(a, "arn:aws:iam::") || rest == "root" {
				continue
			}
			owner, known := s.accounts[acct]
			if !known {
				continue
			}
			if !strings.HasPrefix(rest, "role/") || owner.roleByARN(a) == nil {
				return nil, awsapi.Errorf(http.StatusBadRequest, "MalformedPolicyDocument", "Invalid principal in policy: \"AWS\":%q", a)
			}
		}
	}
	return p, nil
}

func (a *account) roleByARN(arn string) *role {
	i := strings.LastIndexByte(arn, '/')
	if i < 0 {
		return nil
	}
	r := a.roles[strings.ToLower(arn[i+1:])]
	if r == nil || r.arn != arn {
		return nil
	}
	return r
}

func parseInline(role, name, doc string) (*inlinePolicy, error) {
	if err := validateName("policyName", name, 128); err != nil {
		return nil, err
	}
	if len(doc) > 10240 {
		return nil, awsapi.Errorf(http.StatusConflict, "LimitExceeded", "Maximum policy size of 10240 bytes exceeded for role %s", role)
	}
	p, err := policy.Parse(doc, policy.Identity)
	if err != nil {
		return nil, malformed(err)
	}
	return &inlinePolicy{name: name, doc: doc, parsed: p}, nil
}

// findManaged returns a managed policy usable by an account: its own or AWS's.
func (s *Store) findManaged(a *account, arn string) *managedPolicy {
	if p, ok := s.builtin[arn]; ok {
		return p
	}
	return a.managed[arn]
}

// visiblePolicy is findManaged by account ID, with IAM's error for a policy
// the account cannot see. s.mu must be held.
func (s *Store) visiblePolicy(accountID, arn string) (*managedPolicy, error) {
	a, err := s.account(accountID)
	if err != nil {
		return nil, err
	}
	p := s.findManaged(a, arn)
	if p == nil {
		return nil, policyNotFound(arn)
	}
	return p, nil
}

func policyNotFound(arn string) error {
	return awsapi.Errorf(http.StatusNotFound, "NoSuchEntity", "Policy %s was not found.", arn)
}

// buildRole validates spec and returns the role it describes (without id/arn
// timestamps for updates to keep).
func (s *Store) buildRole(a *account, spec RoleSpec) (*role, error) {
	if err := validateName("roleName", spec.Name, 64); err != nil {
		return nil, err
	}
	path, err := normalizePath(spec.Path)
	if err != nil {
		return nil, err
	}
	maxSession := spec.MaxSessionDuration
	if maxSession == 0 {
		maxSession = 3600
	}
	if maxSession < 3600 || maxSession > 43200 {
		return nil, awsapi.ValidationError("1 validation error detected: Value '%d' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200", maxSession)
	}
	if spec.AssumeRolePolicy == "" {
		return nil, awsapi.ValidationError("1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null")
	}
	if len(spec.Description) > 1000 {
		return nil, awsapi.ValidationError("1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 1000")
	}
	if _, err := s.parseTrust(spec.AssumeRolePolicy); err != nil {
		return nil, err
	}
	r := &role{
		name: spec.Name, path: path, arn: "arn:aws:iam::" + a.ID + ":role" + path + spec.Name,
		description: spec.Description, trust: spec.AssumeRolePolicy, maxSession: maxSession,
		inline: map[string]*inlinePolicy{}, tags: map[string]string{},
	}
	for name, doc := range spec.Policies {
		ip, err := parseInline(spec.Name, name, doc)
		if err != nil {
			return nil, err
		}
		r.inline[name] = ip
	}
	seen := map[string]bool{}
	for _, arn := range spec.ManagedPolicyARNs {
		if s.findManaged(a, arn) == nil {
			return nil, noSuchPolicy(arn)
		}
		if !seen[arn] {
			seen[arn] = true
			r.attached = append(r.attached, arn)
		}
	}
	for k, v := range spec.Tags {
		r.tags[k] = v
	}
	return r, nil
}

// CreateRole creates a role. It fails with EntityAlreadyExists (409) when the
// name is taken, MalformedPolicyDocument for bad policies, NoSuchEntity for
// unknown managed policies.
func (s *Store) CreateRole(account string, spec RoleSpec) (arn, roleID string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.account(account)
	if err != nil {
		return "", "", err
	}
	if _, exists := a.roles[strings.ToLower(spec.Name)]; exists {
		return "", "", awsapi.Errorf(http.StatusConflict, "EntityAlreadyExists", "Role with name %s already exists.", spec.Name)
	}
	r, err := s.buildRole(a, spec)
	if err != nil {
		return "", "", err
	}
	r.id = "AROA" + randomString(17, upperAlnum)
	r.created = s.now().UTC()
	a.roles[strings.ToLower(spec.Name)] = r
	return r.arn, r.id, nil
}

// UpdateRole replaces a role's trust policy, inline and managed policies,
// description, tags and maximum session duration. The path cannot change.
func (s *Store) UpdateRole(account string, spec RoleSpec) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.account(account)
	if err != nil {
		return err
	}
	old, ok := a.roles[strings.ToLower(spec.Name)]
	if !ok {
		return noSuchRole(spec.Name)
	}
	if spec.Path == "" {
		spec.Path = old.path
	}
	r, err := s.buildRole(a, spec)
	if err != nil {
		return err
	}
	r.name, r.path, r.arn, r.id, r.created = old.name, old.path, old.arn, old.id, old.created
	a.roles[strings.ToLower(spec.Name)] = r
	return nil
}

// DeleteRole deletes a role together with its inline policies and attachments,
// as CloudFormation's handler does. (The IAM API refuses with DeleteConflict
// instead; see API.)
func (s *Store) DeleteRole(account, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.account(account)
	if err != nil {
		return err
	}
	if _, ok := a.roles[strings.ToLower(name)]; !ok {
		return noSuchRole(name)
	}
	delete(a.roles, strings.ToLower(name))
	return nil
}

func (s *Store) role(account, name string) (*account, *role, error) {
	a, err := s.account(account)
	if err != nil {
		return nil, nil, err
	}
	r, ok := a.roles[strings.ToLower(name)]
	if !ok {
		return nil, nil, noSuchRole(name)
	}
	return a, r, nil
}

// PutRolePolicy creates or replaces an inline policy of a role.
func (s *Store) PutRolePolicy(account, roleName, policyName, document string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, r, err := s.role(account, roleName)
	if err != nil {
		return err
	}
	ip, err := parseInline(r.name, policyName, document)
	if err != nil {
		return err
	}
	r.inline[policyName] = ip
	return nil
}

// DeleteRolePolicy removes an inline policy of a role.
func (s *Store) DeleteRolePolicy(account, roleName, policyName string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, r, err := s.role(account, roleName)
	if err != nil {
		return err
	}
	if _, ok := r.inline[policyName]; !ok {
		return awsapi.Errorf(http.StatusNotFound, "NoSuchEntity", "The role policy with name %s cannot be found.", policyName)
	}
	delete(r.inline, policyName)
	return nil
}

func parseManaged(doc string) (*policy.Policy, error) {
	if len(doc) > 6144 {
		return nil, awsapi.Errorf(http.StatusConflict, "LimitExceeded", "Cannot exceed quota for PolicySize: 6144")
	}
	p, err := policy.Parse(doc, policy.Identity)
	if err != nil {
		return nil, malformed(err)
	}
	return p, nil
}

// CreatePolicy creates a customer managed policy and returns its ARN.
func (s *Store) CreatePolicy(account, name, path, document string) (arn string, err error) {
	p, err := s.createPolicy(account, name, path, document, "")
	if err != nil {
		return "", err
	}
	return p.arn, nil
}

func (s *Store) createPolicy(account, name, path, document, description string) (*managedPolicy, error) {
	if err := validateName("policyName", name, 128); err != nil {
		return nil, err
	}
	path, err := normalizePath(path)
	if err != nil {
		return nil, err
	}
	parsed, err := parseManaged(document)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.account(account)
	if err != nil {
		return nil, err
	}
	for _, p := range a.managed {
		if strings.EqualFold(p.name, name) {
			return nil, awsapi.Errorf(http.StatusConflict, "EntityAlreadyExists", "A policy called %s already exists. Duplicate names are not allowed.", name)
		}
	}
	now := s.now().UTC()
	p := &managedPolicy{
		arn: "arn:aws:iam::" + a.ID + ":policy" + path + name, name: name, path: path,
		id: "ANPA" + randomString(17, upperAlnum), description: description,
		doc: document, parsed: parsed, version: 1, created: now, updated: now,
	}
	a.managed[p.arn] = p
	return p, nil
}

func (s *Store) customerPolicy(account, arn string) (*account, *managedPolicy, error) {
	a, err := s.account(account)
	if err != nil {
		return nil, nil, err
	}
	p, ok := a.managed[arn]
	if !ok {
		return nil, nil, policyNotFound(arn)
	}
	return a, p, nil
}

// UpdatePolicy sets a new default version of a customer managed policy.
func (s *Store) UpdatePolicy(account, arn, document string) error {
	parsed, err := parseManaged(document)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, p, err := s.customerPolicy(account, arn)
	if err != nil {
		return err
	}
	p.doc, p.parsed = document, parsed
	p.version++
	p.updated = s.now().UTC()
	return nil
}

// DeletePolicy deletes a customer managed policy, detaching it from the
// account's roles first as CloudFormation does. (The IAM API refuses with
// DeleteConflict instead.)
func (s *Store) DeletePolicy(account, arn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, _, err := s.customerPolicy(account, arn)
	if err != nil {
		return err
	}
	for _, r := range a.roles {
		r.attached = removeString(r.attached, arn)
	}
	delete(a.managed, arn)
	return nil
}

// AttachRolePolicy attaches a managed policy (the account's own, or AWS's
// AdministratorAccess / PowerUserAccess / ReadOnlyAccess) to a role.
func (s *Store) AttachRolePolicy(account, roleName, policyARN string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, r, err := s.role(account, roleName)
	if err != nil {
		return err
	}
	if s.findManaged(a, policyARN) == nil {
		return noSuchPolicy(policyARN)
	}
	for _, arn := range r.attached {
		if arn == policyARN {
			return nil
		}
	}
	r.attached = append(r.attached, policyARN)
	return nil
}

// DetachRolePolicy detaches a managed policy from a role.
func (s *Store) DetachRolePolicy(account, roleName, policyARN string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, r, err := s.role(account, roleName)
	if err != nil {
		return err
	}
	before := len(r.attached)
	r.attached = removeString(r.attached, policyARN)
	if len(r.attached) == before {
		return policyNotFound(policyARN)
	}
	return nil
}

func removeString(list []string, s string) []string {
	out := list[:0]
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}

// attachments counts the roles a managed policy is attached to.
func (s *Store) attachments(arn string) int {
	n := 0
	for _, a := range s.accounts {
		for _, r := range a.roles {
			for _, x := range r.attached {
				if x == arn {
					n++
				}
			}
		}
	}
	return n
}
