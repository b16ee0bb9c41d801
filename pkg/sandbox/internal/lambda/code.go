package lambda

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Deployment package limits.
const (
	// maxZipDirect is the largest zip a CreateFunction or UpdateFunctionCode
	// body carries (base64-encoded, it is the 69,905,067-byte request limit).
	maxZipDirect = 50 * 1024 * 1024
	// maxUnzipped is the largest a package may be once unzipped.
	maxUnzipped = 262_144_000
)

// code is an immutable deployment package, shared by the versions published
// from it. It is unzipped on the first cold start, into a directory removed
// when nothing uses it any more.
type code struct {
	zip      []byte
	sha256   string // base64, as CodeSha256
	unzipped int64
	token    string // names the package in Code.Location URLs

	mu    sync.Mutex
	users int    // versions and instances holding the package
	dir   string // "" until extracted
}

// newCode checks a zip as Lambda does when it receives it.
func newCode(data []byte) (*code, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, invalidParam("Could not unzip uploaded file. Please check your file, then try to upload again.")
	}
	var total int64
	for _, f := range zr.File {
		total += int64(f.UncompressedSize64)
		if total > maxUnzipped || f.UncompressedSize64 > maxUnzipped {
			return nil, invalidParam("Unzipped size must be smaller than %d bytes", maxUnzipped)
		}
		if !safePath(f.Name) {
			return nil, invalidParam("Could not unzip uploaded file. Please check your file, then try to upload again.")
		}
	}
	sum := sha256.Sum256(data)
	return &code{zip: data, sha256: base64.StdEncoding.EncodeToString(sum[:]), unzipped: total, token: randomHex(32)}, nil
}

// safePath refuses entries that would land outside the task root.
func safePath(name string) bool {
	clean := filepath.Clean("/" + name)
	return !strings.Contains(name, "\\") && clean != "/" && !strings.HasPrefix(name, "/") && !strings.Contains("/"+name+"/", "/../")
}

func (c *code) size() int64 { return int64(len(c.zip)) }

// acquire registers a user of the package.
func (c *code) acquire() {
	c.mu.Lock()
	c.users++
	c.mu.Unlock()
}

// release drops a user; the last one removes the unzipped directory.
func (c *code) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.users--
	if c.users <= 0 && c.dir != "" {
		_ = os.RemoveAll(c.dir)
		c.dir = ""
	}
}

// extract unzips the package under root once and returns its directory
// (the function's task root). File modes come from the zip: a bootstrap
// zipped without its execute bit fails to start, as on Lambda.
func (c *code) extract(root string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dir != "" {
		return c.dir, nil
	}
	dir, err := os.MkdirTemp(root, "task-")
	if err != nil {
		return "", fmt.Errorf("unzip function code: %w", err)
	}
	if err := unzipTo(c.zip, dir); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("unzip function code: %w", err)
	}
	c.dir = dir
	return dir, nil
}

func unzipTo(data []byte, dir string) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	for _, f := range zr.File {
		target := filepath.Join(dir, filepath.FromSlash(f.Name))
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		mode := f.Mode().Perm()
		if f.CreatorVersion>>8 != 3 { // not made on Unix: no permission bits recorded
			mode = 0o644
		}
		if err := writeEntry(f, target, mode|0o400); err != nil {
			return err
		}
	}
	return nil
}

func writeEntry(f *zip.File, target string, mode os.FileMode) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, io.LimitReader(rc, maxUnzipped)); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// InlineZip builds the package CloudFormation makes of inline source
// (Code.ZipFile): one file named for the runtime's handler module.
func InlineZip(runtime, source string) ([]byte, error) {
	name := "index.js"
	if strings.HasPrefix(runtime, "python") {
		name = "index.py"
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: name, Method: zip.Deflate}
	h.SetMode(0o644)
	w, err := zw.CreateHeader(h)
	if err == nil {
		_, err = io.WriteString(w, source)
	}
	if err == nil {
		err = zw.Close()
	}
	return buf.Bytes(), err
}
