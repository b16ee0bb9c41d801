package sfn

import (
	"encoding/json"
	"testing"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/asl"
)

// TestTaskTimeoutDefault: the interpreter gets AWS's Task default
// (99999999 s) where a Task sets no timeout, not its own 60 seconds.
func TestTaskTimeoutDefault(t *testing.T) {
	interp := asl.New(asl.Options{})
	t.Cleanup(interp.Close)
	s := New(Options{Interpreter: interp})
	d, err := s.parseDefinition(t.Context(), `{"StartAt":"A","States":{
	  "A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:111111111111:function:a","Next":"B"},
	  "B":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:111111111111:function:b","TimeoutSeconds":30,"Next":"C"},
	  "C":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:111111111111:function:c:live","TimeoutSecondsPath":"$.t","End":true}}}`)
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		States map[string]struct {
			TimeoutSeconds *int64
		}
	}
	if err := json.Unmarshal(d.forInterpreter, &def); err != nil {
		t.Fatal(err)
	}
	got := func(name string) int64 {
		if p := def.States[name].TimeoutSeconds; p != nil {
			return *p
		}
		return 0
	}
	if got("A") != 99999999 || got("B") != 30 || got("C") != 0 {
		t.Fatalf("TimeoutSeconds given to the interpreter: A=%d B=%d C=%d", got("A"), got("B"), got("C"))
	}
	if d.tasks["B"].timeout != 30 || d.tasks["A"].timeout != 0 || d.tasks["C"].resource != "arn:aws:lambda:us-east-1:111111111111:function:c:live" {
		t.Fatalf("tasks = %+v", d.tasks)
	}
}
