// Package ssm is the sandbox's SSM Parameter Store: the JSON 1.1 API
// (GetParameter, GetParameters, PutParameter, DeleteParameter) and the admin
// methods CloudFormation uses, per account and region.
package ssm

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// Service is the SSM API; it implements http.Handler.
type Service struct {
	authz awsapi.Authorizer
	now   func() time.Time

	mu     sync.Mutex
	params map[paramKey]*parameter
}

type paramKey struct{ account, region, name string }

// parameter keeps every version, as GetParameter accepts "name:version".
type parameter struct {
	versions []version // versions[i].number == i+1
}

type version struct {
	number      int64
	typ         string
	value       string
	ciphertext  string // what SecureString returns without decryption
	description string
	modified    time.Time
}

// New returns an empty parameter store authorizing every call with authz.
func New(authz awsapi.Authorizer) *Service {
	return &Service{authz: authz, now: time.Now, params: map[paramKey]*parameter{}}
}

// ServeHTTP serves one authenticated JSON 1.1 request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	awsapi.ServeJSONActions(Descriptor, w, r, s, handlers)
}

type handler = awsapi.JSONAction[*Service]

var handlers = map[string]handler{
	"GetParameter":    awsapi.Decoded((*Service).getParameter),
	"GetParameters":   awsapi.Decoded((*Service).getParameters),
	"PutParameter":    awsapi.Decoded((*Service).putParameter),
	"DeleteParameter": awsapi.Decoded((*Service).deleteParameter),
}

type getParameterInput struct {
	Name           *string
	WithDecryption bool
}

type getParametersInput struct {
	Names          []string
	WithDecryption bool
}

type putParameterInput struct {
	Name        *string
	Value       *string
	Type        string
	Description string
	Overwrite   bool
	Tier        string
	DataType    string
}

type deleteParameterInput struct {
	Name *string
}

type parameterOut struct {
	ARN              string
	DataType         string
	LastModifiedDate float64
	Name             string
	Selector         string `json:",omitempty"`
	Type             string
	Value            string
	Version          int64
}

func (s *Service) arn(call *awsapi.Call, account, name string) string {
	return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", call.Region, account, strings.TrimPrefix(name, "/"))
}

func (s *Service) authorize(call *awsapi.Call, action, name string) error {
	if s.authz == nil {
		return nil
	}
	return s.authz.Authorize(call, action, awsapi.Resource{ARN: s.arn(call, call.Caller.Account, name), Account: call.Caller.Account}, nil)
}

// validateName applies SSM's naming rules.
func validateName(name string) error {
	if name == "" {
		return awsapi.Errorf(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if len(name) > 2048 {
		return awsapi.Errorf(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length less than or equal to 2048")
	}
	if strings.Contains(name, "/") && !strings.HasPrefix(name, "/") {
		return awsapi.Errorf(http.StatusBadRequest, "ValidationException", "Parameter name: can't be prefixed with \"ssm\" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_")
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_.-/", c)) {
			return awsapi.Errorf(http.StatusBadRequest, "ValidationException", "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_")
		}
	}
	return nil
}

func notFound(name string) error {
	return awsapi.Errorf(http.StatusBadRequest, "ParameterNotFound", "Parameter %s not found.", name)
}

// splitSelector splits "name:3" into name and version 3 (0 = latest).
func splitSelector(s string) (name string, ver int64, selector string, ok bool) {
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return s, 0, "", true
	}
	n, err := strconv.ParseInt(s[i+1:], 10, 64)
	if err != nil || n < 1 {
		return s, 0, "", false
	}
	return s[:i], n, s[i:], true
}

// lookup returns a version of a parameter; the caller holds s.mu.
func (s *Service) lookup(account, region, ref string) (string, version, string, error) {
	name, ver, selector, ok := splitSelector(ref)
	if !ok {
		return "", version{}, "", awsapi.Errorf(http.StatusBadRequest, "ValidationException", "Invalid parameter selector in %s", ref)
	}
	p := s.params[paramKey{account, region, name}]
	if p == nil || len(p.versions) == 0 {
		return "", version{}, "", notFound(ref)
	}
	if ver == 0 {
		return name, p.versions[len(p.versions)-1], "", nil
	}
	for _, v := range p.versions {
		if v.number == ver {
			return name, v, selector, nil
		}
	}
	return "", version{}, "", awsapi.Errorf(http.StatusBadRequest, "ParameterVersionNotFound", "Systems Manager could not find version %d of %s. Verify the version and try again.", ver, name)
}

func (s *Service) render(call *awsapi.Call, name string, v version, selector string, decrypt bool) parameterOut {
	value := v.value
	if v.typ == "SecureString" && !decrypt {
		value = v.ciphertext
	}
	return parameterOut{
		ARN: s.arn(call, call.Caller.Account, name), DataType: "text", Name: name, Selector: selector, Type: v.typ,
		Value: value, Version: v.number, LastModifiedDate: float64(v.modified.UnixMilli()) / 1000,
	}
}

func (s *Service) getParameter(call *awsapi.Call, in *getParameterInput) (any, error) {
	if in.Name == nil {
		return nil, validateName("")
	}
	name, _, _, _ := splitSelector(*in.Name)
	if err := validateName(name); err != nil {
		return nil, err
	}
	if err := s.authorize(call, "ssm:GetParameter", name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name, v, selector, err := s.lookup(call.Caller.Account, call.Region, *in.Name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Parameter": s.render(call, name, v, selector, in.WithDecryption)}, nil
}

func (s *Service) getParameters(call *awsapi.Call, in *getParametersInput) (any, error) {
	if len(in.Names) == 0 || len(in.Names) > 10 {
		return nil, awsapi.Errorf(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1")
	}
	for _, ref := range in.Names {
		name, _, _, _ := splitSelector(ref)
		if err := s.authorize(call, "ssm:GetParameters", name); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	params := []parameterOut{}
	invalid := []string{}
	seen := map[string]bool{}
	for _, ref := range in.Names {
		if seen[ref] {
			continue
		}
		seen[ref] = true
		name, v, selector, err := s.lookup(call.Caller.Account, call.Region, ref)
		if err != nil {
			invalid = append(invalid, ref)
			continue
		}
		params = append(params, s.render(call, name, v, selector, in.WithDecryption))
	}
	return map[string]any{"Parameters": params, "InvalidParameters": invalid}, nil
}

func (s *Service) putParameter(call *awsapi.Call, in *putParameterInput) (any, error) {
	if in.Name == nil {
		return nil, validateName("")
	}
	if in.Value == nil {
		return nil, awsapi.Errorf(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value null at 'value' failed to satisfy constraint: Member must not be null")
	}
	if err := s.authorize(call, "ssm:PutParameter", *in.Name); err != nil {
		return nil, err
	}
	ver, err := s.PutParameterFor(call.Caller.Account, call.Region, *in.Name, in.Type, *in.Value, in.Description, in.Overwrite)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Version": ver, "Tier": "Standard"}, nil
}

func (s *Service) deleteParameter(call *awsapi.Call, in *deleteParameterInput) (any, error) {
	if in.Name == nil {
		return nil, validateName("")
	}
	if err := s.authorize(call, "ssm:DeleteParameter", *in.Name); err != nil {
		return nil, err
	}
	if err := s.DeleteParameterFor(call.Caller.Account, call.Region, *in.Name); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// PutParameterFor creates or (with overwrite) updates a parameter in an
// account and region, for CloudFormation's AWS::SSM::Parameter. typ may be
// empty when overwriting (the type is kept).
func (s *Service) PutParameterFor(account, region, name, typ, value, description string, overwrite bool) (int64, error) {
	if err := validateName(name); err != nil {
		return 0, err
	}
	switch typ {
	case "", "String", "StringList", "SecureString":
	default:
		return 0, awsapi.Errorf(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]", typ)
	}
	if value == "" {
		return 0, awsapi.Errorf(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if len(value) > 4096 {
		return 0, awsapi.Errorf(http.StatusBadRequest, "ValidationException", "Standard tier parameters support a maximum parameter value of 4096 characters.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := paramKey{account, region, name}
	p := s.params[key]
	if p != nil && !overwrite {
		return 0, awsapi.Errorf(http.StatusBadRequest, "ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
	}
	if p == nil {
		if typ == "" {
			return 0, awsapi.Errorf(http.StatusBadRequest, "ValidationException", "A parameter type is required when you create a parameter.")
		}
		p = &parameter{}
		s.params[key] = p
	}
	if typ == "" {
		typ = p.versions[len(p.versions)-1].typ
	}
	v := version{number: int64(len(p.versions)) + 1, typ: typ, value: value, description: description, modified: s.now()}
	if typ == "SecureString" {
		v.ciphertext = fakeCiphertext()
	}
	p.versions = append(p.versions, v)
	return v.number, nil
}

// DeleteParameterFor deletes a parameter and its history.
func (s *Service) DeleteParameterFor(account, region, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := paramKey{account, region, name}
	if s.params[key] == nil {
		return notFound(name)
	}
	delete(s.params, key)
	return nil
}

// GetParameterFor returns the latest value (SecureString decrypted) and type
// of a parameter, for CloudFormation's AWS::SSM::Parameter::Value<...>.
func (s *Service) GetParameterFor(account, region, name string) (value, typ string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, v, _, err := s.lookup(account, region, name)
	if err != nil {
		return "", "", err
	}
	return v.value, v.typ, nil
}

// fakeCiphertext stands in for the KMS blob SSM returns for SecureString
// values read without decryption; it reveals nothing about the value.
func fakeCiphertext() string {
	b := make([]byte, 48)
	_, _ = rand.Read(b)
	return "AQICAH" + base64.StdEncoding.EncodeToString(b)
}
