package bundle_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackerless/stackerless/pkg/bundle"
	"github.com/stackerless/stackerless/pkg/config"
)

// layout writes files (path -> content) under dir.
func layout(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for path, text := range files {
		full := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// parse parses a config that lives at file inside the bundle dir, with the
// bundle as the working directory, as the runtime does.
func parse(t *testing.T, dir, file, src string) *config.Config {
	t.Helper()
	c, err := config.ParseIn(dir, file, []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func errorLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("error is %T, not config.Errors: %v", err, err)
	}
	return strings.Split(es.Error(), "\n")
}

func TestCheckAcceptsWhatIsInside(t *testing.T) {
	dir := t.TempDir()
	layout(t, dir, map[string]string{
		"conf/prod.yaml":     "",
		"conf/userdata.sh":   "#!/bin/sh\n",
		"templates/vpc.yaml": "Resources: {}\n",
		"lib/app.yaml":       "Resources: {}\n",
		"policy.json":        "{}\n",
	})
	// Inside the bundle, a symlink is fine.
	if err := os.Symlink("vpc.yaml", filepath.Join(dir, "templates", "link.yaml")); err != nil {
		t.Fatal(err)
	}
	c := parse(t, dir, "conf/prod.yaml", `namespace: x
sys_path: lib
stacks:
  - name: vpc
    template_path: templates/vpc.yaml
    stack_policy_path: policy.json
    variables:
      UserData: ${file parameterized:file://userdata.sh}
      Nested: ${file plain:file://${envvar WHERE}}
  - name: app
    template_path: app.yaml
  - name: linked
    template_path: templates/link.yaml
`)
	if err := bundle.Check(dir, c); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

func TestCheckRefusesWhatLeaves(t *testing.T) {
	outside := t.TempDir()
	dir := filepath.Join(outside, "bundle")
	layout(t, outside, map[string]string{
		"templates/vpc.yaml": "Resources: {}\n",
		"secret.txt":         "s3cret\n",
		"bundle/conf/c.yaml": "",
		"bundle/dir/x":       "",
	})
	for link, target := range map[string]string{
		"conf/hostname":  filepath.Join(outside, "secret.txt"),
		"templates":      filepath.Join(outside, "templates"),
		"conf/relative":  "../../secret.txt",
		"conf/dangling":  filepath.Join(outside, "nope"),
		"conf/loop-back": "../conf/c.yaml",
	} {
		full := filepath.Join(dir, link)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, full); err != nil {
			t.Fatal(err)
		}
	}
	c := parse(t, dir, "conf/c.yaml", `namespace: x
stacks:
  - name: up
    template_path: ../templates/vpc.yaml
  - name: abs
    template_path: `+filepath.Join(outside, "templates", "vpc.yaml")+`
  - name: linked-dir
    template_path: templates/vpc.yaml
    stack_policy_path: /etc/hostname
  - name: missing
    template_path: nope.yaml
  - name: dir
    template_path: dir
  - name: files
    template_path: conf/loop-back
    variables:
      Host: ${file plain:file://hostname}
      Up: ${file plain:file://../../secret.txt}
      Rel: ${file plain:file://relative}
      Abs: ${envvar file:///etc/hostname}
      Gone: ${file plain:file://dangling}
`)
	fixRoot := "copy the file into the bundle and give its path relative to the bundle's root"
	fixConf := "copy the file into the bundle and give its path relative to the config's directory"
	symlink := "leads outside the bundle directory through a symlink, and the runtime has only the bundle's files: put the file itself in the bundle instead of the link"
	want := []string{
		"conf/c.yaml:4:5: stacks[0].template_path: ../templates/vpc.yaml is outside the bundle directory, and the runtime has only the bundle's files: " + fixRoot,
		"conf/c.yaml:6:5: stacks[1].template_path: " + filepath.Join(outside, "templates", "vpc.yaml") + " is an absolute path, and the runtime unpacks the bundle in a new place each run: " + fixRoot,
		"conf/c.yaml:8:5: stacks[2].template_path: templates/vpc.yaml " + symlink,
		"conf/c.yaml:9:5: stacks[2].stack_policy_path: /etc/hostname is an absolute path, and the runtime unpacks the bundle in a new place each run: " + fixRoot,
		"conf/c.yaml:11:5: stacks[3].template_path: Could not find template nope.yaml in the bundle (searched nope.yaml): add it to the upload",
		"conf/c.yaml:13:5: stacks[4].template_path: Could not find template dir in the bundle (searched dir): add it to the upload",
		"conf/c.yaml:17:7: stacks[5].variables.Host: file://hostname " + symlink,
		"conf/c.yaml:18:7: stacks[5].variables.Up: file://../../secret.txt is outside the bundle directory, and the runtime has only the bundle's files: " + fixConf,
		"conf/c.yaml:19:7: stacks[5].variables.Rel: file://relative " + symlink,
		"conf/c.yaml:20:7: stacks[5].variables.Abs: file:///etc/hostname is an absolute path, and the runtime unpacks the bundle in a new place each run: " + fixConf,
		"conf/c.yaml:21:7: stacks[5].variables.Gone: file://dangling " + symlink,
	}
	got := errorLines(t, bundle.Check(dir, c))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Files reads only inside the bundle, whatever the path or its symlinks say.
func TestFilesStayInside(t *testing.T) {
	outside := t.TempDir()
	dir := filepath.Join(outside, "bundle")
	layout(t, outside, map[string]string{"secret.txt": "s3cret", "bundle/in.txt": "in"})
	if err := os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(dir, "out.txt")); err != nil {
		t.Fatal(err)
	}
	f := bundle.Files{Dir: dir}
	if got, err := f.ReadFile(filepath.Join(dir, "in.txt")); err != nil || string(got) != "in" {
		t.Errorf("ReadFile(in.txt) = %q, %v", got, err)
	}
	for _, path := range []string{filepath.Join(dir, "out.txt"), filepath.Join(outside, "secret.txt"), filepath.Join(dir, "..", "secret.txt")} {
		if got, err := f.ReadFile(path); err == nil {
			t.Errorf("ReadFile(%s) read %q from outside the bundle", path, got)
		}
	}
	if !f.IsFile(filepath.Join(dir, "in.txt")) || f.IsFile(filepath.Join(dir, "out.txt")) || f.IsFile(dir) {
		t.Error("IsFile disagrees with what the bundle holds")
	}
}
