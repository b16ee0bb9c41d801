package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// runnableMarker, alone on a line right before a fenced block, marks the
// README's commands that run locally (the README's source says so).
const runnableMarker = "<!-- runnable -->"

type readmeBlock struct {
	line int // of the fence
	body string
}

// runnableBlocks returns the README's fenced blocks marked runnable; a marker
// not followed by a fence is an error, so that a marker cannot go stale
// silently.
func runnableBlocks(t *testing.T, path string) []readmeBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks []readmeBlock
		cur    *readmeBlock
		marked bool
		n      int
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case cur != nil && strings.HasPrefix(line, "```"):
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.body += line + "\n"
		case marked:
			if !strings.HasPrefix(line, "```") {
				t.Fatalf("%s:%d: %s is not followed by a fenced block", path, n-1, runnableMarker)
			}
			cur, marked = &readmeBlock{line: n}, false
		case strings.TrimSpace(line) == runnableMarker:
			marked = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil || marked {
		t.Fatalf("%s: a runnable block is not closed", path)
	}
	return blocks
}

var usesAWSCLI = regexp.MustCompile(`(^|[\s;&|(])aws\s`)

// TestREADMECommands runs every README block marked runnable, as a user
// would paste it: bash, in a copy of the seed example, against a sandbox,
// with master's root keys and AWS_ENDPOINT_URL in the environment and the
// stackerless binary on PATH. Blocks calling the AWS CLI need Debian's
// (/usr/bin/aws, which CI installs).
func TestREADMECommands(t *testing.T) {
	repo := filepath.Join("..", "..")
	blocks := runnableBlocks(t, filepath.Join(repo, "README.md"))
	if len(blocks) == 0 {
		t.Fatal("README.md marks no block runnable")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "stackerless"), ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build stackerless: %v\n%s", err, out)
	}
	sb := sandboxtest.Start(t)
	master, _ := sb.Account("master")
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "AWS_") && name != "PATH" {
			env = append(env, kv)
		}
	}
	// Debian's AWS CLI first: another aws on PATH may be an older shim.
	env = append(env, "PATH="+bin+":/usr/bin:"+os.Getenv("PATH"),
		"AWS_ENDPOINT_URL="+sb.URL(), "AWS_REGION="+sb.Region(), "AWS_DEFAULT_REGION="+sb.Region(),
		"AWS_ACCESS_KEY_ID="+master.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+master.SecretAccessKey,
		"AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull, "AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=")
	for _, b := range blocks {
		t.Run("README.md:"+strconv.Itoa(b.line), func(t *testing.T) {
			if usesAWSCLI.MatchString(b.body) {
				if _, err := os.Stat("/usr/bin/aws"); err != nil {
					t.Skip("needs Debian's AWS CLI at /usr/bin/aws (apt-get install awscli)")
				}
			}
			work := t.TempDir()
			for _, name := range seedFiles {
				data, err := os.ReadFile(filepath.Join(repo, name))
				if err != nil {
					t.Fatal(err)
				}
				dst := filepath.Join(work, name)
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(dst, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.CommandContext(t.Context(), "bash", "-euo", "pipefail", "-c", b.body)
			cmd.Dir, cmd.Env = work, env
			out, err := cmd.CombinedOutput()
			t.Logf("%s\n%s", b.body, out)
			if err != nil {
				t.Errorf("README.md:%d: %v", b.line, err)
			}
		})
	}
}
