package policy

import (
	"encoding/base64"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// operator compares one request value with one policy value; negated operators
// reuse their positive form.
type operator struct {
	match   func(ctx, pol string) bool
	negated bool
}

var operators = map[string]operator{
	"StringEquals":              {match: func(c, p string) bool { return c == p }},
	"StringNotEquals":           {match: func(c, p string) bool { return c == p }, negated: true},
	"StringEqualsIgnoreCase":    {match: strings.EqualFold},
	"StringNotEqualsIgnoreCase": {match: strings.EqualFold, negated: true},
	"StringLike":                {match: func(c, p string) bool { return glob(p, c) }},
	"StringNotLike":             {match: func(c, p string) bool { return glob(p, c) }, negated: true},
	"NumericEquals":             {match: numeric(func(c, p float64) bool { return c == p })},
	"NumericNotEquals":          {match: numeric(func(c, p float64) bool { return c == p }), negated: true},
	"NumericLessThan":           {match: numeric(func(c, p float64) bool { return c < p })},
	"NumericLessThanEquals":     {match: numeric(func(c, p float64) bool { return c <= p })},
	"NumericGreaterThan":        {match: numeric(func(c, p float64) bool { return c > p })},
	"NumericGreaterThanEquals":  {match: numeric(func(c, p float64) bool { return c >= p })},
	"DateEquals":                {match: date(func(c, p time.Time) bool { return c.Equal(p) })},
	"DateNotEquals":             {match: date(func(c, p time.Time) bool { return c.Equal(p) }), negated: true},
	"DateLessThan":              {match: date(func(c, p time.Time) bool { return c.Before(p) })},
	"DateLessThanEquals":        {match: date(func(c, p time.Time) bool { return !c.After(p) })},
	"DateGreaterThan":           {match: date(func(c, p time.Time) bool { return c.After(p) })},
	"DateGreaterThanEquals":     {match: date(func(c, p time.Time) bool { return !c.Before(p) })},
	"Bool":                      {match: strings.EqualFold},
	"BinaryEquals":              {match: func(c, p string) bool { return base64.StdEncoding.EncodeToString([]byte(c)) == p }},
	"IpAddress":                 {match: ipIn},
	"NotIpAddress":              {match: ipIn, negated: true},
	"ArnEquals":                 {match: arnLike},
	"ArnLike":                   {match: arnLike},
	"ArnNotEquals":              {match: arnLike, negated: true},
	"ArnNotLike":                {match: arnLike, negated: true},
	"Null":                      {},
}

// eval evaluates the condition: the request values of Key against Values,
// values OR'd, with the set operators' semantics for multi-valued keys.
func (c *Condition) eval(version string, ctx Context) bool {
	vals := ctx.Get(c.Key)
	present := len(vals) > 0
	if c.base == "Null" {
		for _, v := range c.Values {
			if (v == "true") != present {
				return true
			}
		}
		return false
	}
	op := operators[c.base]
	if !present {
		switch {
		case c.ifExists:
			return true
		case c.set == "ForAllValues":
			return true
		case c.set == "ForAnyValue":
			return false
		}
		return op.negated
	}
	policyValues := c.Values
	if version == Version2012 {
		policyValues = make([]string, 0, len(c.Values))
		for _, v := range c.Values {
			if s, ok := substitute(v, ctx); ok {
				policyValues = append(policyValues, s)
			}
		}
	}
	result := func(v string) bool {
		for _, p := range policyValues {
			if op.match(v, p) {
				return !op.negated
			}
		}
		return op.negated
	}
	all := c.set == "ForAllValues" || (c.set == "" && op.negated)
	for _, v := range vals {
		r := result(v)
		if all && !r {
			return false
		}
		if !all && r {
			return true
		}
	}
	return all
}

func numeric(cmp func(c, p float64) bool) func(string, string) bool {
	return func(c, p string) bool {
		cv, err1 := strconv.ParseFloat(c, 64)
		pv, err2 := strconv.ParseFloat(p, 64)
		return err1 == nil && err2 == nil && cmp(cv, pv)
	}
}

func date(cmp func(c, p time.Time) bool) func(string, string) bool {
	return func(c, p string) bool {
		cv, ok1 := parseDate(c)
		pv, ok2 := parseDate(p)
		return ok1 && ok2 && cmp(cv, pv)
	}
}

// parseDate reads the ISO 8601 forms IAM accepts, or epoch seconds.
func parseDate(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}

func ipIn(c, p string) bool {
	addr, err := netip.ParseAddr(c)
	if err != nil {
		return false
	}
	if !strings.Contains(p, "/") {
		pa, err := netip.ParseAddr(p)
		return err == nil && pa == addr
	}
	prefix, err := netip.ParsePrefix(p)
	return err == nil && prefix.Contains(addr)
}

// arnLike compares ARNs segment by segment (the resource part may hold colons),
// with * and ? wildcards inside each segment.
func arnLike(c, p string) bool {
	if p == "*" {
		return true
	}
	cs := strings.SplitN(c, ":", 6)
	ps := strings.SplitN(p, ":", 6)
	if len(cs) != 6 || len(ps) != 6 {
		return false
	}
	for i := range cs {
		if !glob(ps[i], cs[i]) {
			return false
		}
	}
	return true
}
