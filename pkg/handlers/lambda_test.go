package handlers_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stackerless/stackerless/pkg/handlers"
	"github.com/stackerless/stackerless/pkg/runstate"
	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// functionsEnv deploys the runtime's real bootstrap binaries to the
// sandbox's Lambda under one deployer role, which the accounts' Stacker
// roles admit (stacker-role.yaml's DeployerRoleArn).
type functionsEnv struct {
	t      testing.TB
	sb     *sandbox.Sandbox
	lambda *lambda.Client
	s3     *s3.Client
}

func newFunctionsEnv(t testing.TB) *functionsEnv {
	t.Helper()
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	master := config(t, sb, "master")
	e := &functionsEnv{t: t, sb: sb, lambda: lambda.NewFromConfig(master), s3: s3.NewFromConfig(master)}
	ic := iam.NewFromConfig(master)
	role, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("deployer"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("deployer"), PolicyName: aws.String("runtime"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","events:PutEvents","sts:AssumeRole","states:DescribeExecution","logs:*"],"Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	deployer := aws.ToString(role.Role.Arn)
	bootstrapRoles(t, sb, deployer)
	for _, b := range []string{"configs", "state"} {
		if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("configs"),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range sb.Accounts() {
		ids = append(ids, a.ID)
	}
	env := map[string]string{"STATE_BUCKET": "state", "EVENT_BUS": "default", "ALLOWED_ACCOUNTS": strings.Join(ids, ","), "POLL_SECONDS": "1"}
	for _, fn := range []string{"prepare", "advance", "report"} {
		_, err := e.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(fn), Runtime: lambdatypes.RuntimeProvidedal2023,
			Handler: aws.String("bootstrap"), Role: aws.String(deployer), Timeout: aws.Int32(60), MemorySize: aws.Int32(512),
			Environment: &lambdatypes.Environment{Variables: env},
			Code:        &lambdatypes.FunctionCode{ZipFile: sandboxtest.GoLambdaZip(t, filepath.Join("..", "..", "functions", fn))}})
		if err != nil {
			t.Fatalf("create %s: %v", fn, err)
		}
		if err := lambda.NewFunctionActiveV2Waiter(e.lambda).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fn)}, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// bootstrapRoles deploys stacker-role.yaml in every account, as the seed
// README's first step, admitting the deployer role ("" for none).
func bootstrapRoles(t testing.TB, sb *sandbox.Sandbox, deployer string) {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "..", "templates", "stacker-role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	master, _ := sb.Account("master")
	for _, acct := range sb.Accounts() {
		client := cloudformation.NewFromConfig(config(t, sb, acct.Name))
		_, err := client.CreateStack(t.Context(), &cloudformation.CreateStackInput{
			StackName: aws.String("stacker-role"), TemplateBody: aws.String(string(body)),
			Parameters: []cfntypes.Parameter{
				{ParameterKey: aws.String("MasterAccountId"), ParameterValue: aws.String(master.ID)},
				{ParameterKey: aws.String("DeployerRoleArn"), ParameterValue: aws.String(deployer)}},
			Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityNamedIam},
		})
		if err != nil {
			t.Fatalf("create stacker-role in %s: %v", acct.Name, err)
		}
		sandboxtest.WaitStack(t, client, "stacker-role")
	}
}

// invoke calls a function; a function error comes back as its errorType.
func (e *functionsEnv) invoke(fn string, in any, out any) (errorType string) {
	e.t.Helper()
	payload, err := json.Marshal(in)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.lambda.Invoke(e.t.Context(), &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: payload})
	if err != nil {
		e.t.Fatalf("invoke %s: %v", fn, err)
	}
	if res.FunctionError != nil {
		var fe struct {
			ErrorType    string `json:"errorType"`
			ErrorMessage string `json:"errorMessage"`
		}
		_ = json.Unmarshal(res.Payload, &fe)
		e.t.Logf("%s failed: %s: %s", fn, fe.ErrorType, fe.ErrorMessage)
		return fe.ErrorType
	}
	if err := json.Unmarshal(res.Payload, out); err != nil {
		e.t.Fatalf("%s answered %s: %v", fn, res.Payload, err)
	}
	return ""
}

// seedZip is the seed example as an uploaded bundle.
func seedZip(t testing.TB) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []string{"stacker.yaml", ".aws/config", "templates/stacker-bucket.yaml", "templates/stacker-role.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "..", f))
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(f)
		if err == nil {
			_, err = w.Write(data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The seed example through the real binaries: Prepare, Advance with its
// first instance killed mid-step and the step retried, Report.
func TestFunctionsSeedWithKilledAdvance(t *testing.T) {
	e := newFunctionsEnv(t)
	ctx := t.Context()
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("configs"), Key: aws.String("seed.zip"), Body: bytes.NewReader(seedZip(t))}); err != nil {
		t.Fatal(err)
	}
	var ref handlers.Reference
	in := map[string]any{"input": map[string]any{"action": "build", "config": "s3://configs/seed.zip"},
		"execution_arn": "arn:aws:states:us-east-1:111111111111:execution:deploy:seed-1"}
	if et := e.invoke("prepare", in, &ref); et != "" || ref.Status != handlers.StatusRunning {
		t.Fatalf("prepare: %s %+v", et, ref)
	}

	// The first Advance's instance dies once its stacks are created, while
	// it saves the run (held up by a slow PutObject); the retry of the same
	// input finds what it created by its tokens and finishes the step.
	if err := e.sb.Faults().Latency("s3:PutObject", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	e.sb.Faults().KillLambdaInstance("advance", 1500*time.Millisecond)
	killed := false
	deadline := time.Now().Add(90 * time.Second)
	for !ref.Done {
		var next handlers.Reference
		switch et := e.invoke("advance", ref, &next); et {
		case "":
			ref = next
		case "Runtime.ExitError":
			killed = true
			if err := e.sb.Faults().Latency("s3:PutObject", 0); err != nil {
				t.Fatal(err)
			}
			continue
		default:
			t.Fatalf("advance failed: %s", et)
		}
		if time.Now().After(deadline) {
			t.Fatalf("run not done: %+v", ref)
		}
		if !ref.Done {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if !killed {
		t.Fatal("no Advance instance was killed")
	}
	if ref.Status != "done" {
		t.Fatalf("run ended %+v", ref)
	}
	var out handlers.ReportOutput
	if et := e.invoke("report", handlers.ReportInput{Reference: ref}, &out); et != "" || out.Status != handlers.ReportSucceeded {
		t.Fatalf("report: %s %+v", et, out)
	}
	obj, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("state"), Key: aws.String(runstate.ReportKey(ref.RunID))})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Body.Close()
	var rep handlers.RunReport
	if err := json.NewDecoder(obj.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range rep.Stacks {
		got[s.Name] = s.Account + " " + s.Status
	}
	want := map[string]string{"stacker-bucket": "111111111111 complete", "prod/vpc": "222222222222 complete", "stage/vpc": "333333333333 complete"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("report stacks %v, want %v", got, want)
	}
	for _, acct := range []string{"prod", "stage"} {
		list, err := cloudformation.NewFromConfig(config(t, e.sb, acct)).ListStacks(ctx, &cloudformation.ListStacksInput{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range list.StackSummaries {
			if aws.ToString(s.StackName) == "vpc" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s has %d vpc stacks, want 1", acct, n)
		}
	}
}
