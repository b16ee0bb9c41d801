package config

import (
	"fmt"
	"sort"
	"strings"
)

// Position is a place in a config file. Line and Column count from 1; zero
// means unknown.
type Position struct {
	File         string
	Line, Column int
}

func (p Position) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Column == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	default:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
	}
}

// Error is one problem in a config file, naming where it is and which key.
type Error struct {
	Pos Position
	// Key is the path of the offending key, e.g. "stacks[2].template_path"
	// (list form) or "stacks.vpc.requires" (map form); empty for errors that
	// belong to no key, such as invalid YAML.
	Key string
	Msg string
}

// Error formats as "stacker.yaml:12:3: stacks[2].template_path: <msg>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a config, sorted by position. Validation
// reports them all at once so that a user fixes a config in one pass.
type Errors []*Error

// Error lists the errors one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for k, e := range es {
		lines[k] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Sort orders the errors by position, keeping the order of errors at the
// same place.
func (es Errors) Sort() {
	sort.SliceStable(es, func(a, b int) bool {
		pa, pb := es[a].Pos, es[b].Pos
		if pa.Line != pb.Line {
			return pa.Line < pb.Line
		}
		return pa.Column < pb.Column
	})
}

// errorList collects errors during a pass.
type errorList struct {
	file string
	errs Errors
}

func (l *errorList) add(pos Position, key, format string, args ...any) {
	if pos.File == "" {
		pos.File = l.file
	}
	l.errs = append(l.errs, &Error{Pos: pos, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// err returns the collected errors sorted, or nil.
func (l *errorList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	l.errs.Sort()
	return l.errs
}
