package lookup

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrStackNotFound is what an OutputReader wraps when the stack does not
// exist (or is in a state that counts as absent, such as DELETE_COMPLETE).
var ErrStackNotFound = errors.New("stack does not exist")

// OutputReader reads the outputs of a CloudFormation stack by its full name,
// with the credentials of a profile in a region. The engine implements it with
// real clients (and, for diff, placeholders for stacks not yet created).
type OutputReader interface {
	Outputs(ctx context.Context, profile, region, stackName string) (map[string]string, error)
}

// StackRef locates a stack of the config: its CloudFormation name and where
// it is deployed.
type StackRef struct {
	FQN, Profile, Region string
}

// StackDoesNotExistError is stacker's StackDoesNotExist.
type StackDoesNotExistError struct{ Stack string }

func (e *StackDoesNotExistError) Error() string {
	return fmt.Sprintf("Stack: \"%s\" does not exist in outputs or the lookup is not available in this stacker run", e.Stack)
}

// Is makes errors.Is(err, ErrStackNotFound) true.
func (e *StackDoesNotExistError) Is(target error) bool { return target == ErrStackNotFound }

// OutputDoesNotExistError is stacker's OutputDoesNotExist.
type OutputDoesNotExistError struct{ Stack, Output string }

func (e *OutputDoesNotExistError) Error() string {
	return fmt.Sprintf("Output %s does not exist on stack %s", e.Output, e.Stack)
}

// splitOutput parses "<stack>::<output>" as stacker's deconstruct does:
// exactly one "::". The message names the output handler for xref and rxref
// too, as stacker's does.
func splitOutput(in string) (stack, output string, err error) {
	parts := strings.Split(in, "::")
	if len(parts) != 2 {
		return "", "", fmt.Errorf("output handler requires syntax of <stack>::<output>.  Got: %s", in)
	}
	return parts[0], parts[1], nil
}

func readOutput(ctx context.Context, r OutputReader, profile, region, fqn, output string) (string, error) {
	if r == nil {
		return "", errors.New("no output reader configured")
	}
	outs, err := r.Outputs(ctx, profile, region, fqn)
	if errors.Is(err, ErrStackNotFound) {
		return "", &StackDoesNotExistError{Stack: fqn}
	}
	if err != nil {
		return "", fmt.Errorf("read outputs of %s: %w", fqn, err)
	}
	v, ok := outs[output]
	if !ok {
		return "", &OutputDoesNotExistError{Stack: fqn, Output: output}
	}
	return v, nil
}

// OutputHandler serves "${output stack::Output}": an output of a stack of this
// config, named by its config name, read where that stack is deployed.
type OutputHandler struct {
	// Stacks locates a stack of the config by name; false when there is none.
	Stacks func(name string) (StackRef, bool)
	Reader OutputReader
}

// Resolve implements Handler.
func (h OutputHandler) Resolve(ctx context.Context, in LookupCall) (any, error) {
	name, output, err := splitOutput(in.Input)
	if err != nil {
		return nil, err
	}
	if h.Stacks == nil {
		return nil, errors.New("no stack locator configured")
	}
	ref, ok := h.Stacks(name)
	if !ok {
		return nil, &StackDoesNotExistError{Stack: name}
	}
	return readOutput(ctx, h.Reader, ref.Profile, ref.Region, ref.FQN, output)
}

// XrefHandler serves "${xref fully-qualified-stack::Output}": any stack,
// read with the consuming stack's profile and region.
type XrefHandler struct {
	Reader OutputReader
}

// Resolve implements Handler.
func (h XrefHandler) Resolve(ctx context.Context, in LookupCall) (any, error) {
	fqn, output, err := splitOutput(in.Input)
	if err != nil {
		return nil, err
	}
	return readOutput(ctx, h.Reader, in.Profile, in.Region, fqn, output)
}

// RxrefHandler serves "${rxref stack::Output}": like xref, with the stack
// name qualified by the config's namespace.
type RxrefHandler struct {
	Qualify func(name string) string // the config's FQN
	Reader  OutputReader
}

// Resolve implements Handler.
func (h RxrefHandler) Resolve(ctx context.Context, in LookupCall) (any, error) {
	name, output, err := splitOutput(in.Input)
	if err != nil {
		return nil, err
	}
	if h.Qualify == nil {
		return nil, errors.New("no namespace qualifier configured")
	}
	return readOutput(ctx, h.Reader, in.Profile, in.Region, h.Qualify(name), output)
}
