package s3bundle_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/google/go-cmp/cmp"
	"github.com/stackerless/stackerless/pkg/bundle"
	"github.com/stackerless/stackerless/pkg/bundle/s3bundle"
	"github.com/stackerless/stackerless/pkg/runrequest"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

type env struct {
	t  *testing.T
	s3 *s3.Client
}

// newEnv starts a sandbox with a versioned config bucket "configs" and a
// state bucket "state".
func newEnv(t *testing.T) *env {
	t.Helper()
	sb := sandboxtest.Start(t)
	e := &env{t: t, s3: s3.NewFromConfig(sb.AWSConfig("master"), func(o *s3.Options) { o.UsePathStyle = true })}
	for _, b := range []string{"configs", "state", "plain"} {
		if _, err := e.s3.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.s3.PutBucketVersioning(t.Context(), &s3.PutBucketVersioningInput{Bucket: aws.String("configs"),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// put uploads body to configs/key and returns its version.
func (e *env) put(key, body string) string {
	e.t.Helper()
	out, err := e.s3.PutObject(e.t.Context(), &s3.PutObjectInput{Bucket: aws.String("configs"), Key: aws.String(key), Body: strings.NewReader(body)})
	if err != nil {
		e.t.Fatal(err)
	}
	return aws.ToString(out.VersionId)
}

type file struct{ name, body, link string }

func zipOf(t *testing.T, files ...file) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
		h.SetMode(0o644)
		body := f.body
		if f.link != "" {
			h.SetMode(fs.ModeSymlink | 0o777)
			body = f.link
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
	return buf.String()
}

func read(t *testing.T, dir, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestFetchArchive(t *testing.T) {
	e := newEnv(t)
	version := e.put("teams/net.zip", zipOf(t,
		file{name: "stacker.yaml", body: "namespace: net\n"},
		file{name: "templates/vpc.yaml", body: "Resources: {}\n"},
		file{name: ".aws/config", body: "[profile master]\n"},
		file{name: "stacker.env", body: "tier: prod\n"},
	))
	// A later upload does not change a run pinned to the first.
	e.put("teams/net.zip", zipOf(t, file{name: "stacker.yaml", body: "namespace: other\n"}))
	dir := t.TempDir()
	m, err := s3bundle.Fetch(t.Context(), e.s3, runrequest.Object{Bucket: "configs", Key: "teams/net.zip", VersionID: version}, nil, dir, bundle.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	want := &s3bundle.Manifest{Source: runrequest.Object{Bucket: "configs", Key: "teams/net.zip", VersionID: version}, Archive: true,
		Config: "stacker.yaml", EnvFile: "stacker.env", AWSConfig: ".aws/config"}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}
	if got := read(t, dir, "stacker.yaml"); got != "namespace: net\n" {
		t.Errorf("stacker.yaml = %q", got)
	}
}

func TestFetchRefuses(t *testing.T) {
	e := newEnv(t)
	lim := bundle.Limits{ArchiveBytes: 64 << 10, Files: 5, TotalBytes: 1 << 20}
	zeros := strings.Repeat("\x00", 8<<20)
	many := []file{{name: "stacker.yaml", body: "namespace: x\n"}}
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		many = append(many, file{name: "templates/" + n + ".yaml", body: "R: 1\n"})
	}
	tests := []struct {
		name, key, body string
		unversioned     bool
		want            string
	}{
		{"zip-slip", "slip.zip", zipOf(t, file{name: "stacker.yaml", body: "x"}, file{name: "../../../tmp/evil", body: "x"}), false,
			`bundle slip.zip: ../../../tmp/evil leads outside the bundle with ".."`},
		{"absolute path", "abs.zip", zipOf(t, file{name: "/etc/cron.d/evil", body: "x"}), false, `bundle abs.zip: /etc/cron.d/evil is an absolute path`},
		{"symlink", "link.zip", zipOf(t, file{name: "stacker.yaml", body: "x"}, file{name: "templates/vpc.yaml", link: "/etc/passwd"}), false,
			`bundle link.zip: templates/vpc.yaml is a symlink, and a bundle holds files only: archive the file itself (zip without -y)`},
		{"zip bomb", "bomb.zip", zipOf(t, file{name: "stacker.yaml", body: "x"}, file{name: "templates/big.yaml", body: zeros}), false,
			`bundle bomb.zip: unpacks to more than 1048576 bytes (at templates/big.yaml)`},
		{"too many files", "many.zip", zipOf(t, many...), false, `bundle many.zip: has more than 5 files`},
		{"oversize", "big.zip", strings.Repeat("x", 64<<10+1), false, `is 65537 bytes, more than the 65536 a bundle file may be`},
		{"no config", "none.zip", zipOf(t, file{name: "proj/stacker.yaml", body: "x"}), false,
			`has no stacker.yaml or stacker.yml at its root: archive the project from inside its directory`},
		{"two env files", "env.zip", zipOf(t, file{name: "stacker.yaml", body: "x"}, file{name: "stacker.env", body: "a: b"}, file{name: "stacker.env.yaml", body: "a: b"}), false,
			`has both stacker.env and stacker.env.yaml: keep one environment file`},
		{"not versioned", "stacker.yaml", "namespace: x\n", true, `s3://plain/stacker.yaml has no version ID: bucket plain must be versioned`},
		{"missing", "", "", false, `s3://configs/gone.yaml does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := runrequest.Object{Bucket: "configs", Key: tt.key}
			switch {
			case tt.key == "":
				obj.Key = "gone.yaml"
			case tt.unversioned:
				obj.Bucket = "plain"
				if _, err := e.s3.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("plain"), Key: aws.String(tt.key), Body: strings.NewReader(tt.body)}); err != nil {
					t.Fatal(err)
				}
			default:
				if len(tt.body) > int(lim.ArchiveBytes) && tt.name != "oversize" {
					t.Fatalf("the upload is %d bytes: the test wants it under the archive limit", len(tt.body))
				}
				obj.VersionID = e.put(tt.key, tt.body)
			}
			outside := t.TempDir()
			dir := filepath.Join(outside, "bundle")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			m, err := s3bundle.Fetch(t.Context(), e.s3, obj, nil, dir, lim)
			var se *s3bundle.Error
			var ae *bundle.ArchiveError
			if !errors.As(err, &se) && !errors.As(err, &ae) {
				t.Fatalf("Fetch = %+v, %v; want an upload error", m, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, tt.want)
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 1 {
				t.Errorf("%d entries beside the bundle directory", len(entries))
			}
		})
	}
}

// A plain config reads its siblings, each pinned when the run is prepared:
// a later upload of a sibling does not change the run's bundle.
func TestFetchPlainPinsSiblings(t *testing.T) {
	e := newEnv(t)
	cfg := `namespace: ${namespace}
sys_path: lib
stacks:
  - name: vpc
    template_path: templates/${tier}.yaml
    stack_policy_path: policies/vpc.json
    variables:
      UserData: ${file plain:file://userdata.sh}
  - name: app
    template_path: app.yaml
  - name: outside
    template_path: ../other/app.yaml
`
	versions := map[string]string{
		"teams/net/stacker.yaml":        e.put("teams/net/stacker.yaml", cfg),
		"teams/net/stacker.env":         e.put("teams/net/stacker.env", "namespace: net\ntier: small\n"),
		"teams/net/.aws/config":         e.put("teams/net/.aws/config", "[profile master]\n"),
		"teams/net/templates/prod.yaml": e.put("teams/net/templates/prod.yaml", "Resources: {prod: 1}\n"),
		"teams/net/policies/vpc.json":   e.put("teams/net/policies/vpc.json", "{}\n"),
		"teams/net/userdata.sh":         e.put("teams/net/userdata.sh", "#!/bin/sh\n"),
		"teams/net/lib/app.yaml":        e.put("teams/net/lib/app.yaml", "Resources: {app: 1}\n"),
	}
	e.put("teams/other/app.yaml", "Resources: {}\n")
	e.put("teams/net/templates/small.yaml", "Resources: {small: 1}\n") // not read: the console's environment says prod
	dir := t.TempDir()
	m, err := s3bundle.Fetch(t.Context(), e.s3, runrequest.Object{Bucket: "configs", Key: "teams/net/stacker.yaml"}, []string{"tier=prod"}, dir, bundle.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	// Changes after prepare do not reach the run.
	e.put("teams/net/lib/app.yaml", "Resources: {changed: 1}\n")
	e.put("teams/net/stacker.yaml", "namespace: changed\n")

	if m.Archive || m.Config != "stacker.yaml" || m.EnvFile != "stacker.env" || m.AWSConfig != ".aws/config" ||
		m.Source != (runrequest.Object{Bucket: "configs", Key: "teams/net/stacker.yaml", VersionID: versions["teams/net/stacker.yaml"]}) {
		t.Errorf("manifest %+v", m)
	}
	got := map[string]string{}
	for _, s := range m.Siblings {
		got[s.Key] = s.VersionID
	}
	delete(versions, "teams/net/stacker.yaml")
	if diff := cmp.Diff(versions, got); diff != "" {
		t.Errorf("pinned siblings (-want +got):\n%s", diff)
	}
	if got := read(t, dir, "templates/prod.yaml"); got != "Resources: {prod: 1}\n" {
		t.Errorf("template %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "templates", "small.yaml")); err == nil {
		t.Error("fetched a template the config does not name")
	}

	// Stored, the bundle comes back as it was prepared.
	if err := s3bundle.Store(t.Context(), e.s3, "state", "runs/r1/", dir, m); err != nil {
		t.Fatal(err)
	}
	back := t.TempDir()
	loaded, err := s3bundle.Load(t.Context(), e.s3, "state", "runs/r1/", back, bundle.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, loaded); diff != "" {
		t.Errorf("loaded manifest (-stored +loaded):\n%s", diff)
	}
	for _, rel := range []string{"stacker.yaml", "lib/app.yaml", ".aws/config", "stacker.env"} {
		if a, b := read(t, dir, rel), read(t, back, rel); a != b {
			t.Errorf("%s: prepared %q, loaded %q", rel, a, b)
		}
	}
	if got := read(t, back, "lib/app.yaml"); got != "Resources: {app: 1}\n" {
		t.Errorf("loaded lib/app.yaml = %q, want the version pinned at prepare", got)
	}

	// A bundle changed in the state bucket is refused.
	if _, err := e.s3.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("state"), Key: aws.String("runs/r1/bundle.tar.gz"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3bundle.Load(t.Context(), e.s3, "state", "runs/r1/", t.TempDir(), bundle.DefaultLimits); err == nil || !strings.Contains(err.Error(), "it changed after the run was prepared") {
		t.Errorf("Load of a changed bundle: %v", err)
	}
}
