package lambda

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// statement is one statement of a function's resource policy, kept as the
// JSON AWS returns for it.
type statement struct {
	qualifier string // "" for the unqualified function
	sid       string
	doc       map[string]any
}

// Permission is an AddPermission request (or an AWS::Lambda::Permission).
type Permission struct {
	StatementID, Action, Principal string
	SourceArn, SourceAccount       string
	PrincipalOrgID                 string
	EventSourceToken               string
	FunctionURLAuthType            string
}

var (
	sidPattern    = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,100}$`)
	actionPattern = regexp.MustCompile(`^(lambda:[*]|lambda:[a-zA-Z]+|[*])$`)
	accountID     = regexp.MustCompile(`^\d{12}$`)
)

// statementFor builds the statement AWS stores for a permission.
func (p Permission) statementFor(resource string) (map[string]any, error) {
	if !sidPattern.MatchString(p.StatementID) {
		return nil, validation("1 validation error detected: Value '%s' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)", p.StatementID)
	}
	if !actionPattern.MatchString(p.Action) {
		return nil, validation("1 validation error detected: Value '%s' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])", p.Action)
	}
	var principal any
	switch pr := p.Principal; {
	case pr == "*":
		principal = "*"
	case accountID.MatchString(pr):
		principal = map[string]string{"AWS": "arn:aws:iam::" + pr + ":root"}
	case strings.HasPrefix(pr, "arn:aws:iam::") || strings.HasPrefix(pr, "arn:aws:sts::"):
		principal = map[string]string{"AWS": pr}
	case strings.HasSuffix(pr, ".amazonaws.com") && !strings.ContainsAny(pr, " */"):
		principal = map[string]string{"Service": pr}
	default:
		return nil, invalidParam("The provided principal was invalid. Please check the principal and try again.")
	}
	if p.SourceAccount != "" && !accountID.MatchString(p.SourceAccount) {
		return nil, validation("1 validation error detected: Value '%s' at 'sourceAccount' failed to satisfy constraint: Member must satisfy regular expression pattern: \\d{12}", p.SourceAccount)
	}
	st := map[string]any{"Sid": p.StatementID, "Effect": "Allow", "Principal": principal, "Action": p.Action, "Resource": resource}
	cond := map[string]map[string]string{}
	add := func(op, key, value string) {
		if value == "" {
			return
		}
		if cond[op] == nil {
			cond[op] = map[string]string{}
		}
		cond[op][key] = value
	}
	add("ArnLike", "AWS:SourceArn", p.SourceArn)
	add("StringEquals", "AWS:SourceAccount", p.SourceAccount)
	add("StringEquals", "aws:PrincipalOrgID", p.PrincipalOrgID)
	add("StringEquals", "lambda:EventSourceToken", p.EventSourceToken)
	add("StringEquals", "lambda:FunctionUrlAuthType", p.FunctionURLAuthType)
	if len(cond) > 0 {
		st["Condition"] = cond
	}
	return st, nil
}

// policyDocument is the resource policy of the function or of one of its
// qualifiers, as JSON; "" when it has no statement. s.mu must be held.
func (f *function) policyDocument(qualifier string) string {
	var sts []map[string]any
	for _, st := range f.policy {
		if st.qualifier == qualifier {
			sts = append(sts, st.doc)
		}
	}
	if len(sts) == 0 {
		return ""
	}
	data, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Id": "default", "Statement": sts})
	return string(data)
}

// addPermission adds a statement. s.mu must be held.
func (f *function) addPermission(qualifier string, p Permission) (string, error) {
	resource := f.arn
	if qualifier != "" {
		if _, err := f.resolve(ref{account: f.account, region: f.region, name: f.name, qualifier: qualifier}); err != nil {
			return "", err
		}
		resource += ":" + qualifier
	}
	doc, err := p.statementFor(resource)
	if err != nil {
		return "", err
	}
	for _, st := range f.policy {
		if st.qualifier == qualifier && st.sid == p.StatementID {
			return "", conflict("The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", p.StatementID)
		}
	}
	f.policy = append(f.policy, statement{qualifier: qualifier, sid: p.StatementID, doc: doc})
	f.policyRevision = newUUID()
	data, _ := json.Marshal(doc)
	return string(data), nil
}

// removePermission deletes a statement. s.mu must be held.
func (f *function) removePermission(qualifier, sid string) error {
	for i, st := range f.policy {
		if st.qualifier == qualifier && st.sid == sid {
			f.policy = append(f.policy[:i], f.policy[i+1:]...)
			f.policyRevision = newUUID()
			return nil
		}
	}
	return notFound("Statement %s is not found in resource policy.", sid)
}

// AddPermission adds a statement to a function's resource policy (as
// AWS::Lambda::Permission does); fnName may be qualified.
func (s *Service) AddPermission(account, region, fnName string, p Permission) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, qual, err := s.byName(account, region, fnName)
	if err != nil {
		return "", err
	}
	return f.addPermission(qual, p)
}

// RemovePermission removes a statement; a missing function or statement is not an error.
func (s *Service) RemovePermission(account, region, fnName, sid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, qual, err := s.byName(account, region, fnName); err == nil {
		_ = f.removePermission(qual, sid)
	}
}

// byName finds a function by name, partial or full ARN in an account and
// region. s.mu must be held.
func (s *Service) byName(account, region, fnName string) (*function, string, error) {
	call := &awsapi.Call{Caller: &awsapi.Caller{Account: account}, Region: region}
	r, err := parseRef(call, fnName, "", 170)
	if err != nil {
		return nil, "", err
	}
	f, err := s.lookup(r)
	return f, r.qualifier, err
}

type addPermissionInput struct {
	StatementId, Action, Principal string
	SourceArn, SourceAccount       string
	EventSourceToken               string
	PrincipalOrgID                 string
	FunctionUrlAuthType            string
	InvokedViaFunctionUrl          *bool
	RevisionId                     string
}

func (s *Service) addPermission(call *awsapi.Call, q *request) (result, error) {
	var in addPermissionInput
	if err := q.decode(&in); err != nil {
		return result{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.functionFor(call, "AddPermission", q.labels["FunctionName"], q.query("Qualifier"))
	if err != nil {
		return result{}, err
	}
	if in.RevisionId != "" && in.RevisionId != f.policyRevision {
		return result{}, stalePolicyRevision()
	}
	qual := qualifierOf(call, q)
	st, err := f.addPermission(qual, Permission{StatementID: in.StatementId, Action: in.Action, Principal: in.Principal, SourceArn: in.SourceArn,
		SourceAccount: in.SourceAccount, PrincipalOrgID: in.PrincipalOrgID, EventSourceToken: in.EventSourceToken, FunctionURLAuthType: in.FunctionUrlAuthType})
	if err != nil {
		return result{}, err
	}
	return result{body: map[string]string{"Statement": st}}, nil
}

// qualifierOf is the request's qualifier: the Qualifier parameter or the one in the name.
func qualifierOf(call *awsapi.Call, q *request) string {
	r, _ := parseRef(call, q.labels["FunctionName"], q.query("Qualifier"), 170)
	return r.qualifier
}

func (s *Service) removePermission(call *awsapi.Call, q *request) (result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.functionFor(call, "RemovePermission", q.labels["FunctionName"], q.query("Qualifier"))
	if err != nil {
		return result{}, err
	}
	if rev := q.query("RevisionId"); rev != "" && rev != f.policyRevision {
		return result{}, stalePolicyRevision()
	}
	if err := f.removePermission(qualifierOf(call, q), q.labels["StatementId"]); err != nil {
		return result{}, err
	}
	return result{status: http.StatusNoContent}, nil
}

func (s *Service) getPolicy(call *awsapi.Call, q *request) (result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, _, err := s.functionFor(call, "GetPolicy", q.labels["FunctionName"], q.query("Qualifier"))
	if err != nil {
		return result{}, err
	}
	doc := f.policyDocument(qualifierOf(call, q))
	if doc == "" {
		return result{}, notFound("The resource you requested does not exist.")
	}
	return result{body: map[string]string{"Policy": doc, "RevisionId": f.policyRevision}}, nil
}
