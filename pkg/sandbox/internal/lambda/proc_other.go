//go:build !linux

package lambda

import "os/exec"

// isolate is a no-op where process groups and parent-death signals are not
// available; instances are then killed one process at a time.
func isolate(cmd *exec.Cmd) {}

func killGroup(pid int) {}

// peakMemoryMB is unknown off Linux.
func peakMemoryMB(pid int) int { return 0 }
