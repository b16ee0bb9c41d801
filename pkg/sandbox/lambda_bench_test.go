package sandbox_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// benchFunction creates the test Go Lambda through the API and returns a client.
func benchFunction(b *testing.B) (*lambda.Client, *sandbox.Sandbox) {
	b.Helper()
	sb := sandboxtest.Start(b, func(o *sandbox.Options) { o.LambdaStateDelay = time.Millisecond })
	createGoFunction(b, sb, "bench")
	return lambda.NewFromConfig(sb.AWSConfig("master")), sb
}

func waitFunction(b *testing.B, c *lambda.Client) {
	b.Helper()
	w := lambda.NewFunctionUpdatedV2Waiter(c, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = time.Millisecond, 5*time.Millisecond
	})
	if err := w.Wait(b.Context(), &lambda.GetFunctionInput{FunctionName: aws.String("bench")}, 10*time.Second); err != nil {
		b.Fatal(err)
	}
}

func benchInvoke(b *testing.B, c *lambda.Client) {
	b.Helper()
	out, err := c.Invoke(b.Context(), &lambda.InvokeInput{FunctionName: aws.String("bench"), Payload: []byte(`{"op":"echo","name":"bench"}`)})
	if err != nil || out.FunctionError != nil {
		b.Fatalf("Invoke: %v %s", err, out.Payload)
	}
}

// BenchmarkLambdaInvokeWarm is the latency of a synchronous Invoke of a Go
// function on a warm instance, through the SDK.
func BenchmarkLambdaInvokeWarm(b *testing.B) {
	c, _ := benchFunction(b)
	benchInvoke(b, c) // the cold start
	b.ResetTimer()
	for b.Loop() {
		benchInvoke(b, c)
	}
}

// BenchmarkLambdaInvokeCold is the latency of an Invoke that starts a new
// instance: a configuration change retires the warm one before each
// (untimed), so each timed Invoke starts the bootstrap and waits for its init.
func BenchmarkLambdaInvokeCold(b *testing.B) {
	c, _ := benchFunction(b)
	benchInvoke(b, c) // the first unzip of the code
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		if _, err := c.UpdateFunctionConfiguration(b.Context(), &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("bench"),
			Environment: &types.Environment{Variables: map[string]string{"GENERATION": strconv.Itoa(i)}}}); err != nil {
			b.Fatal(err)
		}
		waitFunction(b, c)
		b.StartTimer()
		benchInvoke(b, c)
	}
}
