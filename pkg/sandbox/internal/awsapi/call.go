package awsapi

import (
	"context"
	"time"
)

// Caller is the identity behind a set of credentials.
type Caller struct {
	// Account is the 12-digit account the credentials act in.
	Account string
	// ARN is arn:aws:iam::<account>:root for root credentials, or
	// arn:aws:sts::<account>:assumed-role/<role>/<session> for role sessions.
	ARN string
	// UserID is the account ID for root, "<role id>:<session>" for role sessions.
	UserID string
	// Root is true for the account's root credentials and their GetSessionToken sessions.
	Root bool
	// RoleARN is the IAM role ARN of an assumed-role session (aws:PrincipalArn); empty for root.
	RoleARN string
	// RoleName and SessionName describe assumed-role sessions.
	RoleName    string
	SessionName string
	// MFAAuthTime is when the MFA code behind these credentials was checked; zero without MFA.
	// Role sessions created from MFA credentials keep it, as on AWS.
	MFAAuthTime time.Time
	// Chained is true for role sessions created with role-session credentials (role chaining).
	Chained bool
	// SourceIdentity is the session's sts:SourceIdentity (aws:SourceIdentity):
	// set once, on a hop whose trust policy allows sts:SetSourceIdentity, it
	// persists through role chaining and cannot be changed.
	SourceIdentity string
	// Service is set when an AWS service principal acts itself (e.g.
	// events.amazonaws.com invoking a function): only a resource policy
	// naming the service can allow it.
	Service string
	// AccessKeyID is the key the request was signed with.
	AccessKeyID string
	// Expires is when session credentials stop working; zero for root keys.
	Expires time.Time
}

// MFAPresent reports whether the credentials were authenticated with MFA.
func (c *Caller) MFAPresent() bool { return !c.MFAAuthTime.IsZero() }

// Call is one authenticated API request.
type Call struct {
	Caller *Caller
	// Service is the SigV4 signing name: sts, iam, s3, cloudformation, ssm,
	// events, logs, lambda.
	Service string
	// Action is the API operation (e.g. "CreateStack", "GetObject").
	Action string
	// Region is the SigV4 credential scope region.
	Region string
	// Secure is true when the request arrived over TLS (aws:SecureTransport).
	Secure bool
	// SourceIP is the client address (aws:SourceIp).
	SourceIP string
	// Time is when the sandbox received the request.
	Time time.Time
	// RequestID is echoed in the response and in errors.
	RequestID string
}

type callKey struct{}

// WithCall returns a context carrying call.
func WithCall(ctx context.Context, call *Call) context.Context {
	return context.WithValue(ctx, callKey{}, call)
}

// CallFrom returns the call the sandbox attached to ctx, or nil.
func CallFrom(ctx context.Context) *Call {
	c, _ := ctx.Value(callKey{}).(*Call)
	return c
}

// Resource names what an action is performed on, for authorization.
type Resource struct {
	// ARN of the resource, e.g. arn:aws:s3:::bucket/key or "*".
	ARN string
	// Account owns the resource. Empty for global or unowned resources (treated as the caller's).
	Account string
	// Policy is the resource-based policy (bucket policy, role trust policy) as JSON; empty if none.
	Policy string
	// PolicyRequired says the resource policy must admit the caller, as a
	// KMS key policy must: naming the principal, or naming its account
	// (which then leaves the decision to the account's identity policies).
	// Identity policies alone grant nothing, in the resource's account too.
	PolicyRequired bool
}

// Authorizer decides whether a call may perform an action on a resource, evaluating
// the caller's identity policies and the resource policy as AWS does: an explicit
// Deny wins; within one account an Allow in either suffices; across accounts both
// the identity policy and the resource policy must allow. Root credentials are
// allowed everything in their own account.
type Authorizer interface {
	// Authorize returns nil if allowed, or an *Error with code AccessDenied.
	// action is the IAM action (e.g. "s3:GetObject"); extra holds request-specific
	// condition keys (e.g. "s3:prefix", "sts:ExternalId").
	Authorize(call *Call, action string, res Resource, extra map[string]string) error
}
