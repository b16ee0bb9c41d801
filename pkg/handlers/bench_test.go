package handlers_test

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/handlers"
	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// BenchmarkAdvance1000InFlight is one Advance of a run whose 1,000 stacks
// CloudFormation is still creating: the run state read and written, the
// config loaded, every stack polled (MAX_POLL_PARALLEL 32). The target is
// under 10 s on the sandbox.
func BenchmarkAdvance1000InFlight(b *testing.B) {
	dir := b.TempDir()
	cfg := "namespace: bench\nstacker_bucket: ''\nstacks:\n"
	for i := range 1000 {
		cfg += fmt.Sprintf("  - name: s%04d\n    template_path: t.yaml\n", i)
	}
	if err := writeFiles(dir, map[string]string{"stacker.yaml": cfg, "t.yaml": "Resources:\n  H: {Type: AWS::CloudFormation::WaitConditionHandle}\n"}); err != nil {
		b.Fatal(err)
	}
	sb := sandboxtest.Start(b, func(o *sandbox.Options) { o.StackDuration = time.Hour })
	e := newEnvIn(b, sb, dir, aws.Config{})
	ref := e.start(b, engine.Build, nil)
	t0 := time.Now()
	out, err := e.advance.Handle(b.Context(), ref)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(t0).Seconds(), "s/first-step")
	if out.InFlight != 1000 {
		b.Fatalf("%d stacks in flight after the first step, want 1000", out.InFlight)
	}
	ref = *out
	for b.Loop() {
		out, err := e.advance.Handle(b.Context(), ref)
		if err != nil {
			b.Fatal(err)
		}
		if out.InFlight != 1000 {
			b.Fatalf("%d stacks in flight, want 1000", out.InFlight)
		}
		ref = *out
	}
}

// BenchmarkFunctionsColdStart deploys the real binaries and runs each once
// from cold on the seed example (Prepare, a first Advance, Report),
// reporting the REPORT line's Init Duration and Max Memory Used, and each
// bootstrap's size.
func BenchmarkFunctionsColdStart(b *testing.B) {
	for b.Loop() {
		e := newFunctionsEnv(b)
		if _, err := e.s3.PutObject(b.Context(), &s3.PutObjectInput{Bucket: aws.String("configs"), Key: aws.String("seed.zip"), Body: bytes.NewReader(seedZip(b))}); err != nil {
			b.Fatal(err)
		}
		in := map[string]any{"input": map[string]any{"action": "build", "config": "s3://configs/seed.zip"},
			"execution_arn": "arn:aws:states:us-east-1:111111111111:execution:deploy:bench"}
		var ref handlers.Reference
		e.coldInvoke(b, "prepare", in, &ref)
		var next handlers.Reference
		e.coldInvoke(b, "advance", ref, &next)
		var out handlers.ReportOutput
		e.coldInvoke(b, "report", handlers.ReportInput{Reference: next}, &out)
		for _, fn := range []string{"prepare", "advance", "report"} {
			b.ReportMetric(float64(bootstrapSize(b, fn))/(1<<20), fn+"-MB-binary")
		}
	}
}

var (
	initRE = regexp.MustCompile(`Init Duration: ([0-9.]+) ms`)
	memRE  = regexp.MustCompile(`Max Memory Used: ([0-9]+) MB`)
)

func (e *functionsEnv) coldInvoke(b *testing.B, fn string, in, out any) {
	payload, _ := json.Marshal(in)
	res, err := e.lambda.Invoke(b.Context(), &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: payload, LogType: lambdatypes.LogTypeTail})
	if err != nil {
		b.Fatal(err)
	}
	if res.FunctionError != nil {
		b.Fatalf("%s: %s", fn, res.Payload)
	}
	if err := json.Unmarshal(res.Payload, out); err != nil {
		b.Fatal(err)
	}
	tail, _ := base64.StdEncoding.DecodeString(aws.ToString(res.LogResult))
	report := string(tail)
	if i := strings.LastIndex(report, "REPORT "); i >= 0 {
		report = report[i:]
	}
	if m := initRE.FindStringSubmatch(report); m != nil {
		v, _ := strconv.ParseFloat(m[1], 64)
		b.ReportMetric(v, fn+"-init-ms")
	} else {
		b.Fatalf("%s: no Init Duration in %q", fn, report)
	}
	if m := memRE.FindStringSubmatch(report); m != nil {
		v, _ := strconv.ParseFloat(m[1], 64)
		b.ReportMetric(v, fn+"-max-MB")
	}
}

func bootstrapSize(b *testing.B, fn string) int64 {
	z := sandboxtest.GoLambdaZip(b, filepath.Join("..", "..", "functions", fn))
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == "bootstrap" {
			return int64(f.UncompressedSize64)
		}
	}
	b.Fatalf("%s: no bootstrap in the zip", fn)
	return 0
}
