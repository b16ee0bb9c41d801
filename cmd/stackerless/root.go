package main

import (
	"github.com/spf13/cobra"
)

// newRootCommand builds the stackerless command tree; each verb lives in its
// own file and registers here.
func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "stackerless",
		Short:         "Deploy stacker configurations across AWS accounts, serverless",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newSandboxCommand())
	return root
}
