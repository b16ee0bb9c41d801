package handlers

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/stackerless/stackerless/pkg/runstate"
)

// errorType is the name aws-lambda-go reports for a handler's error.
func errorType(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

func TestClassifyNamesTheContract(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("save: %w", runstate.ErrConflict), "ConflictError"},
		{&runstate.LockedError{Holder: runstate.Lock{RunID: "r-1"}}, "LockedError"},
		{&runstate.FrozenError{}, "FrozenError"},
		{fmt.Errorf("load: %w", runstate.ErrNotFound), "RunNotFoundError"},
		{fmt.Errorf("advance: %w", context.DeadlineExceeded), "TransientError"},
		{&ConfigError{Err: errors.New("bad key")}, "ConfigError"},
		{errors.New("a bug"), "errorString"},
	}
	for _, c := range cases {
		got := classify(c.err)
		if name := errorType(got); name != c.want {
			t.Errorf("classify(%v) is a %s, want %s", c.err, name, c.want)
		}
		if got.Error() != c.err.Error() {
			t.Errorf("classify changed the message %q to %q", c.err, got)
		}
	}
	if classify(nil) != nil {
		t.Error("classify(nil) != nil")
	}
}
