package sfn

import (
	"context"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/asl"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// maxHistoryEvents is AWS's hard limit on an execution's history: event
// 25,000 is either ExecutionSucceeded or the ExecutionFailed that ends it.
const maxHistoryEvents = 25000

const historyLimitCause = "The execution reached the maximum number of history events (25000)."

// history is an execution's event history, ids from 1.
type history struct {
	events []historyEvent
}

type historyEvent struct {
	id, prev int64
	ts       time.Time
	typ      string
	// key is the member holding details (e.g. stateEnteredEventDetails), "" for none.
	key     string
	details map[string]any
}

func newHistory() *history { return &history{} }

func (h *history) add(ts time.Time, typ, key string, details map[string]any) {
	id := int64(len(h.events) + 1)
	prev := id - 1
	// AWS links the first state's entry to no event.
	if prev == 1 && h.events[0].typ == "ExecutionStarted" {
		prev = 0
	}
	h.events = append(h.events, historyEvent{id: id, prev: prev, ts: ts, typ: typ, key: key, details: details})
}

func (h *history) len() int { return len(h.events) }

// record appends an event while the execution runs, failing it as AWS does
// when the event would be the 25,000th and is not ExecutionSucceeded.
// s.mu must be held.
func (x *execution) record(s *Service, ts time.Time, typ, key string, details map[string]any) {
	if x.status != statusRunning {
		return
	}
	if x.history.len()+1 >= maxHistoryEvents && typ != "ExecutionSucceeded" {
		s.finish(x, statusFailed, "ExecutionFailed", "executionFailedEventDetails", map[string]any{"error": "States.Runtime", "cause": historyLimitCause})
		if x.run != nil {
			x.run.Stop()
		}
		return
	}
	x.history.add(ts, typ, key, details)
}

// stateEventPrefix maps the interpreter's state types to AWS's event names.
var stateEventPrefix = map[string]string{
	"Task": "Task", "Pass": "Pass", "Wait": "Wait", "Choice": "Choice", "Succeed": "Succeed",
	"Fail": "Fail", "Map": "Map", "Parallel": "Parallel",
}

// onEvent turns one interpreter event into AWS's history events.
func (s *Service) onEvent(x *execution, e asl.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if x.status != statusRunning {
		return
	}
	ts := time.UnixMilli(e.Timestamp)
	if ts.Before(x.start) {
		ts = x.start
	}
	rec := func(typ, key string, details map[string]any) { x.record(s, ts, typ, key, details) }
	switch e.Type {
	case "StateEntered":
		if e.State == nil {
			return
		}
		prefix := stateEventPrefix[e.State.Type]
		x.lastState = e.State.Name
		rec(prefix+"StateEntered", "stateEnteredEventDetails",
			map[string]any{"name": e.State.Name, "input": jsonText(e.State.Input), "inputDetails": truncated(false)})
		switch e.State.Type {
		case "Map":
			length := 0
			if e.Length != nil {
				length = *e.Length
			}
			rec("MapStateStarted", "mapStateStartedEventDetails", map[string]any{"length": length})
		case "Parallel":
			rec("ParallelStateStarted", "", nil)
		}
	case "StateExited":
		if e.State == nil {
			return
		}
		switch e.State.Type {
		case "Map":
			rec("MapStateSucceeded", "", nil)
		case "Parallel":
			rec("ParallelStateSucceeded", "", nil)
		}
		rec(stateEventPrefix[e.State.Type]+"StateExited", "stateExitedEventDetails",
			map[string]any{"name": e.State.Name, "output": jsonText(e.State.Output), "outputDetails": truncated(false)})
	case "StateFailed":
		if e.State == nil {
			return
		}
		switch e.State.Type {
		case "Task":
			if e.Error != "States.Timeout" {
				return
			}
			for id, name := range x.pending {
				if name == e.State.Name {
					delete(x.pending, id)
					rec("LambdaFunctionTimedOut", "lambdaFunctionTimedOutEventDetails", map[string]any{"error": "States.Timeout"})
				}
			}
		case "Map":
			rec("MapStateFailed", "", nil)
		case "Parallel":
			rec("ParallelStateFailed", "", nil)
		}
	case "MapIterationStarted", "MapIterationSucceeded", "MapIterationFailed":
		if e.ParentState == nil || e.Index == nil {
			return
		}
		key := map[string]string{"MapIterationStarted": "mapIterationStartedEventDetails",
			"MapIterationSucceeded": "mapIterationSucceededEventDetails", "MapIterationFailed": "mapIterationFailedEventDetails"}[e.Type]
		rec(e.Type, key, map[string]any{"name": e.ParentState.Name, "index": *e.Index})
	case "ExecutionSucceeded":
		output := jsonText(e.Output)
		if len(output) > maxPayload {
			s.finish(x, statusFailed, "ExecutionFailed", "executionFailedEventDetails", map[string]any{"error": "States.DataLimitExceeded",
				"cause": "The state/task returned a result with a size exceeding the maximum number of bytes service limit."})
			return
		}
		s.finish(x, statusSucceeded, "ExecutionSucceeded", "executionSucceededEventDetails", map[string]any{"output": output, "outputDetails": truncated(false)})
	case "ExecutionFailed":
		details := map[string]any{"error": e.Error, "cause": e.Cause}
		// A Fail state without Error or Cause fails the execution without them.
		if fs, ok := x.def.fails[x.lastState]; ok {
			if !fs.hasError {
				delete(details, "error")
			}
			if !fs.hasCause {
				delete(details, "cause")
			}
		}
		s.finish(x, statusFailed, "ExecutionFailed", "executionFailedEventDetails", details)
	case "ExecutionTimeout":
		s.finish(x, statusTimedOut, "ExecutionTimedOut", "executionTimedOutEventDetails", map[string]any{"error": "States.Timeout"})
	}
}

// jsonText is state data as the history holds it: JSON text ("null" when absent).
func jsonText(raw []byte) string {
	if len(raw) == 0 {
		return "null"
	}
	return string(raw)
}

func (s *Service) getExecutionHistory(_ context.Context, call *awsapi.Call, body []byte) (any, error) {
	var in struct {
		ExecutionArn         *string
		ReverseOrder         bool
		IncludeExecutionData *bool
		pageInput
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	x, err := s.lookupExecution(call, "GetExecutionHistory", in.ExecutionArn)
	if err != nil {
		return nil, err
	}
	withData := in.IncludeExecutionData == nil || *in.IncludeExecutionData
	s.mu.Lock()
	events := append([]historyEvent(nil), x.history.events...)
	s.mu.Unlock()
	items := make([]any, len(events))
	for i, ev := range events {
		j := i
		if in.ReverseOrder {
			j = len(events) - 1 - i
		}
		items[j] = ev.render(withData)
	}
	page, next, err := s.paginate(items, in.pageInput, "GetExecutionHistory")
	if err != nil {
		return nil, err
	}
	if page == nil {
		page = []any{}
	}
	out := map[string]any{"events": page}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// render is an event as GetExecutionHistory returns it; without execution
// data, inputs and outputs are left out.
func (ev historyEvent) render(withData bool) map[string]any {
	out := map[string]any{"id": ev.id, "previousEventId": ev.prev, "timestamp": epoch(ev.ts), "type": ev.typ}
	if ev.key != "" {
		d := make(map[string]any, len(ev.details))
		for k, v := range ev.details {
			if !withData && (k == "input" || k == "output") {
				continue
			}
			d[k] = v
		}
		out[ev.key] = d
	}
	return out
}
