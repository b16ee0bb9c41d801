package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/handlers"
	"github.com/stackerless/stackerless/pkg/runstate"
)

type watchFlags struct {
	interval time.Duration
}

func (f *watchFlags) register(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&f.interval, "interval", 2*time.Second, "how often to read the run's state")
}

func newWatchCommand() *cobra.Command {
	var (
		d      deploymentFlags
		w      watchFlags
		latest bool
	)
	cmd := &cobra.Command{
		Use:   "watch [RUN|--latest]",
		Short: "Follow a run's stacks until it ends, then print its report; exit 1 when it failed",
		Args: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == latest || len(args) > 1 {
				return &exitError{code: 2, err: errors.New("watch takes one RUN, or --latest")}
			}
			return nil
		},
		RunE: deployed(&d, func(ctx context.Context, cmd *cobra.Command, dep *deployment, args []string) error {
			var runID string
			if latest {
				states, err := recentRuns(ctx, dep, 1)
				if err != nil {
					return err
				}
				if len(states) == 0 {
					return &exitError{code: 2, err: fmt.Errorf("no runs in s3://%s", dep.stateBucket)}
				}
				runID = states[0].RunID
			} else {
				runID = args[0]
			}
			return watchRun(ctx, cmd, dep, runID, &w)
		}),
	}
	d.register(cmd)
	w.register(cmd)
	cmd.Flags().BoolVar(&latest, "latest", false, "watch the most recent run")
	return cmd
}

// stackLine is what watch shows of one stack.
type stackLine struct {
	name, account, status string
	elapsed               time.Duration
}

func (l stackLine) plain() string {
	s := l.name + ": " + l.status
	if l.account != "" {
		s += " [" + l.account + "]"
	}
	if l.elapsed > 0 {
		s += " " + l.elapsed.Round(time.Second).String()
	}
	return s
}

// stackLines are the run's stacks as watch shows them, at now.
func stackLines(st *runstate.State, now time.Time) []stackLine {
	var out []stackLine
	awaiting := st.Run.AwaitingApproval()
	for _, s := range st.Run.Stacks {
		l := stackLine{name: s.Name, account: accountOf(s.StackID), status: string(s.State)}
		if l.account == "" {
			l.account = s.Profile
		}
		if s.Reason != "" {
			l.status += " (" + s.Reason + ")"
		}
		if slices.Contains(awaiting, s.Name) {
			l.status = "waiting for approval (stackerless approve " + st.RunID + " " + s.Name + ")"
		}
		if !s.Started.IsZero() {
			end := s.Ended
			if end.IsZero() {
				end = now
			}
			l.elapsed = end.Sub(s.Started)
		}
		out = append(out, l)
	}
	return out
}

// accountOf is the account of a stack ARN, "" before the stack exists.
func accountOf(stackID string) string {
	if parts := strings.Split(stackID, ":"); len(parts) >= 6 {
		return parts[4]
	}
	return ""
}

// watchRun follows a run until its report exists, drawing its stacks (a
// board redrawn in place on a terminal, a line per change otherwise), then
// prints report.md. A failed run is exit code 1, as build.
func watchRun(ctx context.Context, cmd *cobra.Command, d *deployment, runID string, f *watchFlags) error {
	out := cmd.ErrOrStderr()
	file, isFile := out.(*os.File)
	board := isFile && isTerminal(file)
	seen := map[string]string{}
	drawn := 0
	for {
		st, err := d.loadRun(ctx, runID)
		if err != nil {
			return err
		}
		lines := stackLines(st, time.Now())
		if board && fitsOnScreen(file, len(lines)) {
			drawn = drawBoard(out, lines, drawn)
		} else {
			for _, l := range lines {
				// Elapsed time alone is no news on a log.
				key := l.status + "\x00" + l.account
				if seen[l.name] != key {
					seen[l.name] = key
					fmt.Fprintln(out, l.plain())
				}
			}
		}
		rep, err := readReport(ctx, d, runID)
		if err != nil && !errors.Is(err, runstate.ErrNotFound) {
			return err
		}
		if rep != nil {
			md, err := d.store.Get(ctx, runstate.ReportMarkdownKey(runID))
			if err == nil {
				fmt.Fprintln(cmd.OutOrStdout(), strings.TrimRight(string(md.Body), "\n"))
			}
			if rep.Status != handlers.ReportSucceeded {
				return &exitError{code: 1, err: fmt.Errorf("run %s %s%s", runID, rep.Status, failureText(rep))}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(f.interval):
		}
	}
}

func failureText(rep *handlers.RunReport) string {
	var parts []string
	if rep.Failure != nil {
		parts = append(parts, rep.Failure.Error+": "+rep.Failure.Cause)
	}
	var failed []string
	for _, s := range rep.Stacks {
		if s.Status == string(engine.Failed) {
			failed = append(failed, s.Name)
		}
	}
	if len(failed) > 0 {
		parts = append(parts, "failed stacks: "+strings.Join(failed, ", "))
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, "; ")
}

// drawBoard writes the stacks as a table over the previous drawing of
// drawn lines and returns how many lines it drew.
func drawBoard(w io.Writer, lines []stackLine, drawn int) int {
	if drawn > 0 {
		fmt.Fprintf(w, "\x1b[%dA", drawn)
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STACK\tACCOUNT\tSTATUS\tELAPSED")
	for _, l := range lines {
		el := ""
		if l.elapsed > 0 {
			el = l.elapsed.Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", l.name, l.account, l.status, el)
	}
	tw.Flush()
	text := strings.TrimRight(b.String(), "\n")
	for _, l := range strings.Split(text, "\n") {
		fmt.Fprintf(w, "\x1b[2K%s\n", l)
	}
	return len(lines) + 1
}

// readReport reads a run's report.json; runstate.ErrNotFound until Report ran.
func readReport(ctx context.Context, d *deployment, runID string) (*handlers.RunReport, error) {
	obj, err := d.store.Get(ctx, runstate.ReportKey(runID))
	if err != nil {
		return nil, err
	}
	var rep handlers.RunReport
	if err := json.Unmarshal(obj.Body, &rep); err != nil {
		return nil, fmt.Errorf("read report of %s: %w", runID, err)
	}
	return &rep, nil
}

// recentRuns reads the states of the newest n runs (n <= 0: all), newest
// first. Run ids sort by their start second; runs started in the same second
// are told apart by their states' creation times.
func recentRuns(ctx context.Context, d *deployment, n int) ([]*runstate.State, error) {
	ids, err := listRuns(ctx, d)
	if err != nil {
		return nil, err
	}
	cut := 0
	if n > 0 && len(ids) > n {
		cut = len(ids) - n
		// Keep every run of the cut's second: any of them may be newer.
		for cut > 0 && secondOf(ids[cut-1]) == secondOf(ids[cut]) {
			cut--
		}
	}
	var states []*runstate.State
	for _, id := range ids[cut:] {
		st, err := d.loadRun(ctx, id)
		if err != nil {
			return nil, err
		}
		states = append(states, st)
	}
	slices.SortStableFunc(states, func(a, b *runstate.State) int { return b.Created.Compare(a.Created) })
	if n > 0 && len(states) > n {
		states = states[:n]
	}
	return states, nil
}

// secondOf is the start second a run id carries: r-<time>-<random>.
func secondOf(id string) string {
	if i := strings.LastIndexByte(id, '-'); i > 0 {
		return id[:i]
	}
	return id
}

// listRuns returns the ids of the runs in the state bucket, sorted.
func listRuns(ctx context.Context, d *deployment) ([]string, error) {
	keys, err := d.store.List(ctx, "runs/r-")
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	var ids []string
	for _, k := range keys {
		if id, ok := strings.CutSuffix(strings.TrimPrefix(k, "runs/"), "/state.json"); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}
