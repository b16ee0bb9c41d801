package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"
	"github.com/stackerless/stackerless/pkg/runstate"
)

func newRunsCommand() *cobra.Command {
	var (
		d     deploymentFlags
		limit int
	)
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List the deployment's recent runs",
		Args:  cobra.NoArgs,
		RunE: deployed(&d, func(ctx context.Context, cmd *cobra.Command, dep *deployment, _ []string) error {
			states, err := recentRuns(ctx, dep, limit)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tTRIGGER\tCONFIG\tVERSION\tSTATUS\tDURATION")
			for _, st := range states {
				row, err := runRow(ctx, dep, st)
				if err != nil {
					return err
				}
				fmt.Fprintln(tw, row)
			}
			return tw.Flush()
		}),
	}
	d.register(cmd)
	cmd.Flags().IntVarP(&limit, "limit", "n", 20, "how many runs to list, newest first (0 = all)")
	return cmd
}

// runRow is one run's line of runs: how it ended once reported, else
// where its engine stands.
func runRow(ctx context.Context, d *deployment, st *runstate.State) (string, error) {
	runID := st.RunID
	status, end := string(st.Run.Outcome().Status), time.Now()
	rep, err := readReport(ctx, d, runID)
	switch {
	case err == nil:
		status, end = rep.Status, rep.Finished
	case !errors.Is(err, runstate.ErrNotFound):
		return "", err
	}
	src := st.Request.Source
	return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", runID, st.Request.Trigger, src.URI(), src.VersionID, status,
		end.Sub(st.Created).Round(time.Second)), nil
}

func newReportCommand() *cobra.Command {
	var d deploymentFlags
	cmd := &cobra.Command{
		Use:   "report RUN",
		Short: "Print a run's report (report.md)",
		Args:  exactArgs("report takes RUN", 1),
		RunE: deployed(&d, func(ctx context.Context, cmd *cobra.Command, dep *deployment, args []string) error {
			md, err := dep.store.Get(ctx, runstate.ReportMarkdownKey(args[0]))
			if errors.Is(err, runstate.ErrNotFound) {
				if _, lerr := dep.loadRun(ctx, args[0]); lerr != nil {
					return lerr
				}
				return &exitError{code: 1, err: fmt.Errorf("run %s has no report yet: it is still running (stackerless watch %s)", args[0], args[0])}
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), strings.TrimRight(string(md.Body), "\n"))
			return nil
		}),
	}
	d.register(cmd)
	return cmd
}

// exactArgs is a usage error (exit 2) unless there are n arguments.
func exactArgs(usage string, n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return &exitError{code: 2, err: fmt.Errorf("%s, got %d arguments", usage, len(args))}
		}
		return nil
	}
}

// newDecisionCommand is approve or reject: the decision object runstate
// defines, under the caller's aws:userid (the only key the state bucket's
// policy lets an approver write).
func newDecisionCommand(decision, short string) *cobra.Command {
	var (
		d       deploymentFlags
		comment string
	)
	cmd := &cobra.Command{
		Use:   decision + " RUN STACK",
		Short: short,
		Args:  exactArgs(decision+" takes RUN STACK", 2),
		RunE: deployed(&d, func(ctx context.Context, cmd *cobra.Command, dep *deployment, args []string) error {
			runID, stack := args[0], args[1]
			st, err := dep.loadRun(ctx, runID)
			if err != nil {
				return err
			}
			s := st.Run.Stack(stack)
			if s == nil {
				return &exitError{code: 2, err: fmt.Errorf("run %s has no stack %s", runID, stack)}
			}
			if !slices.Contains(st.Run.AwaitingApproval(), stack) {
				return &exitError{code: 1, err: fmt.Errorf("stack %s of run %s is not waiting for approval (%s)", stack, runID, s.String())}
			}
			id, err := caller(ctx, dep)
			if err != nil {
				return err
			}
			who := aws.ToString(id.UserId)
			err = dep.store.RecordDecision(ctx, runID, stack, who, runstate.Decision{Decision: decision, Comment: comment, At: time.Now().UTC()})
			if errors.Is(err, runstate.ErrConflict) {
				return &exitError{code: 1, err: fmt.Errorf("%s has already decided on stack %s of run %s", who, stack, runID)}
			}
			if err != nil {
				return fmt.Errorf("record %s of %s: %w", decision, stack, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Recorded %s of %s in run %s by %s; the run takes it at its next step\n", decision, stack, runID, who)
			return nil
		}),
	}
	d.register(cmd)
	cmd.Flags().StringVarP(&comment, "comment", "m", "", "why, for the run's record")
	return cmd
}

// caller is who runs the command: its aws:userid names its decisions, its
// ARN its freeze.
func caller(ctx context.Context, d *deployment) (*sts.GetCallerIdentityOutput, error) {
	out, err := sts.NewFromConfig(d.cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, fmt.Errorf("get caller identity: %w", err)
	}
	return out, nil
}

func newFreezeCommand() *cobra.Command {
	var (
		d      deploymentFlags
		reason string
	)
	cmd := &cobra.Command{
		Use:   "freeze",
		Short: "Stop new runs from starting (runs under way go on)",
		Args:  cobra.NoArgs,
		RunE: deployed(&d, func(ctx context.Context, cmd *cobra.Command, dep *deployment, _ []string) error {
			who, err := caller(ctx, dep)
			if err != nil {
				return err
			}
			if err := dep.store.SetFreeze(ctx, runstate.Freeze{Reason: reason, By: aws.ToString(who.Arn), Since: time.Now().UTC()}); err != nil {
				return fmt.Errorf("freeze: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "Deployments frozen: no run starts until stackerless unfreeze\n")
			return nil
		}),
	}
	d.register(cmd)
	cmd.Flags().StringVarP(&reason, "reason", "m", "", "why, shown to runs that are refused")
	return cmd
}

func newUnfreezeCommand() *cobra.Command {
	var d deploymentFlags
	cmd := &cobra.Command{
		Use:   "unfreeze",
		Short: "Let runs start again",
		Args:  cobra.NoArgs,
		RunE: deployed(&d, func(ctx context.Context, cmd *cobra.Command, dep *deployment, _ []string) error {
			if err := dep.store.Unfreeze(ctx); err != nil {
				return fmt.Errorf("unfreeze: %w", err)
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "Deployments unfrozen")
			return nil
		}),
	}
	d.register(cmd)
	return cmd
}
