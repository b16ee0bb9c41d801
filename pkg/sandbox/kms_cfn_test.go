package sandbox_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// TestKMSKeyResource: AWS::KMS::Key creates a key with the template's key
// policy (Ref the key id, GetAtt Arn), an update replaces the policy, and
// deleting the stack schedules the key's deletion.
func TestKMSKeyResource(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	master, _ := sb.Account("master")
	prod, _ := sb.Account("prod")
	tmpl := func(account string) string {
		return `{"Resources":{"Key":{"Type":"AWS::KMS::Key","Properties":{"Description":"configs","EnableKeyRotation":true,
			"KeyPolicy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":"kms:*","Resource":"*"}]}}}},
			"Outputs":{"Id":{"Value":{"Ref":"Key"}},"Arn":{"Value":{"Fn::GetAtt":["Key","Arn"]}}}}`
	}
	cf := cloudformation.NewFromConfig(sb.AWSConfig("master"))
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("key"), TemplateBody: aws.String(tmpl(master.ID))}); err != nil {
		t.Fatal(err)
	}
	st := sandboxtest.WaitStack(t, cf, "key")
	if st.StackStatus != cfntypes.StackStatusCreateComplete {
		t.Fatalf("stack %s: %s", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	outs := map[string]string{}
	for _, o := range st.Outputs {
		outs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	if outs["Arn"] != "arn:aws:kms:"+sb.Region()+":"+master.ID+":key/"+outs["Id"] {
		t.Fatalf("outputs %v", outs)
	}
	root := kms.NewFromConfig(sb.AWSConfig("master"))
	if _, err := root.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(outs["Id"]), Plaintext: []byte("x")}); err != nil {
		t.Errorf("Encrypt with the template's key: %v", err)
	}
	// A policy that leaves the caller (master's root) out fails KMS's
	// lockout check, unless the template bypasses it.
	update := func(bypass bool) cfntypes.Stack {
		t.Helper()
		body := tmpl(prod.ID)
		if bypass {
			body = strings.Replace(body, `"EnableKeyRotation":true,`, `"EnableKeyRotation":true,"BypassPolicyLockoutSafetyCheck":true,`, 1)
		}
		if _, err := cf.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("key"), TemplateBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
		return sandboxtest.WaitStack(t, cf, "key")
	}
	if st := update(false); st.StackStatus != cfntypes.StackStatusUpdateRollbackComplete {
		t.Fatalf("update locking the caller out: %s", st.StackStatus)
	}
	if st := update(true); st.StackStatus != cfntypes.StackStatusUpdateComplete {
		t.Fatalf("update with the bypass: %s: %s", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	if _, err := root.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(outs["Id"]), Plaintext: []byte("x")}); errCode(err) != "AccessDeniedException" {
		t.Errorf("Encrypt after the policy left master out: %v", err)
	}
	// Master can no longer schedule the key's deletion: the stack's
	// deletion fails, as on AWS.
	if _, err := cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("key")}); err != nil {
		t.Fatal(err)
	}
	if st := sandboxtest.WaitStack(t, cf, aws.ToString(st.StackId)); st.StackStatus != cfntypes.StackStatusDeleteFailed {
		t.Errorf("deleting a key master may not touch: %s", st.StackStatus)
	}
	d, err := kms.NewFromConfig(sb.AWSConfig("prod")).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(outs["Arn"])})
	if err != nil || d.KeyMetadata.KeyState != kmstypes.KeyStateEnabled {
		t.Errorf("key after the failed deletion: %v %v", d, err)
	}

	// A key master still governs goes with its stack: deletion is scheduled.
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("key2"), TemplateBody: aws.String(tmpl(master.ID))}); err != nil {
		t.Fatal(err)
	}
	st2 := sandboxtest.WaitStack(t, cf, "key2")
	var arn2 string
	for _, o := range st2.Outputs {
		if aws.ToString(o.OutputKey) == "Arn" {
			arn2 = aws.ToString(o.OutputValue)
		}
	}
	if _, err := cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("key2")}); err != nil {
		t.Fatal(err)
	}
	sandboxtest.WaitStack(t, cf, aws.ToString(st2.StackId))
	d2, err := root.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(arn2)})
	if err != nil || d2.KeyMetadata.KeyState != kmstypes.KeyStatePendingDeletion {
		t.Errorf("key after its stack's deletion: %v %v", d2, err)
	}
}
