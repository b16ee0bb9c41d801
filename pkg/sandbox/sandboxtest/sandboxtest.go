// Package sandboxtest starts a local AWS sandbox for a test.
package sandboxtest

import (
	"testing"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox"
)

// Start starts a sandbox on a free port with fast stack operations (50ms) and
// closes it when the test ends. opts adjust the options before the start.
func Start(t testing.TB, opts ...func(*sandbox.Options)) *sandbox.Sandbox {
	t.Helper()
	o := sandbox.DefaultOptions()
	o.Listen = "127.0.0.1:0"
	o.StackDuration = 50 * time.Millisecond
	for _, fn := range opts {
		fn(&o)
	}
	sb, err := sandbox.Start(t.Context(), o)
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
