package handlers_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/stackerless/stackerless/pkg/handlers"
	"github.com/stackerless/stackerless/pkg/runstate"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// TestPrepareBinary runs functions/prepare, the real bootstrap, through the
// sandbox's Lambda under its own role: a run prepared from an upload, and a
// refused input reported as ConfigError with its message, as the state
// machine sees them.
func TestPrepareBinary(t *testing.T) {
	e := newPrepareEnv(t)
	ctx := t.Context()
	master, _ := e.sb.Account("master")
	prod, _ := e.sb.Account("prod")
	ic := iam.NewFromConfig(e.sb.AWSConfig("master"))
	role, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("prepare"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Action":["s3:GetObject","s3:GetObjectVersion","s3:ListBucket"],"Resource":["arn:aws:s3:::configs","arn:aws:s3:::configs/*"]},
{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:ListBucket"],"Resource":["arn:aws:s3:::state","arn:aws:s3:::state/*"]},
{"Effect":"Allow","Action":"states:DescribeExecution","Resource":"*"},
{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}`
	if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("prepare"), PolicyName: aws.String("p"), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	lc := lambda.NewFromConfig(e.sb.AWSConfig("master"), func(o *lambda.Options) { o.RetryMaxAttempts = 1 })
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("prepare"), Runtime: lambdatypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: role.Role.Arn, Timeout: aws.Int32(30),
		Code: &lambdatypes.FunctionCode{ZipFile: sandboxtest.GoLambdaZip(t, "../../functions/prepare")},
		Environment: &lambdatypes.Environment{Variables: map[string]string{
			"STATE_BUCKET": stateBucket, "ALLOWED_ACCOUNTS": master.ID + "," + prod.ID}}}); err != nil {
		t.Fatal(err)
	}
	if err := lambda.NewFunctionActiveV2Waiter(lc).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("prepare")}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	invoke := func(input string) *lambda.InvokeOutput {
		t.Helper()
		payload := fmt.Sprintf(`{"input":%s,"execution_arn":%q}`, input, e.execution())
		out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("prepare"), Payload: []byte(payload)})
		if err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		return out
	}

	version := e.put("demo.zip", e.bundleZip(nil))
	out := invoke(uploadEvent("demo.zip", version))
	var ref handlers.Reference
	if out.FunctionError != nil || json.Unmarshal(out.Payload, &ref) != nil || ref.Status != handlers.StatusRunning {
		t.Fatalf("Prepare = %s (%s)", out.Payload, aws.ToString(out.FunctionError))
	}
	st, _, err := e.store.LoadState(ctx, ref.RunID)
	if err != nil || st.Request.Source.VersionID != version || len(st.Run.Stacks) != 2 {
		t.Fatalf("state %+v, %v", st, err)
	}
	if _, err := e.store.Get(ctx, runstate.RunPrefix(ref.RunID)+"bundle.tar.gz"); err != nil {
		t.Errorf("prepared bundle: %v", err)
	}

	for _, tt := range []struct{ name, input, typ, msg string }{
		{"unknown field", `{"action":"build","config":"s3://configs/demo.zip","dry_run":true}`, "ConfigError",
			`an input has no field "dry_run" (it takes action, config, environment, stacks)`},
		{"invalid config", uploadEvent("bad.zip", e.put("bad.zip", e.bundleZip(map[string]string{"templates/app.yaml": ""}))), "ConfigError",
			"stacker.yaml:8:5: stacks[1].template_path: Could not find template templates/app.yaml in the bundle (searched templates/app.yaml): add it to the upload"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := invoke(tt.input)
			var e messages.InvokeResponse_Error
			if aws.ToString(out.FunctionError) != "Unhandled" || json.Unmarshal(out.Payload, &e) != nil {
				t.Fatalf("FunctionError %q, payload %s", aws.ToString(out.FunctionError), out.Payload)
			}
			if e.Type != tt.typ || !strings.Contains(e.Message, tt.msg) {
				t.Errorf("error %s: %s\nwant %s containing %s", e.Type, e.Message, tt.typ, tt.msg)
			}
		})
	}
}
