package lookup

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Expr is a parsed variable string: literal text and lookups, in order.
type Expr struct {
	Parts []Part
}

// Part is either literal Text or a Lookup.
type Part struct {
	Text   string
	Lookup *Lookup
}

// Lookup is one "${type input}" in a variable string.
type Lookup struct {
	Type   string
	Input  *Expr  // may hold nested lookups
	Raw    string // as written, "${type input}"
	Offset int    // byte offset of "${" in the parsed string
}

// String returns the lookup as written.
func (l *Lookup) String() string { return l.Raw }

// String returns the text the expression was parsed from.
func (e *Expr) String() string {
	var b strings.Builder
	for _, p := range e.Parts {
		if p.Lookup != nil {
			b.WriteString(p.Lookup.Raw)
		} else {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// Literal returns the text and true when the expression holds no lookup.
func (e *Expr) Literal() (string, bool) {
	for _, p := range e.Parts {
		if p.Lookup != nil {
			return "", false
		}
	}
	return e.String(), true
}

// Lookups returns every lookup of the expression, nested ones included, each
// outer lookup before the lookups of its input.
func (e *Expr) Lookups() []*Lookup {
	var out []*Lookup
	var walk func(*Expr)
	walk = func(x *Expr) {
		for _, p := range x.Parts {
			if p.Lookup != nil {
				out = append(out, p.Lookup)
				walk(p.Lookup.Input)
			}
		}
	}
	walk(e)
	return out
}

// Parse parses a variable string. Every "${" opens a lookup closed by the
// matching "}"; the lookup type runs up to the first whitespace, which is
// skipped, and the rest up to "}" is the input, where lookups may nest.
// Text outside lookups, a lone "}" included, is literal; stacker has no escape
// for "${" inside variables. Errors: an unclosed "${" (stacker silently kept
// such strings literal), a missing type, a type not followed by whitespace, an
// unknown type (*UnknownTypeError), and hook_data (ErrHookData).
func Parse(s string) (*Expr, error) {
	if !strings.Contains(s, "${") {
		if s == "" {
			return &Expr{}, nil
		}
		return &Expr{Parts: []Part{{Text: s}}}, nil
	}
	p := parser{s: s}
	e, err := p.seq(false)
	if err != nil {
		return nil, err
	}
	return e, nil
}

type parser struct {
	s   string
	pos int
}

// seq parses text and lookups up to the end of the string, or, when nested,
// up to the "}" closing the enclosing lookup (left unconsumed).
func (p *parser) seq(nested bool) (*Expr, error) {
	e := &Expr{}
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			e.Parts = append(e.Parts, Part{Text: text.String()})
			text.Reset()
		}
	}
	for p.pos < len(p.s) {
		switch {
		case strings.HasPrefix(p.s[p.pos:], "${"):
			flush()
			l, err := p.lookup()
			if err != nil {
				return nil, err
			}
			e.Parts = append(e.Parts, Part{Lookup: l})
		case nested && p.s[p.pos] == '}':
			flush()
			return e, nil
		default:
			text.WriteByte(p.s[p.pos])
			p.pos++
		}
	}
	flush()
	return e, nil
}

func (p *parser) lookup() (*Lookup, error) {
	start := p.pos
	p.pos += 2
	typeStart := p.pos
	for p.pos < len(p.s) {
		r, size := utf8.DecodeRuneInString(p.s[p.pos:])
		if unicode.IsSpace(r) || r == '}' || strings.HasPrefix(p.s[p.pos:], "${") {
			break
		}
		p.pos += size
	}
	typ := p.s[typeStart:p.pos]
	if p.pos >= len(p.s) {
		return nil, p.unclosed(start)
	}
	if typ == "" {
		return nil, &SyntaxError{Value: p.s, Offset: start,
			Msg: fmt.Sprintf("missing lookup type in %q (write \"${type input}\")", p.snippet(start))}
	}
	if strings.HasPrefix(p.s[p.pos:], "${") {
		return nil, &SyntaxError{Value: p.s, Offset: start,
			Msg: fmt.Sprintf("lookup type %q must be followed by a space in %q", typ, p.snippet(start))}
	}
	for p.pos < len(p.s) {
		r, size := utf8.DecodeRuneInString(p.s[p.pos:])
		if !unicode.IsSpace(r) {
			break
		}
		p.pos += size
	}
	input, err := p.seq(true)
	if err != nil {
		return nil, err
	}
	if p.pos >= len(p.s) {
		return nil, p.unclosed(start)
	}
	p.pos++ // "}"
	l := &Lookup{Type: typ, Input: input, Raw: p.s[start:p.pos], Offset: start}
	switch {
	case typ == "hook_data":
		return nil, fmt.Errorf("%s: %w", l.Raw, ErrHookData)
	case !knownType(typ):
		return nil, &UnknownTypeError{Type: typ, Raw: l.Raw}
	}
	return l, nil
}

func (p *parser) unclosed(start int) error {
	return &SyntaxError{Value: p.s, Offset: start,
		Msg: fmt.Sprintf("unclosed lookup %q: missing \"}\"", p.snippet(start))}
}

// snippet is the text from a lookup's "${" on, shortened for messages.
func (p *parser) snippet(start int) string {
	const max = 80
	s := p.s[start:]
	if end := strings.IndexByte(s, '}'); end >= 0 && !strings.Contains(s[2:end], "${") {
		s = s[:end+1]
	}
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
