package main

import (
	"context"
	"fmt"
	"io"

	"github.com/stackerless/stackerless/pkg/deploy"
)

// info prints the outputs of the config's stacks, as stacker info does: in
// the config's order, to stacker's log stream (w is stderr).
func info(ctx context.Context, proj *deploy.Project, stacks []string, w io.Writer) error {
	run, err := proj.Plan("info", deploy.Selection{Stacks: stacks})
	if err != nil {
		return configExit(err)
	}
	fmt.Fprintf(w, "Outputs for stacks: %s\n", proj.Config.FQN(""))
	if len(run.Stacks) == 0 {
		fmt.Fprintln(w, noStacksWarning)
	}
	for _, cs := range proj.Config.Stacks {
		s := run.Stack(cs.Name)
		if s == nil {
			continue // not selected
		}
		cf, err := proj.CloudFormation(ctx, s.Profile, s.Region)
		if err != nil {
			return err
		}
		stack, err := cf.Describe(ctx, s.FQN)
		if err != nil {
			return err
		}
		if stack == nil || stack.Status.Gone() {
			fmt.Fprintf(w, "Stack %q does not exist.\n", s.FQN)
			continue
		}
		fmt.Fprintf(w, "%s:\n", s.FQN)
		keys := stack.OutputKeys // CloudFormation's order, as stacker prints them
		for _, k := range keys {
			fmt.Fprintf(w, "\t%s: %s\n", k, stack.Outputs[k])
		}
	}
	return nil
}
