package rawtemplate

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckSyntax(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		body string // written to dir/<name>.j2; "" means use path
		path string
		want string // substring of the error; "" means valid
		line int    // SyntaxError.Line, when want is set
	}{
		{name: "valid template", path: "testdata/queue.j2"},
		// Rendering these fails or varies with the variables; parsing does not.
		{name: "value errors are not syntax errors", body: "{\"A\": {{ 1 / variables.Zero }}, \"B\": \"{{ variables.X.y.z | upper }}\"}\n"},
		{name: "unclosed if", body: "{\n{% if variables.A %}\n\"a\": 1\n}\n",
			want: `expected tag elif or else or endif`, line: 4},
		{name: "unknown tag", body: "{\n  \"a\": 1\n{% bogus %}\n}\n",
			want: `ControlStructure 'bogus' not found`, line: 3},
		{name: "unclosed expression", body: "{\n\"a\": {{ name\n}\n",
			want: `expected here`, line: 3},
		{name: "unclosed comment, CRLF", body: "{\r\n\r\n{# no end\r\n}",
			want: `unclosed comment`, line: 3},
		{name: "include refused", path: "testdata/include.j2",
			want: `include is not supported in .j2 templates`, line: 1},
		{name: "include refused in a branch not taken", body: "{}\n{% if false %}\n{% include 'other.j2' %}\n{% endif %}\n",
			want: `include is not supported in .j2 templates`, line: 3},
		{name: "import refused", body: "{% import 'm.j2' as m %}{}", want: `import is not supported`, line: 1},
		{name: "from refused", body: "\n{% from 'm.j2' import x %}{}", want: `from is not supported`, line: 2},
		{name: "extends refused", body: "{% extends 'base.j2' %}", want: `extends is not supported`, line: 1},
		{name: "missing file", path: filepath.Join(dir, "nope.j2"), want: "could not find template"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".j2")
				if err := os.WriteFile(path, []byte(tc.body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := CheckSyntax(path, nil)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckSyntax: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want it to name %s and contain %q", err, path, tc.want)
			}
			if tc.line == 0 {
				return
			}
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line != tc.line || se.Path != path {
				t.Fatalf("err = %#v, want a *SyntaxError for %s at line %d", err, path, tc.line)
			}
		})
	}
}

// Load and CheckSyntax share one parser: what CheckSyntax refuses, Load
// refuses, even where rendering would never reach it.
func TestLoadRefusesWhatCheckSyntaxRefuses(t *testing.T) {
	body := []byte("{}\n{% if variables.Never %}{% include 'x.j2' %}{% endif %}\n")
	_, err := Load(Input{Path: "t.j2", Body: body})
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != 2 || !strings.Contains(err.Error(), "include is not supported") {
		t.Fatalf("Load: %v, want a line 2 SyntaxError refusing the include", err)
	}
}
