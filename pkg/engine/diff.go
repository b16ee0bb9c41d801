package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/stackerless/stackerless/pkg/cfn"
)

// startDiff computes a change set for the stack and shows it without
// executing it, as stacker diff does.
func (e *Engine) startDiff(ctx context.Context, run *Run, s *StackState) error {
	cf, existing, err := e.lookUp(ctx, run, s)
	if cf == nil || err != nil {
		return err
	}
	if s.Spec.Locked && !s.Spec.Forced {
		if existing != nil {
			s.Outputs = existing.Outputs
		}
		e.set(s, Skipped, reasonLocked)
		return nil
	}
	if !s.Spec.HasTemplate {
		return errors.New(ErrNoTemplate)
	}
	prep, err := e.prepare(ctx, run, s, existing)
	if err != nil {
		return err
	}
	s.Attempt++
	typ := "UPDATE"
	if existing == nil || existing.Status == "REVIEW_IN_PROGRESS" {
		typ = "CREATE"
	}
	prep.Input = keepDigest(prep.Input, existing)
	return e.createChangeSet(ctx, run, cf, s, prep, existing, typ)
}

func (e *Engine) pollDiff(ctx context.Context, run *Run, s *StackState) error {
	cf, cs, err := e.computedChangeSet(ctx, s)
	if cs == nil || err != nil {
		return err
	}
	existing, err := cf.Describe(ctx, s.FQN)
	if err != nil {
		return err
	}
	if existing != nil && existing.Status == "REVIEW_IN_PROGRESS" {
		existing = nil
	}
	if err := cf.DeleteChangeSet(ctx, s.FQN, s.ChangeSet); err != nil {
		return err
	}
	if s.ChangeSetType == "CREATE" {
		// A CREATE change set leaves a REVIEW_IN_PROGRESS stack behind: remove it.
		if review, err := cf.Describe(ctx, s.FQN); err == nil && review != nil && review.Status == "REVIEW_IN_PROGRESS" {
			if err := cf.Delete(ctx, review.ID, run.Options.ServiceRole, run.token(s, "diff-cleanup")); err != nil {
				return err
			}
		}
	}
	s.ChangeSet, s.Phase = "", PhaseNone
	outputs := map[string]string{}
	if existing != nil {
		for k, v := range existing.Outputs {
			outputs[k] = v
		}
	}
	if cs.NoChanges() {
		e.message(s, "No changes: %s", s.FQN)
		s.Outputs = outputs
		s.ChangeSetType = ""
		e.set(s, Complete, "")
		return nil
	}
	if cs.Status == "FAILED" {
		return fmt.Errorf("change set failed: %s", cs.StatusReason)
	}
	sent := s.Sent
	s.Sent = nil
	diff := diffParameters(sent.OldParameters, sent.Parameters)
	text := formatDiff(s.FQN, diff, cs.Changes)
	s.Diff = text
	e.message(s, "%s", text)

	// Outputs of replaced or modified resources may change: show placeholders
	// for them, and for outputs the stack does not have yet.
	invalid := map[string]bool{}
	for _, c := range cs.Changes {
		if c.Action != "Add" && (c.Replacement == "True" || contains(c.Scope, "Properties")) {
			invalid[c.LogicalID] = true
		}
	}
	for name, value := range sent.OutputValues {
		if _, ok := outputs[name]; ok {
			for id := range invalid {
				if strings.Contains(value, id) {
					delete(outputs, name)
				}
			}
		}
		if _, ok := outputs[name]; !ok {
			outputs[name] = fmt.Sprintf("<inferred-change: %s.%s=%s>", s.FQN, name, value)
		}
	}
	s.Outputs = outputs
	s.ChangeSetType = ""
	e.set(s, Complete, "")
	return nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// formatDiff is what stacker diff prints for a stack with changes: the
// parameter diff, then the full change set as YAML.
func formatDiff(fqn string, diff []ParamChange, changes []cfn.ResourceChange) string {
	type target struct {
		Attribute          string `yaml:"Attribute,omitempty"`
		Name               string `yaml:"Name,omitempty"`
		RequiresRecreation string `yaml:"RequiresRecreation,omitempty"`
	}
	type detail struct {
		CausingEntity string `yaml:"CausingEntity,omitempty"`
		ChangeSource  string `yaml:"ChangeSource,omitempty"`
		Evaluation    string `yaml:"Evaluation,omitempty"`
		Target        target `yaml:"Target"`
	}
	type resourceChange struct {
		Action             string   `yaml:"Action"`
		Details            []detail `yaml:"Details"`
		LogicalResourceID  string   `yaml:"LogicalResourceId"`
		PhysicalResourceID string   `yaml:"PhysicalResourceId,omitempty"`
		Replacement        string   `yaml:"Replacement,omitempty"`
		ResourceType       string   `yaml:"ResourceType"`
		Scope              []string `yaml:"Scope"`
	}
	type change struct {
		ResourceChange resourceChange `yaml:"ResourceChange"`
		Type           string         `yaml:"Type"`
	}
	list := make([]change, 0, len(changes))
	for _, c := range changes {
		scope := c.Scope
		if scope == nil {
			scope = []string{}
		}
		details := []detail{}
		for _, d := range c.Details {
			details = append(details, detail{
				CausingEntity: d.CausingEntity, ChangeSource: d.ChangeSource, Evaluation: d.Evaluation,
				Target: target{Attribute: d.Attribute, Name: d.Name, RequiresRecreation: d.RequiresRecreation},
			})
		}
		list = append(list, change{Type: "Resource", ResourceChange: resourceChange{
			Action: c.Action, Details: details, LogicalResourceID: c.LogicalID, PhysicalResourceID: c.PhysicalID,
			Replacement: c.Replacement, ResourceType: c.ResourceType, Scope: scope,
		}})
	}
	body, err := yaml.Marshal(list)
	if err != nil {
		body = []byte(err.Error())
	}
	if len(diff) > 0 {
		return fmt.Sprintf("%s full changeset:\n\n%s\n%s", fqn, formatParamsDiff(diff), body)
	}
	return fmt.Sprintf("%s full changeset:\n%s", fqn, body)
}
