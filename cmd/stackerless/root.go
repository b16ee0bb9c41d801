package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/runstate"
)

// newRootCommand builds the stackerless command tree; each verb lives in its
// own file and registers here.
func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "stackerless",
		Short:         "Deploy stacker configurations across AWS accounts, serverless",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.ArbitraryArgs,
		// Runs only when no verb matched: an unknown verb is a usage error.
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return &exitError{code: 2, err: fmt.Errorf("unknown command %q: see stackerless --help", args[0])}
		},
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &exitError{code: 2, err: fmt.Errorf("%s: %w", cmd.CommandPath(), err)}
	})
	root.AddCommand(
		newStackerCommand(engine.Build, "Create or update the config's stacks"),
		newStackerCommand(engine.Diff, "Show the changes a build would make"),
		newStackerCommand(engine.Destroy, "Delete the config's stacks in reverse dependency order"),
		newStackerCommand("info", "Print the outputs of the config's stacks"),
		newGraphCommand(),
		newSandboxCommand(),
		newDemoCommand(),
		newSubmitCommand(),
		newWatchCommand(),
		newRunsCommand(),
		newReportCommand(),
		newDecisionCommand(runstate.Approve, "Approve the change set of a stack waiting in a run"),
		newDecisionCommand(runstate.Reject, "Reject the change set of a stack waiting in a run (the stack fails)"),
		newFreezeCommand(),
		newUnfreezeCommand(),
	)
	return root
}
