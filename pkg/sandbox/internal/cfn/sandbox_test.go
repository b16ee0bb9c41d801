package cfn_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// These tests run the service inside the real sandbox: SigV4, the IAM
// authorizer, S3 bucket policies across accounts.

const bucketTemplate = `
Parameters:
  Readers: {Type: CommaDelimitedList}
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: stacker-templates
      BucketEncryption:
        ServerSideEncryptionConfiguration: [{ServerSideEncryptionByDefault: {SSEAlgorithm: AES256}}]
  Policy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Bucket
      PolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {AWS: !Ref Readers}, Action: s3:GetObject, Resource: !Sub "${Bucket.Arn}/*"}
Outputs:
  BucketId: {Value: !Ref Bucket}
`

const roleTemplate = `
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: Stacker
      AssumeRolePolicyDocument:
        Statement: [{Effect: Allow, Principal: {AWS: !Sub "arn:aws:iam::${AWS::AccountId}:root"}, Action: sts:AssumeRole}]
      ManagedPolicyArns: [arn:aws:iam::aws:policy/AdministratorAccess]
Outputs:
  StackerRole: {Value: !GetAtt Role.Arn}
`

func waitFor(t *testing.T, c *cloudformation.Client, name string) types.Stack {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		out, err := c.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
		if err != nil {
			t.Fatalf("describe %s: %v", name, err)
		}
		if st := out.Stacks[0]; !strings.HasSuffix(string(st.StackStatus), "_IN_PROGRESS") {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not settle", name)
	return types.Stack{}
}

func TestSandboxCrossAccountTemplateURL(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := context.Background()
	master := cloudformation.NewFromConfig(sb.AWSConfig("master"))
	prod := cloudformation.NewFromConfig(sb.AWSConfig("prod"))
	masterS3 := s3.NewFromConfig(sb.AWSConfig("master"), func(o *s3.Options) { o.UsePathStyle = true })

	// The bucket first grants nobody in prod.
	if _, err := master.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("stacker-bucket"), TemplateBody: aws.String(bucketTemplate),
		Parameters: []types.Parameter{{ParameterKey: aws.String("Readers"), ParameterValue: aws.String("arn:aws:iam::111111111111:root")}}}); err != nil {
		t.Fatalf("create bucket stack: %v", err)
	}
	if st := waitFor(t, master, "stacker-bucket"); st.StackStatus != types.StackStatusCreateComplete {
		t.Fatalf("bucket stack: %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	if _, err := masterS3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("stacker-templates"), Key: aws.String("stack_templates/role.yaml"),
		Body: strings.NewReader(roleTemplate)}); err != nil {
		t.Fatalf("put template: %v", err)
	}
	url := "https://stacker-templates.s3.amazonaws.com/stack_templates/role.yaml"
	create := &cloudformation.CreateStackInput{StackName: aws.String("role"), TemplateURL: aws.String(url),
		Capabilities: []types.Capability{types.CapabilityCapabilityNamedIam}}
	_, err := prod.CreateStack(ctx, create)
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationError" || ae.ErrorMessage() != "S3 error: Access Denied" {
		t.Fatalf("prod without the bucket policy: %v", err)
	}

	// Granting prod's root in the bucket policy lets prod's CloudFormation read it.
	if _, err := master.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("stacker-bucket"), UsePreviousTemplate: aws.Bool(true),
		Parameters: []types.Parameter{{ParameterKey: aws.String("Readers"), ParameterValue: aws.String("arn:aws:iam::111111111111:root,arn:aws:iam::222222222222:root")}}}); err != nil {
		t.Fatalf("update bucket stack: %v", err)
	}
	if st := waitFor(t, master, "stacker-bucket"); st.StackStatus != types.StackStatusUpdateComplete {
		t.Fatalf("bucket stack update: %s", st.StackStatus)
	}
	if _, err := prod.CreateStack(ctx, create); err != nil {
		t.Fatalf("prod with the bucket policy: %v", err)
	}
	w := cloudformation.NewStackCreateCompleteWaiter(prod, func(o *cloudformation.StackCreateCompleteWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 50*time.Millisecond
	})
	out, err := w.WaitForOutput(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("role")}, 10*time.Second)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	if got := aws.ToString(out.Stacks[0].Outputs[0].OutputValue); got != "arn:aws:iam::222222222222:role/Stacker" {
		t.Errorf("StackerRole = %q", got)
	}

	// The bucket cannot go while it holds the template.
	if _, err := master.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("stacker-bucket")}); err != nil {
		t.Fatal(err)
	}
	if st := waitFor(t, master, "stacker-bucket"); st.StackStatus != types.StackStatusDeleteFailed {
		t.Errorf("deleting a non-empty bucket: %s", st.StackStatus)
	}
}

func TestSandboxWaitConditionRollsBack(t *testing.T) {
	sb := sandboxtest.Start(t)
	c := cloudformation.NewFromConfig(sb.AWSConfig("stage"))
	ctx := context.Background()
	tpl := `{"Resources":{"H":{"Type":"AWS::CloudFormation::WaitConditionHandle"},` +
		`"W":{"Type":"AWS::CloudFormation::WaitCondition","Properties":{"Handle":{"Ref":"H"},"Timeout":"1000000"}}}}`
	if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("broken"), TemplateBody: aws.String(tpl)}); err != nil {
		t.Fatal(err)
	}
	// The SDK's StackRollbackComplete waiter is for updates; a failed create ends ROLLBACK_COMPLETE.
	if st := waitFor(t, c, "broken"); st.StackStatus != types.StackStatusRollbackComplete {
		t.Fatalf("status %s", st.StackStatus)
	}
	_, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("broken"), TemplateBody: aws.String(tpl)})
	var ae smithy.APIError
	if !errors.As(err, &ae) || !strings.Contains(ae.ErrorMessage(), "is in ROLLBACK_COMPLETE state and can not be updated.") {
		t.Errorf("update of ROLLBACK_COMPLETE: %v", err)
	}
}
