package lambda_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// fnDir is the Go Lambda the tests run.
const fnDir = "../../testdata/lambdafn"

const lambdaTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func noRetry(o *lambda.Options) { o.RetryMaxAttempts = 1 }

// world is a sandbox with an execution role in master.
type world struct {
	sb     *sandbox.Sandbox
	client *lambda.Client
	role   string
}

func newWorld(t *testing.T, opts ...func(*sandbox.Options)) *world {
	t.Helper()
	sb := sandboxtest.Start(t, opts...)
	return &world{sb: sb, client: lambda.NewFromConfig(sb.AWSConfig("master"), noRetry), role: createRole(t, sb, "master", "fn-role", "")}
}

// createRole makes a role Lambda can assume, with the basic execution policy
// and an optional inline policy.
func createRole(t *testing.T, sb *sandbox.Sandbox, account, name, inline string) string {
	t.Helper()
	ctx := t.Context()
	c := iam.NewFromConfig(sb.AWSConfig(account))
	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(lambdaTrust)})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")}); err != nil {
		t.Fatalf("AttachRolePolicy: %v", err)
	}
	if inline != "" {
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("inline"), PolicyDocument: aws.String(inline)}); err != nil {
			t.Fatalf("PutRolePolicy: %v", err)
		}
	}
	return aws.ToString(out.Role.Arn)
}

// create makes a Go function from the test Lambda and waits until it is Active.
func (w *world) create(t *testing.T, name string, edit ...func(*lambda.CreateFunctionInput)) {
	t.Helper()
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: "provided.al2023", Handler: aws.String("bootstrap"), Role: aws.String(w.role),
		Code: &types.FunctionCode{ZipFile: sandboxtest.GoLambdaZip(t, fnDir)}, Timeout: aws.Int32(5),
	}
	for _, e := range edit {
		e(in)
	}
	if _, err := w.client.CreateFunction(t.Context(), in); err != nil {
		t.Fatalf("CreateFunction %s: %v", name, err)
	}
	waitActive(t, w.client, name)
}

func waitActive(t *testing.T, c *lambda.Client, name string) {
	t.Helper()
	wt := lambda.NewFunctionActiveV2Waiter(c, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 100*time.Millisecond
	})
	if err := wt.Wait(t.Context(), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 10*time.Second); err != nil {
		t.Fatalf("wait for %s to be Active: %v", name, err)
	}
}

func waitUpdated(t *testing.T, c *lambda.Client, name string) {
	t.Helper()
	wt := lambda.NewFunctionUpdatedV2Waiter(c, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 100*time.Millisecond
	})
	if err := wt.Wait(t.Context(), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 10*time.Second); err != nil {
		t.Fatalf("wait for %s to be updated: %v", name, err)
	}
}

// invoke runs an event synchronously and decodes the payload.
func (w *world) invoke(t *testing.T, name string, event any, out any) *lambda.InvokeOutput {
	t.Helper()
	payload, _ := json.Marshal(event)
	res, err := w.client.Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String(name), Payload: payload})
	if err != nil {
		t.Fatalf("Invoke %s: %v", name, err)
	}
	if out != nil {
		if err := json.Unmarshal(res.Payload, out); err != nil {
			t.Fatalf("Invoke %s: payload %q: %v", name, res.Payload, err)
		}
	}
	return res
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// waitForLog waits until a message containing substr is in the log group,
// and returns all the group's messages.
func waitForLog(t *testing.T, sb *sandbox.Sandbox, group, substr string) []string {
	t.Helper()
	c := cloudwatchlogs.NewFromConfig(sb.AWSConfig("master"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := c.FilterLogEvents(t.Context(), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group)})
		var msgs []string
		found := false
		if err == nil {
			for _, e := range out.Events {
				msgs = append(msgs, aws.ToString(e.Message))
				found = found || strings.Contains(aws.ToString(e.Message), substr)
			}
		}
		if found {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q in %s (error %v): %q", substr, group, err, msgs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
