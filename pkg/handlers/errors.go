// Package handlers holds the serverless runtime's Lambda handlers as plain
// functions: prepare, advance and report (docs/runtime.md). functions/*
// only wire them to aws-lambda-go.
package handlers

import (
	"errors"

	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/runstate"
)

// The error types below are a contract with the state machine: their names
// are the ErrorEquals strings of its Retry and Catch rules. aws-lambda-go
// reports the type name of the error a handler returns, so handlers return
// them unwrapped, never inside a %w wrapper.

// ConfigError is a run request, bundle or config that cannot run: wrong
// input shape or field, a bundle out of bounds, a config failing validation,
// a profile the runtime refuses. Not retried.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// LockedError is a config another running execution holds.
type LockedError struct{ Err error }

func (e *LockedError) Error() string { return e.Err.Error() }
func (e *LockedError) Unwrap() error { return e.Err }

// FrozenError is a run refused because deployments are frozen.
type FrozenError struct{ Err error }

func (e *FrozenError) Error() string { return e.Err.Error() }
func (e *FrozenError) Unwrap() error { return e.Err }

// ConflictError is a conditional write of the state bucket that lost to a
// concurrent writer. The state machine retries the step, which then sees
// the winner's state.
type ConflictError struct{ Err error }

func (e *ConflictError) Error() string { return e.Err.Error() }
func (e *ConflictError) Unwrap() error { return e.Err }

// TransientError is an AWS failure that may pass by itself (throttling,
// server errors, network, a deadline) after the SDK's own retries.
type TransientError struct{ Err error }

func (e *TransientError) Error() string { return e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// RunNotFoundError is a run reference whose state does not exist.
type RunNotFoundError struct{ Err error }

func (e *RunNotFoundError) Error() string { return e.Err.Error() }
func (e *RunNotFoundError) Unwrap() error { return e.Err }

// classify gives a state bucket or AWS error its contract type, so that the
// handler boundary returns a name the state machine matches; nil stays nil,
// and an error already of a contract type is returned as it is.
func classify(err error) error {
	if err == nil || isContract(err) {
		return err
	}
	switch {
	case errors.Is(err, runstate.ErrConflict):
		return &ConflictError{Err: err}
	case errors.Is(err, runstate.ErrLocked):
		return &LockedError{Err: err}
	case errors.Is(err, runstate.ErrFrozen):
		return &FrozenError{Err: err}
	case errors.Is(err, runstate.ErrNotFound):
		return &RunNotFoundError{Err: err}
	case engine.IsTransient(err):
		return &TransientError{Err: err}
	}
	return err
}

func isContract(err error) bool {
	switch err.(type) {
	case *ConfigError, *LockedError, *FrozenError, *ConflictError, *TransientError, *RunNotFoundError:
		return true
	}
	return false
}
