// Command lambdafn is the Go Lambda the sandbox's tests deploy: one
// aws-lambda-go handler whose event picks what it does (answer, fail with a
// typed error, sleep past its timeout, crash, log, call S3 with its
// execution role's credentials).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Event selects the behaviour.
type Event struct {
	Op     string   `json:"op"`
	Name   string   `json:"name"`
	Millis int      `json:"ms"`
	Code   int      `json:"code"`
	Bucket string   `json:"bucket"`
	Key    string   `json:"key"`
	Bytes  int      `json:"bytes"`
	Lines  []string `json:"lines"`
}

// NotFoundError is a typed handler error: Lambda reports its type name as errorType.
type NotFoundError struct{ What string }

func (e *NotFoundError) Error() string { return e.What + " was not found" }

// invocations counts the events this instance handled, so tests see reuse.
var invocations int

func handle(ctx context.Context, ev Event) (any, error) {
	invocations++
	lc, _ := lambdacontext.FromContext(ctx)
	switch ev.Op {
	case "echo":
		return map[string]any{"hello": ev.Name, "requestId": lc.AwsRequestID, "invocations": invocations, "pid": os.Getpid()}, nil
	case "context":
		deadline, _ := ctx.Deadline()
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			if k == "AWS_SECRET_ACCESS_KEY" || k == "AWS_SESSION_TOKEN" {
				v = fmt.Sprint(len(v) > 0)
			}
			env[k] = v
		}
		return map[string]any{"env": env, "requestId": lc.AwsRequestID, "functionArn": lc.InvokedFunctionArn,
			"deadlineMs": deadline.UnixMilli(), "clientContext": lc.ClientContext.Custom, "traceId": ctx.Value("x-amzn-trace-id")}, nil
	case "error":
		return nil, &NotFoundError{What: ev.Name}
	case "panic":
		panic("the handler panicked")
	case "sleep":
		time.Sleep(time.Duration(ev.Millis) * time.Millisecond)
		return map[string]any{"slept": ev.Millis, "pid": os.Getpid()}, nil
	case "exit":
		fmt.Println("exiting with", ev.Code)
		os.Exit(ev.Code)
	case "log":
		for _, l := range ev.Lines {
			fmt.Println(l)
		}
		return len(ev.Lines), nil
	case "big":
		return strings.Repeat("x", ev.Bytes), nil
	case "s3get":
		return getObject(ctx, ev.Bucket, ev.Key)
	}
	return nil, fmt.Errorf("unknown op %q", ev.Op)
}

// getObject reads an object with the function's own credentials; an API
// error is returned as data so the caller can see its code.
func getObject(ctx context.Context, bucket, key string) (any, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	out, err := s3.NewFromConfig(cfg).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return map[string]string{"errorCode": ae.ErrorCode(), "message": ae.ErrorMessage()}, nil
	}
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	return map[string]string{"body": string(body)}, err
}

func main() {
	fmt.Println("init: lambdafn starting")
	lambda.Start(handle)
}
