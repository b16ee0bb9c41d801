package iam

import (
	"strconv"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/policy"
)

// PassRole authorizes the caller to hand the role roleARN to an AWS service
// (iam:PassRole, with iam:PassedToService), as a service does before it
// accepts a role the caller names. Roles pass only within their account.
func (s *Store) PassRole(call *awsapi.Call, roleARN, service string) error {
	if call == nil || call.Caller == nil {
		return awsapi.AccessDenied("Anonymous users are not authorized to perform: iam:PassRole on resource: %s", roleARN)
	}
	if accountOfARN(roleARN) != call.Caller.Account {
		return awsapi.AccessDenied("Cross-account pass role is not allowed.")
	}
	return s.Authorize(call, "iam:PassRole", awsapi.Resource{ARN: roleARN, Account: call.Caller.Account},
		map[string]string{"iam:PassedToService": service})
}

// AssumeServiceRole is the service principal service (e.g.
// cloudformation.amazonaws.com) assuming the role roleARN: the role must
// exist and its trust policy must let the service sts:AssumeRole. It returns
// the identity the service then acts as, whose permissions are the role's,
// or false when the role cannot be assumed.
func (s *Store) AssumeServiceRole(roleARN, service, sessionName string) (awsapi.Caller, bool) {
	return s.AssumeServiceRoleFrom(roleARN, service, sessionName, nil)
}

// AssumeServiceRoleFrom is AssumeServiceRole for a service acting for one of
// its resources: source holds the condition keys it sends (aws:SourceAccount,
// aws:SourceArn), which trust policies test against the confused deputy.
func (s *Store) AssumeServiceRoleFrom(roleARN, service, sessionName string, source map[string]string) (awsapi.Caller, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, r, ok := s.serviceTrusted(roleARN, service, source)
	if !ok {
		return awsapi.Caller{}, false
	}
	return awsapi.Caller{
		Account:     a.ID,
		ARN:         "arn:aws:sts::" + a.ID + ":assumed-role/" + r.name + "/" + sessionName,
		UserID:      r.id + ":" + sessionName,
		RoleARN:     r.arn,
		RoleName:    r.name,
		SessionName: sessionName,
	}, true
}

// serviceTrusted finds the role roleARN if its trust policy lets the service
// sts:AssumeRole; extra holds the condition keys the service sends
// (aws:SourceAccount, aws:SourceArn). s.mu must be held.
func (s *Store) serviceTrusted(roleARN, service string, extra map[string]string) (*account, *role, bool) {
	now := s.now()
	ctx := policy.Context{}
	ctx.Set("aws:PrincipalServiceName", service)
	ctx.Set("aws:CurrentTime", now.UTC().Format(time.RFC3339))
	ctx.Set("aws:EpochTime", strconv.FormatInt(now.Unix(), 10))
	for k, v := range extra {
		ctx.Set(k, v)
	}
	req := &policy.Request{Principal: &policy.Principal{Service: service}, Action: "sts:AssumeRole", Resource: roleARN, Context: ctx}
	a, ok := s.accounts[accountOfARN(roleARN)]
	if !ok {
		return nil, nil, false
	}
	r := a.roleByARN(roleARN)
	if r == nil {
		return nil, nil, false
	}
	trust, err := policy.Parse(r.trust, policy.Any)
	if err != nil || trust.Evaluate(req) != policy.Allow {
		return nil, nil, false
	}
	return a, r, true
}
