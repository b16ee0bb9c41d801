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
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// roleWorld is a sandbox with service roles and the callers that use them.
type roleWorld struct {
	sb     *sandbox.Sandbox
	master sandbox.Account
	iam    *iam.Client
}

func (w *roleWorld) arn(name string) string { return "arn:aws:iam::" + w.master.ID + ":role/" + name }

// role creates a role of master trusting principal ({"Service": ...} or
// {"AWS": ...}) with the given managed policies and inline statements.
func (w *roleWorld) role(t *testing.T, name, principal string, managed []string, statements ...string) {
	t.Helper()
	ctx := t.Context()
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":` + principal + `,"Action":"sts:AssumeRole"}]}`
	if _, err := w.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatalf("CreateRole %s: %v", name, err)
	}
	for _, p := range managed {
		if _, err := w.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(p)}); err != nil {
			t.Fatalf("AttachRolePolicy %s: %v", name, err)
		}
	}
	if len(statements) > 0 {
		doc := `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
		if _, err := w.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("inline"), PolicyDocument: aws.String(doc)}); err != nil {
			t.Fatalf("PutRolePolicy %s: %v", name, err)
		}
	}
}

// as returns a CloudFormation client for a session of the master role name.
func (w *roleWorld) as(name string) *cloudformation.Client {
	creds := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(w.sb.AWSConfig("master")), w.arn(name),
		func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "deploy" })
	return cloudformation.NewFromConfig(w.sb.ConfigWith(creds), cfnNoRetry)
}

const (
	adminPolicy  = "arn:aws:iam::aws:policy/AdministratorAccess"
	cfnPrincipal = `{"Service":"cloudformation.amazonaws.com"}`
	cfnOnly      = `{"Effect":"Allow","Action":"cloudformation:*","Resource":"*"}`
)

// iamTemplate creates IAM roles, which only an identity with IAM permissions can.
func iamTemplate(names ...string) *string {
	var res []string
	for _, n := range names {
		res = append(res, `"`+n+`":{"Type":"AWS::IAM::Role","Properties":{"AssumeRolePolicyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]},"ManagedPolicyArns":["`+adminPolicy+`"]}}`)
	}
	return aws.String(`{"Resources":{` + strings.Join(res, ",") + `}}`)
}

func newRoleWorld(t *testing.T) *roleWorld {
	sb := sandboxtest.Start(t)
	master, _ := sb.Account("master")
	w := &roleWorld{sb: sb, master: master, iam: iam.NewFromConfig(sb.AWSConfig("master"))}
	root := `{"AWS":"arn:aws:iam::` + master.ID + `:root"}`
	w.role(t, "cfn-admin", cfnPrincipal, []string{adminPolicy})
	w.role(t, "cfn-s3-only", cfnPrincipal, nil, `{"Effect":"Allow","Action":"s3:*","Resource":"*"}`)
	w.role(t, "not-for-cfn", root, []string{adminPolicy})
	// Deployer may use CloudFormation and nothing else: no iam:PassRole, no IAM.
	w.role(t, "Deployer", root, nil, cfnOnly)
	w.role(t, "Passer", root, nil, cfnOnly,
		`{"Effect":"Allow","Action":"iam:PassRole","Resource":"`+w.arn("cfn-admin")+`","Condition":{"StringEquals":{"iam:PassedToService":"cloudformation.amazonaws.com"}}}`)
	w.role(t, "LambdaPasser", root, nil, cfnOnly,
		`{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"lambda.amazonaws.com"}}}`)
	return w
}

// TestServiceRoleRequiresPassRole: a RoleARN is a role the caller may pass
// (iam:PassRole for CloudFormation), of the caller's account, that exists and
// trusts cloudformation.amazonaws.com; otherwise nothing is created, with
// CloudFormation's errors. A principal allowed only cloudformation:* cannot
// borrow an administrator service role.
func TestServiceRoleRequiresPassRole(t *testing.T) {
	w := newRoleWorld(t)
	ctx := t.Context()
	prod, _ := w.sb.Account("prod")
	if _, err := iam.NewFromConfig(w.sb.AWSConfig("prod")).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("cfn-admin"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":` + cfnPrincipal + `,"Action":"sts:AssumeRole"}]}`)}); err != nil {
		t.Fatal(err)
	}
	root := cloudformation.NewFromConfig(w.sb.AWSConfig("master"), cfnNoRetry)
	session := func(role string) string { return "arn:aws:sts::" + w.master.ID + ":assumed-role/" + role + "/deploy" }
	tests := []struct {
		name   string
		client *cloudformation.Client
		role   string
		code   string
		msg    string
	}{
		{"caller without iam:PassRole", w.as("Deployer"), w.arn("cfn-admin"), "AccessDenied",
			"User: " + session("Deployer") + " is not authorized to perform: iam:PassRole on resource: " + w.arn("cfn-admin") + " because no identity-based policy allows the iam:PassRole action"},
		{"iam:PassRole for another service", w.as("LambdaPasser"), w.arn("cfn-admin"), "AccessDenied",
			"User: " + session("LambdaPasser") + " is not authorized to perform: iam:PassRole on resource: " + w.arn("cfn-admin")},
		{"role that does not exist", root, w.arn("nope"), "ValidationError", "Role " + w.arn("nope") + " is invalid or cannot be assumed"},
		{"role that does not trust CloudFormation", root, w.arn("not-for-cfn"), "ValidationError", "Role " + w.arn("not-for-cfn") + " is invalid or cannot be assumed"},
		{"role of another account", root, "arn:aws:iam::" + prod.ID + ":role/cfn-admin", "AccessDenied", "Cross-account pass role is not allowed."},
		{"not an ARN", root, "cfn-admin", "ValidationError", "Value 'cfn-admin' at 'roleARN' failed to satisfy constraint: Member must have length greater than or equal to 20"},
		{"an ARN of something else", root, "arn:aws:s3:::some-bucket/role", "ValidationError", "Role arn:aws:s3:::some-bucket/role is invalid or cannot be assumed"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("refused-%d", i)
			_, err := tt.client.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: iamTemplate("Escalated"),
				Capabilities: []types.Capability{types.CapabilityCapabilityIam}, RoleARN: aws.String(tt.role)})
			if apiCode(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("CreateStack: %v\nwant %s: %s", err, tt.code, tt.msg)
			}
			if _, err := root.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)}); apiCode(err) != "ValidationError" {
				t.Errorf("the refused CreateStack left a stack: %v", err)
			}
			_, err = tt.client.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String(name), ChangeSetName: aws.String("cs"),
				ChangeSetType: types.ChangeSetTypeCreate, TemplateBody: iamTemplate("Escalated"),
				Capabilities: []types.Capability{types.CapabilityCapabilityIam}, RoleARN: aws.String(tt.role)})
			if apiCode(err) != tt.code {
				t.Errorf("CreateChangeSet: %v, want %s", err, tt.code)
			}
		})
	}

	t.Run("caller allowed to pass it", func(t *testing.T) {
		c := w.as("Passer")
		if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("passed"), TemplateBody: iamTemplate("Made"),
			Capabilities: []types.Capability{types.CapabilityCapabilityIam}, RoleARN: aws.String(w.arn("cfn-admin"))}); err != nil {
			t.Fatalf("CreateStack: %v", err)
		}
		// Passer has no IAM permission: the role was created as cfn-admin.
		st := settled(t, root, "passed")
		if st.StackStatus != types.StackStatusCreateComplete || aws.ToString(st.RoleARN) != w.arn("cfn-admin") {
			t.Fatalf("stack %s (%s), RoleARN %s", st.StackStatus, aws.ToString(st.StackStatusReason), aws.ToString(st.RoleARN))
		}
		if _, err := c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("passed-cs"), ChangeSetName: aws.String("cs"),
			ChangeSetType: types.ChangeSetTypeCreate, TemplateBody: iamTemplate("Made"),
			Capabilities: []types.Capability{types.CapabilityCapabilityIam}, RoleARN: aws.String(w.arn("cfn-admin"))}); err != nil {
			t.Fatalf("CreateChangeSet: %v", err)
		}
		waitChangeSet(t, c, "passed-cs", "cs")
		if _, err := c.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{StackName: aws.String("passed-cs"), ChangeSetName: aws.String("cs")}); err != nil {
			t.Fatalf("ExecuteChangeSet: %v", err)
		}
		if st := settled(t, root, "passed-cs"); st.StackStatus != types.StackStatusCreateComplete || aws.ToString(st.RoleARN) != w.arn("cfn-admin") {
			t.Fatalf("change set stack %s (%s), RoleARN %s", st.StackStatus, aws.ToString(st.StackStatusReason), aws.ToString(st.RoleARN))
		}
	})
}

// waitChangeSet waits until a change set is computed.
func waitChangeSet(t *testing.T, c *cloudformation.Client, stack, name string) {
	t.Helper()
	w := cloudformation.NewChangeSetCreateCompleteWaiter(c, func(o *cloudformation.ChangeSetCreateCompleteWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 50*time.Millisecond
	})
	if err := w.Wait(t.Context(), &cloudformation.DescribeChangeSetInput{StackName: aws.String(stack), ChangeSetName: aws.String(name)}, 10*time.Second); err != nil {
		t.Fatalf("change set %s: %v", name, err)
	}
}

// TestServiceRoleActsForTheStack: CloudFormation acts as the service role,
// with the role's permissions rather than the caller's, and keeps using the
// stack's role on later operations by callers who could not pass it.
func TestServiceRoleActsForTheStack(t *testing.T) {
	w := newRoleWorld(t)
	ctx := t.Context()
	root := cloudformation.NewFromConfig(w.sb.AWSConfig("master"), cfnNoRetry)
	iamCaps := []types.Capability{types.CapabilityCapabilityIam}

	t.Run("the role's permissions, not the caller's", func(t *testing.T) {
		// The root user may create roles; the service role it names may not.
		if _, err := root.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("narrow"), TemplateBody: iamTemplate("Made"),
			Capabilities: iamCaps, RoleARN: aws.String(w.arn("cfn-s3-only"))}); err != nil {
			t.Fatal(err)
		}
		st := settled(t, root, "narrow")
		if st.StackStatus != types.StackStatusRollbackComplete {
			t.Fatalf("stack %s, want ROLLBACK_COMPLETE", st.StackStatus)
		}
		events, err := root.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String("narrow")})
		if err != nil {
			t.Fatal(err)
		}
		want := "arn:aws:sts::" + w.master.ID + ":assumed-role/cfn-s3-only/AWSCloudFormation is not authorized to perform: iam:CreateRole"
		found := false
		for _, e := range events.StackEvents {
			found = found || (e.ResourceStatus == types.ResourceStatusCreateFailed && strings.Contains(aws.ToString(e.ResourceStatusReason), want))
		}
		if !found {
			t.Fatalf("no CREATE_FAILED event saying %q", want)
		}
	})

	if _, err := root.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("kept"), TemplateBody: iamTemplate("First"),
		Capabilities: iamCaps, RoleARN: aws.String(w.arn("cfn-admin"))}); err != nil {
		t.Fatal(err)
	}
	if st := settled(t, root, "kept"); st.StackStatus != types.StackStatusCreateComplete {
		t.Fatalf("stack %s", st.StackStatus)
	}
	deployer := w.as("Deployer")

	t.Run("later operations keep the stack's role", func(t *testing.T) {
		// Deployer can neither pass the role nor create roles itself.
		_, err := deployer.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("kept"), TemplateBody: iamTemplate("First", "Second"),
			Capabilities: iamCaps, RoleARN: aws.String(w.arn("cfn-admin"))})
		if apiCode(err) != "AccessDenied" || !strings.Contains(err.Error(), "iam:PassRole") {
			t.Fatalf("UpdateStack naming the role: %v", err)
		}
		if _, err := deployer.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("kept"), TemplateBody: iamTemplate("First", "Second"),
			Capabilities: iamCaps}); err != nil {
			t.Fatalf("UpdateStack with the stack's role: %v", err)
		}
		st := settled(t, root, "kept")
		if st.StackStatus != types.StackStatusUpdateComplete || aws.ToString(st.RoleARN) != w.arn("cfn-admin") {
			t.Fatalf("stack %s (%s), RoleARN %s", st.StackStatus, aws.ToString(st.StackStatusReason), aws.ToString(st.RoleARN))
		}
		if _, err := deployer.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("kept"), ChangeSetName: aws.String("third"),
			TemplateBody: iamTemplate("First", "Second", "Third"), Capabilities: iamCaps}); err != nil {
			t.Fatalf("CreateChangeSet with the stack's role: %v", err)
		}
		waitChangeSet(t, deployer, "kept", "third")
		if _, err := deployer.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{StackName: aws.String("kept"), ChangeSetName: aws.String("third")}); err != nil {
			t.Fatalf("ExecuteChangeSet: %v", err)
		}
		if st := settled(t, root, "kept"); st.StackStatus != types.StackStatusUpdateComplete {
			t.Fatalf("stack %s (%s) after the change set", st.StackStatus, aws.ToString(st.StackStatusReason))
		}
		_, err = deployer.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("kept"), RoleARN: aws.String(w.arn("cfn-admin"))})
		if apiCode(err) != "AccessDenied" {
			t.Fatalf("DeleteStack naming the role: %v", err)
		}
	})

	t.Run("a role that can no longer be assumed stops the stack", func(t *testing.T) {
		// The role stops trusting CloudFormation: every operation that needs it is refused.
		if _, err := w.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("cfn-admin"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + w.master.ID + `:root"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
			t.Fatal(err)
		}
		_, err := deployer.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("kept")})
		if apiCode(err) != "ValidationError" || !strings.Contains(err.Error(), "Role "+w.arn("cfn-admin")+" is invalid or cannot be assumed") {
			t.Fatalf("DeleteStack: %v", err)
		}
		_, err = deployer.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("kept"), TemplateBody: iamTemplate("First"), Capabilities: iamCaps})
		if apiCode(err) != "ValidationError" {
			t.Fatalf("UpdateStack: %v", err)
		}
		st := settled(t, root, "kept")
		if st.StackStatus != types.StackStatusUpdateComplete {
			t.Fatalf("stack %s after refused operations", st.StackStatus)
		}
		// Another role the caller may pass takes over.
		w.role(t, "cfn-admin-2", cfnPrincipal, []string{adminPolicy})
		if _, err := root.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("kept"), RoleARN: aws.String(w.arn("cfn-admin-2"))}); err != nil {
			t.Fatalf("DeleteStack with a new role: %v", err)
		}
		if st := settled(t, root, aws.ToString(st.StackId)); st.StackStatus != types.StackStatusDeleteComplete {
			t.Fatalf("stack %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
		}
	})
}
