package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stackerless/stackerless/pkg/config"
)

// A bundle holds the project's files, .aws/config but never the
// credentials beside it, nothing hidden; a single config goes in as
// stacker.yaml, without the other configs of its directory.
func TestStageBundle(t *testing.T) {
	src := t.TempDir()
	for f, text := range map[string]string{
		"stacker.yaml": "a", "prod.yaml": "p", "stacker.env": "k: v\n", "templates/t.yaml": "t",
		".aws/config": "[profile x]\n", ".aws/credentials": "secret", ".aws/sso/cache/x.json": "secret", ".git/HEAD": "h", ".env": "x",
	} {
		p := filepath.Join(src, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, arg, wantName string
		want                []string
		config              string
	}{
		{"directory", src, filepath.Base(src), []string{".aws/config", "prod.yaml", "stacker.env", "stacker.yaml", "templates/t.yaml"}, "a"},
		{"single config", filepath.Join(src, "prod.yaml"), "prod", []string{".aws/config", "stacker.env", "stacker.yaml", "templates/t.yaml"}, "p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stage := t.TempDir()
			name, err := stageBundle(tt.arg, stage)
			if err != nil {
				t.Fatal(err)
			}
			if name != tt.wantName {
				t.Errorf("name = %q, want %q", name, tt.wantName)
			}
			var got []string
			_ = filepath.WalkDir(stage, func(p string, e fs.DirEntry, err error) error {
				if err == nil && !e.IsDir() {
					rel, _ := filepath.Rel(stage, p)
					got = append(got, filepath.ToSlash(rel))
				}
				return err
			})
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("staged %v, want %v", got, tt.want)
			}
			if data, _ := os.ReadFile(filepath.Join(stage, "stacker.yaml")); string(data) != tt.config {
				t.Errorf("stacker.yaml = %q, want %q", data, tt.config)
			}
		})
	}
	t.Run("-e values go into the environment file", func(t *testing.T) {
		stage := t.TempDir()
		if _, err := stageBundle(src, stage); err != nil {
			t.Fatal(err)
		}
		if err := applyEnv(stage, []string{"k=w", "z=1"}); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(filepath.Join(stage, "stacker.env"))
		if string(data) != "k: v\nk: w\nz: 1\n" {
			t.Errorf("stacker.env = %q", data)
		}
		if err := applyEnv(stage, []string{"bad"}); err == nil || !strings.Contains(err.Error(), "KEY=VALUE") {
			t.Errorf("bad -e: %v", err)
		}
	})
}

// A YAML environment file keeps its values' types; -e values join it.
func TestApplyEnvYAML(t *testing.T) {
	stage := t.TempDir()
	p := filepath.Join(stage, "stacker.env.yaml")
	if err := os.WriteFile(p, []byte("azs: [a, b]\nname: old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := applyEnv(stage, []string{"name=new"}); err != nil {
		t.Fatal(err)
	}
	env, err := config.LoadEnvironment(p)
	if err != nil {
		t.Fatal(err)
	}
	if env["name"] != "new" || fmt.Sprint(env["azs"]) != "[a b]" {
		t.Errorf("environment = %v", env)
	}
	if _, err := os.Stat(filepath.Join(stage, "stacker.env")); err == nil {
		t.Error("a second environment file was written")
	}
}

// On a terminal, watch redraws one table over the previous one.
func TestDrawBoard(t *testing.T) {
	var b strings.Builder
	lines := []stackLine{{name: "vpc", account: "222222222222", status: "submitted (creating new stack)", elapsed: 3 * time.Second}, {name: "app", status: "pending"}}
	n := drawBoard(&b, lines, 0)
	first := b.String()
	if n != 3 || strings.Contains(first, "\x1b[3A") || !strings.Contains(first, "vpc    222222222222  submitted (creating new stack)  3s") {
		t.Errorf("first draw (%d lines) = %q", n, first)
	}
	b.Reset()
	drawBoard(&b, lines, n)
	if !strings.HasPrefix(b.String(), "\x1b[3A\x1b[2KSTACK") {
		t.Errorf("redraw = %q", b.String())
	}
}
