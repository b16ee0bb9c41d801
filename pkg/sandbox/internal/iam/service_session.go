package iam

import (
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/policy"
)

// AssumeRoleForService issues a one-hour session of a role to an AWS service
// principal (e.g. lambda.amazonaws.com running a function with its execution
// role), if the role's trust policy allows that service. extra holds the
// condition keys the service sends (aws:SourceAccount, aws:SourceArn).
func (s *Store) AssumeRoleForService(roleARN, service, sessionName string, extra map[string]string) (Session, error) {
	now := s.now()
	ctx := policy.Context{}
	ctx.Set("aws:CurrentTime", now.UTC().Format(time.RFC3339))
	for k, v := range extra {
		ctx.Set(k, v)
	}
	req := &policy.Request{Principal: &policy.Principal{Service: service}, Action: "sts:AssumeRole", Resource: roleARN, Context: ctx}
	denied := awsapi.AccessDenied("%s is not authorized to perform: sts:AssumeRole on resource: %s", service, roleARN)

	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[accountOfARN(roleARN)]
	if !ok {
		return Session{}, denied
	}
	r := a.roleByARN(roleARN)
	if r == nil {
		return Session{}, denied
	}
	trust, err := policy.Parse(r.trust, policy.Any)
	if err != nil || trust.Evaluate(req) != policy.Allow {
		return Session{}, denied
	}
	return s.roleSession(a, r, sessionName, now.Add(time.Hour), time.Time{}, false), nil
}
