package policy

import (
	"strings"
)

// Principal is who makes a request, as resource and trust policies see it.
type Principal struct {
	// Account is the principal's 12-digit account.
	Account string
	// ARN is the caller's own ARN: arn:aws:iam::<acct>:root for root, the
	// assumed-role session ARN for role sessions.
	ARN string
	// RoleARN is the IAM role behind a role session; empty otherwise.
	RoleARN string
	// Service is set for AWS service principals (e.g. cloudformation.amazonaws.com);
	// such a caller matches only "*" and Service principals.
	Service string
	// Anonymous is an unauthenticated caller; it matches only "*".
	Anonymous bool
}

// Request is one authorization question.
type Request struct {
	// Principal is nil when evaluating identity policies (their statements name
	// no principal); otherwise only statements whose Principal matches apply.
	Principal *Principal
	// DirectOnly makes Allow statements ignore account principals ("111111111111",
	// "arn:aws:iam::111111111111:root") that merely delegate to the account's
	// identity policies. Deny statements always honour them.
	DirectOnly bool
	Action     string
	Resource   string
	Context    Context
}

// Context holds condition keys. Keys are case-insensitive, stored lower-case;
// a key with no values counts as absent.
type Context map[string][]string

// Set sets key to values.
func (c Context) Set(key string, values ...string) { c[strings.ToLower(key)] = values }

// Get returns the values of key.
func (c Context) Get(key string) []string { return c[strings.ToLower(key)] }

// Evaluate evaluates the policies together: any matching Deny wins, otherwise
// any matching Allow allows.
func Evaluate(req *Request, policies ...*Policy) Decision {
	d := ImplicitDeny
	for _, p := range policies {
		if p == nil {
			continue
		}
		switch p.Evaluate(req) {
		case ExplicitDeny:
			return ExplicitDeny
		case Allow:
			d = Allow
		}
	}
	return d
}

// Evaluate evaluates one policy.
func (p *Policy) Evaluate(req *Request) Decision {
	d := ImplicitDeny
	for _, st := range p.Statements {
		if !st.matches(p.Version, req) {
			continue
		}
		if st.Effect == "Deny" {
			return ExplicitDeny
		}
		d = Allow
	}
	return d
}

func (st *Statement) matches(version string, req *Request) bool {
	if req.Principal != nil {
		if st.Principal == nil {
			return false
		}
		direct := req.DirectOnly && st.Effect == "Allow"
		m := st.Principal.match(req.Principal, direct)
		if m == st.NotPrincipal {
			return false
		}
	}
	if !anyMatch(st.Actions, func(pat string) bool { return globFold(pat, req.Action) }, st.NotAction) {
		return false
	}
	if st.HasResource {
		vars := version == Version2012
		ok := anyMatch(st.Resources, func(pat string) bool {
			if vars {
				var resolved bool
				pat, resolved = substitute(pat, req.Context)
				if !resolved {
					return false
				}
			}
			return glob(pat, req.Resource)
		}, st.NotResource)
		if !ok {
			return false
		}
	}
	for i := range st.Conditions {
		if !st.Conditions[i].eval(version, req.Context) {
			return false
		}
	}
	return true
}

// anyMatch reports whether some pattern matches, inverted for Not* elements.
func anyMatch(patterns []string, match func(string) bool, not bool) bool {
	for _, p := range patterns {
		if match(p) {
			return !not
		}
	}
	return not
}

// match reports whether the principal is named by p. With direct, account
// principals match only the account's root itself.
func (p *Principals) match(pr *Principal, direct bool) bool {
	if p.All {
		return true
	}
	if pr.Service != "" {
		for _, s := range p.Service {
			if strings.EqualFold(s, pr.Service) {
				return true
			}
		}
		for _, a := range p.AWS {
			if a == "*" {
				return true
			}
		}
		return false
	}
	for _, a := range p.AWS {
		switch {
		case a == "*":
			return true
		case pr.Anonymous:
		case a == pr.Account || a == "arn:aws:iam::"+pr.Account+":root":
			if !direct || pr.ARN == "arn:aws:iam::"+pr.Account+":root" {
				return true
			}
		case a == pr.ARN || (pr.RoleARN != "" && a == pr.RoleARN):
			return true
		}
	}
	return false
}

// substitute replaces policy variables (${aws:username}, ${key, 'default'},
// ${*}, ${?}, ${$}). It reports false when a variable has no single value.
func substitute(s string, ctx Context) (string, bool) {
	if !strings.Contains(s, "${") {
		return s, true
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		b.WriteString(s[:i])
		name := strings.TrimSpace(s[i+2 : i+j])
		s = s[i+j+1:]
		switch name {
		case "*", "?", "$":
			b.WriteString(name)
			continue
		}
		def, hasDef := "", false
		if k, d, ok := strings.Cut(name, ","); ok {
			name = strings.TrimSpace(k)
			d = strings.TrimSpace(d)
			if len(d) >= 2 && d[0] == '\'' && d[len(d)-1] == '\'' {
				def, hasDef = d[1:len(d)-1], true
			}
		}
		vals := ctx.Get(name)
		switch {
		case len(vals) == 1:
			b.WriteString(vals[0])
		case len(vals) == 0 && hasDef:
			b.WriteString(def)
		default:
			return "", false
		}
	}
}

// glob matches s against a pattern with * (any run) and ? (any one character).
func glob(pattern, s string) bool {
	px, sx := 0, 0
	starP, starS := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && pattern[px] == '*':
			starP, starS = px, sx
			px++
		case px < len(pattern) && (pattern[px] == '?' || pattern[px] == s[sx]):
			px++
			sx++
		case starP >= 0:
			starS++
			px, sx = starP+1, starS
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}

func globFold(pattern, s string) bool { return glob(strings.ToLower(pattern), strings.ToLower(s)) }
