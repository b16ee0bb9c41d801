package asl

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder collects one run's traffic and answers its tasks with answer.
type recorder struct {
	mu     sync.Mutex
	events []Event
	tasks  []TaskCall
	done   chan struct{}
	run    *Run
	answer func(r *Run, c TaskCall)
}

func newRecorder(answer func(r *Run, c TaskCall)) *recorder {
	return &recorder{done: make(chan struct{}), answer: answer}
}

func (rec *recorder) spec(def, input string, ctx any) Spec {
	return Spec{
		Definition: json.RawMessage(def), Input: json.RawMessage(input), Context: ctx, MaxStateEntries: 13000,
		OnEvent: func(e Event) { rec.mu.Lock(); rec.events = append(rec.events, e); rec.mu.Unlock() },
		OnTask: func(c TaskCall) {
			rec.mu.Lock()
			rec.tasks = append(rec.tasks, c)
			run := rec.run
			rec.mu.Unlock()
			go rec.answer(run, c)
		},
		OnDone: func() { close(rec.done) },
	}
}

func (rec *recorder) start(t *testing.T, in *Interpreter, def, input string, ctx any) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	run, err := in.Start(t.Context(), rec.spec(def, input, ctx))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	rec.run = run
}

func (rec *recorder) wait(t *testing.T) []Event {
	t.Helper()
	select {
	case <-rec.done:
	case <-time.After(60 * time.Second):
		t.Fatal("execution did not finish")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]Event(nil), rec.events...)
}

func newInterpreter(t *testing.T) *Interpreter {
	t.Helper()
	in := New(Options{})
	t.Cleanup(in.Close)
	return in
}

func last(events []Event) Event { return events[len(events)-1] }

func TestValidate(t *testing.T) {
	in := newInterpreter(t)
	problems, err := in.Validate(t.Context(), json.RawMessage(`{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`))
	if err != nil || len(problems) != 0 {
		t.Fatalf("valid definition: %v %v", problems, err)
	}
	problems, err = in.Validate(t.Context(), json.RawMessage(`{"States":{"A":{"Type":"Pass","Next":"B"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) == 0 || !strings.Contains(strings.Join(problems, "\n"), "StartAt") {
		t.Fatalf("problems = %q, want one about StartAt", problems)
	}
}

// TestTaskRetryCatchAndContext runs a Task that fails twice with a named
// error (retried), then with another (caught), and reads $$ from Parameters.
func TestTaskRetryCatchAndContext(t *testing.T) {
	in := newInterpreter(t)
	def := `{"StartAt":"Call","States":{
	  "Call":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:111111111111:function:f",
	    "Parameters":{"retry.$":"$$.State.RetryCount","state.$":"$$.State.Name","entered.$":"$$.State.EnteredTime","exec.$":"$$.Execution.Id","sm.$":"$$.StateMachine.Name","in.$":"$$.Execution.Input.v"},
	    "Retry":[{"ErrorEquals":["Lambda.TooManyRequestsException"],"IntervalSeconds":0,"MaxAttempts":2}],
	    "Catch":[{"ErrorEquals":["NegativeError"],"ResultPath":"$.caught","Next":"Done"}],
	    "Next":"Done"},
	  "Done":{"Type":"Succeed"}}}`
	var n int
	rec := newRecorder(func(r *Run, c TaskCall) {
		n++
		switch n {
		case 1, 2:
			r.Fail(c.ID, "Lambda.TooManyRequestsException", "Rate exceeded")
		default:
			r.Fail(c.ID, "NegativeError", `{"errorType":"NegativeError","errorMessage":"below zero"}`)
		}
	})
	ctx := map[string]any{"Execution": map[string]any{"Id": "arn:exec", "Name": "e1"}, "StateMachine": map[string]any{"Id": "arn:sm", "Name": "sm1"}}
	rec.start(t, in, def, `{"v":7}`, ctx)
	events := rec.wait(t)

	if len(rec.tasks) != 3 {
		t.Fatalf("%d task calls, want 3", len(rec.tasks))
	}
	for i, c := range rec.tasks {
		var p struct {
			Retry           int
			State, Exec, Sm string
			Entered         string
			In              int
		}
		if err := json.Unmarshal(c.Input, &p); err != nil {
			t.Fatal(err)
		}
		if p.Retry != i || p.State != "Call" || p.Exec != "arn:exec" || p.Sm != "sm1" || p.In != 7 {
			t.Errorf("call %d input = %s", i, c.Input)
		}
		if _, err := time.Parse(time.RFC3339Nano, p.Entered); err != nil {
			t.Errorf("EnteredTime %q: %v", p.Entered, err)
		}
	}
	end := last(events)
	if end.Type != "ExecutionSucceeded" || !strings.Contains(string(end.Output), `"Error":"NegativeError"`) {
		t.Fatalf("last event = %+v (output %s)", end, end.Output)
	}
}

func TestTaskFailureEndsExecution(t *testing.T) {
	in := newInterpreter(t)
	def := `{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:111111111111:function:f","End":true}}}`
	rec := newRecorder(func(r *Run, c TaskCall) { r.Fail(c.ID, "Lambda.Unknown", "boom") })
	rec.start(t, in, def, `{}`, nil)
	end := last(rec.wait(t))
	if end.Type != "ExecutionFailed" || end.Error != "Lambda.Unknown" || end.Cause != "boom" {
		t.Fatalf("last event = %+v", end)
	}
}

// TestTaskTimeout: a Task past its TimeoutSeconds fails with States.Timeout,
// which States.TaskFailed does not catch, as on AWS.
func TestTaskTimeout(t *testing.T) {
	in := newInterpreter(t)
	def := `{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:111111111111:function:f","TimeoutSeconds":1,
	  "Catch":[{"ErrorEquals":["States.TaskFailed"],"Next":"Caught"}],"End":true},"Caught":{"Type":"Succeed"}}}`
	rec := newRecorder(func(r *Run, c TaskCall) {}) // never answers
	rec.start(t, in, def, `{}`, nil)
	end := last(rec.wait(t))
	if end.Type != "ExecutionFailed" || end.Error != "States.Timeout" {
		t.Fatalf("last event = %+v", end)
	}
}

// TestLongTimer: delays past setTimeout's 2^31-1 ms limit still wait (Node
// would otherwise fire them at once), so a long Wait can be stopped.
func TestLongWaitStops(t *testing.T) {
	in := newInterpreter(t)
	def := `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3000000,"End":true}}}`
	rec := newRecorder(nil)
	rec.start(t, in, def, `{}`, nil)
	// The Wait is entered and must still be waiting a moment later.
	deadline := time.Now().Add(30 * time.Second)
	for {
		rec.mu.Lock()
		entered := len(rec.events) >= 2
		rec.mu.Unlock()
		if entered || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	select {
	case <-rec.done:
		t.Fatalf("a 3,000,000 s Wait ended at once: %+v", rec.events)
	default:
	}
	rec.run.Stop()
	if end := last(rec.wait(t)); end.Type != "ExecutionAborted" {
		t.Fatalf("last event = %+v", end)
	}
}

func TestStateEntryLimit(t *testing.T) {
	in := newInterpreter(t)
	tests := map[string]string{
		"top level":              `{"StartAt":"Loop","States":{"Loop":{"Type":"Pass","Next":"Loop"}}}`,
		"inside a Map iteration": `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"Loop","States":{"Loop":{"Type":"Pass","Next":"Loop"}}},"End":true}}}`,
	}
	for name, def := range tests {
		t.Run(name, func(t *testing.T) {
			rec := newRecorder(nil)
			spec := rec.spec(def, `[1]`, nil)
			spec.MaxStateEntries = 50
			run, err := in.Start(t.Context(), spec)
			if err != nil {
				t.Fatal(err)
			}
			rec.run = run
			events := rec.wait(t)
			end := last(events)
			if end.Type != "ExecutionFailed" || end.Error != "States.Runtime" {
				t.Fatalf("last event = %+v", end)
			}
			entered := 0
			for _, e := range events {
				if e.Type == "StateEntered" {
					entered++
				}
			}
			if entered > 50 {
				t.Fatalf("%d states entered, want at most 50", entered)
			}
		})
	}
}

func TestMapLength(t *testing.T) {
	in := newInterpreter(t)
	def := `{"StartAt":"M","States":{"M":{"Type":"Map","ItemsPath":"$.items","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`
	rec := newRecorder(nil)
	rec.start(t, in, def, `{"items":[1,2,3]}`, nil)
	events := rec.wait(t)
	for _, e := range events {
		if e.Type == "StateEntered" && e.State.Type == "Map" {
			if e.Length == nil || *e.Length != 3 {
				t.Fatalf("Map StateEntered length = %v, want 3", e.Length)
			}
			return
		}
	}
	t.Fatalf("no Map StateEntered in %+v", events)
}
