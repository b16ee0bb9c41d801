//go:build !linux

package cdkcli

import "os/exec"

// isolate is a no-op where process groups and parent-death signals are not
// available: only the CLI itself is stopped.
func isolate(cmd *exec.Cmd) {}

func kill(cmd *exec.Cmd) error { return cmd.Process.Kill() }
