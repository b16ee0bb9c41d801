package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/stackerless/stackerless/pkg/deploy"
)

func newGraphCommand() *cobra.Command {
	f := &stackerFlags{}
	var format string
	var reduce bool
	cmd := &cobra.Command{
		Use:   "graph [env-file] config",
		Short: "Print the dependency graph of the config's stacks",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return &exitError{code: 2, err: fmt.Errorf("graph takes [env-file] config, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			// As stacker's graph: dependencies only, no template, blueprint
			// or profile, and no AWS call.
			proj, err := loadProject(cmd, f, args, deploy.CheckGraph)
			if err != nil {
				return err
			}
			providerMode(cmd.ErrOrStderr(), f.interactive)
			g := proj.Graph
			if reduce {
				if err := g.Reduce(); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			switch format {
			case "dot":
				return g.Dot(out)
			case "json":
				return g.JSON(out)
			case "mermaid":
				return g.Mermaid(out)
			}
			return &exitError{code: 2, err: fmt.Errorf("unknown graph format %q: use dot, json or mermaid", format)}
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "dot", "output format: dot, json or mermaid")
	cmd.Flags().BoolVar(&reduce, "reduce", false, "drop edges implied by others (transitive reduction)")
	f.registerCommon(cmd)
	return cmd
}
