package bundle

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Limits bound what an upload may unpack to, so that a hostile or mistaken
// archive cannot fill the function's memory or disk.
type Limits struct {
	// ArchiveBytes bounds the upload itself (the archive, or each plain file).
	ArchiveBytes int64
	// Files bounds the number of files.
	Files int
	// TotalBytes bounds the files' size once unpacked, all together.
	TotalBytes int64
}

// DefaultLimits fit a Lambda function's 512 MB of /tmp with room to spare,
// and any stacker project of templates and policies by far.
var DefaultLimits = Limits{ArchiveBytes: 50 << 20, Files: 2000, TotalBytes: 200 << 20}

// ArchiveError is an archive the runtime refuses: what is wrong, and how to
// fix the upload.
type ArchiveError struct {
	Archive string
	Msg     string
}

func (e *ArchiveError) Error() string { return fmt.Sprintf("bundle %s: %s", e.Archive, e.Msg) }

// IsArchive reports whether name is an archive Unpack reads (.zip, .tar.gz,
// .tgz), by its extension.
func IsArchive(name string) bool { return archiveKind(name) != "" }

func archiveKind(name string) string {
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".zip"):
		return "zip"
	case strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".tgz"):
		return "tar.gz"
	}
	return ""
}

// Unpack writes the regular files of the archive data (named name, whose
// extension says its format) into the empty directory dir, within lim. It
// refuses, naming the entry, what would leave dir or hide what the bundle
// holds: absolute paths, "..", links of any kind, devices, an entry given
// twice, and more files or bytes than lim allows (counted as they are
// written, not as headers claim).
func Unpack(name string, data []byte, dir string, lim Limits) error {
	if int64(len(data)) > lim.ArchiveBytes {
		return &ArchiveError{name, fmt.Sprintf("is %d bytes, more than the %d a bundle may be: leave out what the config does not read", len(data), lim.ArchiveBytes)}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("unpack %s: %w", name, err)
	}
	defer root.Close()
	u := &unpacker{name: name, root: root, lim: lim, seen: map[string]bool{}}
	switch archiveKind(name) {
	case "zip":
		return u.zip(data)
	case "tar.gz":
		return u.tarGz(data)
	}
	return &ArchiveError{name, "is not a .zip, .tar.gz or .tgz archive"}
}

type unpacker struct {
	name  string
	root  *os.Root
	lim   Limits
	seen  map[string]bool
	files int
	total int64
}

func (u *unpacker) errorf(format string, a ...any) error {
	return &ArchiveError{u.name, fmt.Sprintf(format, a...)}
}

func (u *unpacker) zip(data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return u.errorf("is not a readable zip archive: %v", err)
	}
	for _, f := range zr.File {
		mode := f.Mode()
		switch {
		case mode&fs.ModeSymlink != 0:
			return u.errorf("%s is a symlink, and a bundle holds files only: archive the file itself (zip without -y)", f.Name)
		case mode.IsDir():
			if err := u.dir(f.Name); err != nil {
				return err
			}
			continue
		case !mode.IsRegular():
			return u.errorf("%s is not a regular file (%v): a bundle holds files only", f.Name, mode.Type())
		}
		rc, err := f.Open()
		if err != nil {
			return u.errorf("%s cannot be read: %v", f.Name, err)
		}
		err = u.file(f.Name, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func (u *unpacker) tarGz(data []byte) error {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return u.errorf("is not a readable gzip stream: %v", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return u.errorf("is not a readable tar archive: %v", err)
		}
		switch h.Typeflag {
		case tar.TypeReg:
			if err := u.file(h.Name, tr); err != nil {
				return err
			}
		case tar.TypeDir:
			if err := u.dir(h.Name); err != nil {
				return err
			}
		case tar.TypeSymlink:
			return u.errorf("%s is a symlink to %s, and a bundle holds files only: archive the file itself (tar -h)", h.Name, h.Linkname)
		case tar.TypeLink:
			return u.errorf("%s is a hard link to %s, and a bundle holds files only: archive the file itself", h.Name, h.Linkname)
		case tar.TypeXGlobalHeader:
			// pax metadata for the whole archive (git archive writes one).
		default:
			return u.errorf("%s is not a regular file (tar type %q): a bundle holds files only", h.Name, h.Typeflag)
		}
	}
}

// local turns an entry name into a path inside the bundle, or says why not.
func (u *unpacker) local(name string) (string, error) {
	clean := strings.TrimPrefix(name, "./")
	switch {
	case strings.ContainsRune(name, 0):
		return "", u.errorf("an entry's name holds a NUL byte")
	case strings.HasPrefix(name, "/") || strings.Contains(name, `\`) || (len(name) > 1 && name[1] == ':'):
		return "", u.errorf("%s is an absolute path (or a Windows path): archive the bundle's files with paths relative to its root", name)
	case slices.Contains(strings.Split(name, "/"), ".."):
		return "", u.errorf("%s leads outside the bundle with \"..\": archive the bundle's files with paths relative to its root", name)
	}
	clean = path.Clean(clean)
	if clean == "." || !filepath.IsLocal(clean) {
		return "", u.errorf("%s is not a path inside the bundle", name)
	}
	return filepath.FromSlash(clean), nil
}

func (u *unpacker) dir(name string) error {
	if name == "./" || name == "." {
		return nil // the root itself
	}
	p, err := u.local(strings.TrimSuffix(name, "/"))
	if err != nil {
		return err
	}
	if err := u.root.MkdirAll(p, 0o755); err != nil {
		return u.errorf("%s cannot be made a directory: %v", name, err)
	}
	return nil
}

func (u *unpacker) file(name string, r io.Reader) error {
	p, err := u.local(name)
	if err != nil {
		return err
	}
	if u.seen[p] {
		return u.errorf("%s is in the archive twice: keep one", name)
	}
	u.seen[p] = true
	u.files++
	if u.files > u.lim.Files {
		return u.errorf("has more than %d files: leave out what the config does not read", u.lim.Files)
	}
	if dir := filepath.Dir(p); dir != "." {
		if err := u.root.MkdirAll(dir, 0o755); err != nil {
			return u.errorf("%s: cannot make its directory: %v", name, err)
		}
	}
	f, err := u.root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return u.errorf("%s cannot be written: %v", name, err)
	}
	// One byte past what is left tells a file that is too big.
	left := u.lim.TotalBytes - u.total
	n, err := io.Copy(f, io.LimitReader(r, left+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	u.total += n
	if n > left {
		return u.errorf("unpacks to more than %d bytes (at %s): leave out what the config does not read", u.lim.TotalBytes, name)
	}
	if err != nil {
		return u.errorf("%s cannot be unpacked: %v", name, err)
	}
	return nil
}

// Pack writes the regular files under dir as a gzipped tar, in path order
// with no times or owners, so the same files always give the same bytes.
// The runtime keeps the bundle a run was prepared from this way, so every
// later step reads exactly the same files.
func Pack(dir string, w io.Writer) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", p)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		h := &tar.Header{Typeflag: tar.TypeReg, Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(data)), Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if err != nil {
		return fmt.Errorf("pack bundle %s: %w", dir, err)
	}
	return nil
}
