package lambda_test

import (
	"testing"
)

func TestInvokeGoFunction(t *testing.T) {
	w := newWorld(t)
	w.create(t, "hello")
	var out struct {
		Hello       string
		RequestID   string `json:"requestId"`
		Invocations int
		PID         int
	}
	res := w.invoke(t, "hello", map[string]string{"op": "echo", "name": "sandbox"}, &out)
	if out.Hello != "sandbox" || res.FunctionError != nil || res.StatusCode != 200 || *res.ExecutedVersion != "$LATEST" {
		t.Fatalf("Invoke = %+v %+v", res, out)
	}
	first := out.PID
	w.invoke(t, "hello", map[string]string{"op": "echo", "name": "again"}, &out)
	if out.PID != first || out.Invocations != 2 {
		t.Errorf("second invocation ran on pid %d (invocation %d), want the warm instance %d", out.PID, out.Invocations, first)
	}
}
