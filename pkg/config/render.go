package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Text rendering follows Python's string.Template, which stacker applies to
// the raw config when the environment comes from a plain file:
//
//	$$          a literal $
//	$name       name matches [_a-zA-Z][_a-zA-Z0-9]*
//	${name}     the same, braced
//	$ + other   an "invalid placeholder", e.g. the lookup ${output vpc::Id}
//
// stacker first substitutes strictly. A missing name fails the config
// ("Environment missing key X.") when it comes before any invalid
// placeholder; once an invalid placeholder has been met, stacker falls back
// to safe substitution, which leaves unknown names as they are. Lookups are
// invalid placeholders, so a config with a lookup before ${typo} renders
// with ${typo} left in place: that is kept for compatibility (configs rely
// on it for text like CloudFormation's ${AWS::Region} or shell $VARS), and
// reported as a warning.

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// placeholder is one $-sequence in a text.
type placeholder struct {
	start, end int    // byte span of the whole sequence
	name       string // named or braced identifier; "" for $$ and invalid
	escaped    bool
}

// scanPlaceholder reads the placeholder starting at s[i] == '$'.
func scanPlaceholder(s string, i int) placeholder {
	j := i + 1
	switch {
	case j < len(s) && s[j] == '$':
		return placeholder{start: i, end: j + 1, escaped: true}
	case j < len(s) && isIdentStart(s[j]):
		k := j + 1
		for k < len(s) && isIdentChar(s[k]) {
			k++
		}
		return placeholder{start: i, end: k, name: s[j:k]}
	case j < len(s) && s[j] == '{':
		k := j + 1
		if k < len(s) && isIdentStart(s[k]) {
			k++
			for k < len(s) && isIdentChar(s[k]) {
				k++
			}
			if k < len(s) && s[k] == '}' {
				return placeholder{start: i, end: k + 1, name: s[j+1 : k]}
			}
		}
	}
	return placeholder{start: i, end: i + 1} // invalid: only the $ is consumed
}

// renderText substitutes env into a config text. It returns the rendered
// text, a map from each rendered line to its source line (nil when lines
// did not move), and warnings.
func renderText(file string, text string, env Environment) (string, []int, []string, error) {
	if !strings.Contains(text, "$") {
		return text, nil, nil, nil
	}
	// Strict pass: decide whether stacker would fail on a missing key.
strict:
	for i := 0; i < len(text); {
		if text[i] != '$' {
			i++
			continue
		}
		p := scanPlaceholder(text, i)
		i = p.end
		if p.escaped {
			continue
		}
		if p.name == "" {
			break strict // an invalid placeholder: stacker turns safe
		}
		if _, ok := env.lookup(p.name); !ok {
			line, col := lineCol(text, p.start)
			return "", nil, nil, Errors{{Pos: Position{File: file, Line: line, Column: col},
				Key: keyPathAt(file, text, line, col, text[p.start:p.end]),
				Msg: fmt.Sprintf("Environment missing key %s.", p.name)}}
		}
	}

	var out strings.Builder
	out.Grow(len(text))
	var lines []int // lines[k]: source line of rendered line k+1
	srcLine, moved := 1, false
	var warnings []string
	last := 0
	emitLiteral := func(s string) {
		out.WriteString(s)
		for range strings.Count(s, "\n") {
			lines = append(lines, srcLine)
			srcLine++
		}
	}
	for i := 0; i < len(text); {
		if text[i] != '$' {
			i++
			continue
		}
		p := scanPlaceholder(text, i)
		emitLiteral(text[last:p.start])
		switch {
		case p.escaped:
			out.WriteByte('$')
		case p.name == "":
			out.WriteByte('$')
		default:
			v, ok := env.lookup(p.name)
			if !ok {
				// Only reachable in safe mode.
				out.WriteString(text[p.start:p.end])
				line, _ := lineCol(text, p.start)
				warnings = append(warnings, fmt.Sprintf("%s:%d: environment has no key %s; %s left as is (stacker does the same after a lookup)",
					file, line, p.name, text[p.start:p.end]))
				break
			}
			s := pyStr(v)
			out.WriteString(s)
			for range strings.Count(s, "\n") {
				lines = append(lines, srcLine)
				moved = true
			}
		}
		i = p.end
		last = i
	}
	emitLiteral(text[last:])
	if !moved {
		lines = nil
	} else {
		lines = append(lines, srcLine)
	}
	return out.String(), lines, warnings, nil
}

func lineCol(text string, offset int) (int, int) {
	line := 1 + strings.Count(text[:offset], "\n")
	col := offset - strings.LastIndexByte(text[:offset], '\n')
	return line, col
}

// pyStr renders a value as Python's str() would for the types an
// environment holds.
func pyStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case nil:
		return "None"
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// YAML environments substitute into parsed values, using the same
// identifier rules without $$ escapes, as stacker's substitute_references.
var (
	yamlRefPattern  = regexp.MustCompile(`\$(?:([_a-zA-Z][_a-zA-Z0-9]*)|\{([_a-zA-Z][_a-zA-Z0-9]*)\})`)
	yamlFullPattern = regexp.MustCompile(`^\$(?:([_a-zA-Z][_a-zA-Z0-9]*)|\{([_a-zA-Z][_a-zA-Z0-9]*)\})$`)
)

// renderYAML returns n with env substituted into every string value (keys
// are left alone); path is n's key path, named in errors. A string that is entirely one reference takes the value
// as is, which may be a list or a map; references inside longer strings
// need string, number or boolean values. Shared (aliased) nodes are copied,
// never changed in place.
func renderYAML(n *node, path string, env Environment, errs *errorList) *node {
	switch n.kind {
	case seqKind:
		out := *n
		out.items = make([]*node, len(n.items))
		for k, it := range n.items {
			out.items[k] = renderYAML(it, fmt.Sprintf("%s[%d]", path, k), env, errs)
		}
		return &out
	case mapKind:
		out := *n
		out.vals = make([]*node, len(n.vals))
		for k, v := range n.vals {
			out.vals[k] = renderYAML(v, join(path, n.keys[k].text), env, errs)
		}
		return &out
	case scalarKind:
		s, ok := n.value.(string)
		if !ok || !strings.Contains(s, "$") {
			return n
		}
		if m := yamlFullPattern.FindStringSubmatch(strings.TrimSpace(s)); m != nil {
			name := m[1] + m[2]
			v, ok := env.lookup(name)
			if !ok || v == nil {
				errs.add(n.pos, path, "Environment missing key %s.", name)
				return n
			}
			return valueNode(v, n.pos)
		}
		failed := false
		rendered := yamlRefPattern.ReplaceAllStringFunc(s, func(ref string) string {
			m := yamlRefPattern.FindStringSubmatch(ref)
			name := m[1] + m[2]
			v, ok := env.lookup(name)
			if !ok || v == nil {
				errs.add(n.pos, path, "Environment missing key %s.", name)
				failed = true
				return ref
			}
			switch v.(type) {
			case map[string]any, []any:
				errs.add(n.pos, path, "Environment key %s can't be merged into a string", name)
				failed = true
				return ref
			}
			return pyStr(v)
		})
		if failed {
			return n
		}
		return &node{kind: scalarKind, pos: n.pos, value: rendered, text: rendered}
	}
	return n
}

// valueNode turns an environment value into a node at pos.
func valueNode(v any, pos Position) *node {
	switch x := v.(type) {
	case nil:
		return &node{kind: nullKind, pos: pos}
	case []any:
		out := &node{kind: seqKind, pos: pos}
		for _, it := range x {
			out.items = append(out.items, valueNode(it, pos))
		}
		return out
	case map[string]any:
		out := &node{kind: mapKind, pos: pos}
		for _, k := range sortedKeys(x) {
			out.keys = append(out.keys, &node{kind: scalarKind, pos: pos, value: k, text: k})
			out.vals = append(out.vals, valueNode(x[k], pos))
		}
		return out
	default:
		return &node{kind: scalarKind, pos: pos, value: v, text: pyStr(v)}
	}
}
