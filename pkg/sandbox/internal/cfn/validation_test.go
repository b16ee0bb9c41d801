package cfn

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// Templates CloudFormation refuses are refused by each of CreateStack,
// UpdateStack, CreateChangeSet and ValidateTemplate, synchronously, with AWS's
// words, and leave no stack or change behind.
func TestTemplateRefusedAtEveryEntryPoint(t *testing.T) {
	e := newEnv(t, 20*time.Millisecond)
	c := e.client(acctA)
	ctx := context.Background()
	const good = "Resources:\n  Q: {Type: AWS::SQS::Queue}\n"
	createComplete(t, c, "live", good)
	var many strings.Builder
	many.WriteString("Resources:\n")
	for i := range 501 {
		fmt.Fprintf(&many, "  R%d: {Type: AWS::SQS::Queue}\n", i)
	}
	withQueue := func(props string) string {
		return "Mappings: {M: {a: {b: c}}}\nConditions: {C: !Equals [a, a]}\nResources:\n  Q: {Type: AWS::SQS::Queue}\n  R: {Type: AWS::SNS::Topic, Properties: " + props + "}\n"
	}
	for _, tc := range []struct{ name, body, want string }{
		{"unknown type", "Resources:\n  A: {Type: AWS::Foo::Bar}\n", "Template format error: Unrecognized resource types: [AWS::Foo::Bar]"},
		{"501 resources", many.String(), "Template format error: Number of resources, 501, is greater than maximum allowed, 500"},
		{"if", withQueue("{TopicName: !If [C, a]}"), "Template error: Fn::If requires a list argument with three elements"},
		{"findinmap", withQueue("{TopicName: !FindInMap [M, a]}"), "Template error: every Fn::FindInMap object requires three parameters, the map name, map key and the attribute for return value"},
		{"getatt", withQueue("{TopicName: {'Fn::GetAtt': [Q]}}"), "Template error: every Fn::GetAtt object requires two non-empty parameters, the resource name and the resource attribute"},
		{"unknown attribute", withQueue("{TopicName: !GetAtt Q.QueueArn}"), "Template error: resource Q does not support attribute type QueueArn in Fn::GetAtt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := aws.String(tc.body)
			_, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("new"), TemplateBody: body})
			wantAPIError(t, err, "ValidationError", tc.want)
			_, err = c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("live"), TemplateBody: body})
			wantAPIError(t, err, "ValidationError", tc.want)
			_, err = c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("new"), ChangeSetName: aws.String("cs"),
				ChangeSetType: types.ChangeSetTypeCreate, TemplateBody: body})
			wantAPIError(t, err, "ValidationError", tc.want)
			_, err = c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("live"), ChangeSetName: aws.String("cs"), TemplateBody: body})
			wantAPIError(t, err, "ValidationError", tc.want)
			_, err = c.ValidateTemplate(ctx, &cloudformation.ValidateTemplateInput{TemplateBody: body})
			wantAPIError(t, err, "ValidationError", tc.want)

			_, err = c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("new")})
			wantAPIError(t, err, "ValidationError", "Stack with id new does not exist")
			if st := describe(t, c, "live"); st.StackStatus != types.StackStatusCreateComplete {
				t.Errorf("live after a refused update: %s", st.StackStatus)
			}
			cs, err := c.ListChangeSets(ctx, &cloudformation.ListChangeSetsInput{StackName: aws.String("live")})
			if err != nil || len(cs.Summaries) != 0 {
				t.Errorf("change sets of live: %v %v", cs, err)
			}
		})
	}
}

// The CDK bootstrap template's container asset repository: its Arn is the
// repository's ARN, not its name, wherever the template uses it.
func TestECRRepositoryArn(t *testing.T) {
	e := newEnv(t, 20*time.Millisecond)
	c := e.client(acctA)
	const tpl = `
Parameters:
  Qualifier: {Type: String, Default: hnb659fds}
Resources:
  ContainerAssetsRepository:
    Type: AWS::ECR::Repository
    Properties:
      ImageTagMutability: IMMUTABLE
      RepositoryName: !Sub cdk-${Qualifier}-container-assets-${AWS::AccountId}-${AWS::Region}
  ImagePublishingRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {AWS: !Ref 'AWS::AccountId'}, Action: sts:AssumeRole}]}
      Policies:
        - PolicyName: publish
          PolicyDocument:
            Statement:
              - {Effect: Allow, Action: [ecr:PutImage, ecr:InitiateLayerUpload], Resource: !GetAtt ContainerAssetsRepository.Arn}
Outputs:
  ImageRepositoryName: {Value: !Ref ContainerAssetsRepository}
  RepositoryArn: {Value: !GetAtt ContainerAssetsRepository.Arn}
  RepositoryUri: {Value: !GetAtt ContainerAssetsRepository.RepositoryUri}
`
	st := createComplete(t, c, "CDKToolkit", tpl)
	name := "cdk-hnb659fds-container-assets-" + acctA + "-us-east-1"
	arn := "arn:aws:ecr:us-east-1:" + acctA + ":repository/" + name
	outs := outputs(st)
	if outs["ImageRepositoryName"] != name || outs["RepositoryArn"] != arn || outs["RepositoryUri"] == "" {
		t.Errorf("outputs %v, want name %s and ARN %s", outs, name, arn)
	}
	res, err := c.DescribeStackResource(context.Background(), &cloudformation.DescribeStackResourceInput{StackName: aws.String("CDKToolkit"), LogicalResourceId: aws.String("ContainerAssetsRepository")})
	if err != nil || aws.ToString(res.StackResourceDetail.PhysicalResourceId) != name {
		t.Errorf("physical ID: %v %v", res, err)
	}
	var role string
	e.iam.mu.Lock()
	for k, r := range e.iam.roles {
		if strings.HasPrefix(k, acctA+"/CDKToolkit-ImagePublishingRole-") {
			role = r.Policies["publish"]
		}
	}
	e.iam.mu.Unlock()
	if !strings.Contains(role, `"Resource":"`+arn+`"`) {
		t.Errorf("publishing role's policy %s, want Resource %s", role, arn)
	}
}

// Real types the sandbox does not model get Ref and Fn::GetAtt values of
// AWS's shapes, from the resource type table.
func TestGenericResourceShapes(t *testing.T) {
	e := newEnv(t, 20*time.Millisecond)
	c := e.client(acctA)
	const tpl = `
Resources:
  Queue: {Type: AWS::SQS::Queue, Properties: {QueueName: jobs}}
  Unnamed: {Type: AWS::SQS::Queue}
  Rule: {Type: AWS::Events::Rule, Properties: {ScheduleExpression: rate(1 hour)}}
  BusRule: {Type: AWS::Events::Rule, Properties: {Name: nightly, EventBusName: ops, ScheduleExpression: rate(1 day)}}
  Profile: {Type: AWS::IAM::InstanceProfile, Properties: {Path: /app/, Roles: [r]}}
  Key: {Type: AWS::KMS::Key}
  Table: {Type: AWS::DynamoDB::Table, Properties: {TableName: orders}}
  Logs: {Type: AWS::Logs::LogGroup, Properties: {LogGroupName: /app/web}}
  Param: {Type: AWS::SSM::Parameter, Properties: {Name: /app/flag, Type: String, Value: "on"}}
  Endpoint: {Type: AWS::EC2::VPCEndpoint, Properties: {VpcId: vpc-1, ServiceName: com.amazonaws.us-east-1.s3}}
Outputs:
  QueueArn: {Value: !GetAtt Queue.Arn}
  QueueName: {Value: !GetAtt Queue.QueueName}
  UnnamedArn: {Value: !GetAtt Unnamed.Arn}
  UnnamedName: {Value: !GetAtt Unnamed.QueueName}
  Rule: {Value: !Ref Rule}
  RuleArn: {Value: !GetAtt Rule.Arn}
  BusRule: {Value: !Ref BusRule}
  Profile: {Value: !Ref Profile}
  ProfileArn: {Value: !GetAtt Profile.Arn}
  Key: {Value: !Ref Key}
  KeyId: {Value: !GetAtt Key.KeyId}
  KeyArn: {Value: !GetAtt Key.Arn}
  Table: {Value: !Ref Table}
  TableArn: {Value: !GetAtt Table.Arn}
  StreamArn: {Value: !GetAtt Table.StreamArn}
  LogsArn: {Value: !GetAtt Logs.Arn}
  ParamArn: {Value: !GetAtt Param.Arn}
  FirstDNS: {Value: !Select [0, !GetAtt Endpoint.DnsEntries]}
`
	st := createComplete(t, c, "app", tpl)
	outs := outputs(st)
	prefix := func(svc string) string { return "arn:aws:" + svc + ":us-east-1:" + acctA + ":" }
	for k, p := range map[string]string{
		"QueueArn": "^" + prefix("sqs") + "jobs$", "QueueName": "^jobs$",
		"UnnamedArn": "^" + prefix("sqs") + `app-Unnamed-[A-Z0-9]{12}$`, "UnnamedName": `^app-Unnamed-[A-Z0-9]{12}$`,
		"Rule": `^app-Rule-[A-Z0-9]{12}$`, "RuleArn": "^" + prefix("events") + `rule/app-Rule-[A-Z0-9]{12}$`,
		"BusRule":    "^ops[|]nightly$", // Ref of a rule on a custom bus
		"Profile":    `^app-Profile-[A-Z0-9]{12}$`,
		"ProfileArn": `^arn:aws:iam::` + acctA + `:instance-profile/app/app-Profile-[A-Z0-9]{12}$`,
		"Key":        `^[0-9a-f]{17}$`, "KeyArn": "^" + prefix("kms") + `key/[0-9a-f]{17}$`,
		"Table": "^orders$", "TableArn": "^" + prefix("dynamodb") + "table/orders$",
		"StreamArn": "^" + prefix("dynamodb") + "stream/orders$",
		"LogsArn":   "^" + prefix("logs") + `log-group:/app/web:\*$`, // modelled: the log group's ARN as GetAtt gives it
		"ParamArn":  "^" + prefix("ssm") + "parameter/app/flag$",     // the modelled provider's missing attribute, from the table
		"FirstDNS":  `^app-Endpoint-[A-Z0-9]{12}$`,
	} {
		if !regexp.MustCompile(p).MatchString(outs[k]) {
			t.Errorf("%s = %q, want %s", k, outs[k], p)
		}
	}
	if outs["Key"] != outs["KeyId"] || !strings.HasSuffix(outs["KeyArn"], "/"+outs["Key"]) {
		t.Errorf("Ref, KeyId and Arn of the key disagree: %s %s %s", outs["Key"], outs["KeyId"], outs["KeyArn"])
	}
}

// createComplete creates a stack (IAM allowed) and waits for CREATE_COMPLETE.
func createComplete(t *testing.T, c *cloudformation.Client, name, tpl string) types.Stack {
	t.Helper()
	if _, err := c.CreateStack(context.Background(), &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(tpl),
		Capabilities: []types.Capability{types.CapabilityCapabilityIam}}); err != nil {
		t.Fatal(err)
	}
	st := waitSettled(t, c, name)
	if st.StackStatus != types.StackStatusCreateComplete {
		t.Fatalf("status %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	return st
}
