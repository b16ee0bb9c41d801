package lambda

import (
	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// Methods for CloudFormation's AWS::Lambda::* resources. CloudFormation
// authorizes its own calls; these do what the API calls behind each
// resource do, with the identity CloudFormation acts as (for iam:PassRole
// and for reading the code from S3).

// CreateFunctionFor creates a function, Active at once (CloudFormation
// completes the resource only when it is), and returns its ARN.
func (s *Service) CreateFunctionFor(call *awsapi.Call, account, region string, spec FunctionSpec, src CodeSource) (string, error) {
	v, err := s.create(call, account, region, spec, src, 0, false)
	if err != nil {
		return "", err
	}
	return v.fn.arn, nil
}

// UpdateFunctionFor replaces a function's definition and, when src is not
// nil, its code.
func (s *Service) UpdateFunctionFor(call *awsapi.Call, account, region string, spec FunctionSpec, src *CodeSource) error {
	if err := spec.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	f, err := s.lookup(ref{account: account, region: region, name: spec.Name})
	oldRole := ""
	if err == nil {
		oldRole = f.latest.cfg.role
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if spec.Role != oldRole {
		if err := s.checkRole(call, account, f.arn, spec.Role); err != nil {
			return err
		}
	}
	var c *code
	if src != nil {
		if c, err = s.readCode(call, *src); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reserve(f, spec.ReservedConcurrency); err != nil {
		return err
	}
	s.update(f.latest, spec.toConfig(), c, 0)
	f.tags = spec.Tags
	return nil
}

// DeleteFunctionFor deletes a function; a missing one is not an error.
func (s *Service) DeleteFunctionFor(account, region, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.functions[fnKey{account, region, name}]; f != nil {
		s.removeFunction(f)
	}
}

// PublishVersionFor publishes $LATEST (AWS::Lambda::Version); codeSha256,
// when set, must match it.
func (s *Service) PublishVersionFor(account, region, fnName, description, codeSha256 string) (arn, version string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.byName(account, region, fnName)
	if err != nil {
		return "", "", err
	}
	if codeSha256 != "" && codeSha256 != f.latest.code.sha256 {
		return "", "", invalidParam("CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", codeSha256, f.latest.code.sha256)
	}
	v := f.publish(description)
	return v.arn(), v.number, nil
}

// DeleteVersionFor deletes a published version; a missing one is not an error.
func (s *Service) DeleteVersionFor(account, region, fnName, version string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.byName(account, region, fnName)
	if err != nil {
		return nil
	}
	if v := f.versions[version]; v != nil {
		return f.deleteVersion(v)
	}
	return nil
}
