package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/stackerless/stackerless/pkg/cfn"
	"github.com/stackerless/stackerless/pkg/engine"
	"golang.org/x/term"
)

// lineReporter prints stacker's status lines, "name: state (reason)", one per
// change: what scripts and CI logs read.
type lineReporter struct {
	mu sync.Mutex
	w  io.Writer
}

func (r *lineReporter) Status(s *engine.StackState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintln(r.w, s.String())
}

func (r *lineReporter) Event(s *engine.StackState, e cfn.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintln(r.w, formatEvent(s, e))
}

// Message prints text as stacker logs a message: a text that ends with a
// line break (the change set's YAML) is followed by a blank line.
func (r *lineReporter) Message(_ *engine.StackState, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintln(r.w, text)
}

// formatEvent is stacker's tail line: "[fqn] STATUS Type reason".
func formatEvent(s *engine.StackState, e cfn.Event) string {
	parts := []string{"[" + s.FQN + "]", e.Status, e.ResourceType}
	if e.Reason != "" {
		parts = append(parts, e.Reason)
	}
	return strings.Join(parts, " ")
}

// boardReporter keeps one line per stack on a terminal and rewrites it in
// place as the stack's status changes; messages and events scroll above.
type boardReporter struct {
	mu    sync.Mutex
	w     io.Writer
	order []string
	lines map[string]string
	drawn int
}

func newBoardReporter(w io.Writer, run *engine.Run) *boardReporter {
	b := &boardReporter{w: w, lines: map[string]string{}}
	for _, s := range run.Stacks {
		b.order = append(b.order, s.Name)
		b.lines[s.Name] = s.String()
	}
	return b
}

// redraw moves the cursor to the top of the board and writes it again.
func (b *boardReporter) redraw(above string) {
	if b.drawn > 0 {
		fmt.Fprintf(b.w, "\x1b[%dA", b.drawn)
	}
	if above != "" {
		for _, l := range strings.Split(strings.TrimRight(above, "\n"), "\n") {
			fmt.Fprintf(b.w, "\x1b[2K%s\n", l)
		}
	}
	for _, name := range b.order {
		fmt.Fprintf(b.w, "\x1b[2K%s\n", b.lines[name])
	}
	b.drawn = len(b.order)
}

func (b *boardReporter) Status(s *engine.StackState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines[s.Name] = s.String()
	b.redraw("")
}

func (b *boardReporter) Event(s *engine.StackState, e cfn.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.redraw(formatEvent(s, e))
}

func (b *boardReporter) Message(_ *engine.StackState, text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.redraw(text)
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// fitsOnScreen reports whether a board of n lines fits in f's terminal; a
// taller board would scroll away while being redrawn.
func fitsOnScreen(f *os.File, n int) bool {
	_, rows, err := term.GetSize(int(f.Fd()))
	return err == nil && n < rows
}
