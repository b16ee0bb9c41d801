package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// copyTree copies testdata/<src> into the working directory and returns
// where it is.
func (c *cli) copyTree(src string) string {
	c.t.Helper()
	from := filepath.Join("testdata", src)
	to := filepath.Join(c.dir, filepath.Base(src))
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return to
}

// Configs in the shapes of public stacker repositories (see
// testdata/realworld/README.md): each graphs exactly as recorded and
// renders with --dump, with no AWS call; those that need no Python deploy.
func TestFunctionalRealWorldConfigs(t *testing.T) {
	c, sb := newCLI(t)
	cases := []struct {
		name, wd string
		args     []string
		dumps    []string // stack_templates/<fqn> directories --dump writes
	}{
		{"network", "network", []string{"conf/prod.env", "conf/network.yaml"},
			[]string{"rw-net-vpc", "rw-net-public-a", "rw-net-private-a", "rw-net-bastion"}},
		{"layered", "layered", []string{"env/dev.yaml", "stacker.yaml"},
			[]string{"rw-layered-bucket", "rw-layered-queue", "rw-layered-legacy", "rw-layered-pinned"}},
		{"conf-dir", "conf-dir/conf", []string{"prod.yaml"}, []string{"rw-confdir-app"}},
		{"python-only", "python-only", []string{"stacker.yaml"}, nil},
	}
	for _, tc := range cases {
		root := c.copyTree(filepath.Join("realworld", tc.name))
		wd := filepath.Join(filepath.Dir(root), tc.wd)
		t.Run(tc.name+" graph", func(t *testing.T) {
			t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // any AWS call would fail
			want, err := os.ReadFile(filepath.Join(root, "graph.json"))
			if err != nil {
				t.Fatal(err)
			}
			stdout, _, code := c.runSplitIn(wd, "", append([]string{"graph", "-f", "json"}, tc.args...)...)
			if code != 0 || stdout != string(want) {
				t.Errorf("exit %d, graph:\n%s\nwant:\n%s", code, stdout, want)
			}
		})
		t.Run(tc.name+" dump", func(t *testing.T) {
			t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
			dir := t.TempDir()
			r := c.runIn(wd, "", append([]string{"build", "--dump", dir}, tc.args...)...)
			if tc.dumps == nil {
				return // python-only: see below
			}
			r.expect(t, 0, `Dumping "Create/Update stacks"...`)
			for _, fqn := range tc.dumps {
				if m, _ := filepath.Glob(filepath.Join(dir, "stack_templates", fqn, "*.json")); len(m) != 1 {
					t.Errorf("dump wrote %v for %s", m, fqn)
				}
			}
		})
	}

	t.Run("python-only: every problem at once, with the way out", func(t *testing.T) {
		r := c.runIn(filepath.Join(c.dir, "python-only"), "", "build", "stacker.yaml")
		r.expect(t, 2,
			"stacker.yaml:4:1: package_sources: not supported",
			"stacker.yaml:9:1: pre_build: not supported",
			"stacker.yaml:23:5: stacks[1].class_path: class_path blueprints.app.Application is a Python blueprint, and stackerless runs no Python: "+
				"render its template once with stacker (stacker build --dump DIR <config>) and point template_path at the file, or port the blueprint to Go",
			"stacker.yaml:27:5: stacks[2].class_path: class_path blueprints.dns.Records is a Python blueprint")
		r.lacks(t, "sys_path: not supported", "vpc: submitted")
	})

	t.Run("network deploys: VPC2, Network, a template beside the configs", func(t *testing.T) {
		r := c.runIn(filepath.Join(c.dir, "network"), "", "build", "conf/prod.env", "conf/network.yaml")
		r.expect(t, 0, "vpc: complete (creating new stack)", "public-a: complete (creating new stack)",
			"private-a: complete (creating new stack)", "bastion: complete (creating new stack)")
		bastion := describeStack(t, sb, "master", "rw-net-bastion")
		if bastion == nil {
			t.Fatal("no bastion stack")
		}
		// file:// is read beside the config, not in the working directory.
		if got := stackParameter(bastion, "UserData"); got != "#!/bin/sh\necho conf\n" {
			t.Errorf("UserData = %q, want conf/userdata.sh", got)
		}
		if got := stackParameter(bastion, "KeyName"); got != "" {
			t.Errorf("KeyName = %q, want the empty string of a bare !!str", got)
		}
		for _, tag := range bastion.Tags {
			if aws.ToString(tag.Key) == "cost-center" && aws.ToString(tag.Value) != "" {
				t.Errorf("tag cost-center = %q", aws.ToString(tag.Value))
			}
		}
		c.runIn(filepath.Join(c.dir, "network"), "", "info", "conf/prod.env", "conf/network.yaml").expect(t, 0,
			"InternalZoneName: prod.internal", "NetworkType: private", "NetworkType: public")
		private := describeStack(t, sb, "master", "rw-net-private-a")
		public := describeStack(t, sb, "master", "rw-net-public-a")
		if private == nil || public == nil || stackParameter(private, "NatGatewayId") != "" {
			t.Fatalf("network stacks: %v %v", private, public)
		}
		if out := stackOutput(public, "NatGatewayId"); !strings.HasPrefix(out, "nat-") {
			t.Errorf("public-a's NatGatewayId output %q", out)
		}
	})

	t.Run("layered deploys: sys_path, a YAML environment list, locked and disabled stacks", func(t *testing.T) {
		r := c.runIn(filepath.Join(c.dir, "layered"), "", "build", "env/dev.yaml", "stacker.yaml")
		r.expect(t, 0, "bucket: complete (creating new stack)", "queue: complete (creating new stack)",
			"legacy: skipped (disabled)", "pinned: complete (creating new stack)")
		bucket := describeStack(t, sb, "master", "rw-layered-bucket")
		if bucket == nil || stackParameter(bucket, "AllowedAccounts") != "111111111111,222222222222" {
			t.Fatalf("bucket stack %v: a list is sent as a,b", bucket)
		}
		if describeStack(t, sb, "master", "rw-layered-pinned-bucket") == nil {
			t.Error("the locked stack was not created under its stack_name")
		}
		c.runIn(filepath.Join(c.dir, "layered"), "", "build", "--targets", "storage", "env/dev.yaml", "stacker.yaml").expect(t, 0,
			"bucket: skipped (nochange)", "queue: skipped (nochange)")
	})

	t.Run("conf-dir deploys from conf/ with ../templates", func(t *testing.T) {
		c.runIn(filepath.Join(c.dir, "conf-dir", "conf"), "", "build", "prod.yaml").expect(t, 0, "app: complete (creating new stack)")
		if s := describeStack(t, sb, "master", "rw-confdir-app"); s == nil || stackParameter(s, "Version") != "1.4.2" {
			t.Errorf("app stack %v, want Version 1.4.2 from ../VERSION", s)
		}
	})
}
