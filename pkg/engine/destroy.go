package engine

import (
	"context"
	"fmt"
	"time"
)

const (
	reasonDestroying = "submitted for destruction"
	reasonDestroyed  = "stack destroyed"
	reasonNotExist   = "does not exist in cloudformation"
)

// startDestroy deletes a stack once its dependents are gone. locked, enabled
// and protected do not apply to destroy, as in stacker.
func (e *Engine) startDestroy(ctx context.Context, run *Run, s *StackState) error {
	cf, err := e.client(ctx, s)
	if err != nil {
		return err
	}
	// By ID once known: a deletion whose answer was lost may have finished,
	// and only the ID still finds the deleted stack.
	stack, err := e.stack(ctx, run, cf, s, stackRef(s))
	if err != nil {
		return err
	}
	switch {
	case stack == nil:
		e.set(s, Skipped, reasonNotExist)
		return nil
	case stack.Status == "DELETE_COMPLETE":
		e.set(s, Complete, reasonDestroyed)
		return nil
	}
	s.StackID, s.Phase = stack.ID, PhaseDestroy
	if !stack.Status.InProgress() {
		s.Attempt++
		s.OpStarted = time.Now()
		if err := cf.Delete(ctx, stack.ID, run.Options.ServiceRole, run.token(s, "delete")); err != nil {
			s.Phase = PhaseNone
			return err
		}
	}
	e.set(s, Submitted, reasonDestroying)
	return nil
}

func (e *Engine) pollDestroy(ctx context.Context, run *Run, s *StackState) error {
	cf, stack, err := e.observe(ctx, run, s)
	if err != nil {
		return err
	}
	switch {
	case stack == nil || stack.Status == "DELETE_COMPLETE":
		e.set(s, Complete, reasonDestroyed)
	case stack.Status == "DELETE_FAILED":
		s.FailureReason = failureReason(ctx, cf, s)
		return fmt.Errorf("delete failed: %s", firstNonEmpty(stack.StatusReason, s.FailureReason))
	case !stack.Status.InProgress():
		// CloudFormation refused the deletion after accepting it: an export
		// still in use puts the stack back in its previous status, with the
		// reason ("Export X cannot be deleted as it is in use by Y").
		return fmt.Errorf("stack is %s after its deletion was requested: %s", stack.Status,
			firstNonEmpty(stack.StatusReason, failureReason(ctx, cf, s), "no reason given"))
	}
	return nil
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
