package events_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// triggerTemplate is the serverless runtime's trigger as CloudFormation
// deploys it: a config bucket with EventBridge on, a state machine, and a
// rule starting it for uploads of *.yaml under configs/.
const triggerTemplate = `
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: stackerless-configs
      VersioningConfiguration: {Status: Enabled}
      NotificationConfiguration: {EventBridgeConfiguration: {EventBridgeEnabled: true}}
  StatesRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: states.amazonaws.com}, Action: sts:AssumeRole}]}
  Machine:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: !GetAtt StatesRole.Arn
      Definition: {StartAt: P, States: {P: {Type: Pass, End: true}}}
  EventsRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: events.amazonaws.com}, Action: sts:AssumeRole}]}
      Policies: [{PolicyName: start, PolicyDocument: {Statement: [{Effect: Allow, Action: states:StartExecution, Resource: !Ref Machine}]}}]
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: audit}
  OnUpload:
    Type: AWS::Events::Rule
    Properties:
      EventPattern:
        source: [aws.s3]
        detail-type: [Object Created]
        detail:
          bucket: {name: [!Ref Bucket]}
          object: {key: [{prefix: configs/}]}
      Targets:
        - Id: run
          Arn: !Ref Machine
          RoleArn: !GetAtt EventsRole.Arn
          InputTransformer:
            InputPathsMap: {bucket: $.detail.bucket.name, key: $.detail.object.key, version: $.detail.object.version-id}
            InputTemplate: '{"bucket": <bucket>, "key": <key>, "version": <version>}'
  AuditRule:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref Bus
      EventPattern: {source: [stackerless]}
Outputs:
  Machine: {Value: !Ref Machine}
  Rule: {Value: !Ref OnUpload}
  RuleArn: {Value: !GetAtt OnUpload.Arn}
  AuditRule: {Value: !Ref AuditRule}
  BusArn: {Value: !GetAtt Bus.Arn}
`

func TestCloudFormationTrigger(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	cfg := sb.AWSConfig("master")
	cfc := cloudformation.NewFromConfig(cfg)
	if _, err := cfc.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("trigger"), TemplateBody: aws.String(triggerTemplate),
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam}}); err != nil {
		t.Fatal(err)
	}
	st := sandboxtest.WaitStack(t, cfc, "trigger")
	if st.StackStatus != cfntypes.StackStatusCreateComplete {
		t.Fatalf("stack %s: %s", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	out := map[string]string{}
	for _, o := range st.Outputs {
		out[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	if !strings.HasPrefix(out["Rule"], "trigger-OnUpload-") || out["RuleArn"] != "arn:aws:events:us-east-1:111111111111:rule/"+out["Rule"] ||
		!strings.HasPrefix(out["AuditRule"], "audit|trigger-AuditRule-") || out["BusArn"] != "arn:aws:events:us-east-1:111111111111:event-bus/audit" {
		t.Fatalf("outputs %v", out)
	}

	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	put, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("stackerless-configs"), Key: aws.String("configs/stacker.yaml"), Body: strings.NewReader("x")})
	if err != nil {
		t.Fatal(err)
	}
	sfc := sfn.NewFromConfig(cfg)
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := sfc.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(out["Machine"])})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Executions) == 1 {
			d, err := sfc.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: list.Executions[0].ExecutionArn})
			want := `{"bucket": "stackerless-configs", "key": "configs/stacker.yaml", "version": "` + aws.ToString(put.VersionId) + `"}`
			if err != nil || aws.ToString(d.Input) != want {
				t.Fatalf("input %s, want %s (%v)", aws.ToString(d.Input), want, err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d executions", len(list.Executions))
		}
		time.Sleep(20 * time.Millisecond)
	}

	if _, err := cfc.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: st.StackId}); err != nil {
		t.Fatal(err)
	}
	// The bucket holds an object, so the stack cannot go entirely; the rules and bus do.
	sandboxtest.WaitStack(t, cfc, aws.ToString(st.StackId))
	eb := eventbridge.NewFromConfig(cfg)
	if rules, err := eb.ListRules(ctx, &eventbridge.ListRulesInput{}); err != nil || len(rules.Rules) != 0 {
		t.Fatalf("rules after delete: %+v %v", rules, err)
	}
	_, err = eb.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String("audit")})
	code(t, err, "ResourceNotFoundException")
}
