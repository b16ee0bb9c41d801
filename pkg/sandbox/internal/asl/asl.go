// Package asl runs Amazon States Language definitions with
// aws-local-stepfunctions, an independent interpreter from npm, in one
// long-lived Node process. Go starts executions with their definition, input
// and context object; the interpreter streams its event log back and calls
// back into Go for every Task state, so the caller decides what a Task's
// resource does and which error name it fails with.
//
// The Node packages are installed by `make node_modules` (npm ci of the
// repository's package-lock.json); FindNodeModules says where they are looked for.
package asl

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed bridge.mjs
var bridgeScript string

// Library is the npm package that interprets definitions.
const Library = "aws-local-stepfunctions"

// Options configure an Interpreter.
type Options struct {
	// Node is the node binary (default $STACKERLESS_NODE, else "node" on PATH).
	Node string
	// NodeModules is the node_modules directory holding Library (default:
	// found by FindNodeModules).
	NodeModules string
	// Logger receives the interpreter's stderr; nil discards it.
	Logger *slog.Logger
}

// Interpreter runs executions in a Node child process, started on first use
// and restarted on the next use if it dies.
type Interpreter struct {
	opts Options

	mu     sync.Mutex
	proc   *process
	closed bool
}

// New returns an interpreter; nothing starts until it is used.
func New(opts Options) *Interpreter {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Interpreter{opts: opts}
}

// ErrClosed is returned once Close has been called.
var ErrClosed = errors.New("asl: interpreter closed")

// Close stops the Node process. Executions still running end with their
// OnDone callback after an ExecutionFailed event.
func (in *Interpreter) Close() {
	in.mu.Lock()
	p := in.proc
	in.closed, in.proc = true, nil
	in.mu.Unlock()
	if p != nil {
		p.kill()
	}
}

// FindNodeModules returns the node_modules directory that holds Library
// (see NodeModulesHolding).
func FindNodeModules() (string, error) {
	return NodeModulesHolding(filepath.Join(Library, "package.json"), Library)
}

// NodeModulesHolding returns the node_modules directory holding rel (a path
// inside it) of the Node package what: $STACKERLESS_NODE_MODULES if set,
// else the nearest one above the working directory, else the nearest one
// above this source file (a build from the repository).
func NodeModulesHolding(rel, what string) (string, error) {
	if dir := os.Getenv("STACKERLESS_NODE_MODULES"); dir != "" {
		if holds(dir, rel) {
			return dir, nil
		}
		return "", fmt.Errorf("STACKERLESS_NODE_MODULES=%s does not hold %s: run `npm ci` where package.json is", dir, what)
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			if nm := filepath.Join(dir, "node_modules"); holds(nm, rel) {
				return nm, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("%s is not installed: run `make node_modules` (npm ci) in the repository, or set STACKERLESS_NODE_MODULES", what)
}

func holds(nodeModules, rel string) bool {
	_, err := os.Stat(filepath.Join(nodeModules, rel))
	return err == nil
}

// process is one running Node bridge.
type process struct {
	cmd    *exec.Cmd
	out    *writer
	log    *slog.Logger
	ready  chan struct{}
	exited chan struct{}

	mu          sync.Mutex
	err         error // why the process is unusable; set once
	stderr      []string
	validations map[string]chan []string
	runs        map[string]*Run
	nextID      int
}

// get returns the running process, starting one if needed.
func (in *Interpreter) get(ctx context.Context) (*process, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return nil, ErrClosed
	}
	if in.proc != nil && in.proc.failed() == nil {
		return in.proc, nil
	}
	p, err := in.start()
	if err != nil {
		return nil, err
	}
	in.proc = p
	select {
	case <-p.ready:
		return p, nil
	case <-p.exited:
		return nil, p.failed()
	case <-ctx.Done():
		p.kill()
		in.proc = nil
		return nil, fmt.Errorf("start %s: %w", Library, ctx.Err())
	}
}

func (in *Interpreter) start() (*process, error) {
	modules := in.opts.NodeModules
	if modules == "" {
		var err error
		if modules, err = FindNodeModules(); err != nil {
			return nil, err
		}
	}
	node := in.opts.Node
	if node == "" {
		node = os.Getenv("STACKERLESS_NODE")
	}
	if node == "" {
		node = "node"
	}
	cmd := exec.Command(node, "--input-type=module", "--no-warnings", "-e", bridgeScript)
	cmd.Env = append(os.Environ(), "STACKERLESS_NODE_MODULES="+modules)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", Library, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", Library, err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", Library, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s with %s: %w (install Node.js 20 or later)", Library, node, err)
	}
	p := &process{
		cmd: cmd, out: newWriter(stdin), log: in.opts.Logger,
		ready: make(chan struct{}), exited: make(chan struct{}),
		validations: map[string]chan []string{}, runs: map[string]*Run{},
	}
	var readers sync.WaitGroup
	readers.Add(2)
	go func() { defer readers.Done(); p.readStderr(stderr) }()
	go func() { defer readers.Done(); p.readStdout(stdout) }()
	go func() {
		readers.Wait()
		werr := cmd.Wait()
		p.fail(fmt.Errorf("%s stopped: %v%s", Library, werr, p.stderrTail()))
		p.out.close()
		close(p.exited)
	}()
	return p, nil
}

func (p *process) kill() {
	p.out.close()
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
	<-p.exited
}

func (p *process) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// fail marks the process unusable and ends everything waiting on it.
func (p *process) fail(err error) {
	p.mu.Lock()
	if p.err != nil {
		p.mu.Unlock()
		return
	}
	p.err = err
	runs := p.runs
	vals := p.validations
	p.runs, p.validations = map[string]*Run{}, map[string]chan []string{}
	p.mu.Unlock()
	for _, ch := range vals {
		close(ch)
	}
	for _, r := range runs {
		r.spec.OnEvent(Event{Type: "ExecutionFailed", Timestamp: time.Now().UnixMilli(), Error: "States.Runtime", Cause: "The sandbox's local interpreter stopped: " + err.Error()})
		r.spec.OnDone()
	}
}

func (p *process) readStderr(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		p.log.Warn("aws-local-stepfunctions", "stderr", line)
		p.mu.Lock()
		p.stderr = append(p.stderr, line)
		if len(p.stderr) > 20 {
			p.stderr = p.stderr[len(p.stderr)-20:]
		}
		p.mu.Unlock()
	}
}

func (p *process) stderrTail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.stderr) == 0 {
		return ""
	}
	return ": " + strings.Join(p.stderr, "\n")
}

// message is every line the bridge writes.
type message struct {
	Op       string          `json:"op"`
	ID       string          `json:"id"`
	Call     int             `json:"call"`
	State    string          `json:"state"`
	Input    json.RawMessage `json:"input"`
	Event    *Event          `json:"event"`
	Problems []string        `json:"problems"`
	Message  string          `json:"message"`
}

func (p *process) readStdout(r io.Reader) {
	br := bufio.NewReaderSize(r, 1<<16)
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			p.handle(line)
		}
		if err != nil {
			return
		}
	}
}

func (p *process) handle(line []byte) {
	var m message
	if err := json.Unmarshal(line, &m); err != nil {
		p.log.Error("aws-local-stepfunctions: unreadable line", "error", err)
		return
	}
	switch m.Op {
	case "ready":
		close(p.ready)
	case "fatal":
		p.fail(errors.New(m.Message))
		p.out.close()
	case "validated":
		p.mu.Lock()
		ch := p.validations[m.ID]
		delete(p.validations, m.ID)
		p.mu.Unlock()
		if ch != nil {
			ch <- m.Problems
		}
	case "event", "task", "done":
		p.mu.Lock()
		r := p.runs[m.ID]
		if m.Op == "done" {
			delete(p.runs, m.ID)
		}
		p.mu.Unlock()
		if r == nil {
			return
		}
		switch m.Op {
		case "event":
			if m.Event != nil {
				r.spec.OnEvent(*m.Event)
			}
		case "task":
			r.spec.OnTask(TaskCall{ID: m.Call, State: m.State, Input: m.Input})
		case "done":
			r.spec.OnDone()
		}
	}
}

func (p *process) newID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nextID++
	return strconv.Itoa(p.nextID)
}

// Ready starts the Node process unless it runs already.
func (in *Interpreter) Ready(ctx context.Context) error {
	_, err := in.get(ctx)
	return err
}

// Validate checks a definition with the interpreter's own validator
// (asl-validator, with ARN and path checks) and returns its problems, one
// per line of its report; none means the interpreter accepts it.
func (in *Interpreter) Validate(ctx context.Context, definition json.RawMessage) ([]string, error) {
	p, err := in.get(ctx)
	if err != nil {
		return nil, err
	}
	id := p.newID()
	ch := make(chan []string, 1)
	p.mu.Lock()
	if p.err != nil {
		p.mu.Unlock()
		return nil, p.err
	}
	p.validations[id] = ch
	p.mu.Unlock()
	if err := p.out.send(map[string]any{"op": "validate", "id": id, "definition": definition}); err != nil {
		p.mu.Lock()
		delete(p.validations, id)
		p.mu.Unlock()
		return nil, err
	}
	select {
	case problems, ok := <-ch:
		if !ok {
			return nil, p.failed()
		}
		return problems, nil
	case <-ctx.Done():
		p.mu.Lock()
		delete(p.validations, id)
		p.mu.Unlock()
		return nil, fmt.Errorf("validate definition: %w", ctx.Err())
	}
}

// Spec describes one execution.
type Spec struct {
	Definition json.RawMessage
	Input      json.RawMessage
	// Context is the context object's base ($$.Execution, $$.StateMachine);
	// the bridge keeps $$.State current.
	Context any
	// MaxStateEntries ends an execution that enters more states than this
	// (a loop of Pass and Choice states never yields to the bridge otherwise).
	MaxStateEntries int
	// OnEvent receives the interpreter's events in order. OnTask is called,
	// in order with the events, when a Task state wants its resource run: the
	// caller answers with Run.Succeed or Run.Fail, from any goroutine. OnDone
	// comes last. All three are called from one goroutine and must not block.
	OnEvent func(Event)
	OnTask  func(TaskCall)
	OnDone  func()
}

// Run is one execution in the interpreter.
type Run struct {
	id   string
	p    *process
	spec Spec
}

// Start starts an execution.
func (in *Interpreter) Start(ctx context.Context, spec Spec) (*Run, error) {
	p, err := in.get(ctx)
	if err != nil {
		return nil, err
	}
	r := &Run{id: p.newID(), p: p, spec: spec}
	p.mu.Lock()
	if p.err != nil {
		p.mu.Unlock()
		return nil, p.err
	}
	p.runs[r.id] = r
	p.mu.Unlock()
	err = p.out.send(map[string]any{"op": "start", "id": r.id, "definition": spec.Definition, "input": spec.Input,
		"context": spec.Context, "limit": spec.MaxStateEntries})
	if err != nil {
		p.mu.Lock()
		delete(p.runs, r.id)
		p.mu.Unlock()
		return nil, err
	}
	return r, nil
}

// Succeed answers a task call with the resource's output, which must be
// valid JSON.
func (r *Run) Succeed(call int, output json.RawMessage) error {
	return r.p.out.send(map[string]any{"op": "taskResult", "id": r.id, "call": call, "output": output})
}

// Fail answers a task call with an error: the interpreter throws an Error
// named errorName, so Retry and Catch match it as they would on AWS.
func (r *Run) Fail(call int, errorName, cause string) {
	_ = r.p.out.send(map[string]any{"op": "taskResult", "id": r.id, "call": call, "error": errorName, "cause": cause})
}

// Stop aborts the execution; task calls still open are never answered.
func (r *Run) Stop() {
	_ = r.p.out.send(map[string]any{"op": "stop", "id": r.id})
}

// TaskCall is a Task state's request for its resource.
type TaskCall struct {
	ID    int
	State string
	Input json.RawMessage
}

// Event is one entry of the interpreter's event log.
type Event struct {
	// Type is ExecutionStarted, ExecutionSucceeded, ExecutionFailed,
	// ExecutionAborted, ExecutionTimeout, StateEntered, StateExited,
	// StateFailed, StateRetried, StateCaught, MapIterationStarted,
	// MapIterationSucceeded, MapIterationFailed, ParallelBranchStarted,
	// ParallelBranchSucceeded or ParallelBranchFailed.
	Type string `json:"type"`
	// Timestamp is in Unix milliseconds.
	Timestamp   int64           `json:"timestamp"`
	State       *StateRef       `json:"state"`
	ParentState *StateRef       `json:"parentState"`
	Input       json.RawMessage `json:"input"`
	Output      json.RawMessage `json:"output"`
	// Index is the Map iteration an event belongs to.
	Index *int `json:"index"`
	// Length is the number of items of a Map state, on its StateEntered.
	Length *int   `json:"length"`
	Error  string `json:"Error"`
	Cause  string `json:"Cause"`
}

// StateRef names the state an event is about.
type StateRef struct {
	Name   string          `json:"name"`
	Type   string          `json:"type"`
	Input  json.RawMessage `json:"input"`
	Output json.RawMessage `json:"output"`
}

// writer queues lines for the bridge's stdin so no caller blocks on the pipe
// (the bridge does not read while an execution loops without yielding).
type writer struct {
	mu     sync.Mutex
	cond   *sync.Cond
	queue  [][]byte
	closed bool
	w      io.WriteCloser
}

func newWriter(w io.WriteCloser) *writer {
	wr := &writer{w: w}
	wr.cond = sync.NewCond(&wr.mu)
	go wr.loop()
	return wr
}

// send queues one request; it fails only when a json.RawMessage in v is not
// valid JSON.
func (wr *writer) send(v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode request for %s: %w", Library, err)
	}
	wr.mu.Lock()
	defer wr.mu.Unlock()
	if !wr.closed {
		wr.queue = append(wr.queue, append(line, '\n'))
		wr.cond.Signal()
	}
	return nil
}

func (wr *writer) close() {
	wr.mu.Lock()
	defer wr.mu.Unlock()
	if !wr.closed {
		wr.closed = true
		wr.cond.Signal()
	}
}

func (wr *writer) loop() {
	defer wr.w.Close()
	for {
		wr.mu.Lock()
		for len(wr.queue) == 0 && !wr.closed {
			wr.cond.Wait()
		}
		if wr.closed {
			wr.mu.Unlock()
			return
		}
		batch := wr.queue
		wr.queue = nil
		wr.mu.Unlock()
		for _, line := range batch {
			if _, err := wr.w.Write(line); err != nil {
				return
			}
		}
	}
}
