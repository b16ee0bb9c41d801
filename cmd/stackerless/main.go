// Command stackerless deploys stacker configurations without a laptop; its
// sandbox verb runs the local AWS the tests and the demo use.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "stackerless:", err)
		os.Exit(1)
	}
}
