package sandbox_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

func cfnNoRetry(o *cloudformation.Options) { o.RetryMaxAttempts = 1 }

// settled waits until the stack is in no *_IN_PROGRESS status.
func settled(t *testing.T, c *cloudformation.Client, name string) types.Stack {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		out, err := c.DescribeStacks(t.Context(), &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
		if err != nil {
			t.Fatalf("describe %s: %v", name, err)
		}
		if st := out.Stacks[0]; !strings.HasSuffix(string(st.StackStatus), "_IN_PROGRESS") {
			return st
		}
	}
	t.Fatalf("stack %s did not settle", name)
	return types.Stack{}
}

// TestCreateStackDeniedByIdentityPolicy is the security bullet: a role
// session whose identity policy lacks cloudformation:CreateStack is refused
// by the real IAM authorizer, while what the policy allows still works.
func TestCreateStackDeniedByIdentityPolicy(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	master, _ := sb.Account("master")
	iamc := iam.NewFromConfig(sb.AWSConfig("master"))
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sts:AssumeRole"}]}`, master.ID)
	role, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("Limited"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	if _, err := iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("Limited"), PolicyName: aws.String("describe-only"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudformation:DescribeStacks","Resource":"*"}]}`)}); err != nil {
		t.Fatalf("PutRolePolicy: %v", err)
	}
	creds := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(sb.AWSConfig("master")), aws.ToString(role.Role.Arn),
		func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "limited" })
	session := cloudformation.NewFromConfig(sb.ConfigWith(creds), cfnNoRetry)
	root := cloudformation.NewFromConfig(sb.AWSConfig("master"), cfnNoRetry)
	body := aws.String(`{"Resources":{"H":{"Type":"AWS::CloudFormation::WaitConditionHandle"}}}`)

	if _, err := session.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{}); err != nil {
		t.Fatalf("DescribeStacks, which the policy allows: %v", err)
	}
	_, err = session.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("denied"), TemplateBody: body})
	if apiCode(err) != "AccessDenied" {
		t.Fatalf("CreateStack without cloudformation:CreateStack: %v", err)
	}
	want := fmt.Sprintf("User: arn:aws:sts::%s:assumed-role/Limited/limited is not authorized to perform: cloudformation:CreateStack on resource: arn:aws:cloudformation:us-east-1:%s:stack/denied/", master.ID, master.ID)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("message %q, want it to contain %q", err.Error(), want)
	}
	if _, err := root.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("denied")}); apiCode(err) != "ValidationError" {
		t.Errorf("the denied CreateStack left a stack: %v", err)
	}

	// Granting the action lets the same session create the stack.
	if _, err := iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("Limited"), PolicyName: aws.String("create"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudformation:CreateStack","Resource":"*"}]}`)}); err != nil {
		t.Fatalf("PutRolePolicy: %v", err)
	}
	if _, err := session.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("denied"), TemplateBody: body}); err != nil {
		t.Fatalf("CreateStack once allowed: %v", err)
	}
	if st := settled(t, root, "denied"); st.StackStatus != types.StackStatusCreateComplete {
		t.Errorf("status %s", st.StackStatus)
	}
}

// TestDeleteStackClientRequestToken: a DeleteStack retried with the same
// token is the same request, even after the first one failed; a new token
// is a new deletion.
func TestDeleteStackClientRequestToken(t *testing.T) {
	sb := sandboxtest.Start(t, func(o *sandbox.Options) { o.StackDuration = 20 * time.Millisecond })
	ctx := t.Context()
	cf := cloudformation.NewFromConfig(sb.AWSConfig("master"), cfnNoRetry)
	s3c := s3.NewFromConfig(sb.AWSConfig("master"), func(o *s3.Options) { o.UsePathStyle = true })
	body := `{"Resources":{"B":{"Type":"AWS::S3::Bucket","Properties":{"BucketName":"token-bucket"}}}}`
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("tok"), TemplateBody: aws.String(body)}); err != nil {
		t.Fatal(err)
	}
	if st := settled(t, cf, "tok"); st.StackStatus != types.StackStatusCreateComplete {
		t.Fatalf("status %s", st.StackStatus)
	}
	// A non-empty bucket makes the deletion fail (DELETE_FAILED).
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("token-bucket"), Key: aws.String("k"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	del := func(token string) {
		t.Helper()
		if _, err := cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("tok"), ClientRequestToken: aws.String(token)}); err != nil {
			t.Fatalf("DeleteStack %s: %v", token, err)
		}
	}
	deletes := func() (n int) {
		t.Helper()
		p := cloudformation.NewDescribeStackEventsPaginator(cf, &cloudformation.DescribeStackEventsInput{StackName: aws.String("tok")})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range out.StackEvents {
				if aws.ToString(ev.LogicalResourceId) == "tok" && ev.ResourceStatus == types.ResourceStatusDeleteInProgress {
					n++
				}
			}
		}
		return n
	}

	del("d1")
	if st := settled(t, cf, "tok"); st.StackStatus != types.StackStatusDeleteFailed {
		t.Fatalf("status %s, want DELETE_FAILED", st.StackStatus)
	}
	del("d1") // the SDK's retry of the same request
	if st := settled(t, cf, "tok"); st.StackStatus != types.StackStatusDeleteFailed {
		t.Errorf("status after the retried token %s", st.StackStatus)
	}
	if n := deletes(); n != 1 {
		t.Errorf("%d deletions started for one token, want 1", n)
	}
	if _, err := s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("token-bucket"), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	del("d2")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("tok")})
		if apiCode(err) == "ValidationError" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stack not deleted with a new token: %v", err)
		}
	}
}

// TestDeleteStackExportInUse: deleting a stack whose export is imported is
// accepted, and the stack goes back to its status with AWS's reason.
func TestDeleteStackExportInUse(t *testing.T) {
	sb := sandboxtest.Start(t, func(o *sandbox.Options) { o.StackDuration = 20 * time.Millisecond })
	ctx := t.Context()
	cf := cloudformation.NewFromConfig(sb.AWSConfig("master"), cfnNoRetry)
	stacks := []struct{ name, body string }{
		{"exporter", `{"Resources":{"H":{"Type":"AWS::CloudFormation::WaitConditionHandle"}},"Outputs":{"O":{"Value":"v","Export":{"Name":"shared-x"}}}}`},
		{"imp", `{"Resources":{"T":{"Type":"AWS::SNS::Topic","Properties":{"TopicName":{"Fn::ImportValue":"shared-x"}}}}}`},
	}
	for _, s := range stacks {
		if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(s.name), TemplateBody: aws.String(s.body)}); err != nil {
			t.Fatal(err)
		}
		if st := settled(t, cf, s.name); st.StackStatus != types.StackStatusCreateComplete {
			t.Fatalf("%s: %s", s.name, st.StackStatus)
		}
	}
	if _, err := cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("exporter")}); err != nil {
		t.Fatalf("DeleteStack: %v", err)
	}
	st := settled(t, cf, "exporter")
	if st.StackStatus != types.StackStatusCreateComplete || aws.ToString(st.StackStatusReason) != "Export shared-x cannot be deleted as it is in use by imp" {
		t.Errorf("after the refused delete: %s %q", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
}
