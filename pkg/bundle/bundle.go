// Package bundle keeps a config to the files of its bundle: the directory the
// serverless runtime unpacks an upload into (stacker.yaml, templates,
// .aws/config, environment file).
//
// On a laptop a config may read files anywhere, as stacker allows: templates
// under ../templates, policies by absolute path. The runtime has only the
// bundle, and must not read anything else of the machine it runs on, whether
// a config asks for it with ../, an absolute path or a symlink. Check says,
// before anything runs, which files a config would read from outside; Files
// reads inside the bundle only, for the reads themselves.
package bundle

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/stackerless/stackerless/pkg/config"
	"github.com/stackerless/stackerless/pkg/lookup"
)

// Check verifies that every file cfg reads is inside the bundle directory
// dir: each stack's template (template_path, searched as stacker does: from
// the working directory cfg.Root, then sys_path), its stack_policy_path, and
// the file:// values of its lookups (from the config's directory cfg.Dir).
// Files are looked up through os.OpenRoot(dir), so a symlink inside the
// bundle that leads out of it is refused too. cfg is parsed with its Root
// and its file inside dir (the runtime's working directory is the bundle).
//
// It returns nil, config.Errors with one error per problem, each naming the
// key, the path as written and how to fix it, or an error opening dir. A
// file:// path computed by a nested lookup is only known when the lookup
// runs: read it with Files to keep it inside the bundle.
func Check(dir string, cfg *config.Config) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("check bundle %s: %w", dir, err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return fmt.Errorf("check bundle %s: %w", dir, err)
	}
	defer root.Close()
	c := &checker{dir: abs, root: root}
	var errs config.Errors
	for _, s := range cfg.Stacks {
		if s.TemplatePath != "" {
			if msg := c.template(cfg, s.TemplatePath); msg != "" {
				errs = append(errs, s.Errorf("template_path", "%s", msg))
			}
		}
		if s.StackPolicyPath != "" {
			if msg := c.file(s.StackPolicyPath, cfg.Path(s.StackPolicyPath), fromRoot); msg != "" {
				errs = append(errs, s.Errorf("stack_policy_path", "%s", msg))
			}
		}
		for _, name := range slices.Sorted(maps.Keys(s.Variables)) {
			for _, ref := range lookup.FileRefs(s.Variables[name]) {
				if ref.Path == "" {
					continue // validation reports an empty path
				}
				p := filepath.Clean(ref.Path)
				if msg := c.file(p, cfg.FilePath(p), fromConfig); msg != "" {
					errs = append(errs, s.Errorf("variables."+name, "file://%s", msg))
				}
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	errs.Sort()
	return errs
}

// base says what a path is relative to, for the fix an error suggests.
type base string

const (
	fromRoot   base = "the bundle's root"
	fromConfig base = "the config's directory"
)

type checker struct {
	dir  string
	root *os.Root
}

// rel is full relative to the bundle, or false when full is outside it.
func (c *checker) rel(full string) (string, bool) {
	rel, err := filepath.Rel(c.dir, full)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return rel, true
}

// file checks one file the config reads: written is the path as the config
// gives it, full where it resolves. It returns "" when the file is in the
// bundle, else what is wrong and how to fix it.
func (c *checker) file(written, full string, b base) string {
	if msg := c.placement(written, full, b); msg != "" {
		return msg
	}
	rel, _ := c.rel(full)
	info, err := c.root.Stat(rel)
	switch {
	case err == nil && info.Mode().IsRegular():
		return ""
	case err == nil:
		return fmt.Sprintf("%s is not a file", written)
	}
	return c.missing(written, full, err)
}

// placement refuses an absolute path and one that leaves the bundle, before
// anything is read.
func (c *checker) placement(written, full string, b base) string {
	fix := fmt.Sprintf("copy the file into the bundle and give its path relative to %s", b)
	if filepath.IsAbs(written) {
		return fmt.Sprintf("%s is an absolute path, and the runtime unpacks the bundle in a new place each run: %s", written, fix)
	}
	if _, ok := c.rel(full); !ok {
		return fmt.Sprintf("%s is outside the bundle directory, and the runtime has only the bundle's files: %s", written, fix)
	}
	return ""
}

// missing explains why a path inside the bundle could not be opened through
// the root: a symlink out of the bundle, or no such file.
func (c *checker) missing(written, full string, err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Sprintf("%s is not in the bundle: add it to the upload", written)
	}
	if _, statErr := os.Lstat(full); statErr == nil {
		// The path exists when symlinks on the way are followed freely,
		// but not through the root: a link leads out of the bundle.
		return fmt.Sprintf("%s leads outside the bundle directory through a symlink, and the runtime has only the bundle's files: "+
			"put the file itself in the bundle instead of the link", written)
	}
	return fmt.Sprintf("%s cannot be read in the bundle: %v", written, err)
}

// template finds a template as stacker's get_template_path does, among the
// bundle's files only.
func (c *checker) template(cfg *config.Config, p string) string {
	candidates := cfg.TemplateSearch(p)
	var reasons []string
	for _, full := range candidates {
		if msg := c.placement(p, full, fromRoot); msg != "" {
			reasons = append(reasons, msg)
			continue
		}
		rel, _ := c.rel(full)
		info, err := c.root.Stat(rel)
		if err == nil && info.Mode().IsRegular() {
			return ""
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			reasons = append(reasons, c.missing(p, full, err))
		}
	}
	if len(reasons) > 0 {
		return reasons[0]
	}
	searched := make([]string, len(candidates))
	for i, full := range candidates {
		searched[i], _ = c.rel(full)
	}
	return fmt.Sprintf("Could not find template %s in the bundle (searched %s): add it to the upload", p, strings.Join(searched, ", "))
}

// Files reads files by their resolved (absolute) paths, but only inside the
// bundle directory and through os.Root, so that no path or symlink reaches
// outside it. It gives the runtime the same reads as the CLI, confined.
type Files struct {
	// Dir is the bundle directory, absolute.
	Dir string
}

// ReadFile reads a file of the bundle.
func (f Files) ReadFile(path string) ([]byte, error) {
	rel, root, err := f.open(path)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return root.ReadFile(rel)
}

// IsFile reports whether path is a regular file of the bundle.
func (f Files) IsFile(path string) bool {
	rel, root, err := f.open(path)
	if err != nil {
		return false
	}
	defer root.Close()
	info, err := root.Stat(rel)
	return err == nil && info.Mode().IsRegular()
}

func (f Files) open(path string) (string, *os.Root, error) {
	c := checker{dir: f.Dir}
	rel, ok := c.rel(path)
	if !ok {
		return "", nil, fmt.Errorf("read %s: outside the bundle directory %s", path, f.Dir)
	}
	root, err := os.OpenRoot(f.Dir)
	if err != nil {
		return "", nil, fmt.Errorf("open bundle %s: %w", f.Dir, err)
	}
	return rel, root, nil
}
