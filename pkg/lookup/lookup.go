// Package lookup parses and resolves stacker lookups in stack variables.
//
// A variable value is literal text mixed with lookups of the form
// "${type input}", as in stacker 1.7:
//
//	VpcId: ${output vpc::VpcId}
//	Subnets: ${split ,::${output vpc::PrivateSubnets}}
//	Url: https://${output api::Host}/v1
//
// Lookups may nest inside the input of another lookup, and appear in any
// string of a list or map (map keys are left alone, as stacker does). A value
// that is exactly one lookup takes the lookup's result as is (a list from
// split, a map from a json file); a lookup inside text must yield a string.
//
// Parsing needs nothing but the text, so configs are checked before any AWS
// call. Resolution goes through a Registry of Handlers, one per lookup type;
// the handlers that read AWS take small client interfaces from the caller,
// built for the consuming stack's profile and region.
package lookup

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Types lists the lookup types stacker 1.7 ships, except hook_data (stackerless
// runs no hooks).
var Types = []string{"ami", "default", "dynamodb", "envvar", "file", "kms", "output", "rxref", "split", "ssmstore", "xref"}

func knownType(t string) bool {
	switch t {
	case "ami", "default", "dynamodb", "envvar", "file", "kms", "output", "rxref", "split", "ssmstore", "xref":
		return true
	}
	return false
}

// Consumer identifies the stack whose variables are being resolved. Lookups
// that read AWS use its profile and region, so that a stack deployed into
// another account reads that account (the fix for stacker issue #743).
type Consumer struct {
	Stack   string // config name of the consuming stack
	Profile string // "" = default credentials
	Region  string // effective region of the consuming stack
}

// LookupCall is one lookup to resolve: its type, its input with nested
// lookups already replaced, and the consuming stack.
type LookupCall struct {
	Type, Input string
	Stack       string // consuming stack name
	Profile     string
	Region      string
}

// Handler resolves the lookups of one type.
type Handler interface {
	Resolve(ctx context.Context, in LookupCall) (any, error)
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, in LookupCall) (any, error)

// Resolve calls f.
func (f HandlerFunc) Resolve(ctx context.Context, in LookupCall) (any, error) { return f(ctx, in) }

// Registry maps lookup types to their handlers.
type Registry map[string]Handler

// SyntaxError reports a malformed lookup in a variable value.
type SyntaxError struct {
	Value  string // the whole string being parsed
	Offset int    // byte offset of the offending lookup in Value
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("malformed lookup at offset %d in %q: %s", e.Offset, e.Value, e.Msg)
}

// UnknownTypeError reports a lookup type that no handler serves.
type UnknownTypeError struct {
	Type string
	Raw  string // the lookup as written, "${type input}"
}

func (e *UnknownTypeError) Error() string {
	msg := fmt.Sprintf("Unknown lookup type: %q in %q", e.Type, e.Raw)
	if e.Raw == "${"+e.Type+"}" && strings.Contains(e.Type, "::") {
		// stacker < 1.0 wrote outputs as "${stack::Output}".
		msg += fmt.Sprintf(" (lookups need a type; did you mean \"${output %s}\"?)", e.Type)
	}
	return msg
}

// ErrHookData is returned (wrapped, with the lookup) for hook_data lookups.
var ErrHookData = errors.New("hook_data lookups are not supported in stackerless: it runs no hooks " +
	"(pre_build, post_build, pre_destroy, post_destroy); pass the value through a stack output, " +
	"an SSM parameter or the environment file instead")

// ConcatError reports a lookup that returned a non-string value where it is
// concatenated with text or other lookups (stacker's InvalidLookupCombination).
type ConcatError struct {
	Variable string // variable name, when known
	Lookup   string // the lookup as written
	Parts    int    // number of parts in the concatenation
	Value    string // the whole string
	Got      any
}

func (e *ConcatError) Error() string {
	msg := fmt.Sprintf("Lookup: %q has non-string return value, must be only lookup present (not %d) in %q",
		e.Lookup, e.Parts, e.Value)
	if e.Variable != "" {
		msg += fmt.Sprintf(" (variable %s)", e.Variable)
	}
	return msg
}

// LookupError reports a lookup whose handler failed (stacker's
// FailedVariableLookup).
type LookupError struct {
	Variable string // variable name, when known
	Lookup   string // the failing lookup as written; the innermost one when nested
	Err      error
}

func (e *LookupError) Error() string {
	if e.Variable != "" {
		return fmt.Sprintf("Couldn't resolve lookup in variable `%s`, lookup: %s: %v", e.Variable, e.Lookup, e.Err)
	}
	return fmt.Sprintf("Couldn't resolve lookup %s: %v", e.Lookup, e.Err)
}

func (e *LookupError) Unwrap() error { return e.Err }

// CircularReferenceError reports a stack whose variables look up its own
// outputs.
type CircularReferenceError struct {
	Variable, Stack string
}

func (e *CircularReferenceError) Error() string {
	return fmt.Sprintf("Variable %s in stack %s has a circular reference", e.Variable, e.Stack)
}
