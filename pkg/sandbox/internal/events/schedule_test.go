package events

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// starter records the executions EventBridge starts.
type starter struct {
	mu     sync.Mutex
	inputs []string
}

func (s *starter) StartExecutionAs(ctx context.Context, call *awsapi.Call, machineARN, name, input string) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inputs = append(s.inputs, input)
	return machineARN + "/x", time.Now(), nil
}

type anyRole struct{}

func (anyRole) AssumeServiceRole(roleARN, service, session string) (awsapi.Caller, bool) {
	return awsapi.Caller{Account: "111111111111", ARN: "arn:aws:sts::111111111111:assumed-role/r/" + session, RoleARN: roleARN}, true
}

// TestScheduleFires: a rate rule fires every period (a minute shortened to
// 20ms here) with a Scheduled Event naming the rule, and stops when disabled.
func TestScheduleFires(t *testing.T) {
	st := &starter{}
	s := New(Options{Roles: anyRole{}, StepFunctions: st, Minute: 20 * time.Millisecond})
	t.Cleanup(s.Close)
	call := &awsapi.Call{Caller: &awsapi.Caller{Account: "111111111111", Root: true}, Region: "us-east-1"}
	out, err := s.Do(call, "PutRule", map[string]any{"Name": "tick", "ScheduleExpression": "rate(1 minute)"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Do(call, "PutTargets", map[string]any{"Rule": "tick", "Targets": []any{
		map[string]any{"Id": "t", "Arn": "arn:aws:states:us-east-1:111111111111:stateMachine:m", "RoleArn": "arn:aws:iam::111111111111:role/r"}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st.mu.Lock()
		n := len(st.inputs)
		st.mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d firings in 30s", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	var ev struct {
		Source     string   `json:"source"`
		DetailType string   `json:"detail-type"`
		Resources  []string `json:"resources"`
		Detail     map[string]any
	}
	st.mu.Lock()
	first := st.inputs[0]
	st.mu.Unlock()
	if err := json.Unmarshal([]byte(first), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Source != "aws.events" || ev.DetailType != "Scheduled Event" || len(ev.Resources) != 1 || ev.Resources[0] != out["RuleArn"] || len(ev.Detail) != 0 {
		t.Fatalf("scheduled event %s", first)
	}
	if _, err := s.Do(call, "DisableRule", map[string]any{"Name": "tick"}); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	n := len(st.inputs)
	st.mu.Unlock()
	time.Sleep(150 * time.Millisecond)
	st.mu.Lock()
	defer st.mu.Unlock()
	// A firing already past its check when the rule was disabled may still
	// land; none may start after.
	if len(st.inputs) > n+1 {
		t.Fatalf("a disabled schedule kept firing: %d then %d", n, len(st.inputs))
	}
}
