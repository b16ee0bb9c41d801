package sandboxtest

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// ZipFile is one entry of a deployment package.
type ZipFile struct {
	Name string
	Mode fs.FileMode
	Data []byte
}

// Zip builds a deployment package in memory; entries keep their Unix modes,
// as `zip` on Linux records them.
func Zip(t testing.TB, files ...ZipFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.Name, Method: zip.Deflate}
		h.SetMode(f.Mode)
		w, err := zw.CreateHeader(h)
		if err == nil {
			_, err = w.Write(f.Data)
		}
		if err != nil {
			t.Fatalf("zip %s: %v", f.Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("zip: %v", err)
	}
	return buf.Bytes()
}

var built struct {
	sync.Mutex
	zips map[string][]byte
}

// GoLambdaZip builds the Go main package in dir for the host's architecture
// the way Lambda's OS-only runtimes take it (a static executable named
// bootstrap, zipped) and returns the zip. Each package is built once per
// test process; the Go build cache makes later processes quick too.
func GoLambdaZip(t testing.TB, dir string) []byte {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	built.Lock()
	defer built.Unlock()
	if z, ok := built.zips[abs]; ok {
		return z
	}
	tmp, err := os.MkdirTemp("", "lambda-build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("build Lambda %s: %v", dir, err)
	}
	out := filepath.Join(tmp, "bootstrap")
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags=-s -w", "-tags", "lambda.norpc", "-o", out, ".")
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build Lambda %s: %v\n%s", dir, err, msg)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	z := Zip(t, ZipFile{Name: "bootstrap", Mode: 0o755, Data: bin})
	if built.zips == nil {
		built.zips = map[string][]byte{}
	}
	built.zips[abs] = z
	return z
}
