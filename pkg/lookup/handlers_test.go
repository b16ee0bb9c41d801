package lookup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// handlerCase runs one handler on one input.
type handlerCase struct {
	name    string
	h       Handler
	call    LookupCall
	want    any
	wantErr string // substring; "" = success
}

func runHandlerCases(t *testing.T, tests []handlerCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.h.Resolve(context.Background(), tt.call)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func in(s string) LookupCall { return LookupCall{Input: s} }

var testFiles = fstest.MapFS{
	"envname.txt":        {Data: []byte("MY_VAR\n")},
	"userdata.sh":        {Data: []byte("#!/bin/sh\r\naws s3 sync s3://{{BucketName}}/x /x\r\necho {{AWS::Region}} {{a|b}}\n")},
	"plain.txt":          {Data: []byte("hello there\n")},
	"doc.json":           {Data: []byte(`{"name": "{{Env}}-app", "port": 8080, "ratio": 0.5, "big": 12345678901234567890, "tags": ["a", "{{T}}"], "on": true, "none": null}`)},
	"doc.yaml":           {Data: []byte("name: \"{{Env}}-app\"\nport: 8080\nlist:\n  - x\n  - nested:\n      k: \"pre {{P}} post\"\n1: one\n")},
	"bad.json":           {Data: []byte(`{"a": `)},
	"two.json":           {Data: []byte(`{} {}`)},
	"dir/inner.txt":      {Data: []byte("inner")},
	"ssm.txt":            {Data: []byte("eu-west-1@/app/secret\n")},
	"ami.txt":            {Data: []byte("owners:self name_regex:app-[0-9]+\n")},
	"kms.txt":            {Data: []byte("eu-west-1@Y2lwaGVy\n")},
	"dynamo.txt":         {Data: []byte("eu-west-1:tbl@id:k1.Val\n")},
	"no-placeholder.txt": {Data: []byte("no placeholders {here}")},
}

func TestDefaultHandler(t *testing.T) {
	h := DefaultHandler{Environment: map[string]any{"env": "prod", "empty": "", "list": []any{"a"}}}
	runHandlerCases(t, []handlerCase{
		{name: "set", h: h, call: in("env::dev"), want: "prod"},
		{name: "set to empty", h: h, call: in("empty::dev"), want: ""},
		{name: "unset", h: h, call: in("region::us-east-1"), want: "us-east-1"},
		{name: "empty default", h: h, call: in("nope::"), want: ""},
		{name: "default with ::", h: h, call: in("nope::a::b"), want: "a::b"},
		{name: "non-string env value", h: h, call: in("list::x"), want: []any{"a"}},
		{name: "nil environment", h: DefaultHandler{}, call: in("env::dev"), want: "dev"},
		{name: "bad format", h: h, call: in("env"),
			wantErr: "Invalid value for default: env. Must be in <env_var>::<default value> format."},
	})
}

func TestEnvvarHandler(t *testing.T) {
	env := map[string]string{"MY_VAR": "value", "EMPTY": ""}
	h := EnvvarHandler{Files: testFiles, Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	runHandlerCases(t, []handlerCase{
		{name: "set", h: h, call: in("MY_VAR"), want: "value"},
		{name: "set empty", h: h, call: in("EMPTY"), want: ""},
		{name: "name from file", h: h, call: in("file://envname.txt"), want: "value"},
		{name: "missing", h: h, call: in("NOPE"), wantErr: `EnvVar "NOPE" does not exist`},
		{name: "missing file", h: h, call: in("file://nope.txt"), wantErr: "read file://nope.txt"},
	})
	t.Run("process environment by default", func(t *testing.T) {
		t.Setenv("STACKERLESS_LOOKUP_TEST", "from-os")
		got, err := EnvvarHandler{}.Resolve(context.Background(), in("STACKERLESS_LOOKUP_TEST"))
		if err != nil || got != "from-os" {
			t.Fatalf("got %v, %v", got, err)
		}
	})
}

func TestSplitHandler(t *testing.T) {
	h := SplitHandler{}
	runHandlerCases(t, []handlerCase{
		{name: "comma", h: h, call: in(",::a,b,c"), want: []string{"a", "b", "c"}},
		{name: "keeps empty fields", h: h, call: in(",::a,,b,"), want: []string{"a", "", "b", ""}},
		{name: "multi-char delimiter", h: h, call: in("--::a--b"), want: []string{"a", "b"}},
		{name: "empty text", h: h, call: in(",::"), want: []string{""}},
		{name: "first :: splits", h: h, call: in(",::a::b,c"), want: []string{"a::b", "c"}},
		{name: "bad format", h: h, call: in("a,b"), wantErr: "Invalid value for split: a,b. Must be in <delimiter>::<text> format."},
		{name: "empty delimiter", h: h, call: in("::abc"), wantErr: "empty separator"},
	})
}

func TestFileHandler(t *testing.T) {
	h := FileHandler{Files: testFiles}
	joinUserdata := map[string]any{"Fn::Join": []any{"", []any{
		"#!/bin/sh\naws s3 sync s3://", map[string]any{"Ref": "BucketName"}, "/x /x\necho ",
		map[string]any{"Ref": "AWS::Region"}, " ", map[string]any{"Ref": "a|b"}, "\n",
	}}}
	runHandlerCases(t, []handlerCase{
		{name: "plain", h: h, call: in("plain:file://plain.txt"), want: "hello there\n"},
		{name: "plain in subdirectory", h: h, call: in("plain:file://dir/inner.txt"), want: "inner"},
		{name: "plain with dot segments inside root", h: h, call: in("plain:file://./dir/../plain.txt"), want: "hello there\n"},
		{name: "not a file:// path is the content", h: h, call: in("plain:hello"), want: "hello"},
		{name: "base64", h: h, call: in("base64:file://plain.txt"), want: "aGVsbG8gdGhlcmUK"},
		{name: "parameterized", h: h, call: in("parameterized:file://userdata.sh"), want: joinUserdata},
		{name: "parameterized without placeholders", h: h, call: in("parameterized:file://no-placeholder.txt"),
			want: "no placeholders {here}"},
		{name: "parameterized-b64", h: h, call: in("parameterized-b64:file://userdata.sh"),
			want: map[string]any{"Fn::Base64": joinUserdata}},
		{name: "parameterized-b64 without placeholders", h: h, call: in("parameterized-b64:file://plain.txt"),
			want: map[string]any{"Fn::Base64": "hello there\n"}},
		{name: "json", h: h, call: in("json:file://doc.json"), want: map[string]any{
			"name": "{{Env}}-app", "port": int64(8080), "ratio": 0.5, "big": 12345678901234567890.0,
			"tags": []any{"a", "{{T}}"}, "on": true, "none": nil}},
		{name: "json-parameterized", h: h, call: in("json-parameterized:file://doc.json"), want: map[string]any{
			"name": map[string]any{"Fn::Join": []any{"", []any{"", map[string]any{"Ref": "Env"}, "-app"}}},
			"port": int64(8080), "ratio": 0.5, "big": 12345678901234567890.0,
			"tags": []any{"a", map[string]any{"Fn::Join": []any{"", []any{"", map[string]any{"Ref": "T"}, ""}}}},
			"on":   true, "none": nil}},
		{name: "yaml", h: h, call: in("yaml:file://doc.yaml"), want: map[string]any{
			"name": "{{Env}}-app", "port": int64(8080), "1": "one",
			"list": []any{"x", map[string]any{"nested": map[string]any{"k": "pre {{P}} post"}}}}},
		{name: "yaml-parameterized", h: h, call: in("yaml-parameterized:file://doc.yaml"), want: map[string]any{
			"name": map[string]any{"Fn::Join": []any{"", []any{"", map[string]any{"Ref": "Env"}, "-app"}}},
			"port": int64(8080), "1": "one",
			"list": []any{"x", map[string]any{"nested": map[string]any{
				"k": map[string]any{"Fn::Join": []any{"", []any{"pre ", map[string]any{"Ref": "P"}, " post"}}}}}}}},
		{name: "yaml of inline text", h: h, call: in("yaml:[1, two]"), want: []any{int64(1), "two"}},
		{name: "no codec", h: h, call: in("file://plain.txt"),
			wantErr: `unknown file codec "file"`},
		{name: "no colon", h: h, call: in("plain"),
			wantErr: `File value must be of the format "<codec>:<path>" (got plain)`},
		{name: "unknown codec", h: h, call: in("xml:file://plain.txt"), wantErr: `unknown file codec "xml"`},
		{name: "missing file", h: h, call: in("plain:file://missing.txt"), wantErr: "read file://missing.txt"},
		// Where a path may lead is the reader's choice: an fs.FS refuses
		// these, Dir (below) reads them as stacker does.
		{name: "a path the reader refuses", h: h, call: in("plain:file://../secret"), wantErr: "read file://../secret: open ../secret"},
		{name: "dot segments cleaned first", h: h, call: in("plain:file://dir/../../secret"), wantErr: "open ../secret"},
		{name: "empty path", h: h, call: in("plain:file://"), wantErr: "read file://: the path is empty"},
		{name: "bad json", h: h, call: in("json:file://bad.json"), wantErr: "decode json"},
		{name: "json with trailing document", h: h, call: in("json:file://two.json"), wantErr: "extra data"},
		{name: "bad yaml", h: h, call: in("yaml:{a: [}"), wantErr: "decode yaml"},
		{name: "no files configured", h: FileHandler{}, call: in("plain:file://plain.txt"), wantErr: "no config directory configured"},
	})
}

func TestParameterize(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{"plain", "plain"},
		{"{{A}}", map[string]any{"Fn::Join": []any{"", []any{"", map[string]any{"Ref": "A"}, ""}}}},
		{"{{A}}{{B}}", map[string]any{"Fn::Join": []any{"", []any{"", map[string]any{"Ref": "A"}, "", map[string]any{"Ref": "B"}, ""}}}},
		{"{{ A }} {{A-B}} {A}", "{{ A }} {{A-B}} {A}"},
		{"{{{A}}}", map[string]any{"Fn::Join": []any{"", []any{"{", map[string]any{"Ref": "A"}, "}"}}}},
		{"x{{Été_1}}", map[string]any{"Fn::Join": []any{"", []any{"x", map[string]any{"Ref": "Été_1"}, ""}}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Parameterize(tt.in)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOutputHandlers(t *testing.T) {
	reader := &fakeOutputs{stacks: map[string]map[string]string{
		"ns-vpc":         {"VpcId": "vpc-1"},
		"other-team-db":  {"Host": "db.internal"},
		"ns-shared-logs": {"Bucket": "logs"},
	}}
	locate := func(name string) (StackRef, bool) {
		switch name {
		case "vpc":
			return StackRef{FQN: "ns-vpc", Profile: "prod", Region: "eu-west-1"}, true
		case "ghost":
			return StackRef{FQN: "ns-ghost", Profile: "prod", Region: "eu-west-1"}, true
		}
		return StackRef{}, false
	}
	qualify := func(name string) string { return "ns-" + name }
	consumer := LookupCall{Stack: "app", Profile: "stage", Region: "us-west-2"}
	with := func(s string) LookupCall { c := consumer; c.Input = s; return c }
	out := OutputHandler{Stacks: locate, Reader: reader}
	xref := XrefHandler{Reader: reader}
	rxref := RxrefHandler{Qualify: qualify, Reader: reader}
	runHandlerCases(t, []handlerCase{
		{name: "output", h: out, call: with("vpc::VpcId"), want: "vpc-1"},
		{name: "output of unknown stack", h: out, call: with("nope::VpcId"),
			wantErr: `Stack: "nope" does not exist in outputs or the lookup is not available in this stacker run`},
		{name: "output of undeployed stack", h: out, call: with("ghost::X"), wantErr: `Stack: "ns-ghost" does not exist`},
		{name: "output missing", h: out, call: with("vpc::Nope"), wantErr: "Output Nope does not exist on stack ns-vpc"},
		{name: "output bad syntax", h: out, call: with("vpc.VpcId"),
			wantErr: "output handler requires syntax of <stack>::<output>.  Got: vpc.VpcId"},
		{name: "output too many separators", h: out, call: with("a::b::c"), wantErr: "requires syntax"},
		{name: "output without locator", h: OutputHandler{Reader: reader}, call: with("vpc::VpcId"), wantErr: "no stack locator"},
		{name: "xref", h: xref, call: with("other-team-db::Host"), want: "db.internal"},
		{name: "xref is not qualified", h: xref, call: with("vpc::VpcId"), wantErr: `Stack: "vpc" does not exist`},
		{name: "xref bad syntax", h: xref, call: with("db"), wantErr: "output handler requires syntax"},
		{name: "rxref", h: rxref, call: with("shared-logs::Bucket"), want: "logs"},
		{name: "rxref missing output", h: rxref, call: with("shared-logs::Nope"), wantErr: "Output Nope does not exist on stack ns-shared-logs"},
		{name: "rxref without qualifier", h: RxrefHandler{Reader: reader}, call: with("a::b"), wantErr: "no namespace qualifier"},
		{name: "no reader", h: XrefHandler{}, call: with("a::b"), wantErr: "no output reader"},
	})
	// output reads where the producing stack lives; xref and rxref read with
	// the consuming stack's profile and region (stacker issue #743).
	want := []string{
		"prod/eu-west-1/ns-vpc", "prod/eu-west-1/ns-ghost", "prod/eu-west-1/ns-vpc",
		"stage/us-west-2/other-team-db", "stage/us-west-2/vpc",
		"stage/us-west-2/ns-shared-logs", "stage/us-west-2/ns-shared-logs",
	}
	if diff := cmp.Diff(want, reader.calls); diff != "" {
		t.Errorf("reader calls (-want +got):\n%s", diff)
	}

	t.Run("reader failure is wrapped", func(t *testing.T) {
		boom := errors.New("throttled")
		_, err := XrefHandler{Reader: &fakeOutputs{err: boom}}.Resolve(context.Background(), with("a::b"))
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "read outputs of a") {
			t.Fatalf("err = %v", err)
		}
	})
}

// Dir reads file:// paths as stacker's read_value_from_path: relative to the
// config's directory, including ../, and absolute paths as they are.
func TestDirReadsAsStacker(t *testing.T) {
	root := t.TempDir()
	conf := filepath.Join(root, "conf")
	for path, text := range map[string]string{"conf/here.txt": "here", "shared/up.txt": "up"} {
		full := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h := FileHandler{Files: Dir(conf)}
	for input, want := range map[string]string{
		"plain:file://here.txt":                                              "here",
		"plain:file://./here.txt":                                            "here",
		"plain:file://../shared/up.txt":                                      "up",
		"plain:file://" + filepath.Join(root, "shared", "up.txt"):            "up",
		"plain:file://" + filepath.Join(root, "conf", "..", "conf/here.txt"): "here",
	} {
		got, err := h.Resolve(t.Context(), LookupCall{Input: input})
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %q", input, got, err, want)
		}
	}
	if _, err := h.Resolve(t.Context(), LookupCall{Input: "plain:file://up.txt"}); err == nil {
		t.Error("a relative path was read from outside the config's directory")
	}
}

func TestFileRefs(t *testing.T) {
	v := map[string]any{
		"A": "${file plain:file://a.txt} and ${envvar file://name.txt}",
		"B": []any{"${kms file://../secret}", "${file json:${envvar WHERE}}", "${file plain:inline text}"},
		"C": "${file plain:file://${envvar WHERE}}",
	}
	var got []string
	for _, r := range FileRefs(v) {
		got = append(got, r.Lookup.Type+" "+r.Path)
	}
	want := []string{"file a.txt", "envvar name.txt", "kms ../secret"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if refs := FileRefs("${file plain:file://a.txt} ${broken"); refs != nil {
		t.Errorf("a value that does not parse gave %v", refs)
	}
}
