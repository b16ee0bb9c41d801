// Package sandboxtest starts a local AWS sandbox for a test.
package sandboxtest

import (
	"testing"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox"
)

// Start starts a sandbox with Options(opts...) and closes it when the test
// ends.
func Start(t testing.TB, opts ...func(*sandbox.Options)) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.Start(t.Context(), Options(opts...))
	if err != nil {
		t.Fatalf("start sandbox: %v", err)
	}
	t.Cleanup(func() {
		if err := sb.Close(); err != nil {
			t.Errorf("close sandbox: %v", err)
		}
		if n := sb.Panics(); n > 0 {
			t.Errorf("sandbox recovered %d panics while serving requests", n)
		}
	})
	return sb
}

// Options are the options tests start a sandbox with: a free port and fast
// stack operations (50ms); opts adjust them. A sandbox that outlives one
// test (shared by a package's tests) starts with these too.
func Options(opts ...func(*sandbox.Options)) sandbox.Options {
	o := sandbox.DefaultOptions()
	o.Listen = "127.0.0.1:0"
	o.StackDuration = 50 * time.Millisecond
	for _, fn := range opts {
		fn(&o)
	}
	return o
}
