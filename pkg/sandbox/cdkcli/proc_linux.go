package cdkcli

import (
	"os/exec"
	"syscall"
)

// isolate puts the CLI in its own process group, so that stopping it stops
// the app process it started too, and has the kernel stop it should the
// test process die first.
func isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// kill stops the CLI's process group.
func kill(cmd *exec.Cmd) error {
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
