package sfn_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	sfnapi "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

const machineTemplate = `
Parameters:
  Greeting: {Type: String, Default: hello}
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: states.amazonaws.com}, Action: sts:AssumeRole}]}
  FromString:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: !GetAtt Role.Arn
      DefinitionString: '{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"${Greeting}","End":true}}}'
      DefinitionSubstitutions: {Greeting: !Ref Greeting}
      TracingConfiguration: {Enabled: true}
  FromObject:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      StateMachineName: from-object
      RoleArn: !GetAtt Role.Arn
      Definition: {StartAt: W, States: {W: {Type: Wait, Seconds: 0, Next: P}, P: {Type: Pass, End: true}}}
      LoggingConfiguration:
        Level: ERROR
        Destinations: [{CloudWatchLogsLogGroup: {LogGroupArn: "arn:aws:logs:us-east-1:111111111111:log-group:sfn:*"}}]
  FromS3:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: !GetAtt Role.Arn
      DefinitionS3Location: {Bucket: defs, Key: machine.json}
Outputs:
  StringArn: {Value: !Ref FromString}
  ObjectName: {Value: !GetAtt FromObject.Name}
  S3Arn: {Value: !GetAtt FromS3.Arn}
`

func outputs(st cfntypes.Stack) map[string]string {
	out := map[string]string{}
	for _, o := range st.Outputs {
		out[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return out
}

func TestCloudFormationStateMachine(t *testing.T) {
	e := setup(t)
	ctx := t.Context()
	cfg := e.sb.AWSConfig("master")
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("defs")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("defs"), Key: aws.String("machine.json"),
		Body: strings.NewReader(`{"StartAt":"S","States":{"S":{"Type":"Succeed"}}}`)}); err != nil {
		t.Fatal(err)
	}
	cfc := cloudformation.NewFromConfig(cfg)
	if _, err := cfc.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("machines"), TemplateBody: aws.String(machineTemplate),
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam}}); err != nil {
		t.Fatal(err)
	}
	st := sandboxtest.WaitStack(t, cfc, "machines")
	if st.StackStatus != cfntypes.StackStatusCreateComplete {
		t.Fatalf("stack %s: %s", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	out := outputs(st)
	if out["ObjectName"] != "from-object" || !strings.HasPrefix(out["StringArn"], "arn:aws:states:us-east-1:111111111111:stateMachine:machines-FromString-") ||
		!strings.Contains(out["S3Arn"], ":stateMachine:machines-FromS3-") {
		t.Fatalf("outputs %v", out)
	}
	desc, err := e.client.DescribeStateMachine(ctx, &sfnapi.DescribeStateMachineInput{StateMachineArn: aws.String(out["StringArn"])})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(aws.ToString(desc.Definition), `"Result":"hello"`) || desc.TracingConfiguration == nil || !desc.TracingConfiguration.Enabled {
		t.Fatalf("FromString = %+v", desc)
	}
	if x := e.wait(t, e.start(t, out["StringArn"], "", `{}`)); aws.ToString(x.Output) != `"hello"` {
		t.Fatalf("execution output %s", aws.ToString(x.Output))
	}
	obj, err := e.client.DescribeStateMachine(ctx, &sfnapi.DescribeStateMachineInput{StateMachineArn: aws.String("arn:aws:states:us-east-1:111111111111:stateMachine:from-object")})
	if err != nil || obj.LoggingConfiguration.Level != types.LogLevelError {
		t.Fatalf("FromObject = %+v %v", obj, err)
	}

	// An update replaces the definition in place.
	if _, err := cfc.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("machines"), UsePreviousTemplate: aws.Bool(true),
		Parameters:   []cfntypes.Parameter{{ParameterKey: aws.String("Greeting"), ParameterValue: aws.String("bonjour")}},
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam}}); err != nil {
		t.Fatal(err)
	}
	if st := sandboxtest.WaitStack(t, cfc, "machines"); st.StackStatus != cfntypes.StackStatusUpdateComplete || outputs(st)["StringArn"] != out["StringArn"] {
		t.Fatalf("update: %s %s %v", st.StackStatus, aws.ToString(st.StackStatusReason), outputs(st))
	}
	if x := e.wait(t, e.start(t, out["StringArn"], "", `{}`)); aws.ToString(x.Output) != `"bonjour"` {
		t.Fatalf("after update output %s", aws.ToString(x.Output))
	}

	if _, err := cfc.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("machines")}); err != nil {
		t.Fatal(err)
	}
	sandboxtest.WaitStack(t, cfc, aws.ToString(st.StackId))
	list, err := e.client.ListStateMachines(ctx, &sfnapi.ListStateMachinesInput{})
	if err != nil || len(list.StateMachines) != 0 {
		t.Fatalf("after delete: %+v %v", list, err)
	}
}

// TestCloudFormationStateMachineRefused: Step Functions' refusal fails the
// resource with its message, and the stack rolls back.
func TestCloudFormationStateMachineRefused(t *testing.T) {
	e := setup(t)
	cfc := cloudformation.NewFromConfig(e.sb.AWSConfig("master"))
	tmpl := `
Resources:
  Machine:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: ` + e.role + `
      Definition: {QueryLanguage: JSONata, StartAt: P, States: {P: {Type: Pass, End: true}}}
`
	if _, err := cfc.CreateStack(t.Context(), &cloudformation.CreateStackInput{StackName: aws.String("refused"), TemplateBody: aws.String(tmpl)}); err != nil {
		t.Fatal(err)
	}
	st := sandboxtest.WaitStack(t, cfc, "refused")
	if st.StackStatus != cfntypes.StackStatusRollbackComplete {
		t.Fatalf("stack %s", st.StackStatus)
	}
	events, err := cfc.DescribeStackEvents(t.Context(), &cloudformation.DescribeStackEventsInput{StackName: aws.String("refused")})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events.StackEvents {
		if aws.ToString(ev.LogicalResourceId) == "Machine" && ev.ResourceStatus == cfntypes.ResourceStatusCreateFailed {
			if r := aws.ToString(ev.ResourceStatusReason); !strings.Contains(r, "JSONata") || !strings.Contains(r, "Service: Sfn") {
				t.Fatalf("reason %q", r)
			}
			return
		}
	}
	t.Fatal("no CREATE_FAILED event for Machine")
}
