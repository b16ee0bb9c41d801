package sandbox_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	eventbridgetypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// lambdaTemplate deploys the test Lambda from an S3 zip with its execution
// role (which may read only allowed/* of the code bucket), its log group, a
// version, an alias and, when Share is yes, a resource policy letting the
// prod account invoke it.
const lambdaTemplate = `
Parameters:
  CodeBucket: {Type: String}
  CodeKey: {Type: String}
  Architecture: {Type: String}
  Share: {Type: String, Default: "no", AllowedValues: ["yes", "no"]}
Conditions:
  Shared: !Equals [!Ref Share, "yes"]
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]
      ManagedPolicyArns: [arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]
      Policies:
        - PolicyName: read-allowed
          PolicyDocument:
            Version: "2012-10-17"
            Statement: [{Effect: Allow, Action: s3:GetObject, Resource: !Sub "arn:aws:s3:::${CodeBucket}/allowed/*"}]
  Logs:
    Type: AWS::Logs::LogGroup
    Properties: {LogGroupName: /aws/lambda/sandbox-fn, RetentionInDays: 7}
  Function:
    Type: AWS::Lambda::Function
    DependsOn: Logs
    Properties:
      FunctionName: sandbox-fn
      Runtime: provided.al2023
      Handler: bootstrap
      Architectures: [!Ref Architecture]
      Timeout: 1
      Role: !GetAtt Role.Arn
      Code: {S3Bucket: !Ref CodeBucket, S3Key: !Ref CodeKey}
      Environment: {Variables: {STAGE: test}}
  Version:
    Type: AWS::Lambda::Version
    Properties: {FunctionName: !Ref Function}
  Alias:
    Type: AWS::Lambda::Alias
    Properties: {FunctionName: !Ref Function, FunctionVersion: !GetAtt Version.Version, Name: live}
  ProdInvoke:
    Type: AWS::Lambda::Permission
    Condition: Shared
    Properties: {FunctionName: !GetAtt Function.Arn, Action: lambda:InvokeFunction, Principal: "222222222222"}
Outputs:
  FunctionArn: {Value: !GetAtt Function.Arn}
  AliasArn: {Value: !Ref Alias}
`

// hostArch is the Lambda architecture the sandbox's host runs.
func hostArch() string {
	if runtime.GOARCH == "arm64" {
		return "arm64"
	}
	return "x86_64"
}

// deployLambda uploads the test Lambda's zip and deploys lambdaTemplate.
func deployLambda(t *testing.T, sb *sandbox.Sandbox) {
	t.Helper()
	ctx := t.Context()
	s3c := s3.NewFromConfig(sb.HTTPSConfig("master"))
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("code-bucket")}); err != nil {
		t.Fatal(err)
	}
	// TLS only, as CDK's buckets are: Lambda fetches the code, and the
	// function calls S3, over HTTPS.
	tlsOnly := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*",` +
		`"Resource":["arn:aws:s3:::code-bucket","arn:aws:s3:::code-bucket/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	if _, err := s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("code-bucket"), Policy: aws.String(tlsOnly)}); err != nil {
		t.Fatal(err)
	}
	for key, body := range map[string][]byte{
		"fn.zip":          sandboxtest.GoLambdaZip(t, "testdata/lambdafn"),
		"allowed/doc.txt": []byte("hello from s3"),
		"denied/doc.txt":  []byte("secret"),
	} {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("code-bucket"), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	deployStack(t, sb, "no")
}

func deployStack(t *testing.T, sb *sandbox.Sandbox, share string) {
	t.Helper()
	cfc := cloudformation.NewFromConfig(sb.AWSConfig("master"), cfnNoRetry)
	params := []cfntypes.Parameter{
		{ParameterKey: aws.String("CodeBucket"), ParameterValue: aws.String("code-bucket")},
		{ParameterKey: aws.String("CodeKey"), ParameterValue: aws.String("fn.zip")},
		{ParameterKey: aws.String("Architecture"), ParameterValue: aws.String(hostArch())},
		{ParameterKey: aws.String("Share"), ParameterValue: aws.String(share)},
	}
	var err error
	want := cfntypes.StackStatusUpdateComplete
	if share == "no" {
		_, err = cfc.CreateStack(t.Context(), &cloudformation.CreateStackInput{StackName: aws.String("fn"), TemplateBody: aws.String(lambdaTemplate),
			Parameters: params, Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam}})
		want = cfntypes.StackStatusCreateComplete
	} else {
		_, err = cfc.UpdateStack(t.Context(), &cloudformation.UpdateStackInput{StackName: aws.String("fn"), TemplateBody: aws.String(lambdaTemplate),
			Parameters: params, Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam}})
	}
	if err != nil {
		t.Fatal(err)
	}
	if st := settled(t, cfc, "fn"); st.StackStatus != want {
		events, _ := cfc.DescribeStackEvents(t.Context(), &cloudformation.DescribeStackEventsInput{StackName: aws.String("fn")})
		for _, e := range events.StackEvents {
			if e.ResourceStatusReason != nil {
				t.Logf("%s %s: %s", aws.ToString(e.LogicalResourceId), e.ResourceStatus, aws.ToString(e.ResourceStatusReason))
			}
		}
		t.Fatalf("stack %s", st.StackStatus)
	}
}

func invokeFn(t *testing.T, c *lambda.Client, fn string, event string) *lambda.InvokeOutput {
	t.Helper()
	out, err := c.Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: []byte(event)})
	if err != nil {
		t.Fatalf("Invoke %s %s: %v", fn, event, err)
	}
	return out
}

func unhandled(t *testing.T, out *lambda.InvokeOutput) messages.InvokeResponse_Error {
	t.Helper()
	var e messages.InvokeResponse_Error
	if aws.ToString(out.FunctionError) != "Unhandled" || json.Unmarshal(out.Payload, &e) != nil {
		t.Fatalf("FunctionError %q, payload %.300s; want Unhandled with aws-lambda-go's error", aws.ToString(out.FunctionError), out.Payload)
	}
	return e
}

// TestGoLambdaFromCloudFormation is the Lambda acceptance test: a Go
// Lambda built with aws-lambda-go, deployed by CloudFormation from an S3 zip,
// invoked through the SDK and the AWS CLI.
func TestGoLambdaFromCloudFormation(t *testing.T) {
	sb := sandboxtest.Start(t)
	deployLambda(t, sb)
	ctx := t.Context()
	c := lambda.NewFromConfig(sb.AWSConfig("master"), func(o *lambda.Options) { o.RetryMaxAttempts = 1 })

	var hello struct{ Hello string }
	if out := invokeFn(t, c, "sandbox-fn", `{"op":"echo","name":"sdk"}`); json.Unmarshal(out.Payload, &hello) != nil || hello.Hello != "sdk" || out.FunctionError != nil {
		t.Fatalf("result = %s (%v)", out.Payload, aws.ToString(out.FunctionError))
	}
	if out := invokeFn(t, c, "sandbox-fn:live", `{"op":"echo"}`); aws.ToString(out.ExecutedVersion) != "1" {
		t.Errorf("the alias ran version %q", aws.ToString(out.ExecutedVersion))
	}
	if e := unhandled(t, invokeFn(t, c, "sandbox-fn", `{"op":"error","name":"order 7"}`)); e.Type != "NotFoundError" || e.Message != "order 7 was not found" {
		t.Errorf("typed handler error = %+v", e)
	}
	if e := unhandled(t, invokeFn(t, c, "sandbox-fn", `{"op":"sleep","ms":3000}`)); e.Type != "Sandbox.Timedout" || !strings.Contains(e.Message, "Task timed out after 1.") {
		t.Errorf("timeout = %+v", e)
	}
	if e := unhandled(t, invokeFn(t, c, "sandbox-fn", `{"op":"exit","code":3}`)); e.Type != "Runtime.ExitError" || !strings.HasSuffix(e.Message, "Runtime exited with error: exit status 3") {
		t.Errorf("crash = %+v", e)
	}

	// The function's calls carry its execution role's session: allowed/* yes, the rest no.
	var got map[string]string
	json.Unmarshal(invokeFn(t, c, "sandbox-fn", `{"op":"s3get","bucket":"code-bucket","key":"allowed/doc.txt"}`).Payload, &got)
	if got["body"] != "hello from s3" {
		t.Errorf("read allowed by the role's policy: %v", got)
	}
	json.Unmarshal(invokeFn(t, c, "sandbox-fn", `{"op":"s3get","bucket":"code-bucket","key":"denied/doc.txt"}`).Payload, &got)
	if got["errorCode"] != "AccessDenied" || !strings.Contains(got["message"], "assumed-role/") || !strings.Contains(got["message"], "/sandbox-fn is not authorized to perform: s3:GetObject") {
		t.Errorf("read outside the role's policy: %v", got)
	}

	// Every invocation reports in the function's log group; the first was a cold start.
	logsc := cloudwatchlogs.NewFromConfig(sb.AWSConfig("master"))
	out, err := logsc.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/sandbox-fn"), FilterPattern: aws.String(`"REPORT RequestId"`)})
	if err != nil {
		t.Fatal(err)
	}
	report := regexp.MustCompile(`^REPORT RequestId: [0-9a-f-]{36}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: [1-9]\d* MB\t(Init Duration: \d+\.\d\d ms\t)?(Status: (timeout|error\tError Type: Runtime.ExitError)\t)?$`)
	var cold, timedOut int
	for _, e := range out.Events {
		msg := aws.ToString(e.Message)
		if !report.MatchString(msg) {
			t.Errorf("REPORT line %q", msg)
		}
		if strings.Contains(msg, "Init Duration") {
			cold++
		}
		if strings.Contains(msg, "Status: timeout") {
			timedOut++
		}
	}
	if len(out.Events) != 7 || cold < 2 || timedOut != 1 {
		t.Errorf("%d REPORT lines (%d cold, %d timed out), want 7 with the cold starts and the timeout", len(out.Events), cold, timedOut)
	}
	groups, err := logsc.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/sandbox-fn")})
	if err != nil || len(groups.LogGroups) != 1 || aws.ToInt32(groups.LogGroups[0].RetentionInDays) != 7 {
		t.Errorf("log group = %+v, %v", groups, err)
	}

	// Another account may invoke it only once the resource policy says so.
	prod := lambda.NewFromConfig(sb.AWSConfig("prod"), func(o *lambda.Options) { o.RetryMaxAttempts = 1 })
	arn := "arn:aws:lambda:us-east-1:111111111111:function:sandbox-fn"
	_, err = prod.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(arn), Payload: []byte(`{"op":"echo"}`)})
	if apiCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "because no resource-based policy allows the lambda:InvokeFunction action") {
		t.Fatalf("prod without a resource policy: %v", err)
	}
	deployStack(t, sb, "yes")
	if out, err := prod.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(arn), Payload: []byte(`{"op":"echo","name":"prod"}`)}); err != nil || !strings.Contains(string(out.Payload), `"hello":"prod"`) {
		t.Errorf("prod with the resource policy: %v %s", err, out.Payload)
	}

	t.Run("aws cli", func(t *testing.T) { invokeWithCLI(t, sb) })

	// Deleting the stack deletes the function and its log group.
	cfc := cloudformation.NewFromConfig(sb.AWSConfig("master"), cfnNoRetry)
	id := aws.ToString(settled(t, cfc, "fn").StackId)
	if _, err := cfc.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("fn")}); err != nil {
		t.Fatal(err)
	}
	if st := settled(t, cfc, id); st.StackStatus != cfntypes.StackStatusDeleteComplete {
		t.Fatalf("stack %s after DeleteStack", st.StackStatus)
	}
	if _, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("sandbox-fn")}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("GetFunction after the stack's deletion: %v", err)
	}
	if groups, err := logsc.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{}); err != nil || len(groups.LogGroups) != 0 {
		t.Errorf("log groups after the stack's deletion: %+v, %v", groups, err)
	}
}

// invokeWithCLI drives the deployed function with Debian's AWS CLI.
func invokeWithCLI(t *testing.T, sb *sandbox.Sandbox) {
	if _, err := os.Stat(awsCLI); err != nil {
		t.Skip("AWS CLI not installed at " + awsCLI)
	}
	master, _ := sb.Account("master")
	dir := t.TempDir()
	run := func(payload string) (map[string]any, string) {
		t.Helper()
		outFile := filepath.Join(dir, "out.json")
		cmd := exec.CommandContext(t.Context(), awsCLI, "--endpoint-url", sb.URL(), "lambda", "invoke", "--function-name", "sandbox-fn",
			"--cli-binary-format", "raw-in-base64-out", "--payload", payload, outFile)
		cmd.Env = []string{"AWS_ACCESS_KEY_ID=" + master.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + master.SecretAccessKey,
			"AWS_DEFAULT_REGION=us-east-1", "HOME=" + dir, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
			"AWS_MAX_ATTEMPTS=1", "PATH=/usr/bin:/bin"}
		stdout, err := cmd.Output()
		if err != nil {
			t.Fatalf("aws lambda invoke: %v\n%s", err, stdout)
		}
		var meta map[string]any
		if err := json.Unmarshal(stdout, &meta); err != nil {
			t.Fatalf("aws lambda invoke printed %q: %v", stdout, err)
		}
		body, _ := os.ReadFile(outFile)
		return meta, string(body)
	}
	meta, body := run(`{"op":"echo","name":"cli"}`)
	if meta["StatusCode"] != float64(200) || meta["ExecutedVersion"] != "$LATEST" || !strings.Contains(body, `"hello":"cli"`) {
		t.Errorf("aws lambda invoke: %v, %s", meta, body)
	}
	meta, body = run(`{"op":"error","name":"cli order"}`)
	if meta["FunctionError"] != "Unhandled" || !strings.Contains(body, `"errorType":"NotFoundError"`) {
		t.Errorf("aws lambda invoke of a failing handler: %v, %s", meta, body)
	}
}

// TestLambdaFaults: the fault injector reaches Lambda's REST-JSON API with
// Lambda's own error shapes, which the SDK retries.
func TestLambdaFaults(t *testing.T) {
	sb := sandboxtest.Start(t, func(o *sandbox.Options) { o.Seed = 3 })
	cfg := sb.AWSConfig("master")
	ct := &countingTransport{base: http.DefaultTransport}
	cfg.HTTPClient = &http.Client{Transport: ct}
	standard := retry.NewStandard(func(o *retry.StandardOptions) { o.RateLimiter = ratelimit.None })
	cfg.Retryer = func() aws.Retryer {
		return retry.AddWithMaxBackoffDelay(retry.AddWithMaxAttempts(standard, 3), time.Millisecond)
	}
	c := lambda.NewFromConfig(cfg)
	tests := []struct {
		name   string
		inject func() error
		call   func() error
		code   string
		status int
	}{
		{"throttled invoke", func() error { return sb.Faults().Throttle("lambda:Invoke", 1) }, func() error {
			_, err := c.Invoke(t.Context(), &lambda.InvokeInput{FunctionName: aws.String("any")})
			return err
		}, "TooManyRequestsException", 429},
		{"service errors", func() error { return sb.Faults().ServerErrors("lambda:*", 1) }, func() error {
			_, err := c.ListFunctions(t.Context(), &lambda.ListFunctionsInput{})
			return err
		}, "ServiceException", 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb.Faults().Reset()
			if err := tt.inject(); err != nil {
				t.Fatal(err)
			}
			ct.n = 0
			err := tt.call()
			var re *awshttp.ResponseError
			if apiCode(err) != tt.code || !errors.As(err, &re) || re.HTTPStatusCode() != tt.status {
				t.Fatalf("error = %v, want %s (%d)", err, tt.code, tt.status)
			}
			var maxErr *retry.MaxAttemptsError
			if !errors.As(err, &maxErr) || ct.n != 3 {
				t.Errorf("%d attempts, %v: the SDK did not retry it", ct.n, err)
			}
		})
	}
}

// TestLambdaTemplateErrors: a malformed function definition fails its
// resource with Lambda's or CloudFormation's words, and nothing is left.
func TestLambdaTemplateErrors(t *testing.T) {
	sb := sandboxtest.Start(t)
	cfc := cloudformation.NewFromConfig(sb.AWSConfig("master"), cfnNoRetry)
	role := `
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: %s}, Action: sts:AssumeRole}]}`
	fn := `
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Role: !GetAtt Role.Arn
      Handler: index.handler
      Code: {ZipFile: "exports.handler = async () => 1;"}
      %s`
	tests := []struct {
		name, trust, props, reason string
	}{
		{"unknown property", "lambda.amazonaws.com", "Runtime: nodejs20.x\n      Bogus: 1", "Properties validation failed for resource Fn with message: #: extraneous key [Bogus] is not permitted"},
		{"deprecated runtime", "lambda.amazonaws.com", "Runtime: python2.7", "The runtime parameter of python2.7 is no longer supported"},
		{"timeout too long", "lambda.amazonaws.com", "Runtime: nodejs20.x\n      Timeout: 901", "Member must have value less than or equal to 900"},
		{"inline code for a provided runtime", "lambda.amazonaws.com", "Runtime: provided.al2023", "ZipFile can only be used when Runtime is set to either of nodejs and python runtimes."},
		{"role Lambda cannot assume", "ec2.amazonaws.com", "Runtime: nodejs20.x", "The role defined for the function cannot be assumed by Lambda."},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "bad-" + strconv.Itoa(i)
			tpl := "Resources:" + fmt.Sprintf(role, tt.trust) + fmt.Sprintf(fn, tt.props)
			if _, err := cfc.CreateStack(t.Context(), &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(tpl),
				Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam}}); err != nil {
				t.Fatal(err)
			}
			if st := settled(t, cfc, name); st.StackStatus != cfntypes.StackStatusRollbackComplete {
				t.Fatalf("status %s", st.StackStatus)
			}
			events, err := cfc.DescribeStackEvents(t.Context(), &cloudformation.DescribeStackEventsInput{StackName: aws.String(name)})
			if err != nil {
				t.Fatal(err)
			}
			var reasons []string
			for _, e := range events.StackEvents {
				if aws.ToString(e.LogicalResourceId) == "Fn" && e.ResourceStatus == cfntypes.ResourceStatusCreateFailed {
					reasons = append(reasons, aws.ToString(e.ResourceStatusReason))
				}
			}
			if len(reasons) != 1 || !strings.Contains(reasons[0], tt.reason) {
				t.Errorf("CREATE_FAILED reasons %q, want one with %q", reasons, tt.reason)
			}
		})
	}
	list, err := lambda.NewFromConfig(sb.AWSConfig("master")).ListFunctions(t.Context(), &lambda.ListFunctionsInput{})
	if err != nil || len(list.Functions) != 0 {
		t.Errorf("functions left: %+v, %v", list, err)
	}
}

// TestStateMachineRunsGoLambda: a Step Functions Task state runs the Go
// Lambda through the sandbox's Lambda Invoke, as the state machine's role;
// the function's typed error reaches Catch by its name.
func TestStateMachineRunsGoLambda(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	fnARN := createGoFunction(t, sb, "step")
	statesRole := serviceRole(t, sb, "states-role", "states.amazonaws.com", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"`+fnARN+`"}]}`)
	sc := sfn.NewFromConfig(sb.AWSConfig("master"))
	def := `{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"` + fnARN + `","Catch":[{"ErrorEquals":["NotFoundError"],"Next":"Caught"}],"End":true},` +
		`"Caught":{"Type":"Pass","Result":"caught","End":true}}}`
	sm, err := sc.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("steps"), Definition: aws.String(def), RoleArn: aws.String(statesRole)})
	if err != nil {
		t.Fatal(err)
	}
	run := func(input string) string {
		t.Helper()
		ex, err := sc.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(input)})
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			d, err := sc.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: ex.ExecutionArn})
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != sfntypes.ExecutionStatusRunning {
				if d.Status != sfntypes.ExecutionStatusSucceeded {
					t.Fatalf("execution %s: %s %s", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
				}
				return aws.ToString(d.Output)
			}
		}
		t.Fatal("the execution did not end")
		return ""
	}
	if out := run(`{"op":"echo","name":"states"}`); !strings.Contains(out, `"hello":"states"`) {
		t.Errorf("output %s", out)
	}
	if out := run(`{"op":"error","name":"order"}`); out != `"caught"` {
		t.Errorf("output of the caught error: %s", out)
	}
}

// serviceRole creates a role in master that service may assume, with an inline policy.
func serviceRole(t testing.TB, sb *sandbox.Sandbox, name, service, inline string) string {
	t.Helper()
	ic := iam.NewFromConfig(sb.AWSConfig("master"))
	out, err := ic.CreateRole(t.Context(), &iam.CreateRoleInput{RoleName: aws.String(name),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + service + `"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutRolePolicy(t.Context(), &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(inline)}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Role.Arn)
}

// createGoFunction creates the test Lambda in master through the API, waits
// until it is Active, and returns its ARN.
func createGoFunction(t testing.TB, sb *sandbox.Sandbox, name string) string {
	t.Helper()
	role := serviceRole(t, sb, name+"-role", "lambda.amazonaws.com", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:*","Resource":"*"}]}`)
	lc := lambda.NewFromConfig(sb.AWSConfig("master"))
	out, err := lc.CreateFunction(t.Context(), &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: lambdatypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: aws.String(role), Code: &lambdatypes.FunctionCode{ZipFile: sandboxtest.GoLambdaZip(t, "testdata/lambdafn")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := lambda.NewFunctionActiveV2Waiter(lc).Wait(t.Context(), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.FunctionArn)
}

// TestEventBridgeRuleInvokesLambda: a rule's Lambda target is invoked by
// events.amazonaws.com, which the function's resource policy must allow for
// that rule.
func TestEventBridgeRuleInvokesLambda(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	fnARN := createGoFunction(t, sb, "on-order")
	ec := eventbridge.NewFromConfig(sb.AWSConfig("master"))
	rule, err := ec.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("orders"), EventPattern: aws.String(`{"source":["shop"]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ec.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("orders"), Targets: []eventbridgetypes.Target{
		{Id: aws.String("fn"), Arn: aws.String(fnARN), Input: aws.String(`{"op":"log","lines":["from eventbridge"]}`)}}}); err != nil {
		t.Fatal(err)
	}
	put := func() sandbox.Delivery {
		t.Helper()
		if _, err := ec.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []eventbridgetypes.PutEventsRequestEntry{
			{Source: aws.String("shop"), DetailType: aws.String("order"), Detail: aws.String(`{}`)}}}); err != nil {
			t.Fatal(err)
		}
		ds := sb.Deliveries()
		return ds[len(ds)-1]
	}
	if d := put(); d.Err == nil || !strings.Contains(d.Err.Error(), "events.amazonaws.com is not authorized to perform: lambda:InvokeFunction") {
		t.Fatalf("delivery without a resource policy: %+v", d)
	}
	if _, err := lambda.NewFromConfig(sb.AWSConfig("master")).AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("on-order"),
		StatementId: aws.String("events"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("events.amazonaws.com"), SourceArn: rule.RuleArn}); err != nil {
		t.Fatal(err)
	}
	if d := put(); d.Err != nil {
		t.Fatalf("delivery with the rule allowed: %v", d.Err)
	}
	logsc := cloudwatchlogs.NewFromConfig(sb.AWSConfig("master"))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		out, err := logsc.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/on-order"), FilterPattern: aws.String(`"from eventbridge"`)})
		if err == nil && len(out.Events) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the function did not run: %v %v", out, err)
		}
	}
}
