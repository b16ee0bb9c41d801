package bundle_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackerless/stackerless/pkg/bundle"
)

// entry is one member of a test archive: a file (Body), a directory (Dir),
// or a link (Link, a symlink unless Hard).
type entry struct {
	Name, Body, Link string
	Dir, Hard        bool
}

func zipOf(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate}
		body := e.Body
		switch {
		case e.Dir:
			h.SetMode(fs.ModeDir | 0o755)
		case e.Link != "":
			h.SetMode(fs.ModeSymlink | 0o777)
			body = e.Link
		default:
			h.SetMode(0o644)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tarGzOf(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e.Body))}
		switch {
		case e.Dir:
			h.Typeflag, h.Size, h.Mode = tar.TypeDir, 0, 0o755
		case e.Link != "" && e.Hard:
			h.Typeflag, h.Size, h.Linkname = tar.TypeLink, 0, e.Link
		case e.Link != "":
			h.Typeflag, h.Size, h.Linkname = tar.TypeSymlink, 0, e.Link
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.Body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestUnpackWritesFiles(t *testing.T) {
	entries := []entry{
		{Name: "./", Dir: true},
		{Name: "templates/", Dir: true},
		{Name: "stacker.yaml", Body: "namespace: x\n"},
		{Name: "./templates/vpc.yaml", Body: "Resources: {}\n"},
		{Name: ".aws/config", Body: "[profile master]\n"},
		{Name: "empty/", Dir: true},
	}
	for name, data := range map[string][]byte{"b.zip": zipOf(t, entries...), "b.tar.gz": tarGzOf(t, entries...), "b.TGZ": tarGzOf(t, entries...)} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := bundle.Unpack(name, data, dir, bundle.DefaultLimits); err != nil {
				t.Fatalf("Unpack: %v", err)
			}
			for rel, want := range map[string]string{"stacker.yaml": "namespace: x\n", "templates/vpc.yaml": "Resources: {}\n", ".aws/config": "[profile master]\n"} {
				got, err := os.ReadFile(filepath.Join(dir, rel))
				if err != nil || string(got) != want {
					t.Errorf("%s = %q, %v; want %q", rel, got, err, want)
				}
			}
			if info, err := os.Stat(filepath.Join(dir, "empty")); err != nil || !info.IsDir() {
				t.Errorf("empty/: %v", err)
			}
		})
	}
}

func TestUnpackRefuses(t *testing.T) {
	small := bundle.Limits{ArchiveBytes: 1 << 20, Files: 3, TotalBytes: 1 << 20}
	zeros := strings.Repeat("\x00", 10<<20) // 10 MiB that deflate to ~10 KiB
	tests := []struct {
		name    string
		entries []entry
		want    string
	}{
		{"zip-slip", []entry{{Name: "../../etc/cron.d/x", Body: "* * * * * root sh"}}, `../../etc/cron.d/x leads outside the bundle with ".."`},
		{"zip-slip inside", []entry{{Name: "templates/../../x", Body: "x"}}, `templates/../../x leads outside the bundle with ".."`},
		{"absolute path", []entry{{Name: "/etc/passwd", Body: "x"}}, `/etc/passwd is an absolute path (or a Windows path)`},
		{"windows path", []entry{{Name: `C:\x\stacker.yaml`, Body: "x"}}, `is an absolute path (or a Windows path)`},
		{"symlink", []entry{{Name: "templates/vpc.yaml", Link: "/etc/passwd"}}, `templates/vpc.yaml is a symlink`},
		{"symlink inside", []entry{{Name: "a.yaml", Body: "x"}, {Name: "b.yaml", Link: "a.yaml"}}, `b.yaml is a symlink`},
		{"twice", []entry{{Name: "stacker.yaml", Body: "a"}, {Name: "./stacker.yaml", Body: "b"}}, `./stacker.yaml is in the archive twice: keep one`},
		{"too many files", []entry{{Name: "a", Body: "1"}, {Name: "b", Body: "2"}, {Name: "c", Body: "3"}, {Name: "d", Body: "4"}},
			`has more than 3 files: leave out what the config does not read`},
		{"zip bomb", []entry{{Name: "stacker.yaml", Body: "x"}, {Name: "bomb.bin", Body: zeros}}, `unpacks to more than 1048576 bytes (at bomb.bin)`},
	}
	for _, tt := range tests {
		for _, format := range []string{"zip", "tar.gz"} {
			t.Run(tt.name+" "+format, func(t *testing.T) {
				var data []byte
				if format == "zip" {
					data = zipOf(t, tt.entries...)
				} else {
					data = tarGzOf(t, tt.entries...)
				}
				if int64(len(data)) > small.ArchiveBytes {
					t.Fatalf("the archive is %d bytes: the test wants it under the archive limit", len(data))
				}
				outside := t.TempDir()
				dir := filepath.Join(outside, "bundle")
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				err := bundle.Unpack("upload."+format, data, dir, small)
				var ae *bundle.ArchiveError
				if !errors.As(err, &ae) || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "bundle upload."+format+": ") {
					t.Fatalf("Unpack = %v; want an ArchiveError containing %q", err, tt.want)
				}
				// Nothing was written outside the bundle.
				entries, _ := os.ReadDir(outside)
				if len(entries) != 1 {
					t.Errorf("%d entries beside the bundle directory", len(entries))
				}
			})
		}
	}
	hard := tarGzOf(t, entry{Name: "a", Body: "x"}, entry{Name: "b", Link: "a", Hard: true})
	if err := bundle.Unpack("h.tar.gz", hard, t.TempDir(), small); err == nil || !strings.Contains(err.Error(), "b is a hard link to a") {
		t.Errorf("hard link: %v", err)
	}
}

func TestUnpackRefusesArchives(t *testing.T) {
	lim := bundle.Limits{ArchiveBytes: 100, Files: 10, TotalBytes: 1000}
	for _, tt := range []struct{ name, data, want string }{
		{"big.zip", strings.Repeat("x", 101), "bundle big.zip: is 101 bytes, more than the 100 a bundle may be"},
		{"bad.zip", "not a zip", "bundle bad.zip: is not a readable zip archive"},
		{"bad.tar.gz", "not gzip", "bundle bad.tar.gz: is not a readable gzip stream"},
		{"x.rar", "x", "bundle x.rar: is not a .zip, .tar.gz or .tgz archive"},
	} {
		if err := bundle.Unpack(tt.name, []byte(tt.data), t.TempDir(), lim); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Unpack(%s) = %v; want %q", tt.name, err, tt.want)
		}
	}
}

// Pack gives the same bytes for the same files, and Unpack reads them back.
func TestPackRoundTrip(t *testing.T) {
	dir := t.TempDir()
	layout(t, dir, map[string]string{"stacker.yaml": "namespace: x\n", "templates/a/vpc.yaml": "R: 1\n", ".aws/config": "[default]\n"})
	var one, two bytes.Buffer
	if err := bundle.Pack(dir, &one); err != nil {
		t.Fatal(err)
	}
	if err := bundle.Pack(dir, &two); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(one.Bytes(), two.Bytes()) {
		t.Error("Pack gave different bytes for the same files")
	}
	back := t.TempDir()
	if err := bundle.Unpack("bundle.tar.gz", one.Bytes(), back, bundle.DefaultLimits); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(back, "templates", "a", "vpc.yaml")); err != nil || string(got) != "R: 1\n" {
		t.Errorf("unpacked template %q, %v", got, err)
	}
}
