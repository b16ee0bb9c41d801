package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"sort"
	"strings"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// pattern is a validated event pattern: a JSON object whose leaves are
// arrays of matchers, with EventBridge's matching rules: every field of the
// pattern must match (AND), any matcher of a field's list may (OR), $or
// lists alternative sub-patterns, and an array in the event matches when
// any of its elements does.
type pattern struct {
	root map[string]any
}

func invalidPattern(format string, args ...any) error {
	return awsapi.Errorf(http.StatusBadRequest, "InvalidEventPatternException", "Event pattern is not valid. Reason: %s", fmt.Sprintf(format, args...))
}

// parsePattern parses and validates an event pattern as PutRule does.
func parsePattern(text string) (*pattern, error) {
	var root any
	dec := json.NewDecoder(strings.NewReader(text))
	if err := dec.Decode(&root); err != nil {
		return nil, invalidPattern("Filter is not valid JSON: %v", err)
	}
	if dec.More() {
		return nil, invalidPattern("Filter is not valid JSON: unexpected content after the object")
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return nil, invalidPattern("Filter is not an object")
	}
	if len(obj) == 0 {
		return nil, invalidPattern("Empty objects are not allowed")
	}
	if err := checkObject(obj, ""); err != nil {
		return nil, err
	}
	return &pattern{root: obj}, nil
}

func checkObject(obj map[string]any, path string) error {
	for _, key := range sortedKeys(obj) {
		v := obj[key]
		p := strings.TrimPrefix(path+"."+key, ".")
		if key == "$or" {
			alts, ok := v.([]any)
			if !ok || len(alts) < 2 {
				return invalidPattern("%s must be an array of at least two objects", p)
			}
			for _, a := range alts {
				ao, ok := a.(map[string]any)
				if !ok || len(ao) == 0 {
					return invalidPattern("%s must be an array of at least two objects", p)
				}
				if err := checkObject(ao, path); err != nil {
					return err
				}
			}
			continue
		}
		switch x := v.(type) {
		case map[string]any:
			if len(x) == 0 {
				return invalidPattern("Empty objects are not allowed (%s)", p)
			}
			if err := checkObject(x, p); err != nil {
				return err
			}
		case []any:
			if len(x) == 0 {
				return invalidPattern("Empty arrays are not allowed (%s)", p)
			}
			for _, m := range x {
				if err := checkMatcher(m, p); err != nil {
					return err
				}
			}
		default:
			return invalidPattern("\"%s\" must be an object or an array", p)
		}
	}
	return nil
}

func checkMatcher(m any, path string) error {
	switch x := m.(type) {
	case nil, string, float64, bool:
		return nil
	case map[string]any:
		if len(x) != 1 {
			return invalidPattern("Match value must be String, number, true, false, or null (%s)", path)
		}
		for op, v := range x {
			return checkOperator(op, v, path)
		}
	}
	return invalidPattern("Match value must be String, number, true, false, or null (%s)", path)
}

func checkOperator(op string, v any, path string) error {
	switch op {
	case "prefix", "suffix":
		if _, ok := v.(string); ok {
			return nil
		}
		if o, ok := v.(map[string]any); ok && len(o) == 1 {
			if s, ok := o["equals-ignore-case"].(string); ok && s != "" {
				return nil
			}
		}
		return invalidPattern("%s match pattern must be a string, optionally in equals-ignore-case (%s)", op, path)
	case "equals-ignore-case":
		if _, ok := v.(string); ok {
			return nil
		}
		return invalidPattern("equals-ignore-case match pattern must be a string (%s)", path)
	case "wildcard":
		s, ok := v.(string)
		if !ok {
			return invalidPattern("wildcard match pattern must be a string (%s)", path)
		}
		return checkWildcard(s, path)
	case "exists":
		if _, ok := v.(bool); !ok {
			return invalidPattern("exists match pattern must be either true or false. (%s)", path)
		}
		return nil
	case "numeric":
		_, err := parseNumeric(v, path)
		return err
	case "cidr":
		s, _ := v.(string)
		if _, _, err := net.ParseCIDR(s); err != nil {
			return invalidPattern("Malformed CIDR, one '/' required (%s)", path)
		}
		return nil
	case "anything-but":
		return checkAnythingBut(v, path)
	}
	return invalidPattern("Unrecognized match type %s (%s)", op, path)
}

func checkAnythingBut(v any, path string) error {
	switch x := v.(type) {
	case string, float64:
		return nil
	case []any:
		if len(x) == 0 {
			return invalidPattern("Inside anything but list, start|null|boolean is not supported. (%s)", path)
		}
		_, firstIsString := x[0].(string)
		for _, e := range x {
			switch e.(type) {
			case string:
				if !firstIsString {
					return invalidPattern("Inside anything but list, all values must be of the same type (%s)", path)
				}
			case float64:
				if firstIsString {
					return invalidPattern("Inside anything but list, all values must be of the same type (%s)", path)
				}
			default:
				return invalidPattern("Inside anything but list, start|null|boolean is not supported. (%s)", path)
			}
		}
		return nil
	case map[string]any:
		if len(x) != 1 {
			return invalidPattern("Value of anything-but must be an array or single string/number value. (%s)", path)
		}
		for op, w := range x {
			switch op {
			case "prefix", "suffix":
				if s, ok := w.(string); ok && s != "" {
					return nil
				}
				return invalidPattern("Value of %s inside anything-but must be a non-empty string (%s)", op, path)
			case "equals-ignore-case", "wildcard":
				list := []any{w}
				if l, ok := w.([]any); ok {
					list = l
				}
				for _, e := range list {
					s, ok := e.(string)
					if !ok {
						return invalidPattern("Value of %s inside anything-but must be a string or an array of strings (%s)", op, path)
					}
					if op == "wildcard" {
						if err := checkWildcard(s, path); err != nil {
							return err
						}
					}
				}
				return nil
			}
			return invalidPattern("Unsupported anything-but pattern: %s (%s)", op, path)
		}
	}
	return invalidPattern("Value of anything-but must be an array or single string/number value. (%s)", path)
}

func checkWildcard(s, path string) error {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return invalidPattern("Invalid escape character at pos %d (%s)", i, path)
			}
			i++
		case '*':
			if i+1 < len(s) && s[i+1] == '*' {
				return invalidPattern("Consecutive wildcard characters at pos %d (%s)", i+1, path)
			}
		}
	}
	return nil
}

// numericRange is a numeric matcher: bounds, each optional.
type numericRange struct {
	eq             *float64
	lo, hi         *float64
	loOpen, hiOpen bool
}

const numericLimit = 5e9

func parseNumeric(v any, path string) (numericRange, error) {
	var r numericRange
	list, ok := v.([]any)
	if !ok || len(list) == 0 || len(list)%2 != 0 || len(list) > 4 {
		return r, invalidPattern("Value of numeric must be an array of operator and number pairs (%s)", path)
	}
	for i := 0; i < len(list); i += 2 {
		op, _ := list[i].(string)
		n, ok := list[i+1].(float64)
		if !ok {
			return r, invalidPattern("Value of %s must be numeric (%s)", op, path)
		}
		if n < -numericLimit || n > numericLimit {
			return r, invalidPattern("Value of %s must be between -5.0E9 and 5.0E9 inclusive (%s)", op, path)
		}
		switch op {
		case "=":
			if len(list) != 2 {
				return r, invalidPattern("Numeric = cannot be combined with another operator (%s)", path)
			}
			r.eq = &n
		case ">", ">=":
			if r.lo != nil || i > 0 {
				return r, invalidPattern("Bad numeric range: the lower bound must come first (%s)", path)
			}
			r.lo, r.loOpen = &n, op == ">"
		case "<", "<=":
			if r.hi != nil {
				return r, invalidPattern("Bad numeric range: two upper bounds (%s)", path)
			}
			if r.lo != nil && *r.lo >= n {
				return r, invalidPattern("Bad numeric range: the lower bound must be below the upper bound (%s)", path)
			}
			r.hi, r.hiOpen = &n, op == "<"
		default:
			return r, invalidPattern("Unrecognized numeric range operator: %v (%s)", list[i], path)
		}
	}
	return r, nil
}

func (r numericRange) contains(n float64) bool {
	if r.eq != nil {
		return n == *r.eq
	}
	if r.lo != nil && (n < *r.lo || r.loOpen && n == *r.lo) {
		return false
	}
	if r.hi != nil && (n > *r.hi || r.hiOpen && n == *r.hi) {
		return false
	}
	return true
}

// decodeEvent parses an event for matching.
func decodeEvent(event []byte) (map[string]any, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(event))
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// matches reports whether the event (decoded JSON) matches the pattern.
func (p *pattern) matches(event map[string]any) bool { return matchObject(p.root, event) }

func matchObject(pat, event map[string]any) bool {
	for key, pv := range pat {
		if key == "$or" {
			matched := false
			for _, alt := range pv.([]any) {
				if matchObject(alt.(map[string]any), event) {
					matched = true
					break
				}
			}
			if !matched {
				return false
			}
			continue
		}
		ev, present := event[key]
		switch x := pv.(type) {
		case map[string]any:
			if !matchNested(x, ev, present) {
				return false
			}
		case []any:
			if !matchLeaf(x, ev, present) {
				return false
			}
		}
	}
	return true
}

// matchNested matches a nested pattern; an array of objects in the event
// matches when one element does, and an absent object is an empty one (so
// exists:false below it holds).
func matchNested(pat map[string]any, ev any, present bool) bool {
	switch x := ev.(type) {
	case map[string]any:
		return matchObject(pat, x)
	case []any:
		for _, e := range x {
			if o, ok := e.(map[string]any); ok && matchObject(pat, o) {
				return true
			}
		}
		return len(x) == 0 && matchObject(pat, map[string]any{})
	}
	if !present {
		return matchObject(pat, map[string]any{})
	}
	return false
}

func matchLeaf(matchers []any, ev any, present bool) bool {
	values := []any{ev}
	if arr, ok := ev.([]any); ok {
		values = arr
	}
	_, isObject := ev.(map[string]any)
	for _, m := range matchers {
		if op, ok := m.(map[string]any); ok {
			if want, ok := op["exists"].(bool); ok {
				if want == (present && !isObject) {
					return true
				}
				continue
			}
		}
		if !present {
			continue
		}
		for _, v := range values {
			if matchValue(m, v) {
				return true
			}
		}
	}
	return false
}

func matchValue(m, v any) bool {
	op, ok := m.(map[string]any)
	if !ok {
		return equalScalar(m, v)
	}
	for name, arg := range op {
		s, isString := v.(string)
		switch name {
		case "prefix", "suffix":
			if !isString {
				return false
			}
			want, fold := affix(arg)
			if fold {
				s, want = strings.ToLower(s), strings.ToLower(want)
			}
			if name == "prefix" {
				return strings.HasPrefix(s, want)
			}
			return strings.HasSuffix(s, want)
		case "equals-ignore-case":
			return isString && strings.EqualFold(s, arg.(string))
		case "wildcard":
			return isString && wildcardMatch(arg.(string), s)
		case "numeric":
			n, ok := v.(float64)
			if !ok {
				return false
			}
			r, _ := parseNumeric(arg, "")
			return r.contains(n)
		case "cidr":
			_, network, _ := net.ParseCIDR(arg.(string))
			ip := net.ParseIP(s)
			return isString && ip != nil && network.Contains(ip)
		case "anything-but":
			return anythingBut(arg, v)
		}
	}
	return false
}

// affix reads a prefix or suffix argument, possibly wrapped in equals-ignore-case.
func affix(arg any) (s string, fold bool) {
	if o, ok := arg.(map[string]any); ok {
		return o["equals-ignore-case"].(string), true
	}
	return arg.(string), false
}

func anythingBut(arg, v any) bool {
	switch x := arg.(type) {
	case []any:
		for _, e := range x {
			if equalScalar(e, v) {
				return false
			}
		}
		return true
	case map[string]any:
		s, isString := v.(string)
		if !isString {
			return false
		}
		for op, w := range x {
			list := []any{w}
			if l, ok := w.([]any); ok {
				list = l
			}
			for _, e := range list {
				p := e.(string)
				switch {
				case op == "prefix" && strings.HasPrefix(s, p),
					op == "suffix" && strings.HasSuffix(s, p),
					op == "equals-ignore-case" && strings.EqualFold(s, p),
					op == "wildcard" && wildcardMatch(p, s):
					return false
				}
			}
		}
		return true
	}
	return !equalScalar(arg, v)
}

func equalScalar(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || math.Abs(x-y) < 1e-9*math.Max(1, math.Abs(x)))
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return false
}

// wildcardMatch matches s against a pattern where * is any run of
// characters and \* and \\ are a literal star and backslash.
func wildcardMatch(pat, s string) bool {
	// Split the pattern into literal pieces between unescaped stars.
	var pieces []string
	var cur strings.Builder
	for i := 0; i < len(pat); i++ {
		switch c := pat[i]; {
		case c == '\\' && i+1 < len(pat):
			cur.WriteByte(pat[i+1])
			i++
		case c == '*':
			pieces = append(pieces, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	pieces = append(pieces, cur.String())
	if len(pieces) == 1 {
		return s == pieces[0]
	}
	if !strings.HasPrefix(s, pieces[0]) {
		return false
	}
	s = s[len(pieces[0]):]
	last := pieces[len(pieces)-1]
	for _, mid := range pieces[1 : len(pieces)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, last)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
