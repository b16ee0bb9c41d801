package lambda

import (
	"net/http"
	"regexp"
	"slices"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

type publishInput struct {
	CodeSha256  string
	Description string
	RevisionId  string
}

func (s *Service) publishVersion(call *awsapi.Call, q *request) (result, error) {
	var in publishInput
	if err := q.decode(&in); err != nil {
		return result{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, v, err := s.functionFor(call, "PublishVersion", q.labels["FunctionName"], "")
	if err != nil {
		return result{}, err
	}
	if err := s.checkUpdatable(v, in.RevisionId); err != nil {
		return result{}, err
	}
	if in.CodeSha256 != "" && in.CodeSha256 != v.code.sha256 {
		return result{}, invalidParam("CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", in.CodeSha256, v.code.sha256)
	}
	return result{body: s.configOut(f.publish(in.Description))}, nil
}

func (s *Service) listVersionsByFunction(call *awsapi.Call, q *request) (result, error) {
	maxItems, err := maxItemsParam(q.query("MaxItems"))
	if err != nil {
		return result{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.functionFor(call, "ListVersionsByFunction", q.labels["FunctionName"], "")
	if err != nil {
		return result{}, err
	}
	page, next, err := pageOf(append([]*version{f.latest}, f.sortedVersions()...), maxItems, q.query("Marker"), "ListVersionsByFunction")
	if err != nil {
		return result{}, err
	}
	out := struct {
		Versions   []functionConfiguration
		NextMarker string `json:",omitempty"`
	}{Versions: []functionConfiguration{}, NextMarker: next}
	for _, v := range page {
		out.Versions = append(out.Versions, s.configOut(v))
	}
	return result{body: out}, nil
}

var aliasPattern = regexp.MustCompile(`^(?:[a-zA-Z0-9-_]*[a-zA-Z-_])[a-zA-Z0-9-_]*$`)

type aliasInput struct {
	Name            string
	FunctionVersion *string
	Description     *string
	RoutingConfig   *struct{ AdditionalVersionWeights map[string]float64 }
	RevisionId      string
}

type aliasConfiguration struct {
	AliasArn        string
	Name            string
	FunctionVersion string
	Description     string
	RevisionId      string
	RoutingConfig   *struct{ AdditionalVersionWeights map[string]float64 } `json:",omitempty"`
}

func aliasOut(f *function, a *alias) aliasConfiguration {
	out := aliasConfiguration{AliasArn: f.aliasARN(a.name), Name: a.name, FunctionVersion: a.version, Description: a.description, RevisionId: a.revisionID}
	if len(a.routing) > 0 {
		out.RoutingConfig = &struct{ AdditionalVersionWeights map[string]float64 }{a.routing}
	}
	return out
}

// setAlias validates and applies an alias's target. s.mu must be held.
func (f *function) setAlias(a *alias, in aliasInput) error {
	if in.FunctionVersion != nil {
		if *in.FunctionVersion != latest && f.versions[*in.FunctionVersion] == nil {
			return notFound("Function not found: %s:%s", f.arn, *in.FunctionVersion)
		}
		a.version = *in.FunctionVersion
	}
	if in.Description != nil {
		a.description = *in.Description
	}
	if in.RoutingConfig != nil {
		for ver, w := range in.RoutingConfig.AdditionalVersionWeights {
			if f.versions[ver] == nil || w < 0 || w > 1 {
				return invalidParam("Invalid routing configuration: version %s with weight %v", ver, w)
			}
		}
		a.routing = in.RoutingConfig.AdditionalVersionWeights
	}
	a.revisionID = newUUID()
	return nil
}

// PutAlias creates or updates an alias (AWS::Lambda::Alias), returning its ARN.
func (s *Service) PutAlias(account, region, fnName, name, version, description string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.byName(account, region, fnName)
	if err != nil {
		return "", err
	}
	if !aliasPattern.MatchString(name) || len(name) > 128 || versionNumber(name) {
		return "", validation("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)", name)
	}
	a := f.aliases[name]
	if a == nil {
		a = &alias{name: name}
	}
	if err := f.setAlias(a, aliasInput{FunctionVersion: &version, Description: &description}); err != nil {
		return "", err
	}
	f.aliases[name] = a
	return f.aliasARN(name), nil
}

// DeleteAlias deletes an alias; a missing one is not an error.
func (s *Service) DeleteAlias(account, region, fnName, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, _, err := s.byName(account, region, fnName); err == nil {
		delete(f.aliases, name)
	}
}

func (s *Service) createAlias(call *awsapi.Call, q *request) (result, error) {
	var in aliasInput
	if err := q.decode(&in); err != nil {
		return result{}, err
	}
	if !aliasPattern.MatchString(in.Name) || len(in.Name) > 128 || versionNumber(in.Name) {
		return result{}, validation("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)", in.Name)
	}
	if in.FunctionVersion == nil {
		return result{}, validation("1 validation error detected: Value null at 'functionVersion' failed to satisfy constraint: Member must not be null")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.functionFor(call, "CreateAlias", q.labels["FunctionName"], "")
	if err != nil {
		return result{}, err
	}
	if f.aliases[in.Name] != nil {
		return result{}, conflict("Alias already exists: %s", f.aliasARN(in.Name))
	}
	a := &alias{name: in.Name}
	if err := f.setAlias(a, in); err != nil {
		return result{}, err
	}
	f.aliases[in.Name] = a
	return result{body: aliasOut(f, a)}, nil
}

// aliasFor finds the alias a request names, authorizing action. s.mu must be held.
func (s *Service) aliasFor(call *awsapi.Call, action string, q *request) (*function, *alias, error) {
	f, _, err := s.functionFor(call, action, q.labels["FunctionName"], "")
	if err != nil {
		return nil, nil, err
	}
	a := f.aliases[q.labels["Name"]]
	if a == nil {
		return nil, nil, notFound("Alias not found: %s", f.aliasARN(q.labels["Name"]))
	}
	return f, a, nil
}

func (s *Service) getAlias(call *awsapi.Call, q *request) (result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, a, err := s.aliasFor(call, "GetAlias", q)
	if err != nil {
		return result{}, err
	}
	return result{body: aliasOut(f, a)}, nil
}

func (s *Service) updateAlias(call *awsapi.Call, q *request) (result, error) {
	var in aliasInput
	if err := q.decode(&in); err != nil {
		return result{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, a, err := s.aliasFor(call, "UpdateAlias", q)
	if err != nil {
		return result{}, err
	}
	if in.RevisionId != "" && in.RevisionId != a.revisionID {
		return result{}, staleRevision()
	}
	next := *a
	if err := f.setAlias(&next, in); err != nil {
		return result{}, err
	}
	*a = next
	return result{body: aliasOut(f, a)}, nil
}

func (s *Service) deleteAlias(call *awsapi.Call, q *request) (result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.functionFor(call, "DeleteAlias", q.labels["FunctionName"], "")
	if err != nil {
		return result{}, err
	}
	delete(f.aliases, q.labels["Name"])
	return result{status: http.StatusNoContent}, nil
}

func (s *Service) listAliases(call *awsapi.Call, q *request) (result, error) {
	maxItems, err := maxItemsParam(q.query("MaxItems"))
	if err != nil {
		return result{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.functionFor(call, "ListAliases", q.labels["FunctionName"], "")
	if err != nil {
		return result{}, err
	}
	var names []string
	for name, a := range f.aliases {
		if v := q.query("FunctionVersion"); v == "" || a.version == v {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	page, next, err := pageOf(names, maxItems, q.query("Marker"), "ListAliases")
	if err != nil {
		return result{}, err
	}
	out := struct {
		Aliases    []aliasConfiguration
		NextMarker string `json:",omitempty"`
	}{Aliases: []aliasConfiguration{}, NextMarker: next}
	for _, n := range page {
		out.Aliases = append(out.Aliases, aliasOut(f, f.aliases[n]))
	}
	return result{body: out}, nil
}

// unreservedMinimum is what an account's reservations must leave to the
// functions without one.
const unreservedMinimum = 100

// checkReservation refuses a reservation that would leave the account's
// other functions fewer than 100 executions. s.mu must be held.
func (s *Service) checkReservation(account, region, except string, n int) error {
	total := n
	for k, f := range s.functions {
		if k.account == account && k.region == region && k.name != except && f.reserved != nil {
			total += *f.reserved
		}
	}
	if s.opts.AccountConcurrency-total < unreservedMinimum {
		return invalidParam("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", unreservedMinimum)
	}
	return nil
}

// reserve applies a reservation. s.mu must be held.
func (s *Service) reserve(f *function, n *int) error {
	if n != nil {
		if *n < 0 {
			return validation("1 validation error detected: Value '%d' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0", *n)
		}
		if err := s.checkReservation(f.account, f.region, f.name, *n); err != nil {
			return err
		}
		n = &[]int{*n}[0]
	}
	f.reserved = n
	return nil
}

func (s *Service) putFunctionConcurrency(call *awsapi.Call, q *request) (result, error) {
	var in struct{ ReservedConcurrentExecutions *int }
	if err := q.decode(&in); err != nil {
		return result{}, err
	}
	if in.ReservedConcurrentExecutions == nil {
		return result{}, validation("1 validation error detected: Value null at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must not be null")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.functionFor(call, "PutFunctionConcurrency", q.labels["FunctionName"], "")
	if err != nil {
		return result{}, err
	}
	if err := s.reserve(f, in.ReservedConcurrentExecutions); err != nil {
		return result{}, err
	}
	return result{body: map[string]int{"ReservedConcurrentExecutions": *f.reserved}}, nil
}

func (s *Service) getFunctionConcurrency(call *awsapi.Call, q *request) (result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.functionFor(call, "GetFunctionConcurrency", q.labels["FunctionName"], "")
	if err != nil {
		return result{}, err
	}
	if f.reserved == nil {
		return result{body: struct{}{}}, nil
	}
	return result{body: map[string]int{"ReservedConcurrentExecutions": *f.reserved}}, nil
}

func (s *Service) deleteFunctionConcurrency(call *awsapi.Call, q *request) (result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.functionFor(call, "DeleteFunctionConcurrency", q.labels["FunctionName"], "")
	if err != nil {
		return result{}, err
	}
	f.reserved = nil
	return result{status: http.StatusNoContent}, nil
}
