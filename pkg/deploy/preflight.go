package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/stackerless/stackerless/pkg/blueprint"
	"github.com/stackerless/stackerless/pkg/config"
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/lookup"
	"github.com/stackerless/stackerless/pkg/rawtemplate"
)

// Preflight checks a build or diff run, before it changes anything, for what
// only rendering or a look at AWS can tell: templates over the inline limit
// (CheckInline); variables whose values cannot be parameter values (a map);
// blueprints that would not render (a missing variable, a wrong type); and
// required parameters the config does not set for a stack that does not
// exist yet (an existing stack keeps its previous values, as stacker's
// _handle_missing_parameters).
//
// Templates are rendered without AWS: lookups that read AWS become
// placeholders, and a blueprint whose variables hold lookups is checked when
// the run renders it. Only stacks that miss parameters cost a DescribeStacks,
// in their own account. Problems come back as config.Errors (config errors);
// any other error is AWS's.
func (p *Project) Preflight(ctx context.Context, run *engine.Run) error {
	var errs config.Errors
	if err := p.CheckInline(ctx, run); err != nil {
		if !errors.As(err, &errs) {
			return err
		}
	}
	reg := p.offlineRegistry()
	type missing struct {
		st    *engine.StackState
		s     *config.Stack
		names []string
	}
	var unset []missing
	for _, st := range run.Stacks {
		s := p.Config.Stack(st.Name)
		if s == nil || !st.Spec.Enabled {
			continue
		}
		// A locked stack is rendered only when it does not exist yet.
		rendered := !st.Spec.Locked || st.Spec.Forced
		switch {
		case s.ClassPath != "" && rendered:
			errs = append(errs, p.checkBlueprint(ctx, reg, s, st)...)
		case s.TemplatePath != "":
			params, err := p.declaredParameters(ctx, reg, s, st)
			if err != nil {
				continue // the run reports it for this stack
			}
			if rendered {
				errs = append(errs, checkParameterValues(s, params)...)
			}
			if names := missingParameters(s, params); len(names) > 0 {
				unset = append(unset, missing{st, s, names})
			}
		}
	}
	for _, m := range unset {
		msg, err := p.noPreviousValues(ctx, m.st, m.names)
		if err != nil {
			return err
		}
		if msg != "" {
			errs = append(errs, m.s.Errorf("variables", "%s", msg))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	errs.Sort()
	return errs
}

// checkBlueprint reports the variables a blueprint needs that the config
// does not give (stacker's MissingVariable), and, when the stack's variables
// hold no lookup, renders it to find any other error.
func (p *Project) checkBlueprint(ctx context.Context, reg lookup.Registry, s *config.Stack, st *engine.StackState) config.Errors {
	bp, err := blueprint.Lookup(s.ClassPath)
	if err != nil {
		return nil // Load reported it
	}
	var errs config.Errors
	for _, d := range bp.Variables() {
		if v, ok := s.Variables[d.Name]; !d.HasDefault && (!ok || v == nil) {
			errs = append(errs, s.Errorf("variables", "MissingVariable: %v", &blueprint.MissingVariableError{Blueprint: s.Name, Variable: d.Name}))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if lookups, err := lookup.Lookups(s.Variables); err != nil || len(lookups) > 0 {
		return nil
	}
	if _, err := p.render(ctx, reg, s, st.Profile, st.Region); err != nil {
		return config.Errors{s.Errorf("class_path", "%v", err)}
	}
	return nil
}

// declaredParameters are the parameters a stack's template declares; a .j2
// template is rendered (offline) to find them.
func (p *Project) declaredParameters(ctx context.Context, reg lookup.Registry, s *config.Stack, st *engine.StackState) ([]rawtemplate.Parameter, error) {
	b, err := p.render(ctx, reg, s, st.Profile, st.Region)
	if err != nil {
		return nil, err
	}
	return b.raw.Parameters, nil
}

// checkParameterValues refuses variable values CloudFormation cannot take as
// a parameter: a map, or a list holding lists or maps. (stacker sends
// Python's str() of them; a list of scalars is sent as a,b,c.)
func checkParameterValues(s *config.Stack, params []rawtemplate.Parameter) config.Errors {
	var errs config.Errors
	for _, prm := range params {
		switch v := s.Variables[prm.Name].(type) {
		case map[string]any, []any:
			if _, err := rawtemplate.ParameterString(v); err != nil {
				errs = append(errs, s.Errorf("variables."+prm.Name, "%v (the template declares %s as a parameter)", err, prm.Name))
			}
		}
	}
	return errs
}

// missingParameters are the declared parameters without a default that the
// config gives no value (a null value is not sent, as in stacker).
func missingParameters(s *config.Stack, params []rawtemplate.Parameter) []string {
	var out []string
	for _, prm := range params {
		if v, ok := s.Variables[prm.Name]; !prm.HasDefault && (!ok || v == nil) {
			out = append(out, prm.Name)
		}
	}
	return out
}

// noPreviousValues says why a stack's unset parameters have no value: the
// stack does not exist yet, or exists without them. "" means the deployed
// stack has them all, and keeps them.
func (p *Project) noPreviousValues(ctx context.Context, st *engine.StackState, names []string) (string, error) {
	cf, err := p.CloudFormation(ctx, st.Profile, st.Region)
	if err != nil {
		return "", err
	}
	stack, err := cf.Describe(ctx, st.FQN)
	if err != nil {
		return "", err
	}
	missing := &rawtemplate.MissingParametersError{Names: names}
	if stack == nil || stack.Status.Gone() {
		return fmt.Sprintf("%v: stack %s does not exist yet, so there are no previous values to keep; set them under variables", missing, st.FQN), nil
	}
	var absent []string
	for _, n := range names {
		if _, ok := stack.Parameters[n]; !ok {
			absent = append(absent, n)
		}
	}
	if len(absent) == 0 {
		return "", nil
	}
	missing.Names = absent
	return fmt.Sprintf("%v: stack %s has no previous values for them to keep; set them under variables", missing, st.FQN), nil
}
