package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/cfn"
)

// Reasons stacker prints, kept verbatim so users can grep the same lines.
const (
	reasonCreating   = "creating new stack"
	reasonUpdating   = "updating existing stack"
	reasonRecreating = "destroying stack for re-creation"
	reasonNoChange   = "nochange"
	reasonLocked     = "locked"
	reasonDisabled   = "disabled"
	reasonCanceled   = "canceled execution"
	reasonContinuing = "continuing update rollback"
	// ErrNoTemplate is stacker's message for a locked stack that does not exist.
	ErrNoTemplate = "Stack does not have a defined class or template path."
)

// badStatus is stacker's StackUpdateBadStatus message.
func badStatus(fqn string, status cfn.StackStatus, why string) error {
	return fmt.Errorf("Stack: %q cannot be updated nor re-created from state %s: %s", fqn, status, why)
}

// lookUp opens build and diff: a disabled stack is skipped (cf nil), else
// the deployed stack is described: nil when there is none, while a
// REVIEW_IN_PROGRESS placeholder is kept, as a CREATE change set can use it.
func (e *Engine) lookUp(ctx context.Context, run *Run, s *StackState) (CloudFormation, *cfn.Stack, error) {
	if !s.Spec.Enabled {
		e.set(s, Skipped, reasonDisabled)
		return nil, nil, nil
	}
	cf, err := e.client(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	existing, err := e.stack(ctx, run, cf, s, s.FQN)
	if err != nil {
		return nil, nil, err
	}
	e.debug("describe", s, "cfn_status", statusOf(existing))
	if existing != nil && existing.Status.Gone() && existing.Status != "REVIEW_IN_PROGRESS" {
		existing = nil
	}
	return cf, existing, nil
}

func (e *Engine) startBuild(ctx context.Context, run *Run, s *StackState) error {
	cf, existing, err := e.lookUp(ctx, run, s)
	if cf == nil || err != nil {
		return err
	}
	if existing != nil && s.Spec.Locked && !s.Spec.Forced {
		s.Outputs = existing.Outputs
		e.set(s, Skipped, reasonLocked)
		return nil
	}
	if !s.Spec.HasTemplate {
		return errors.New(ErrNoTemplate)
	}
	if existing != nil {
		st := existing.Status
		if s.CreateUnanswered || st.InProgress() && s.Reason != "waiting" || createdDuring(run, s, existing) {
			// A retried Advance finds the operation it started itself.
			if own, err := e.resumeOwn(ctx, run, cf, s, existing); own || err != nil {
				return err
			}
		}
		switch {
		case st.InProgress():
			if s.Spec.WaitInProgress {
				if s.Reason != "waiting" {
					e.set(s, Pending, "waiting")
				}
				return nil
			}
			return badStatus(s.FQN, st, "Update already in-progress")
		case st.NeedsRecreate():
			return e.recreate(ctx, run, cf, s, existing)
		case st == "UPDATE_ROLLBACK_FAILED":
			if !run.Options.ContinueRollback {
				return badStatus(s.FQN, st, "Run again with the --continue-rollback option to finish the rollback (ContinueUpdateRollback) before updating.")
			}
			s.Attempt++
			s.StackID, s.OpStarted = existing.ID, time.Now()
			if err := cf.ContinueUpdateRollback(ctx, existing.ID, run.Options.ServiceRole, run.token(s, "continue")); err != nil {
				return err
			}
			s.Phase = PhaseContinueRollback
			e.set(s, Submitted, reasonContinuing)
			return nil
		case st != "REVIEW_IN_PROGRESS" && !st.Updatable():
			return badStatus(s.FQN, st, "Unsupported state for re-creation")
		}
	}

	prep, err := e.prepare(ctx, run, s, existing)
	if err != nil {
		return err
	}
	s.Attempt++
	s.OpStarted = time.Now()
	digest := inputDigest(prep)
	in := withDigest(prep.Input, existing, digest, s.OpStarted, false)
	if existing == nil || existing.Status == "REVIEW_IN_PROGRESS" {
		if prep.RequiresChangeSet || existing != nil {
			// Executed later: when, the tag cannot say.
			prep.Input = withDigest(prep.Input, existing, digest, time.Time{}, false)
			return e.createChangeSet(ctx, run, cf, s, prep, existing, "CREATE")
		}
		in.Token = run.token(s, "create")
		id, err := cf.Create(ctx, in)
		if err != nil {
			s.Attempt-- // a retry must send the same token
			s.CreateUnanswered = IsTransient(err)
			return err
		}
		s.StackID, s.Phase = id, PhaseCreate
		e.set(s, Submitted, reasonCreating)
		return nil
	}

	s.StackID = existing.ID
	if existing.TerminationProtection != s.Spec.TerminationProtection {
		if err := cf.SetTerminationProtection(ctx, existing.ID, s.Spec.TerminationProtection); err != nil {
			return err
		}
	}
	if run.Options.Interactive || s.Spec.Protected || prep.RequiresChangeSet {
		prep.Input = withDigest(prep.Input, existing, digest, time.Time{}, false)
		return e.createChangeSet(ctx, run, cf, s, prep, existing, "UPDATE")
	}
	v, why := compare(existing, prep, digest)
	if v == same {
		s.Outputs = existing.Outputs
		e.set(s, Skipped, reasonNoChange)
		return nil
	}
	e.debug("asking CloudFormation to update", s, "why", why)
	in = withDigest(prep.Input, existing, digest, s.OpStarted, v == differs)
	in.Token = run.token(s, "update")
	switch err := cf.Update(ctx, in); {
	case errors.Is(err, cfn.ErrNoChanges):
		s.Outputs = existing.Outputs
		e.set(s, Skipped, reasonNoChange)
		return nil
	case err != nil:
		s.Attempt-- // a retry must send the same token
		return err
	}
	s.Phase = PhaseUpdate
	e.set(s, Submitted, reasonUpdating)
	return nil
}

// resumeOwn handles a stack found in progress at its start, or found at all
// after a CreateStack that got no answer: when that operation is the one
// this step started in an Advance whose result was lost (a Lambda retry, a
// lost response), resending the call with the same ClientRequestToken gets
// CloudFormation's first answer, and the step follows that operation, even
// if it has finished since. Someone else's operation rejects the token, and
// own is false. Only transient errors are returned.
func (e *Engine) resumeOwn(ctx context.Context, run *Run, cf CloudFormation, s *StackState, existing *cfn.Stack) (own bool, err error) {
	var prior *cfn.Stack
	switch {
	case existing.Status == "CREATE_IN_PROGRESS" || s.CreateUnanswered || createdDuring(run, s, existing):
	case existing.Status == "UPDATE_IN_PROGRESS":
		if run.Options.Interactive || s.Spec.Protected {
			return false, nil // these go through change sets, named per attempt
		}
		prior = existing
	default:
		return false, nil
	}
	prep, err := e.prepare(ctx, run, s, prior)
	if err != nil || prep.RequiresChangeSet {
		return false, transientOnly(err)
	}
	in := withDigest(prep.Input, prior, inputDigest(prep), time.Now(), false)
	s.Attempt++
	if prior == nil {
		in.Token = run.token(s, "create")
		id, err := cf.Create(ctx, in)
		if err == nil || !IsTransient(err) {
			s.CreateUnanswered = false // answered: ours or not
		}
		if err != nil || id != existing.ID {
			s.Attempt--
			return false, transientOnly(err)
		}
		s.StackID, s.Phase, s.OpStarted = id, PhaseCreate, time.Now()
		e.set(s, Submitted, reasonCreating)
		return true, nil
	}
	in.Token = run.token(s, "update")
	if err := cf.Update(ctx, in); err != nil {
		s.Attempt--
		return false, transientOnly(err)
	}
	s.StackID, s.Phase, s.OpStarted = existing.ID, PhaseUpdate, time.Now()
	e.set(s, Submitted, reasonUpdating)
	return true, nil
}

// createdDuring reports whether a stack that a step has not started yet was
// created after its run started: possibly by this step in an Advance whose
// result was lost (a Lambda killed before it saved the run), which the
// create token tells.
func createdDuring(run *Run, s *StackState, existing *cfn.Stack) bool {
	return existing.Status == "CREATE_COMPLETE" && s.Attempt == 0 && !run.Started.IsZero() && existing.Created.After(run.Started)
}

func transientOnly(err error) error {
	if err != nil && IsTransient(err) {
		return err
	}
	return nil
}

// recreate deletes a stack whose creation failed, as stacker does with
// --recreate-failed: only when asked, and only for stacks that carry the
// config's tags, so a stack stacker did not create is never deleted.
func (e *Engine) recreate(ctx context.Context, run *Run, cf CloudFormation, s *StackState, existing *cfn.Stack) error {
	st := existing.Status
	if !run.Options.RecreateFailed && !run.Options.Interactive {
		return badStatus(s.FQN, st, "Stack re-creation is disabled. Run stackerless again with the --recreate-failed option to force it to be deleted and created from scratch.")
	}
	for k, v := range s.Spec.Tags {
		if existing.Tags[k] != v {
			return badStatus(s.FQN, st, "Tags differ from current configuration, possibly not created with stacker")
		}
	}
	if run.Options.Interactive && e.Approver != nil {
		ok, err := e.Approver.Approve(ctx, s, Question{Notice: fmt.Sprintf("The %q stack is in a failed state (%s).\nIt cannot be updated, but it can be deleted and re-created.\nAll its current resources will IRREVERSIBLY DESTROYED.\nProceed carefully!\n", s.FQN, st)})
		if err != nil {
			return err
		}
		if !ok {
			e.set(s, Skipped, reasonCanceled)
			return nil
		}
	}
	s.Attempt++
	s.StackID, s.OpStarted = existing.ID, time.Now()
	if err := cf.Delete(ctx, existing.ID, run.Options.ServiceRole, run.token(s, "recreate")); err != nil {
		return err
	}
	s.Phase = PhaseDeleteToRecreate
	e.set(s, Submitted, reasonRecreating)
	return nil
}

func (e *Engine) createChangeSet(ctx context.Context, run *Run, cf CloudFormation, s *StackState, prep *Prepared, existing *cfn.Stack, typ string) error {
	name := run.changeSetName(s)
	in := prep.Input
	var old map[string]string
	if existing != nil {
		old = existing.Parameters
	}
	s.Sent = &Sent{OldParameters: old, Parameters: newParameterValues(in.Parameters, old), OutputValues: prep.OutputValues}
	in.Token = name
	if _, err := cf.CreateChangeSet(ctx, in, name, typ); err != nil {
		s.Attempt-- // a retry must find the change set this call may have created
		return err
	}
	s.ChangeSet, s.ChangeSetType, s.Phase = name, typ, PhaseChangeSet
	return nil
}

// pollStack follows a create, update, re-creation or continued rollback.
func (e *Engine) pollStack(ctx context.Context, run *Run, s *StackState) error {
	cf, stack, err := e.observe(ctx, run, s)
	if err != nil {
		return err
	}
	switch s.Phase {
	case PhaseDeleteToRecreate:
		if stack == nil || stack.Status == "DELETE_COMPLETE" {
			// Start over quietly: the next line shown is the creation.
			s.Phase, s.StackID, s.State, s.Reason = PhaseNone, "", Pending, ""
			return e.startBuild(ctx, run, s)
		}
		if stack.Status == "DELETE_FAILED" {
			return fmt.Errorf("delete for re-creation failed: %s", stack.StatusReason)
		}
		return nil
	case PhaseContinueRollback:
		switch {
		case stack == nil:
			return fmt.Errorf("stack %s disappeared during rollback", s.FQN)
		case stack.Status == "UPDATE_ROLLBACK_COMPLETE":
			s.Phase, s.State, s.Reason = PhaseNone, Pending, ""
			return e.startBuild(ctx, run, s)
		case stack.Status == "UPDATE_ROLLBACK_FAILED":
			return fmt.Errorf("continue update rollback failed: %s", stack.StatusReason)
		}
		return nil
	}
	if stack == nil {
		return fmt.Errorf("stack %s disappeared while %s", s.FQN, s.Reason)
	}
	verb := "new stack"
	if s.Phase == PhaseUpdate {
		verb = "update"
	}
	st := stack.Status
	switch {
	case st.RollingBack():
		e.reportRollback(s, verb)
	case st.InProgress():
	case st.IsFailure():
		// Failure is checked before completion: a finished update rollback is both.
		e.reportRollback(s, verb)
		s.FailureReason = failureReason(ctx, cf, s)
		if s.FailureReason != "" {
			e.message(s, "%s Stack Roll Back Reason: %s", s.FQN, s.FailureReason)
		}
		if s.Phase == PhaseUpdate {
			s.Outputs = stack.Outputs // the rolled-back stack keeps serving its old outputs
		}
		e.set(s, Failed, "rolled back "+verb)
	default:
		if s.SettingsPending {
			if err := e.applySettings(ctx, cf, s); err != nil {
				return err
			}
		}
		s.Outputs = stack.Outputs
		e.set(s, Complete, s.Reason)
	}
	return nil
}

// applySettings gives a stack created through a change set what CreateStack
// would have set: termination protection and the stack policy.
func (e *Engine) applySettings(ctx context.Context, cf CloudFormation, s *StackState) error {
	if s.Spec.TerminationProtection {
		if err := cf.SetTerminationProtection(ctx, stackRef(s), true); err != nil {
			return err
		}
	}
	if s.Spec.StackPolicy != "" {
		if err := cf.SetStackPolicy(ctx, stackRef(s), s.Spec.StackPolicy); err != nil {
			return err
		}
	}
	s.SettingsPending = false
	return nil
}

// reportRollback shows stacker's "rolling back" status once, even when the
// rollback finished between two polls.
func (e *Engine) reportRollback(s *StackState, verb string) {
	if s.RollbackReported {
		return
	}
	s.RollbackReported = true
	e.set(s, Submitted, "rolling back "+verb)
}

// pollChangeSet waits for a change set, asks for approval where needed and executes it.
func (e *Engine) pollChangeSet(ctx context.Context, run *Run, s *StackState) error {
	cf, cs, err := e.computedChangeSet(ctx, s)
	if cs == nil || err != nil {
		return err
	}
	if cs.NoChanges() {
		if err := cf.DeleteChangeSet(ctx, s.FQN, s.ChangeSet); err != nil {
			return err
		}
		if err := e.keepOutputs(ctx, run, cf, s); err != nil {
			return err
		}
		s.ChangeSet = ""
		e.set(s, Skipped, reasonNoChange)
		return nil
	}
	if cs.Status == "FAILED" {
		return fmt.Errorf("change set %s failed: %s", s.ChangeSet, cs.StatusReason)
	}
	if s.ChangeSetType == "UPDATE" && (run.Options.Interactive || s.Spec.Protected) && !s.Approved {
		diff := diffParameters(s.Sent.OldParameters, s.Sent.Parameters)
		if e.Approver == nil || s.Phase == PhaseApproval {
			e.awaitApproval(run, s, cs, diff)
			return nil
		}
		changes := cs.Changes
		if run.Options.ReplacementsOnly {
			changes = replacements(changes)
		}
		if len(changes) > 0 || len(diff) > 0 {
			ok, err := e.Approver.Approve(ctx, s, Question{
				Summary: summarize(s.FQN, changes, diff, run.Options.ReplacementsOnly),
				Details: formatDiff(s.FQN, diff, cs.Changes),
			})
			if errors.Is(err, ErrUnattended) {
				e.awaitApproval(run, s, cs, diff)
				return nil
			}
			if err != nil {
				return err
			}
			if !ok {
				if err := cf.DeleteChangeSet(ctx, s.FQN, s.ChangeSet); err != nil {
					return err
				}
				if err := e.keepOutputs(ctx, run, cf, s); err != nil {
					return err
				}
				s.ChangeSet = ""
				e.set(s, Skipped, reasonCanceled)
				return nil
			}
		}
		s.Approved = true
	}
	return e.execute(ctx, run, cf, s)
}

// awaitApproval stops a stack before executing its change set, once, saying why.
func (e *Engine) awaitApproval(run *Run, s *StackState, cs *cfn.ChangeSet, diff []ParamChange) {
	if s.Phase == PhaseApproval {
		return
	}
	s.Phase = PhaseApproval
	s.ApprovalSince = time.Now().UTC()
	s.ApprovalSummary = summarize(s.FQN, cs.Changes, diff, run.Options.ReplacementsOnly)
	e.message(s, "%s: approval needed before executing change set %s\n%s", s.Name, s.ChangeSet, s.ApprovalSummary)
}

// keepOutputs records the current outputs of a stack left as it is.
func (e *Engine) keepOutputs(ctx context.Context, run *Run, cf CloudFormation, s *StackState) error {
	stack, err := e.stack(ctx, run, cf, s, s.FQN)
	if err != nil {
		return err
	}
	if stack != nil {
		s.Outputs = stack.Outputs
	}
	return nil
}

func (e *Engine) execute(ctx context.Context, run *Run, cf CloudFormation, s *StackState) error {
	if s.ChangeSetType == "UPDATE" {
		if s.Spec.StackPolicy != "" {
			// Change sets cannot carry a stack policy: set it before executing.
			if err := cf.SetStackPolicy(ctx, s.FQN, s.Spec.StackPolicy); err != nil {
				return err
			}
		}
	}
	if err := cf.ExecuteChangeSet(ctx, s.FQN, s.ChangeSet, run.token(s, "execute")); err != nil {
		return err
	}
	s.ChangeSet, s.Sent = "", nil
	if s.ChangeSetType == "CREATE" {
		s.Phase = PhaseCreate
		s.SettingsPending = s.Spec.TerminationProtection || s.Spec.StackPolicy != ""
		e.set(s, Submitted, reasonCreating)
	} else {
		s.Phase = PhaseUpdate
		e.set(s, Submitted, reasonUpdating)
	}
	s.ChangeSetType = ""
	return nil
}

// Approve lets a stack stopped for approval execute its change set at the
// next Advance.
func (run *Run) Approve(name string) error {
	s := run.Stack(name)
	if s == nil || s.Phase != PhaseApproval {
		return fmt.Errorf("approve %s: no change set is waiting for approval", name)
	}
	s.Approved, s.Phase, s.PollAt = true, PhaseChangeSet, time.Time{}
	run.Done = false
	return nil
}

// Decline fails a stack stopped for approval, saying why (rejected,
// expired): its change set is not executed (it stays on the stack for
// inspection) and its dependents fail at the next Advance.
func (run *Run) Decline(name, reason string) error {
	s := run.Stack(name)
	if s == nil || s.Phase != PhaseApproval || s.State.Terminal() {
		return fmt.Errorf("decline %s: no change set is waiting for approval", name)
	}
	s.State, s.Reason, s.Phase, s.Ended, s.PollAt = Failed, reason, PhaseNone, time.Now().UTC(), time.Time{}
	run.Done = false
	return nil
}

func replacements(changes []cfn.ResourceChange) []cfn.ResourceChange {
	var out []cfn.ResourceChange
	for _, c := range changes {
		if c.Replacement == "True" {
			out = append(out, c)
		}
	}
	return out
}

// newParameterValues spells out the values a parameter list will give,
// taking kept values from the old parameters.
func newParameterValues(params []cfn.Parameter, old map[string]string) map[string]string {
	out := map[string]string{}
	for _, p := range params {
		if p.UsePrevious {
			out[p.Key] = old[p.Key]
			continue
		}
		out[p.Key] = p.Value
	}
	return out
}

// ParamChange is one line of a parameter diff.
type ParamChange struct {
	Key      string
	Old, New *string
}

// diffParameters is stacker's diff_parameters: nothing when no value changed,
// else every key, sorted, with its old and new value.
func diffParameters(old, new map[string]string) []ParamChange {
	keys := map[string]bool{}
	for k := range old {
		keys[k] = true
	}
	for k := range new {
		keys[k] = true
	}
	changed := false
	var out []ParamChange
	for _, k := range sortedKeys(keys) {
		c := ParamChange{Key: k}
		if v, ok := old[k]; ok {
			c.Old = &v
		}
		if v, ok := new[k]; ok {
			c.New = &v
		}
		if c.Old == nil || c.New == nil || *c.Old != *c.New {
			changed = true
		}
		out = append(out, c)
	}
	if !changed {
		return nil
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	return sortedStrings(maps.Keys(m))
}

func sortedStrings(seq func(func(string) bool)) []string {
	var out []string
	for k := range seq {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// formatParamsDiff is stacker's format_params_diff.
func formatParamsDiff(diff []ParamChange) string {
	var b strings.Builder
	b.WriteString("--- Old Parameters\n+++ New Parameters\n******************\n")
	for _, c := range diff {
		switch {
		case c.Old != nil && c.New != nil && *c.Old == *c.New:
			fmt.Fprintf(&b, " %s = %s\n", c.Key, *c.Old)
		case c.Old == nil:
			fmt.Fprintf(&b, "+%s = %s\n", c.Key, *c.New)
		case c.New == nil:
			fmt.Fprintf(&b, "-%s = %s\n", c.Key, *c.Old)
		default:
			fmt.Fprintf(&b, "-%s = %s\n+%s = %s\n", c.Key, *c.Old, c.Key, *c.New)
		}
	}
	return b.String()
}

// summarize is stacker's output_summary: parameter changes, then
// replacements, then other changes.
func summarize(fqn string, changes []cfn.ResourceChange, diff []ParamChange, replacementsOnly bool) string {
	var b strings.Builder
	var added, removed, modified []string
	for _, c := range diff {
		switch {
		case c.Old == nil:
			added = append(added, c.Key)
		case c.New == nil:
			removed = append(removed, c.Key)
		case *c.Old != *c.New:
			modified = append(modified, c.Key)
		}
	}
	for _, l := range []struct {
		label string
		keys  []string
	}{{"Parameters Added", added}, {"Parameters Removed", removed}, {"Parameters Modified", modified}} {
		if len(l.keys) > 0 {
			fmt.Fprintf(&b, "%s: %s\n", l.label, strings.Join(l.keys, ", "))
		}
	}
	var repl, other []string
	for _, c := range changes {
		line := fmt.Sprintf("- %s %s (%s)", c.Action, c.LogicalID, c.ResourceType)
		if c.Replacement == "True" {
			repl = append(repl, line)
		} else {
			other = append(other, line)
		}
	}
	if len(repl) > 0 {
		if !replacementsOnly {
			b.WriteString("Replacements:\n")
		}
		b.WriteString(strings.Join(repl, "\n"))
	}
	if len(other) > 0 {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString("Changes:\n" + strings.Join(other, "\n"))
	}
	action := "changes"
	if replacementsOnly {
		action = "replacements"
	}
	return fmt.Sprintf("%s %s:\n%s", fqn, action, b.String())
}
