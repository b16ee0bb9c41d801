package iam

import (
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// AssumeRoleForService issues a one-hour session of a role, with keys, to an
// AWS service principal that hands them to code it runs (lambda.amazonaws.com
// starting a function with its execution role), if the role's trust policy
// allows that service. extra holds the condition keys the service sends
// (aws:SourceAccount, aws:SourceArn).
func (s *Store) AssumeRoleForService(roleARN, service, sessionName string, extra map[string]string) (Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, r, ok := s.serviceTrusted(roleARN, service, extra)
	if !ok {
		return Session{}, awsapi.AccessDenied("%s is not authorized to perform: sts:AssumeRole on resource: %s", service, roleARN)
	}
	return s.roleSession(a, r, sessionName, s.now().Add(time.Hour), time.Time{}, false, ""), nil
}
