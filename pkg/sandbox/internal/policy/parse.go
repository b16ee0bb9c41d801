package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Kind says what a policy document is used as; it decides which elements are
// required or forbidden, as IAM and S3 validate them.
type Kind int

const (
	// Any accepts every element; used when evaluating stored documents.
	Any Kind = iota
	// Identity policies (inline and managed) name no principal and need resources.
	Identity
	// Resource policies (bucket policies) need a principal and resources.
	Resource
	// Trust policies (role assume-role documents) need a principal and no resources.
	Trust
)

// Version strings IAM accepts.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// SyntaxError is a malformed policy document. Msg is worded as IAM words it;
// callers return it as MalformedPolicyDocument (IAM) or MalformedPolicy (S3).
type SyntaxError struct{ Msg string }

func (e *SyntaxError) Error() string { return e.Msg }

func syntaxf(format string, args ...any) error {
	return &SyntaxError{Msg: fmt.Sprintf(format, args...)}
}

// Policy is a parsed policy document.
type Policy struct {
	Version    string
	Statements []*Statement
}

// Statement is one statement of a policy.
type Statement struct {
	Sid    string
	Effect string // "Allow" or "Deny"
	// Principal is nil when the statement has neither Principal nor NotPrincipal.
	Principal    *Principals
	NotPrincipal bool
	Actions      []string
	NotAction    bool
	// HasResource is false when the statement has neither Resource nor NotResource
	// (trust policies): such a statement applies to any resource.
	HasResource bool
	Resources   []string
	NotResource bool
	Conditions  []Condition
}

// Principals is a Principal or NotPrincipal element.
type Principals struct {
	// All is the bare "*" form.
	All           bool
	AWS           []string
	Service       []string
	Federated     []string
	CanonicalUser []string
}

// Condition is one operator/key pair of a Condition block.
type Condition struct {
	// Operator as written, e.g. "ForAnyValue:StringLikeIfExists".
	Operator string
	Key      string
	Values   []string

	base     string // canonical operator name without set prefix / IfExists
	set      string // "", "ForAnyValue" or "ForAllValues"
	ifExists bool
}

var (
	actionPattern  = regexp.MustCompile(`^[A-Za-z0-9-]+:[A-Za-z0-9*?]*$`)
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	iamPrincipal   = regexp.MustCompile(`^arn:aws:iam::[0-9]{12}:(root|(role|user)/[\x21-\x7e]+)$`)
	stsPrincipal   = regexp.MustCompile(`^arn:aws:sts::[0-9]{12}:assumed-role/[\w+=,.@-]+/[\w+=,.@-]+$`)
)

// Parse parses and validates a policy document for the given use.
// Errors are *SyntaxError.
func Parse(doc string, kind Kind) (*Policy, error) {
	data := bytes.TrimSpace([]byte(doc))
	if len(data) == 0 || data[0] != '{' {
		return nil, syntaxf("Syntax errors in policy.")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var top map[string]any
	if err := dec.Decode(&top); err != nil {
		return nil, syntaxf("Syntax errors in policy.")
	}
	if dec.More() {
		return nil, syntaxf("Syntax errors in policy.")
	}
	p := &Policy{Version: Version2008}
	for k, v := range top {
		switch k {
		case "Version":
			s, ok := v.(string)
			if !ok || (s != Version2012 && s != Version2008) {
				return nil, syntaxf("The policy failed legacy parsing")
			}
			p.Version = s
		case "Id":
			if _, ok := v.(string); !ok {
				return nil, syntaxf("Syntax errors in policy.")
			}
		case "Statement":
		default:
			return nil, syntaxf("Syntax errors in policy.")
		}
	}
	raw, ok := top["Statement"]
	if !ok {
		return nil, syntaxf("Syntax errors in policy.")
	}
	var stmts []any
	switch v := raw.(type) {
	case map[string]any:
		stmts = []any{v}
	case []any:
		stmts = v
	default:
		return nil, syntaxf("Syntax errors in policy.")
	}
	if len(stmts) == 0 && kind != Any {
		return nil, syntaxf("Syntax errors in policy.")
	}
	for _, raw := range stmts {
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, syntaxf("Syntax errors in policy.")
		}
		st, err := parseStatement(m, kind)
		if err != nil {
			return nil, err
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

func parseStatement(m map[string]any, kind Kind) (*Statement, error) {
	st := &Statement{}
	var hasAction bool
	for k, v := range m {
		var err error
		switch k {
		case "Sid":
			s, ok := v.(string)
			if !ok {
				return nil, syntaxf("Syntax errors in policy.")
			}
			st.Sid = s
		case "Effect":
			s, ok := v.(string)
			if !ok || (s != "Allow" && s != "Deny") {
				return nil, syntaxf("Syntax errors in policy.")
			}
			st.Effect = s
		case "Principal", "NotPrincipal":
			if st.Principal != nil {
				return nil, syntaxf("Syntax errors in policy.")
			}
			st.NotPrincipal = k == "NotPrincipal"
			st.Principal, err = parsePrincipals(v, kind != Any)
		case "Action", "NotAction":
			if hasAction {
				return nil, syntaxf("Syntax errors in policy.")
			}
			hasAction = true
			st.NotAction = k == "NotAction"
			st.Actions, err = stringList(v)
			if err == nil && kind != Any {
				err = checkActions(st.Actions)
			}
		case "Resource", "NotResource":
			if st.HasResource {
				return nil, syntaxf("Syntax errors in policy.")
			}
			if kind == Trust {
				return nil, syntaxf("Has prohibited field %s", k)
			}
			st.HasResource = true
			st.NotResource = k == "NotResource"
			st.Resources, err = stringList(v)
			if err == nil && kind != Any {
				err = checkResources(st.Resources)
			}
		case "Condition":
			st.Conditions, err = parseConditions(v)
		default:
			return nil, syntaxf("Syntax errors in policy.")
		}
		if err != nil {
			return nil, err
		}
	}
	if st.Effect == "" {
		return nil, syntaxf("Syntax errors in policy.")
	}
	if !hasAction && kind != Any {
		return nil, syntaxf("Policy statement must contain actions.")
	}
	switch kind {
	case Identity:
		if st.Principal != nil {
			return nil, syntaxf("Policy document should not specify a principal.")
		}
		if !st.HasResource {
			return nil, syntaxf("Policy statement must contain resources.")
		}
	case Resource:
		if st.Principal == nil {
			return nil, syntaxf("Missing required field Principal")
		}
		if !st.HasResource {
			return nil, syntaxf("Policy statement must contain resources.")
		}
	case Trust:
		if st.Principal == nil {
			return nil, syntaxf("Missing required field Principal")
		}
		for _, a := range st.Actions {
			if a != "*" && !strings.HasPrefix(strings.ToLower(a), "sts:") {
				return nil, syntaxf("AssumeRole policy may only specify STS AssumeRole actions.")
			}
		}
	}
	return st, nil
}

func checkActions(actions []string) error {
	for _, a := range actions {
		if a != "*" && !actionPattern.MatchString(a) {
			return syntaxf("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
		}
	}
	return nil
}

func checkResources(res []string) error {
	for _, r := range res {
		if r != "*" && !strings.HasPrefix(r, "arn:") {
			return syntaxf("Resource %s must be in ARN format or \"*\".", r)
		}
	}
	return nil
}

// parsePrincipals reads a Principal element; strict checks the forms IAM accepts.
func parsePrincipals(v any, strict bool) (*Principals, error) {
	if s, ok := v.(string); ok {
		switch {
		case s == "*":
			return &Principals{All: true}, nil
		case strict:
			return nil, syntaxf("Invalid principal in policy: %q", s)
		}
		return &Principals{AWS: []string{s}}, nil
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil, syntaxf("Syntax errors in policy.")
	}
	p := &Principals{}
	for k, raw := range m {
		vals, err := stringList(raw)
		if err != nil {
			return nil, err
		}
		switch k {
		case "AWS":
			for _, a := range vals {
				if strict && a != "*" && !accountPattern.MatchString(a) && !iamPrincipal.MatchString(a) && !stsPrincipal.MatchString(a) {
					return nil, syntaxf("Invalid principal in policy: \"AWS\":%q", a)
				}
			}
			p.AWS = vals
		case "Service":
			for _, a := range vals {
				if a == "" || strings.ContainsAny(a, " *") {
					return nil, syntaxf("Invalid principal in policy: \"SERVICE\":%q", a)
				}
			}
			p.Service = vals
		case "Federated":
			p.Federated = vals
		case "CanonicalUser":
			p.CanonicalUser = vals
		default:
			return nil, syntaxf("Invalid principal in policy: %q", k)
		}
	}
	return p, nil
}

// stringList reads a string or a non-empty list of strings.
func stringList(v any) ([]string, error) {
	switch t := v.(type) {
	case string:
		return []string{t}, nil
	case []any:
		if len(t) == 0 {
			return nil, syntaxf("Syntax errors in policy.")
		}
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, syntaxf("Syntax errors in policy.")
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, syntaxf("Syntax errors in policy.")
}

// scalarList reads condition values: strings, numbers and booleans, single or listed.
func scalarList(v any) ([]string, error) {
	scalar := func(e any) (string, bool) {
		switch t := e.(type) {
		case string:
			return t, true
		case json.Number:
			return t.String(), true
		case bool:
			if t {
				return "true", true
			}
			return "false", true
		}
		return "", false
	}
	if s, ok := scalar(v); ok {
		return []string{s}, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, syntaxf("Syntax errors in policy.")
	}
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := scalar(e)
		if !ok {
			return nil, syntaxf("Syntax errors in policy.")
		}
		out = append(out, s)
	}
	return out, nil
}

func parseConditions(v any) ([]Condition, error) {
	block, ok := v.(map[string]any)
	if !ok {
		return nil, syntaxf("Syntax errors in policy.")
	}
	var out []Condition
	for op, raw := range block {
		c, err := parseOperator(op)
		if err != nil {
			return nil, err
		}
		keys, ok := raw.(map[string]any)
		if !ok || len(keys) == 0 {
			return nil, syntaxf("Syntax errors in policy.")
		}
		for key, vals := range keys {
			if !strings.Contains(key, ":") {
				return nil, syntaxf("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
			}
			values, err := scalarList(vals)
			if err != nil {
				return nil, err
			}
			cc := c
			cc.Key = key
			cc.Values = values
			if cc.base == "Null" {
				for _, v := range values {
					if v != "true" && v != "false" {
						return nil, syntaxf("Syntax errors in policy.")
					}
				}
			}
			out = append(out, cc)
		}
	}
	return out, nil
}

func parseOperator(op string) (Condition, error) {
	c := Condition{Operator: op}
	name := op
	if prefix, rest, ok := strings.Cut(name, ":"); ok {
		switch strings.ToLower(prefix) {
		case "foranyvalue":
			c.set = "ForAnyValue"
		case "forallvalues":
			c.set = "ForAllValues"
		default:
			return c, syntaxf("Invalid Condition type : %s", op)
		}
		name = rest
	}
	if len(name) > len("IfExists") && strings.EqualFold(name[len(name)-len("IfExists"):], "IfExists") {
		c.ifExists = true
		name = name[:len(name)-len("IfExists")]
	}
	for canonical := range operators {
		if strings.EqualFold(canonical, name) {
			c.base = canonical
		}
	}
	if c.base == "" || (c.base == "Null" && (c.ifExists || c.set != "")) {
		return c, syntaxf("Invalid Condition type : %s", op)
	}
	return c, nil
}
