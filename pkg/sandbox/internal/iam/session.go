package iam

import (
	"regexp"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/policy"
)

// AssumeRoleInput is a validated sts:AssumeRole request.
type AssumeRoleInput struct {
	RoleARN     string
	SessionName string
	// DurationSeconds is 0 for the default (one hour).
	DurationSeconds int32
	// ExternalID is sent as sts:ExternalId when HasExternalID.
	ExternalID    string
	HasExternalID bool
	// SerialNumber and TokenCode authenticate with MFA for this call.
	SerialNumber, TokenCode string
	// SourceIdentity is set (sts:SetSourceIdentity) when not empty.
	SourceIdentity string
}

// Session is a set of temporary credentials.
type Session struct {
	AccessKeyID, SecretAccessKey, SessionToken string
	Expiration                                 time.Time
	// AssumedRoleARN and AssumedRoleID are set for role sessions.
	AssumedRoleARN, AssumedRoleID string
	// SourceIdentity is the role session's, set on this hop or carried on.
	SourceIdentity string
}

var mfaSerial = regexp.MustCompile(`^arn:aws:iam::([0-9]{12}):mfa/[\w+=,.@/-]+$`)

// checkMFA accepts any 6-digit code for an MFA device ARN of the caller's account.
func checkMFA(caller *awsapi.Caller, serial, code string) error {
	m := mfaSerial.FindStringSubmatch(serial)
	if m == nil || m[1] != caller.Account || len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return awsapi.AccessDenied("MultiFactorAuthentication failed, unable to validate MFA code.")
	}
	return nil
}

// AssumeRole evaluates the role's trust policy (and, where AWS requires it,
// the caller's identity policies for sts:AssumeRole) and issues a role session.
// An unknown role is denied like an untrusted one, as on AWS.
func (s *Store) AssumeRole(call *awsapi.Call, in AssumeRoleInput) (Session, error) {
	if call == nil || call.Caller == nil {
		return Session{}, awsapi.AccessDenied("Anonymous users are not authorized to perform: sts:AssumeRole on resource: %s", in.RoleARN)
	}
	caller := *call.Caller
	now := s.now()
	if !caller.Expires.IsZero() && !now.Before(caller.Expires) {
		return Session{}, expiredToken()
	}
	if in.SerialNumber != "" || in.TokenCode != "" {
		if err := checkMFA(&caller, in.SerialNumber, in.TokenCode); err != nil {
			return Session{}, err
		}
		caller.MFAAuthTime = now
	}
	extra := map[string]string{"sts:RoleSessionName": in.SessionName}
	if in.HasExternalID {
		extra["sts:ExternalId"] = in.ExternalID
	}
	// A source identity, once set, stays: a chained hop carries the
	// session's on, which the next role's trust must allow
	// (sts:SetSourceIdentity) as if it were set there, and cannot change it.
	sourceIdentity := caller.SourceIdentity
	if in.SourceIdentity != "" {
		if sourceIdentity != "" && sourceIdentity != in.SourceIdentity {
			return Session{}, awsapi.AccessDenied("User: %s is not authorized to perform: sts:SetSourceIdentity on resource: %s: "+
				"the session's source identity %s cannot be changed", caller.ARN, in.RoleARN, sourceIdentity)
		}
		sourceIdentity = in.SourceIdentity
	}
	if sourceIdentity != "" {
		extra["sts:SourceIdentity"] = sourceIdentity
	}
	req := &policy.Request{Action: "sts:AssumeRole", Resource: in.RoleARN, Context: s.requestContext(call, &caller, extra)}
	denied := awsapi.AccessDenied("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller.ARN, in.RoleARN)

	s.mu.Lock()
	defer s.mu.Unlock()
	roleAccount := accountOfARN(in.RoleARN)
	a, ok := s.accounts[roleAccount]
	if !ok {
		return Session{}, denied
	}
	r := a.roleByARN(in.RoleARN)
	if r == nil {
		return Session{}, denied
	}
	trust, err := policy.Parse(r.trust, policy.Any)
	if err != nil {
		return Session{}, denied
	}
	if !s.trusted(trust, &caller, roleAccount, req) {
		return Session{}, denied
	}
	if sourceIdentity != "" {
		set := *req
		set.Action = "sts:SetSourceIdentity"
		if !s.trusted(trust, &caller, roleAccount, &set) {
			return Session{}, awsapi.AccessDenied("User: %s is not authorized to perform: sts:SetSourceIdentity on resource: %s", caller.ARN, in.RoleARN)
		}
	}

	chained := caller.RoleARN != ""
	duration := in.DurationSeconds
	if duration == 0 {
		duration = 3600
	}
	if chained && duration > 3600 {
		return Session{}, awsapi.ValidationError("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	if duration > r.maxSession {
		return Session{}, awsapi.ValidationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	sess := s.roleSession(a, r, in.SessionName, now.Add(time.Duration(duration)*time.Second), caller.MFAAuthTime, chained, sourceIdentity)
	return sess, nil
}

// trusted decides an sts action of an AssumeRole request: the trust policy
// must always allow. A grant naming the caller itself is enough within the
// role's account; a grant to the caller's account (or any cross-account
// call) also needs the caller's own permission. s.mu must be held.
func (s *Store) trusted(trust *policy.Policy, caller *awsapi.Caller, roleAccount string, req *policy.Request) bool {
	full, direct := evalResource(trust, principalOf(caller), req)
	identity := s.identityDecision(caller, req)
	switch {
	case full != policy.Allow, identity == policy.ExplicitDeny:
		return false
	case caller.Account == roleAccount && direct == policy.Allow:
		return true
	}
	return identity == policy.Allow
}

// roleSession issues and registers a session of role r. s.mu must be held.
func (s *Store) roleSession(a *account, r *role, sessionName string, expires, mfaAuthTime time.Time, chained bool, sourceIdentity string) Session {
	sess := Session{
		AccessKeyID:     "ASIA" + randomString(16, upperAlnum),
		SecretAccessKey: randomString(40, secretChars),
		SessionToken:    sessionToken(),
		Expiration:      expires.UTC().Truncate(time.Second),
		AssumedRoleARN:  "arn:aws:sts::" + a.ID + ":assumed-role/" + r.name + "/" + sessionName,
		AssumedRoleID:   r.id + ":" + sessionName,
		SourceIdentity:  sourceIdentity,
	}
	s.addSession(sess, awsapi.Caller{
		SourceIdentity: sourceIdentity,
		Account:        a.ID,
		ARN:            sess.AssumedRoleARN,
		UserID:         sess.AssumedRoleID,
		RoleARN:        r.arn,
		RoleName:       r.name,
		SessionName:    sessionName,
		MFAAuthTime:    mfaAuthTime,
		Chained:        chained,
	})
	return sess
}

// GetSessionToken issues temporary credentials for the caller's own identity,
// optionally authenticated with MFA. Root sessions stay root and last at most
// an hour, as on AWS; role sessions cannot call it.
func (s *Store) GetSessionToken(call *awsapi.Call, durationSeconds int32, serialNumber, tokenCode string) (Session, error) {
	if call == nil || call.Caller == nil {
		return Session{}, awsapi.AccessDenied("Anonymous users are not authorized to perform: sts:GetSessionToken")
	}
	caller := *call.Caller
	now := s.now()
	if !caller.Expires.IsZero() && !now.Before(caller.Expires) {
		return Session{}, expiredToken()
	}
	if !caller.Expires.IsZero() {
		return Session{}, awsapi.AccessDenied("Cannot call GetSessionToken with session credentials")
	}
	if serialNumber != "" || tokenCode != "" {
		if err := checkMFA(&caller, serialNumber, tokenCode); err != nil {
			return Session{}, err
		}
		caller.MFAAuthTime = now
	}
	duration := durationSeconds
	if duration == 0 || (caller.Root && duration > 3600) {
		duration = 3600
	}
	sess := Session{
		AccessKeyID:     "ASIA" + randomString(16, upperAlnum),
		SecretAccessKey: randomString(40, secretChars),
		SessionToken:    sessionToken(),
		Expiration:      now.Add(time.Duration(duration) * time.Second).UTC().Truncate(time.Second),
	}
	c := caller
	c.AccessKeyID, c.Chained = "", false
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addSession(sess, c)
	return sess, nil
}

// addSession registers session credentials and drops long-expired ones from
// time to time. s.mu must be held.
func (s *Store) addSession(sess Session, c awsapi.Caller) {
	c.AccessKeyID = sess.AccessKeyID
	c.Expires = sess.Expiration
	s.keys[sess.AccessKeyID] = &Credential{SecretAccessKey: sess.SecretAccessKey, SessionToken: sess.SessionToken, Caller: c}
	if len(s.keys) < s.sweepAt {
		return
	}
	cutoff := s.now().Add(-time.Hour)
	for k, cred := range s.keys {
		if !cred.Caller.Expires.IsZero() && cred.Caller.Expires.Before(cutoff) {
			delete(s.keys, k)
		}
	}
	s.sweepAt = 2 * max(len(s.keys), 512)
}

func accountOfARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return ""
	}
	return parts[4]
}
