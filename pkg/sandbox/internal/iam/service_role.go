package iam

import (
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/policy"
)

// serviceSessionDuration is how long a service's role session lasts; services
// take a fresh one for each piece of work.
const serviceSessionDuration = time.Hour

// errServiceCannotAssume is the message AWS services give when a role's trust
// policy does not let them in (here for Step Functions; others word it alike).
const errServiceCannotAssume = "Neither the global service principal %s, nor the regional one is authorized to assume the provided role."

// AssumeRoleAsService is what an AWS service does before acting with a role
// it was given (a state machine's role, an EventBridge target's role): the
// role's trust policy must allow service (e.g. states.amazonaws.com) to
// sts:AssumeRole. It returns the identity of the role session, which the
// service then uses to authorize each call it makes. An unknown role is
// refused like an untrusted one.
func (s *Store) AssumeRoleAsService(service, roleARN, sessionName string) (awsapi.Caller, error) {
	denied := awsapi.AccessDenied(errServiceCannotAssume, service)
	now := s.now()
	call := &awsapi.Call{Time: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[accountOfARN(roleARN)]
	if !ok {
		return awsapi.Caller{}, denied
	}
	r := a.roleByARN(roleARN)
	if r == nil {
		return awsapi.Caller{}, denied
	}
	trust, err := policy.Parse(r.trust, policy.Any)
	if err != nil {
		return awsapi.Caller{}, denied
	}
	req := &policy.Request{
		Principal: &policy.Principal{Service: service},
		Action:    "sts:AssumeRole",
		Resource:  r.arn,
		Context:   s.requestContext(call, &awsapi.Caller{}, map[string]string{"sts:RoleSessionName": sessionName}),
	}
	if trust.Evaluate(req) != policy.Allow {
		return awsapi.Caller{}, denied
	}
	arn := "arn:aws:sts::" + a.ID + ":assumed-role/" + r.name + "/" + sessionName
	return awsapi.Caller{
		Account:     a.ID,
		ARN:         arn,
		UserID:      r.id + ":" + sessionName,
		RoleARN:     r.arn,
		RoleName:    r.name,
		SessionName: sessionName,
		Expires:     now.Add(serviceSessionDuration),
	}, nil
}
