package lambda_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func TestInvokeGoFunction(t *testing.T) {
	w := newWorld(t)
	w.create(t, "hello")
	var out struct {
		Hello       string
		RequestID   string `json:"requestId"`
		Invocations int
		PID         int
	}
	res := w.invoke(t, "hello", map[string]string{"op": "echo", "name": "sandbox"}, &out)
	if out.Hello != "sandbox" || res.FunctionError != nil || res.StatusCode != 200 || aws.ToString(res.ExecutedVersion) != "$LATEST" {
		t.Fatalf("Invoke = %+v %+v", res, out)
	}
	first := out.PID
	w.invoke(t, "hello", map[string]string{"op": "echo", "name": "again"}, &out)
	if out.PID != first || out.Invocations != 2 {
		t.Errorf("second invocation ran on pid %d (invocation %d), want the warm instance %d", out.PID, out.Invocations, first)
	}
}

// functionError decodes aws-lambda-go's error body of an Unhandled result.
func functionError(t *testing.T, res *lambda.InvokeOutput) messages.InvokeResponse_Error {
	t.Helper()
	if aws.ToString(res.FunctionError) != "Unhandled" || res.StatusCode != 200 {
		t.Fatalf("FunctionError = %q, status %d, payload %.200s; want Unhandled", aws.ToString(res.FunctionError), res.StatusCode, res.Payload)
	}
	var e messages.InvokeResponse_Error
	if err := json.Unmarshal(res.Payload, &e); err != nil {
		t.Fatalf("error payload %q: %v", res.Payload, err)
	}
	return e
}

func TestInvokeFailures(t *testing.T) {
	w := newWorld(t)
	w.create(t, "fails", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(1) })
	pid := func() int {
		var out struct{ PID int }
		w.invoke(t, "fails", map[string]string{"op": "echo"}, &out)
		return out.PID
	}
	before := pid()

	t.Run("typed handler error", func(t *testing.T) {
		e := functionError(t, w.invoke(t, "fails", map[string]string{"op": "error", "name": "widget"}, nil))
		if e.Type != "NotFoundError" || e.Message != "widget was not found" {
			t.Errorf("error = %+v", e)
		}
		if pid() != before {
			t.Error("a handler error replaced the instance")
		}
	})
	t.Run("panic", func(t *testing.T) {
		e := functionError(t, w.invoke(t, "fails", map[string]string{"op": "panic"}, nil))
		if e.Type != "string" || e.Message != "the handler panicked" || len(e.StackTrace) == 0 {
			t.Errorf("error = %+v", e)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		e := functionError(t, w.invoke(t, "fails", map[string]any{"op": "sleep", "ms": 3000}, nil))
		if e.Type != "Sandbox.Timedout" || !strings.Contains(e.Message, "Error: Task timed out after 1.0") {
			t.Errorf("error = %+v", e)
		}
		if d := time.Since(start); d > 2500*time.Millisecond {
			t.Errorf("the timed-out invocation returned after %s", d)
		}
	})
	t.Run("crash", func(t *testing.T) {
		res := w.invoke(t, "fails", map[string]any{"op": "exit", "code": 2}, nil)
		e := functionError(t, res)
		want := "RequestId: " + requestIDOf(t, res) + " Error: Runtime exited with error: exit status 2"
		if e.Type != "Runtime.ExitError" || e.Message != want {
			t.Errorf("error = %+v, want message %q", e, want)
		}
	})
	t.Run("instance killed mid-invoke", func(t *testing.T) {
		pid()
		w.sb.Faults().KillLambdaInstance("fails", 50*time.Millisecond)
		e := functionError(t, w.invoke(t, "fails", map[string]any{"op": "sleep", "ms": 500}, nil))
		if e.Type != "Runtime.ExitError" || !strings.HasSuffix(e.Message, "Error: Runtime exited with error: signal: killed") {
			t.Errorf("error = %+v", e)
		}
	})
	// After each failure that ended the process, the next invocation starts a new one.
	if after := pid(); after == before {
		t.Error("the instance survived its crash")
	}
}

func requestIDOf(t *testing.T, res *lambda.InvokeOutput) string {
	t.Helper()
	tail, err := base64.StdEncoding.DecodeString(aws.ToString(res.LogResult))
	if err == nil && len(tail) > 0 {
		_, rest, _ := strings.Cut(string(tail), "START RequestId: ")
		id, _, _ := strings.Cut(rest, " ")
		return id
	}
	var e messages.InvokeResponse_Error
	_ = json.Unmarshal(res.Payload, &e)
	_, rest, _ := strings.Cut(e.Message, "RequestId: ")
	id, _, _ := strings.Cut(rest, " ")
	return id
}

func TestInvokeEnvironment(t *testing.T) {
	w := newWorld(t)
	w.create(t, "ctx", func(in *lambda.CreateFunctionInput) {
		in.MemorySize = aws.Int32(256)
		in.Environment = &types.Environment{Variables: map[string]string{"STAGE": "test", "AWS_ENDPOINT_URL": "https://elsewhere.example"}}
	})
	clientCtx := base64.StdEncoding.EncodeToString([]byte(`{"custom":{"caller":"test"}}`))
	payload := []byte(`{"op":"context"}`)
	start := time.Now()
	res, err := w.client.Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String("ctx"), Payload: payload, ClientContext: aws.String(clientCtx)})
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Env           map[string]string
		RequestID     string            `json:"requestId"`
		FunctionArn   string            `json:"functionArn"`
		DeadlineMs    int64             `json:"deadlineMs"`
		ClientContext map[string]string `json:"clientContext"`
		TraceID       string            `json:"traceId"`
	}
	if err := json.Unmarshal(res.Payload, &out); err != nil {
		t.Fatalf("%s: %v", res.Payload, err)
	}
	env := out.Env
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME": "ctx", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"_HANDLER": "bootstrap", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/ctx",
		"STAGE": "test", "AWS_ENDPOINT_URL": w.sb.HTTPSURL(), "AWS_CA_BUNDLE": w.sb.CAFile(), "AWS_SECRET_ACCESS_KEY": "true", "AWS_SESSION_TOKEN": "true",
		"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand", "TZ": ":UTC",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if !strings.HasPrefix(env["AWS_ACCESS_KEY_ID"], "ASIA") || !strings.HasPrefix(env["AWS_LAMBDA_LOG_STREAM_NAME"], time.Now().UTC().Format("2006/01/02")+"/[$LATEST]") {
		t.Errorf("credentials %q, log stream %q", env["AWS_ACCESS_KEY_ID"], env["AWS_LAMBDA_LOG_STREAM_NAME"])
	}
	if _, err := os.Stat(env["LAMBDA_TASK_ROOT"] + "/bootstrap"); err != nil {
		t.Errorf("LAMBDA_TASK_ROOT %q: %v", env["LAMBDA_TASK_ROOT"], err)
	}
	// The sandbox's own environment does not leak in.
	if _, ok := env["HOME"]; ok {
		t.Errorf("HOME = %q reached the function", env["HOME"])
	}
	if out.FunctionArn != "arn:aws:lambda:us-east-1:111111111111:function:ctx" || out.ClientContext["caller"] != "test" || !strings.HasPrefix(out.TraceID, "Root=1-") {
		t.Errorf("context = %+v", out)
	}
	deadline := time.UnixMilli(out.DeadlineMs)
	if deadline.Before(start.Add(4*time.Second)) || deadline.After(time.Now().Add(5*time.Second)) {
		t.Errorf("deadline %s is not the 5 s timeout from the invocation's start", deadline)
	}
}

func TestConcurrency(t *testing.T) {
	w := newWorld(t)
	w.create(t, "limited")
	ctx := t.Context()
	if _, err := w.client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("limited"), ReservedConcurrentExecutions: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	// Two at once run on two instances; a third meanwhile is throttled.
	release := make(chan struct{})
	var wg sync.WaitGroup
	pids := make([]int, 2)
	started := make(chan struct{}, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started <- struct{}{}
			var out struct{ PID int }
			res, err := w.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("limited"), Payload: []byte(`{"op":"sleep","ms":700}`)})
			if err != nil || res.FunctionError != nil || json.Unmarshal(res.Payload, &out) != nil {
				t.Errorf("parallel invoke: %v %v", err, res)
				return
			}
			pids[i] = out.PID
			<-release
		}()
	}
	<-started
	<-started
	time.Sleep(300 * time.Millisecond) // both are inside their 700 ms sleeps
	_, err := w.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("limited"), Payload: []byte(`{"op":"echo"}`)})
	var tooMany *types.TooManyRequestsException
	if !errorsAs(err, &tooMany) || tooMany.Reason != types.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded {
		t.Errorf("third concurrent invoke: %v", err)
	}
	close(release)
	wg.Wait()
	if pids[0] == pids[1] {
		t.Errorf("parallel invocations shared instance %d", pids[0])
	}
	if _, err := w.client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("limited"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	_, err = w.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("limited"), Payload: []byte(`{}`)})
	if apiCode(err) != "TooManyRequestsException" {
		t.Errorf("invoke with reserved concurrency 0: %v", err)
	}
	_, err = w.client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("limited"), ReservedConcurrentExecutions: aws.Int32(901)})
	if apiCode(err) != "InvalidParameterValueException" || !strings.Contains(err.Error(), "below its minimum value of [100]") {
		t.Errorf("reserving more than the account leaves: %v", err)
	}
}

func TestPayloads(t *testing.T) {
	w := newWorld(t)
	w.create(t, "payloads")
	ctx := t.Context()
	tests := []struct {
		name    string
		in      *lambda.InvokeInput
		code    string
		message string
	}{
		{"sync over 6 MB", &lambda.InvokeInput{Payload: jsonString(6*1024*1024 + 1)}, "RequestEntityTooLargeException", "Request must be smaller than 6291456 bytes for the InvokeFunction operation"},
		{"event over 256 KB", &lambda.InvokeInput{Payload: jsonString(256*1024 + 1), InvocationType: types.InvocationTypeEvent}, "RequestEntityTooLargeException", "Request must be smaller than 262144 bytes"},
		{"not json", &lambda.InvokeInput{Payload: []byte(`{"op":`)}, "InvalidRequestContentException", "Could not parse request body into json"},
		{"bad client context", &lambda.InvokeInput{Payload: []byte(`{}`), ClientContext: aws.String("not base64!")}, "InvalidRequestContentException", "Client context"},
		{"unknown function", &lambda.InvokeInput{FunctionName: aws.String("nope"), Payload: []byte(`{}`)}, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:111111111111:function:nope"},
		{"unknown version", &lambda.InvokeInput{Qualifier: aws.String("7"), Payload: []byte(`{}`)}, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:111111111111:function:payloads:7"},
		{"bad name", &lambda.InvokeInput{FunctionName: aws.String("no spaces"), Payload: []byte(`{}`)}, "ValidationException", "failed to satisfy constraint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.in.FunctionName == nil {
				tt.in.FunctionName = aws.String("payloads")
			}
			_, err := w.client.Invoke(ctx, tt.in)
			if apiCode(err) != tt.code || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("got %v, want %s: %s", err, tt.code, tt.message)
			}
		})
	}
	// Exactly at the limits is fine; a response over 6 MB is the function's error.
	res, err := w.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("payloads"), Payload: jsonString(6 * 1024 * 1024)})
	if err != nil {
		t.Fatalf("6 MB payload: %v", err)
	}
	if e := functionError(t, res); e.Type != "UnmarshalTypeError" {
		t.Errorf("a string event for a struct handler: %+v", e)
	}
	// The limit is 6,291,556 bytes; the response is the JSON string, quotes included.
	e := functionError(t, w.invoke(t, "payloads", map[string]any{"op": "big", "bytes": 6291556 - 1}, nil))
	if e.Type != "Function.ResponseSizeTooLarge" {
		t.Errorf("oversized response: %+v", e)
	}
	var s string
	w.invoke(t, "payloads", map[string]any{"op": "big", "bytes": 6291556 - 2}, &s)
	if len(s) != 6291556-2 {
		t.Errorf("a response just under 6 MB came back with %d bytes", len(s))
	}
}

// jsonString is a JSON string of exactly n bytes.
func jsonString(n int) []byte {
	return []byte(`"` + strings.Repeat("a", n-2) + `"`)
}

func TestInvocationTypes(t *testing.T) {
	w := newWorld(t)
	w.create(t, "types")
	ctx := t.Context()
	dry, err := w.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("types"), InvocationType: types.InvocationTypeDryRun})
	if err != nil || dry.StatusCode != 204 {
		t.Fatalf("DryRun = %+v, %v", dry, err)
	}
	marker := fmt.Sprintf("event-%d", time.Now().UnixNano())
	ev, err := w.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("types"), InvocationType: types.InvocationTypeEvent,
		Payload: []byte(`{"op":"log","lines":["` + marker + `"]}`)})
	if err != nil || ev.StatusCode != 202 || len(ev.Payload) != 0 {
		t.Fatalf("Event = %+v, %v", ev, err)
	}
	// The event runs in the background: its output reaches the log group.
	waitForLog(t, w.sb, "/aws/lambda/types", marker)

	tail := w.invoke(t, "types", map[string]any{"op": "log", "lines": []string{"tail line"}}, nil)
	if tail.LogResult != nil {
		t.Errorf("LogResult without LogType Tail: %q", aws.ToString(tail.LogResult))
	}
	res, err := w.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("types"), LogType: types.LogTypeTail,
		Payload: []byte(`{"op":"log","lines":["tail line"]}`)})
	if err != nil {
		t.Fatal(err)
	}
	log, _ := base64.StdEncoding.DecodeString(aws.ToString(res.LogResult))
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "START RequestId: ") || lines[1] != "tail line" ||
		!strings.HasPrefix(lines[2], "END RequestId: ") || !strings.HasPrefix(lines[3], "REPORT RequestId: ") {
		t.Errorf("log tail:\n%s", log)
	}
}

// TestEventRetries: a failing Event invocation runs three times in all; a
// throttled one waits until it can run.
func TestEventRetries(t *testing.T) {
	w := newWorld(t)
	w.create(t, "async")
	ctx := t.Context()
	if _, err := w.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("async"), InvocationType: types.InvocationTypeEvent,
		Payload: []byte(`{"op":"error","name":"async order"}`)}); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		n := 0
		for _, m := range waitForLog(t, w.sb, "/aws/lambda/async", "async order") {
			if strings.Contains(m, `"errorMessage":"async order was not found"`) {
				n++
			}
		}
		return n
	}
	for deadline := time.Now().Add(10 * time.Second); count() < 3; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d attempts of the failing event, want 3", count())
		}
	}
	time.Sleep(time.Second) // longer than any retry delay: no fourth attempt comes
	if n := count(); n != 3 {
		t.Errorf("%d attempts of the failing event, want 3", n)
	}

	if _, err := w.client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("async"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("async"), InvocationType: types.InvocationTypeEvent,
		Payload: []byte(`{"op":"log","lines":["held back"]}`)}); err != nil {
		t.Fatalf("an Event invoke is accepted while throttled: %v", err)
	}
	if _, err := w.client.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("async")}); err != nil {
		t.Fatal(err)
	}
	waitForLog(t, w.sb, "/aws/lambda/async", "held back")
}
