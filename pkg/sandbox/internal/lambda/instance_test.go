package lambda_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// elfHeader is the 64-byte header of a little-endian 64-bit ELF executable
// for the given machine: enough for anything that reads the header.
func elfHeader(machine uint16) []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = 2, 1, 1                     // 64-bit, little-endian, version 1
	binary.LittleEndian.PutUint16(h[16:], 2)       // ET_EXEC
	binary.LittleEndian.PutUint16(h[18:], machine) // e_machine
	binary.LittleEndian.PutUint32(h[20:], 1)       // e_version
	binary.LittleEndian.PutUint16(h[52:], 64)      // e_ehsize
	binary.LittleEndian.PutUint16(h[54:], 56)      // e_phentsize
	binary.LittleEndian.PutUint16(h[58:], 64)      // e_shentsize
	return h
}

// otherArch is an architecture the host cannot run: its Lambda name and ELF machine.
func otherArch() (types.Architecture, uint16) {
	if runtime.GOARCH == "arm64" {
		return types.ArchitectureX8664, 62 // EM_X86_64
	}
	return types.ArchitectureArm64, 183 // EM_AARCH64
}

func hostArch() types.Architecture {
	if runtime.GOARCH == "arm64" {
		return types.ArchitectureArm64
	}
	return types.ArchitectureX8664
}

func TestEntrypointFailures(t *testing.T) {
	w := newWorld(t)
	other, machine := otherArch()
	host := hostArch()
	tests := []struct {
		name  string
		zip   []byte
		arch  types.Architecture
		typ   string
		wants []string
	}{
		{"host binary, function declared for the other architecture", sandboxtest.GoLambdaZip(t, fnDir), other, "Runtime.InvalidEntrypoint",
			[]string{"exec format error", "bootstrap is built for " + string(host) + " but the function's architecture is " + string(other)}},
		{"binary and function for the other architecture", sandboxtest.Zip(t, sandboxtest.ZipFile{Name: "bootstrap", Mode: 0o755, Data: elfHeader(machine)}), other, "Runtime.InvalidEntrypoint",
			[]string{"bootstrap and function are " + string(other) + ", but the sandbox runs on " + string(host), "GOARCH=" + runtime.GOARCH}},
		{"no bootstrap", sandboxtest.Zip(t, sandboxtest.ZipFile{Name: "main", Mode: 0o755, Data: []byte("#!/bin/sh\n")}), host, "Runtime.InvalidEntrypoint",
			[]string{"Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]"}},
		{"bootstrap not executable", sandboxtest.Zip(t, sandboxtest.ZipFile{Name: "bootstrap", Mode: 0o644, Data: []byte("#!/bin/sh\nexit 0\n")}), host, "Runtime.InvalidEntrypoint",
			[]string{"fork/exec /var/task/bootstrap: permission denied"}},
		{"runtime exits during init", sandboxtest.Zip(t, sandboxtest.ZipFile{Name: "bootstrap", Mode: 0o755, Data: []byte("#!/bin/sh\necho starting up\nexit 3\n")}), host, "Runtime.ExitError",
			[]string{"Error: Runtime exited with error: exit status 3"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "entry-" + string(rune('a'+i))
			w.create(t, name, func(in *lambda.CreateFunctionInput) {
				in.Code.ZipFile, in.Architectures = tt.zip, []types.Architecture{tt.arch}
			})
			e := functionError(t, w.invoke(t, name, map[string]string{"op": "echo"}, nil))
			if e.Type != tt.typ {
				t.Errorf("errorType %q, want %q (%s)", e.Type, tt.typ, e.Message)
			}
			for _, want := range tt.wants {
				if !strings.Contains(e.Message, want) {
					t.Errorf("errorMessage %q lacks %q", e.Message, want)
				}
			}
		})
	}
	// The init failure's output and error reach the logs.
	msgs := waitForLog(t, w.sb, "/aws/lambda/entry-e", "Runtime.ExitError")
	if !strings.Contains(strings.Join(msgs, "\n"), "starting up") {
		t.Errorf("init output missing from the logs: %q", msgs)
	}
}

func TestLogs(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	logsc := cloudwatchlogs.NewFromConfig(w.sb.AWSConfig("master"))

	// Without the basic execution policy the role may not write logs: the
	// function runs and its output is dropped, as on AWS.
	quiet := createRoleWithTrust(t, w, "quiet-role", lambdaTrust)
	w.create(t, "quiet", func(in *lambda.CreateFunctionInput) { in.Role = aws.String(quiet) })
	w.invoke(t, "quiet", map[string]any{"op": "log", "lines": []string{"unheard"}}, nil)
	groups, err := logsc.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	if err != nil || len(groups.LogGroups) != 0 {
		t.Errorf("log groups of a role without logs permissions: %+v, %v", groups, err)
	}

	// JSON format: the platform's lines are JSON records.
	w.create(t, "structured", func(in *lambda.CreateFunctionInput) {
		in.LoggingConfig = &types.LoggingConfig{LogFormat: types.LogFormatJson, LogGroup: aws.String("/custom/structured")}
	})
	w.invoke(t, "structured", map[string]any{"op": "log", "lines": []string{"plain line"}}, nil)
	msgs := waitForLog(t, w.sb, "/custom/structured", "platform.report")
	var report struct {
		Type   string
		Record struct {
			RequestID string `json:"requestId"`
			Status    string
			Metrics   map[string]float64
		}
	}
	if err := json.Unmarshal([]byte(msgs[len(msgs)-1]), &report); err != nil || report.Type != "platform.report" || report.Record.Status != "success" ||
		report.Record.Metrics["memorySizeMB"] != 128 || report.Record.Metrics["maxMemoryUsedMB"] < 1 || report.Record.Metrics["initDurationMs"] <= 0 {
		t.Errorf("report record %q: %+v (%v)", msgs[len(msgs)-1], report, err)
	}
	if !strings.Contains(strings.Join(msgs, "\n"), "plain line") {
		t.Errorf("function output missing: %q", msgs)
	}
}

// TestCloseStopsInstances: closing the sandbox leaves no process behind and
// removes the unzipped code.
func TestCloseStopsInstances(t *testing.T) {
	o := sandbox.DefaultOptions()
	o.Listen = "127.0.0.1:0"
	sb, err := sandbox.Start(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	w := &world{sb: sb, client: lambda.NewFromConfig(sb.AWSConfig("master"), noRetry), role: createRole(t, sb, "master", "fn-role", "")}
	w.create(t, "busy", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(30) })
	var ctxOut struct{ Env map[string]string }
	w.invoke(t, "busy", map[string]string{"op": "context"}, &ctxOut)
	taskRoot := ctxOut.Env["LAMBDA_TASK_ROOT"]
	root := filepath.Dir(taskRoot)
	// Two instances are busy when the sandbox closes.
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = w.client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("busy"), Payload: []byte(`{"op":"sleep","ms":20000}`)})
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); len(processesIn(root)) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("instances running in %s: %v, want 2", root, processesIn(root))
		}
	}
	start := time.Now()
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %s with an invocation in flight", d)
	}
	if left := processesIn(root); len(left) > 0 {
		t.Errorf("processes left running after Close: %v", left)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("task roots left behind in %s: %v", root, err)
	}
}

// processesIn lists the processes whose working directory is under dir.
func processesIn(dir string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err == nil && strings.HasPrefix(cwd, dir+"/") {
			out = append(out, e.Name())
		}
	}
	return out
}
