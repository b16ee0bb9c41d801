package cfn

import (
	"regexp"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

const (
	// cloudFormationPrincipal is the service principal a service role must trust.
	cloudFormationPrincipal = "cloudformation.amazonaws.com"
	// serviceSession is the session name CloudFormation acts under in a service role.
	serviceSession = "AWSCloudFormation"
)

// ServiceRoles is what CloudFormation needs of IAM to run stack operations as
// a service role (the RoleARN parameter) instead of as the caller.
type ServiceRoles interface {
	// PassRole authorizes the caller to hand roleARN to service (iam:PassRole).
	PassRole(call *awsapi.Call, roleARN, service string) error
	// AssumeServiceRole returns the identity service acts as in roleARN; false
	// when the role does not exist or does not trust service.
	AssumeServiceRole(roleARN, service, sessionName string) (awsapi.Caller, bool)
}

var roleARNPattern = regexp.MustCompile(`^arn:aws:iam::[0-9]{12}:role/.`)

// authorizeAs authorizes the call on a stack and, when it names a service role,
// the caller's passing of that role to CloudFormation.
func (s *Service) authorizeAs(call *awsapi.Call, stackName, roleARN string) error {
	if err := s.authorize(call, stackName); err != nil {
		return err
	}
	return s.passRole(call, roleARN)
}

// passRole checks the RoleARN a request names, if any: the API's length
// constraint, then the caller's iam:PassRole on it (a role of another account
// cannot be passed). A stack keeps using its role later without this check.
func (s *Service) passRole(call *awsapi.Call, roleARN string) error {
	switch n := len(roleARN); {
	case n == 0:
		return nil
	case n < 20:
		return awsapi.ValidationError("1 validation error detected: Value '%s' at 'roleARN' failed to satisfy constraint: Member must have length greater than or equal to 20", roleARN)
	case n > 2048:
		return awsapi.ValidationError("1 validation error detected: Value '%s' at 'roleARN' failed to satisfy constraint: Member must have length less than or equal to 2048", roleARN)
	}
	if !roleARNPattern.MatchString(roleARN) || s.opts.Roles == nil {
		return invalidRole(roleARN)
	}
	return s.opts.Roles.PassRole(call, roleARN, cloudFormationPrincipal)
}

// assumeRole returns the identity an operation acts as in the service role
// roleARN, or nil (the caller's own) when there is none. CloudFormation
// assumes the role for every operation, so a role deleted or no longer
// trusting it stops the stack's operations.
func (s *Service) assumeRole(roleARN string) (*awsapi.Caller, error) {
	if roleARN == "" {
		return nil, nil
	}
	if s.opts.Roles == nil {
		return nil, invalidRole(roleARN)
	}
	c, ok := s.opts.Roles.AssumeServiceRole(roleARN, cloudFormationPrincipal, serviceSession)
	if !ok {
		return nil, invalidRole(roleARN)
	}
	return &c, nil
}

func invalidRole(roleARN string) error {
	return awsapi.ValidationError("Role %s is invalid or cannot be assumed", roleARN)
}
