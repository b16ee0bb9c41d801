// Package sts serves the sandbox's STS Query API (GetCallerIdentity,
// AssumeRole, GetSessionToken) on top of the iam store, which evaluates trust
// policies and issues the session credentials.
package sts

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/iam"
)

const namespace = "https://sts.amazonaws.com/doc/2011-06-15/"

const maxBody = 1 << 20

// Service is the STS handler.
type Service struct{ store *iam.Store }

// New returns the STS Query API handler.
func New(store *iam.Store) *Service { return &Service{store: store} }

func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	awsapi.ServeQuery(w, r, namespace, "2011-06-15", maxBody, func(action string) (awsapi.QueryHandler, bool) {
		switch action {
		case "GetCallerIdentity":
			return s.getCallerIdentity, true
		case "AssumeRole":
			return s.assumeRole, true
		case "GetSessionToken":
			return s.getSessionToken, true
		}
		return nil, false
	})
}

type getCallerIdentityResult struct {
	UserId  string
	Account string
	Arn     string
}

func (s *Service) getCallerIdentity(call *awsapi.Call, _ awsapi.Form) (any, error) {
	// GetCallerIdentity needs no permission, even with an explicit deny.
	c := call.Caller
	return getCallerIdentityResult{UserId: c.UserID, Account: c.Account, Arn: c.ARN}, nil
}

type credentialsXML struct {
	AccessKeyId     string
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

func credentials(sess iam.Session) credentialsXML {
	return credentialsXML{AccessKeyId: sess.AccessKeyID, SecretAccessKey: sess.SecretAccessKey,
		SessionToken: sess.SessionToken, Expiration: sess.Expiration.UTC().Format(time.RFC3339)}
}

type assumeRoleResult struct {
	Credentials     credentialsXML
	AssumedRoleUser struct {
		AssumedRoleId string
		Arn           string
	}
	PackedPolicySize int
	SourceIdentity   string `xml:",omitempty"`
}

var (
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]*$`)
	externalIDPattern  = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
	serialPattern      = regexp.MustCompile(`^[\w+=/:,.@-]*$`)
	tokenPattern       = regexp.MustCompile(`^[0-9]*$`)
)

// validation returns AWS's wording for a constraint violation of a parameter.
func validation(value any, field, constraint string) error {
	if value == nil {
		return awsapi.ValidationError("1 validation error detected: Value null at '%s' failed to satisfy constraint: %s", field, constraint)
	}
	return awsapi.ValidationError("1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: %s", value, field, constraint)
}

func checkString(f awsapi.Form, param, field string, minLen, maxLen int, pattern *regexp.Regexp, patternText string, required bool) error {
	if !f.Has(param) {
		if required {
			return validation(nil, field, "Member must not be null")
		}
		return nil
	}
	v := f.Get(param)
	switch {
	case len(v) < minLen:
		return validation(v, field, "Member must have length greater than or equal to "+strconv.Itoa(minLen))
	case len(v) > maxLen:
		return validation(v, field, "Member must have length less than or equal to "+strconv.Itoa(maxLen))
	case pattern != nil && !pattern.MatchString(v):
		return validation(v, field, "Member must satisfy regular expression pattern: "+patternText)
	}
	return nil
}

func duration(f awsapi.Form, maxSeconds int) (int32, error) {
	if !f.Has("DurationSeconds") {
		return 0, nil
	}
	v := f.Get("DurationSeconds")
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		return 0, awsapi.Errorf(http.StatusBadRequest, "MalformedInput", "Invalid value for parameter DurationSeconds: %s", v)
	case n < 900:
		return 0, validation(n, "durationSeconds", "Member must have value greater than or equal to 900")
	case n > maxSeconds:
		return 0, validation(n, "durationSeconds", "Member must have value less than or equal to "+strconv.Itoa(maxSeconds))
	}
	return int32(n), nil
}

func checkMFAParams(f awsapi.Form) error {
	if err := checkString(f, "SerialNumber", "serialNumber", 9, 256, serialPattern, `[\w+=/:,.@-]*`, false); err != nil {
		return err
	}
	return checkString(f, "TokenCode", "tokenCode", 6, 6, tokenPattern, `[\d]*`, false)
}

func (s *Service) assumeRole(call *awsapi.Call, f awsapi.Form) (any, error) {
	if err := checkString(f, "RoleArn", "roleArn", 20, 2048, nil, "", true); err != nil {
		return nil, err
	}
	if err := checkString(f, "RoleSessionName", "roleSessionName", 2, 64, sessionNamePattern, `[\w+=,.@-]*`, true); err != nil {
		return nil, err
	}
	if err := checkString(f, "ExternalId", "externalId", 2, 1224, externalIDPattern, `[\w+=,.@:\/-]*`, false); err != nil {
		return nil, err
	}
	if err := checkMFAParams(f); err != nil {
		return nil, err
	}
	if err := checkString(f, "SourceIdentity", "sourceIdentity", 2, 64, sessionNamePattern, `[\w+=,.@-]*`, false); err != nil {
		return nil, err
	}
	if strings.HasPrefix(strings.ToLower(f.Get("SourceIdentity")), "aws:") {
		return nil, awsapi.ValidationError("SourceIdentity %s is invalid: values beginning with aws: are reserved for AWS", f.Get("SourceIdentity"))
	}
	d, err := duration(f, 43200)
	if err != nil {
		return nil, err
	}
	sess, err := s.store.AssumeRole(call, iam.AssumeRoleInput{
		RoleARN:         f.Get("RoleArn"),
		SessionName:     f.Get("RoleSessionName"),
		DurationSeconds: d,
		ExternalID:      f.Get("ExternalId"),
		HasExternalID:   f.Has("ExternalId"),
		SerialNumber:    f.Get("SerialNumber"),
		TokenCode:       f.Get("TokenCode"),
		SourceIdentity:  f.Get("SourceIdentity"),
	})
	if err != nil {
		return nil, err
	}
	var out assumeRoleResult
	out.Credentials = credentials(sess)
	out.AssumedRoleUser.AssumedRoleId = sess.AssumedRoleID
	out.AssumedRoleUser.Arn = sess.AssumedRoleARN
	out.SourceIdentity = sess.SourceIdentity
	return out, nil
}

func (s *Service) getSessionToken(call *awsapi.Call, f awsapi.Form) (any, error) {
	if err := checkMFAParams(f); err != nil {
		return nil, err
	}
	d, err := duration(f, 129600)
	if err != nil {
		return nil, err
	}
	sess, err := s.store.GetSessionToken(call, d, f.Get("SerialNumber"), f.Get("TokenCode"))
	if err != nil {
		return nil, err
	}
	return struct{ Credentials credentialsXML }{credentials(sess)}, nil
}
