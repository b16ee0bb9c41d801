package iam

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/policy"
)

// Authorize implements awsapi.Authorizer with AWS's evaluation logic: an
// explicit Deny in any policy wins; root credentials have every permission in
// their own account; role sessions have their role's inline and attached
// policies; in the resource's account an Allow from either the identity or the
// resource policy (naming the principal itself) suffices, across accounts both
// must allow.
func (s *Store) Authorize(call *awsapi.Call, action string, res awsapi.Resource, extra map[string]string) error {
	if call == nil || call.Caller == nil {
		return s.authorizeAnonymous(call, action, res, extra)
	}
	caller := call.Caller
	if caller.Service != "" {
		return s.authorizeService(call, action, res, extra)
	}
	if !caller.Expires.IsZero() && !s.now().Before(caller.Expires) {
		return expiredToken()
	}
	resAccount := res.Account
	if resAccount == "" {
		resAccount = caller.Account
	}
	req := &policy.Request{Action: action, Resource: res.ARN, Context: s.requestContext(call, caller, extra)}
	// CDK's bootstrap roles allow their S3 actions only on buckets of their own account.
	req.Context.Set("aws:ResourceAccount", resAccount)

	s.mu.RLock()
	identity := s.identityDecision(caller, req)
	s.mu.RUnlock()

	full, direct := policy.ImplicitDeny, policy.ImplicitDeny
	if res.Policy != "" {
		// Stored resource policies were validated when set; one that no longer
		// parses grants nothing.
		if rp, err := policy.Parse(res.Policy, policy.Any); err == nil {
			full, direct = evalResource(rp, principalOf(caller), req)
		}
	}
	sameAccount := caller.Account == resAccount
	if res.PolicyRequired && sameAccount && direct != policy.Allow {
		// The key policy names the account at best: the identity policies
		// must allow too, as across accounts.
		sameAccount = false
	}
	return decide(caller, action, res.ARN, sameAccount, identity, full, direct)
}

func (s *Store) authorizeAnonymous(call *awsapi.Call, action string, res awsapi.Resource, extra map[string]string) error {
	if res.Policy != "" {
		if rp, err := policy.Parse(res.Policy, policy.Any); err == nil {
			ctx := policy.Context{}
			if call != nil {
				ctx = s.requestContext(call, &awsapi.Caller{}, extra)
			}
			if res.Account != "" {
				ctx.Set("aws:ResourceAccount", res.Account)
			}
			req := &policy.Request{Principal: &policy.Principal{Anonymous: true}, Action: action, Resource: res.ARN, Context: ctx}
			if rp.Evaluate(req) == policy.Allow {
				return nil
			}
		}
	}
	return awsapi.AccessDenied("Anonymous users are not authorized to perform: %s on resource: %s", action, res.ARN)
}

// authorizeService decides for a service principal: it has no identity
// policies, so the resource policy must name it.
func (s *Store) authorizeService(call *awsapi.Call, action string, res awsapi.Resource, extra map[string]string) error {
	if res.Policy != "" {
		if rp, err := policy.Parse(res.Policy, policy.Any); err == nil {
			req := &policy.Request{Principal: &policy.Principal{Service: call.Caller.Service}, Action: action, Resource: res.ARN,
				Context: s.requestContext(call, &awsapi.Caller{}, extra)}
			if res.Account != "" {
				req.Context.Set("aws:ResourceAccount", res.Account)
			}
			if rp.Evaluate(req) == policy.Allow {
				return nil
			}
		}
	}
	return awsapi.AccessDenied("%s is not authorized to perform: %s on resource: %s because no resource-based policy allows the %s action", call.Caller.Service, action, res.ARN, action)
}

// evalResource evaluates a resource policy for a principal twice: with account
// principals (delegation to the account's identity policies) and with direct
// grants only.
func evalResource(p *policy.Policy, pr *policy.Principal, req *policy.Request) (full, direct policy.Decision) {
	r := *req
	r.Principal = pr
	full = p.Evaluate(&r)
	if full != policy.Allow {
		return full, full
	}
	r.DirectOnly = true
	return full, p.Evaluate(&r)
}

// decide combines the decisions and words the AccessDenied as AWS does.
func decide(caller *awsapi.Caller, action, resource string, sameAccount bool, identity, full, direct policy.Decision) error {
	denied := func(why string) error {
		return awsapi.AccessDenied("User: %s is not authorized to perform: %s on resource: %s%s", caller.ARN, action, resource, why)
	}
	switch {
	case identity == policy.ExplicitDeny:
		return denied(" with an explicit deny in an identity-based policy")
	case full == policy.ExplicitDeny:
		return denied(" with an explicit deny in a resource-based policy")
	case sameAccount:
		if identity == policy.Allow || direct == policy.Allow {
			return nil
		}
		return denied(" because no identity-based policy allows the " + action + " action")
	case identity != policy.Allow:
		return denied(" because no identity-based policy allows the " + action + " action")
	case full != policy.Allow:
		return denied(" because no resource-based policy allows the " + action + " action")
	}
	return nil
}

// identityDecision evaluates the caller's identity policies. Root has all
// permissions (it can still be denied by resource policies). s.mu must be held.
func (s *Store) identityDecision(caller *awsapi.Caller, req *policy.Request) policy.Decision {
	if caller.Root {
		return policy.Allow
	}
	return policy.Evaluate(req, s.identityPolicies(caller)...)
}

// identityPolicies returns the policies of a session's role; none if the role
// is gone. s.mu must be held.
func (s *Store) identityPolicies(caller *awsapi.Caller) []*policy.Policy {
	a, ok := s.accounts[caller.Account]
	if !ok || caller.RoleARN == "" {
		return nil
	}
	r := a.roleByARN(caller.RoleARN)
	if r == nil {
		return nil
	}
	out := make([]*policy.Policy, 0, len(r.inline)+len(r.attached))
	for _, ip := range r.inline {
		out = append(out, ip.parsed)
	}
	for _, arn := range r.attached {
		if mp := s.findManaged(a, arn); mp != nil {
			out = append(out, mp.parsed)
		}
	}
	return out
}

func principalOf(c *awsapi.Caller) *policy.Principal {
	return &policy.Principal{Account: c.Account, ARN: c.ARN, RoleARN: c.RoleARN}
}

// requestContext builds the global condition keys of a request.
func (s *Store) requestContext(call *awsapi.Call, caller *awsapi.Caller, extra map[string]string) policy.Context {
	ctx := policy.Context{}
	now := call.Time
	if now.IsZero() {
		now = s.now()
	}
	ctx.Set("aws:SecureTransport", strconv.FormatBool(call.Secure))
	ctx.Set("aws:CurrentTime", now.UTC().Format(time.RFC3339))
	ctx.Set("aws:EpochTime", strconv.FormatInt(now.Unix(), 10))
	if call.Region != "" {
		ctx.Set("aws:RequestedRegion", call.Region)
	}
	if ip := sourceIP(call.SourceIP); ip != "" {
		ctx.Set("aws:SourceIp", ip)
	}
	if caller.Account != "" {
		ctx.Set("aws:PrincipalAccount", caller.Account)
		if s.orgID != "" {
			ctx.Set("aws:PrincipalOrgID", s.orgID)
		}
		principalARN := caller.ARN
		if caller.RoleARN != "" {
			principalARN = caller.RoleARN
		}
		ctx.Set("aws:PrincipalArn", principalARN)
		ctx.Set("aws:userid", caller.UserID)
		if caller.Root {
			ctx.Set("aws:PrincipalType", "Account")
		} else {
			ctx.Set("aws:PrincipalType", "AssumedRole")
		}
	}
	if caller.SourceIdentity != "" {
		ctx.Set("aws:SourceIdentity", caller.SourceIdentity)
	}
	switch {
	case caller.MFAPresent():
		ctx.Set("aws:MultiFactorAuthPresent", "true")
		age := max(now.Sub(caller.MFAAuthTime), 0)
		ctx.Set("aws:MultiFactorAuthAge", strconv.FormatInt(int64(age/time.Second), 10))
	case !caller.Expires.IsZero():
		// Temporary credentials say "false"; long-term keys carry no MFA keys at all.
		ctx.Set("aws:MultiFactorAuthPresent", "false")
	}
	for k, v := range extra {
		ctx.Set(k, v)
	}
	return ctx
}

// sourceIP strips a port from a remote address.
func sourceIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

func expiredToken() error {
	return awsapi.Errorf(http.StatusForbidden, "ExpiredToken", "The security token included in the request is expired")
}
