package deploy_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackerless/stackerless/pkg/config"
	"github.com/stackerless/stackerless/pkg/deploy"
	"github.com/stackerless/stackerless/pkg/lookup"
)

// pathsLayout is a working directory in the shape of many stacker repos:
// configs under conf/, templates beside them under templates/, more under
// a sys_path directory, and values next to the config. A file of the same
// name in the working directory must not be read for a file:// value.
func pathsLayout(t *testing.T) (work string) {
	t.Helper()
	top := t.TempDir()
	work = filepath.Join(top, "work")
	echo := "Parameters:\n  In:\n    Type: String\n    Default: ''\nResources:\n  H:\n    Type: AWS::CloudFormation::WaitConditionHandle\nOutputs:\n  Out:\n    Value: !Ref In\n"
	for path, text := range map[string]string{
		"work/conf/stacker.yaml": `namespace: paths
sys_path: ./lib
stacks:
  - name: up
    template_path: ../shared/echo.yaml
    variables:
      In: ${file plain:file://value.txt}
  - name: searched
    template_path: echo2.yaml
    variables:
      In: ${file plain:file://../work-value.txt}
  - name: absolute
    template_path: ` + filepath.Join(top, "shared", "echo.yaml") + `
    stack_policy_path: ../shared/policy.json
    variables:
      In: ${file plain:file://` + filepath.Join(top, "shared", "abs.txt") + `}
`,
		"work/conf/value.txt":  "from-conf",
		"work/value.txt":       "from-working-directory",
		"work/work-value.txt":  "from-parent-of-conf",
		"work/lib/echo2.yaml":  echo,
		"shared/echo.yaml":     echo,
		"shared/abs.txt":       "absolute",
		"shared/policy.json":   `{"Statement":[]}`,
		"work/conf/ignore.txt": "",
	} {
		full := filepath.Join(top, path)
		write(t, full, text)
	}
	return work
}

// Paths resolve as stacker resolves them: file:// from the config's
// directory, template_path from the working directory then sys_path, and
// ../ or absolute paths are fine on a laptop.
func TestPathsAsStacker(t *testing.T) {
	work := pathsLayout(t)
	p, err := deploy.Load(deploy.Options{ConfigPath: "conf/stacker.yaml", Root: work})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	reg := lookup.NewRegistry(lookup.Options{Files: lookup.Dir(p.Config.Dir)})
	for stack, want := range map[string]string{"up": "from-conf", "searched": "from-parent-of-conf", "absolute": "absolute"} {
		r, err := p.Render(t.Context(), reg, p.Config.Stack(stack), "", "", nil)
		if err != nil {
			t.Fatalf("render %s: %v", stack, err)
		}
		if len(r.Parameters) != 1 || r.Parameters[0].Value != want {
			t.Errorf("%s parameters %+v, want In=%s", stack, r.Parameters, want)
		}
	}
	run, err := p.Plan("build", deploy.Selection{})
	if err != nil {
		t.Fatal(err)
	}
	if got := run.Stack("absolute").Spec.StackPolicy; got != `{"Statement":[]}` {
		t.Errorf("stack policy %q, want the one beside the templates", got)
	}
}

// The same layout in a bundle: what lies outside is refused, every case at
// once, naming the key, the path and the fix.
func TestBundleRefusesOutside(t *testing.T) {
	work := pathsLayout(t)
	_, err := deploy.Load(deploy.Options{ConfigPath: "conf/stacker.yaml", Root: work, Bundle: true})
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v, want config errors", err)
	}
	want := []string{
		"conf/stacker.yaml:5:5: stacks[0].template_path: ../shared/echo.yaml is outside the bundle directory",
		"conf/stacker.yaml:13:5: stacks[2].template_path: /",
		"conf/stacker.yaml:14:5: stacks[2].stack_policy_path: ../shared/policy.json is outside the bundle directory",
		"conf/stacker.yaml:16:7: stacks[2].variables.In: file:///",
	}
	if len(es) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(es), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(es[i].Error(), w) || !strings.Contains(es[i].Error(), "copy the file into the bundle") {
			t.Errorf("error %d = %q, want it to start with %q and say how to fix it", i, es[i], w)
		}
	}

	t.Run("a symlink out of the bundle", func(t *testing.T) {
		secret := filepath.Join(t.TempDir(), "secret.txt")
		write(t, secret, "s3cret")
		dir := t.TempDir()
		write(t, filepath.Join(dir, "stacker.yaml"), "namespace: b\nstacks:\n  - name: a\n    template_path: t.yaml\n    variables:\n      In: ${file plain:file://host}\n")
		write(t, filepath.Join(dir, "t.yaml"), "Resources: {}\n")
		if err := os.Symlink(secret, filepath.Join(dir, "host")); err != nil {
			t.Fatal(err)
		}
		_, err := deploy.Load(deploy.Options{ConfigPath: "stacker.yaml", Root: dir, Bundle: true})
		if err == nil || !strings.Contains(err.Error(), "stacker.yaml:6:7: stacks[0].variables.In: file://host leads outside the bundle directory through a symlink") {
			t.Fatalf("err = %v", err)
		}
		// The CLI reads it, as stacker would.
		if _, err := deploy.Load(deploy.Options{ConfigPath: "stacker.yaml", Root: dir}); err != nil {
			t.Fatalf("outside a bundle: %v", err)
		}
	})
}

// Every problem comes out at once: keys that need Python do not hide the
// class_path and template errors behind them.
func TestLoadReportsEverything(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "stacker.yaml"), `namespace: all
sys_path: ./
package_sources:
  git:
    - uri: git@github.com:acme/blueprints.git
pre_build:
  - path: acme.hooks.setup
stacks:
  - name: mine
    class_path: acme.blueprints.Thing
  - name: gone
    template_path: missing.yaml
  - name: bad_name
    class_path: stacker_blueprints.vpc.VPC
`)
	_, err := deploy.Load(deploy.Options{ConfigPath: "stacker.yaml", Root: dir})
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v", err)
	}
	var keys []string
	for _, e := range es {
		keys = append(keys, e.Key)
	}
	want := []string{"package_sources", "pre_build", "stacks[0].class_path", "stacks[1].template_path", "stacks[2].name"}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Fatalf("errors on %v, want %v:\n%v", keys, want, err)
	}
	for _, want := range []string{
		"class_path acme.blueprints.Thing",
		"stacker build --dump DIR",
		"Could not find template missing.yaml",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}

	t.Run("graph needs only the schema and the dependencies", func(t *testing.T) {
		write(t, filepath.Join(dir, "graph.yaml"), "namespace: g\nsys_path: ./\nstacks:\n  - name: mine\n    class_path: acme.blueprints.Thing\n    profile: nowhere\n"+
			"  - name: gone\n    template_path: missing.yaml\n    variables:\n      In: ${output mine::Out}\n")
		checked := false
		p, err := deploy.Load(deploy.Options{ConfigPath: "graph.yaml", Root: dir, Checks: deploy.CheckGraph,
			HasProfile:   func(string) bool { checked = true; return false },
			CheckProfile: func(string) error { checked = true; return errors.New("no") }})
		if err != nil {
			t.Fatal(err)
		}
		if checked {
			t.Error("graph checked a profile")
		}
		if deps := p.Graph.Deps("gone"); len(deps) != 1 || deps[0] != "mine" {
			t.Errorf("gone depends on %v, want [mine]", deps)
		}
	})
}

// CheckProfile runs for each profile the config uses, once, and its error
// names the stack's key.
func TestCheckProfile(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "t.yaml"), "Resources: {}\n")
	write(t, filepath.Join(dir, "stacker.yaml"), "namespace: prof\nstacks:\n  - name: a\n    template_path: t.yaml\n    profile: loop\n"+
		"  - name: b\n    template_path: t.yaml\n    profile: loop\n  - name: c\n    template_path: t.yaml\n")
	calls := map[string]int{}
	opts := deploy.Options{ConfigPath: "stacker.yaml", Root: dir, Profile: "fine", CheckProfile: func(name string) error {
		calls[name]++
		if name == "loop" {
			return errors.New("profile loop: source_profile loop loop -> other -> loop")
		}
		return nil
	}}
	_, err := deploy.Load(opts)
	if err == nil || !strings.Contains(err.Error(), "stacker.yaml:5:5: stacks[0].profile: profile loop: source_profile loop") ||
		!strings.Contains(err.Error(), "stacker.yaml:8:5: stacks[1].profile:") {
		t.Fatalf("err = %v", err)
	}
	if calls["loop"] != 1 || calls["fine"] != 1 {
		t.Errorf("profile checks %v, want each profile once", calls)
	}
	opts.Checks = deploy.CheckOffline
	if _, err := deploy.Load(opts); err != nil {
		t.Errorf("--dump checked profiles: %v", err)
	}
}

// In a bundle, a file:// path that only a nested lookup computes is read
// through the bundle too: it cannot reach outside when the run renders it.
func TestBundleReadsInsideAtRunTime(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "bundle")
	secret := filepath.Join(top, "outside.txt")
	write(t, secret, "s3cret")
	write(t, filepath.Join(dir, "stacker.yaml"), "namespace: b\nstacker_bucket: ''\nstacks:\n  - name: a\n    template_path: echo.yaml\n"+
		"    variables:\n      In: ${file plain:file://${envvar WHERE}}\n")
	write(t, filepath.Join(dir, "echo.yaml"), "Parameters:\n  In:\n    Type: String\nResources:\n  H:\n    Type: AWS::CloudFormation::WaitConditionHandle\n")
	write(t, filepath.Join(dir, "in.txt"), "inside")
	if err := os.Symlink(secret, filepath.Join(dir, "host")); err != nil {
		t.Fatal(err)
	}
	for where, want := range map[string]string{"in.txt": "inside", "host": "", "../outside.txt": "", secret: ""} {
		p, err := deploy.Load(deploy.Options{ConfigPath: "stacker.yaml", Root: dir, Bundle: true,
			Getenv: func(string) (string, bool) { return where, true }})
		if err != nil {
			t.Fatal(err)
		}
		run, err := p.Plan("build", deploy.Selection{})
		if err != nil {
			t.Fatal(err)
		}
		prep, err := p.Prepare(t.Context(), run, run.Stack("a"), nil)
		switch {
		case want != "" && (err != nil || len(prep.Input.Parameters) != 1 || prep.Input.Parameters[0].Value != want):
			t.Errorf("%s: %v, %v", where, prep, err)
		case want == "" && err == nil:
			t.Errorf("%s was read from outside the bundle: %v", where, prep.Input.Parameters)
		}
	}
}
