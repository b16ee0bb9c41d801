package lambda

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// hostArch is the Lambda architecture name of the machine the sandbox runs
// on, the only one whose binaries it can start.
func hostArch() string { return archName(runtime.GOARCH) }

func archName(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "arm64"
	}
	return goarch
}

var elfArch = map[elf.Machine]string{elf.EM_X86_64: "x86_64", elf.EM_AARCH64: "arm64", elf.EM_386: "i386", elf.EM_ARM: "arm"}

// checkBootstrap looks at the task root's bootstrap before starting it, so
// that a package built for another machine fails with an error naming both
// architectures instead of a bare "exec format error". Scripts (#!) run as
// they are. It returns the reason a bootstrap cannot start, or "".
func checkBootstrap(dir, functionArch string) string {
	path := filepath.Join(dir, "bootstrap")
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]"
	}
	if err != nil {
		return "fork/exec /var/task/bootstrap: " + err.Error()
	}
	defer f.Close()
	head := make([]byte, 4)
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, []byte(elf.ELFMAG)) {
		if bytes.HasPrefix(head, []byte("#!")) {
			return ""
		}
		return "fork/exec /var/task/bootstrap: exec format error (bootstrap is neither an ELF executable nor a #! script)"
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return fmt.Sprintf("fork/exec /var/task/bootstrap: exec format error (%v)", err)
	}
	got := elfArch[ef.Machine]
	if got == "" {
		got = ef.Machine.String()
	}
	switch {
	case got != functionArch:
		return fmt.Sprintf("fork/exec /var/task/bootstrap: exec format error (bootstrap is built for %s but the function's architecture is %s)", got, functionArch)
	case got != hostArch():
		return fmt.Sprintf("fork/exec /var/task/bootstrap: exec format error (bootstrap and function are %s, but the sandbox runs on %s and starts only %s binaries: build with GOARCH=%s and set Architectures to %s)",
			got, hostArch(), hostArch(), runtime.GOARCH, hostArch())
	}
	return ""
}
