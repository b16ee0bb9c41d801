package cfn

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

const roleTemplate = `
Description: a role and a parameter
Parameters:
  RoleName: {Type: String, Default: Stacker}
  Secret: {Type: String, NoEcho: true, Default: hush}
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Ref RoleName
      AssumeRolePolicyDocument:
        Statement: [{Effect: Allow, Principal: {AWS: !Sub "arn:aws:iam::${AWS::AccountId}:root"}, Action: sts:AssumeRole}]
      ManagedPolicyArns: [arn:aws:iam::aws:policy/AdministratorAccess]
  Param:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: !GetAtt Role.Arn}
  Handle:
    Type: AWS::CloudFormation::WaitConditionHandle
Outputs:
  StackerRole: {Value: !GetAtt Role.Arn}
  ParamName: {Value: !Ref Param}
`

func TestCreateDescribeDeleteLifecycle(t *testing.T) {
	e := newEnv(t, 60*time.Millisecond)
	c := e.client(acctA)
	ctx := context.Background()
	out, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{
		StackName: aws.String("role"), TemplateBody: aws.String(roleTemplate),
		Capabilities:       []types.Capability{types.CapabilityCapabilityNamedIam},
		Tags:               []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
		ClientRequestToken: aws.String("tok-1"),
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	id := aws.ToString(out.StackId)
	if !strings.HasPrefix(id, "arn:aws:cloudformation:us-east-1:"+acctA+":stack/role/") {
		t.Fatalf("stack id %s", id)
	}
	d, _ := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("role")})
	if got := d.Stacks[0].StackStatus; got != types.StackStatusCreateInProgress {
		t.Fatalf("status right after create = %s", got)
	}
	w := cloudformation.NewStackCreateCompleteWaiter(c, func(o *cloudformation.StackCreateCompleteWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 20*time.Millisecond
	})
	if err := w.Wait(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("role")}, 5*time.Second); err != nil {
		t.Fatalf("wait create: %v", err)
	}
	st := waitSettled(t, c, "role")
	outs := outputs(st)
	if outs["StackerRole"] != "arn:aws:iam::"+acctA+":role/Stacker" {
		t.Errorf("outputs %v", outs)
	}
	if _, ok := e.iam.role(acctA, "Stacker"); !ok {
		t.Errorf("role not created in IAM")
	}
	if v, _, err := e.ssm.GetParameterFor(acctA, "us-east-1", outs["ParamName"]); err != nil || v != outs["StackerRole"] {
		t.Errorf("ssm parameter %q = %q, %v", outs["ParamName"], v, err)
	}
	params := map[string]string{}
	for _, p := range st.Parameters {
		params[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue)
	}
	if params["Secret"] != "****" || params["RoleName"] != "Stacker" {
		t.Errorf("parameters %v", params)
	}
	if aws.ToString(st.Description) != "a role and a parameter" || len(st.Tags) != 1 {
		t.Errorf("description %q tags %v", aws.ToString(st.Description), st.Tags)
	}

	evs := events(t, c, "role")
	if first := evs[0]; aws.ToString(first.LogicalResourceId) != "role" || first.ResourceStatus != types.ResourceStatusCreateComplete {
		t.Errorf("newest event = %s %s", aws.ToString(first.LogicalResourceId), first.ResourceStatus)
	}
	seen := map[string]bool{}
	for _, ev := range evs {
		seen[aws.ToString(ev.LogicalResourceId)+" "+string(ev.ResourceStatus)] = true
		if aws.ToString(ev.ClientRequestToken) != "tok-1" {
			t.Errorf("event without the request token: %+v", ev)
		}
	}
	for _, want := range []string{"Role CREATE_IN_PROGRESS", "Role CREATE_COMPLETE", "Param CREATE_COMPLETE", "Handle CREATE_COMPLETE", "role CREATE_IN_PROGRESS"} {
		if !seen[want] {
			t.Errorf("missing event %s", want)
		}
	}
	res, err := c.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String("role")})
	if err != nil || len(res.StackResources) != 3 {
		t.Fatalf("resources %+v %v", res, err)
	}
	for _, r := range res.StackResources {
		if aws.ToString(r.LogicalResourceId) == "Role" && aws.ToString(r.PhysicalResourceId) != "Stacker" {
			t.Errorf("Role physical ID %q", aws.ToString(r.PhysicalResourceId))
		}
	}
	tpl, err := c.GetTemplate(ctx, &cloudformation.GetTemplateInput{StackName: aws.String("role")})
	if err != nil || aws.ToString(tpl.TemplateBody) != roleTemplate {
		t.Fatalf("GetTemplate returned a different body: %v", err)
	}

	// A retried create with the same token is the same create.
	again, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("role"), TemplateBody: aws.String(roleTemplate),
		Capabilities: []types.Capability{types.CapabilityCapabilityNamedIam}, ClientRequestToken: aws.String("tok-1")})
	if err != nil || aws.ToString(again.StackId) != id {
		t.Fatalf("retried create = %v, %v", again, err)
	}
	_, err = c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("role"), TemplateBody: aws.String(roleTemplate),
		Capabilities: []types.Capability{types.CapabilityCapabilityNamedIam}})
	wantAPIError(t, err, "AlreadyExistsException", "Stack [role] already exists")

	if _, err := c.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("role")}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	dw := cloudformation.NewStackDeleteCompleteWaiter(c, func(o *cloudformation.StackDeleteCompleteWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 20*time.Millisecond
	})
	if err := dw.Wait(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(id)}, 5*time.Second); err != nil {
		t.Fatalf("wait delete: %v", err)
	}
	if _, ok := e.iam.role(acctA, "Stacker"); ok {
		t.Errorf("role survived the stack")
	}
	_, err = c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("role")})
	wantAPIError(t, err, "ValidationError", "Stack with id role does not exist")
	byID, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(id)})
	if err != nil || byID.Stacks[0].StackStatus != types.StackStatusDeleteComplete || byID.Stacks[0].DeletionTime == nil {
		t.Fatalf("deleted stack by id: %+v %v", byID, err)
	}
	ls, err := c.ListStacks(ctx, &cloudformation.ListStacksInput{StackStatusFilter: []types.StackStatus{types.StackStatusDeleteComplete}})
	if err != nil || len(ls.StackSummaries) != 1 {
		t.Fatalf("ListStacks DELETE_COMPLETE: %+v %v", ls, err)
	}
	// The name is free again.
	if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("role"), TemplateBody: aws.String(roleTemplate),
		Capabilities: []types.Capability{types.CapabilityCapabilityNamedIam}}); err != nil {
		t.Fatalf("recreate: %v", err)
	}
	waitSettled(t, c, "role")
}

const failTemplate = `
Resources:
  Bucket: {Type: AWS::S3::Bucket}
  Wait:
    Type: AWS::CloudFormation::WaitCondition
    DependsOn: Bucket
    Properties: {Handle: !Ref Handle, Timeout: "1000000"}
  Handle: {Type: AWS::CloudFormation::WaitConditionHandle}
`

func TestCreateFailure(t *testing.T) {
	tests := []struct {
		name       string
		in         cloudformation.CreateStackInput
		wantStatus types.StackStatus
		byID       bool
	}{
		{"rollback", cloudformation.CreateStackInput{}, types.StackStatusRollbackComplete, false},
		{"disable rollback", cloudformation.CreateStackInput{DisableRollback: aws.Bool(true)}, types.StackStatusCreateFailed, false},
		{"on failure delete", cloudformation.CreateStackInput{OnFailure: types.OnFailureDelete}, types.StackStatusDeleteComplete, true},
	}
	e := newEnv(t, 40*time.Millisecond)
	c := e.client(acctA)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.StackName = aws.String(strings.ReplaceAll(tt.name, " ", "-"))
			in.TemplateBody = aws.String(failTemplate)
			out, err := c.CreateStack(context.Background(), &in)
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			name := aws.ToString(in.StackName)
			if tt.byID {
				name = aws.ToString(out.StackId)
			}
			st := waitSettled(t, c, name)
			if st.StackStatus != tt.wantStatus {
				t.Fatalf("status %s (%s), want %s", st.StackStatus, aws.ToString(st.StackStatusReason), tt.wantStatus)
			}
			var reason string
			for _, ev := range events(t, c, name) {
				if aws.ToString(ev.LogicalResourceId) == "Wait" && ev.ResourceStatus == types.ResourceStatusCreateFailed {
					reason = aws.ToString(ev.ResourceStatusReason)
				}
			}
			if !strings.Contains(reason, "Timeout") {
				t.Errorf("WaitCondition failure reason %q", reason)
			}
			e.s3.mu.Lock()
			for b := range e.s3.buckets {
				if strings.HasPrefix(b, aws.ToString(in.StackName)+"-") && tt.wantStatus != types.StackStatusCreateFailed {
					t.Errorf("rollback left bucket %s behind", b)
				}
			}
			e.s3.mu.Unlock()
		})
	}
	if got := "The following resource(s) failed to create: [Wait]. Rollback requested by user."; true {
		st := waitSettled(t, c, "rollback")
		if aws.ToString(st.StackStatusReason) != "" {
			t.Errorf("final reason %q", aws.ToString(st.StackStatusReason))
		}
		found := false
		for _, ev := range events(t, c, "rollback") {
			if ev.ResourceStatus == types.ResourceStatusRollbackInProgress && aws.ToString(ev.ResourceStatusReason) == got {
				found = true
			}
		}
		if !found {
			t.Errorf("no ROLLBACK_IN_PROGRESS event with %q", got)
		}
	}
}

func TestCreateValidation(t *testing.T) {
	e := newEnv(t, 20*time.Millisecond)
	c := e.client(acctA)
	big := "Resources:\n  H: {Type: AWS::CloudFormation::WaitConditionHandle}\n#" + strings.Repeat("x", 51200)
	tests := []struct {
		name      string
		in        cloudformation.CreateStackInput
		code, msg string
	}{
		{"capabilities", cloudformation.CreateStackInput{TemplateBody: aws.String(roleTemplate)}, "InsufficientCapabilitiesException", "Requires capabilities : [CAPABILITY_NAMED_IAM]"},
		{"iam capability is not enough", cloudformation.CreateStackInput{TemplateBody: aws.String(roleTemplate), Capabilities: []types.Capability{types.CapabilityCapabilityIam}}, "InsufficientCapabilitiesException", "Requires capabilities : [CAPABILITY_NAMED_IAM]"},
		{"too big", cloudformation.CreateStackInput{TemplateBody: aws.String(big)}, "ValidationError", "at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to 51200"},
		{"no template", cloudformation.CreateStackInput{}, "ValidationError", "Either Template URL or Template Body must be specified."},
		{"bad template", cloudformation.CreateStackInput{TemplateBody: aws.String("{")}, "ValidationError", "Template format error"},
		{"missing import", cloudformation.CreateStackInput{TemplateBody: aws.String(`{"Resources":{"P":{"Type":"AWS::SSM::Parameter","Properties":{"Type":"String","Value":{"Fn::ImportValue":"nope"}}}}}`)}, "ValidationError", "No export named nope found"},
		{"missing parameter", cloudformation.CreateStackInput{TemplateBody: aws.String(`{"Parameters":{"X":{"Type":"String"}},"Resources":{"H":{"Type":"AWS::CloudFormation::WaitConditionHandle"}}}`)}, "ValidationError", "Parameters: [X] must have values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.StackName = aws.String("v")
			_, err := c.CreateStack(context.Background(), &in)
			wantAPIError(t, err, tt.code, tt.msg)
		})
	}
	_, err := c.CreateStack(context.Background(), &cloudformation.CreateStackInput{StackName: aws.String("1bad"), TemplateBody: aws.String(failTemplate)})
	wantAPIError(t, err, "ValidationError", "Member must satisfy regular expression pattern")
}

const bucketTemplate = `
Parameters:
  Name: {Type: String}
  Versioning: {Type: String, Default: Suspended}
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Ref Name
      VersioningConfiguration: {Status: !Ref Versioning}
      BucketEncryption:
        ServerSideEncryptionConfiguration: [{ServerSideEncryptionByDefault: {SSEAlgorithm: AES256}}]
Outputs:
  BucketId: {Value: !Ref Bucket, Export: {Name: !Sub "${AWS::StackName}-BucketId"}}
  Arn: {Value: !GetAtt Bucket.Arn}
`

func param(k, v string) types.Parameter {
	return types.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(v)}
}

func TestUpdateStack(t *testing.T) {
	e := newEnv(t, 60*time.Millisecond)
	c := e.client(acctA)
	ctx := context.Background()
	if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("b"), TemplateBody: aws.String(bucketTemplate),
		Parameters: []types.Parameter{param("Name", "bucket-one")}}); err != nil {
		t.Fatal(err)
	}
	_, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("b"), TemplateBody: aws.String(bucketTemplate),
		Parameters: []types.Parameter{param("Name", "bucket-two")}})
	wantAPIError(t, err, "ValidationError", "is in CREATE_IN_PROGRESS state and can not be updated.")
	waitSettled(t, c, "b")

	_, err = c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("b"), UsePreviousTemplate: aws.Bool(true),
		Parameters: []types.Parameter{{ParameterKey: aws.String("Name"), UsePreviousValue: aws.Bool(true)}}})
	wantAPIError(t, err, "ValidationError", "No updates are to be performed.")

	// In-place change.
	if _, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("b"), UsePreviousTemplate: aws.Bool(true),
		Parameters:         []types.Parameter{{ParameterKey: aws.String("Name"), UsePreviousValue: aws.Bool(true)}, param("Versioning", "Enabled")},
		ClientRequestToken: aws.String("u1")}); err != nil {
		t.Fatalf("update: %v", err)
	}
	// A retried update is not a second update.
	if _, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("b"), UsePreviousTemplate: aws.Bool(true),
		Parameters:         []types.Parameter{{ParameterKey: aws.String("Name"), UsePreviousValue: aws.Bool(true)}, param("Versioning", "Enabled")},
		ClientRequestToken: aws.String("u1")}); err != nil {
		t.Fatalf("retried update: %v", err)
	}
	w := cloudformation.NewStackUpdateCompleteWaiter(c, func(o *cloudformation.StackUpdateCompleteWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 20*time.Millisecond
	})
	if err := w.Wait(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("b")}, 5*time.Second); err != nil {
		t.Fatalf("wait update: %v", err)
	}
	if b := e.s3.bucket("bucket-one"); b == nil || b.settings.Versioning != "Enabled" || b.settings.SSEAlgorithm != "AES256" {
		t.Fatalf("bucket after update: %+v", b)
	}
	statuses := map[types.ResourceStatus]int{}
	for _, ev := range events(t, c, "b") {
		if aws.ToString(ev.LogicalResourceId) == "b" {
			statuses[ev.ResourceStatus]++
		}
	}
	if statuses[types.ResourceStatusUpdateInProgress] != 1 || statuses[types.ResourceStatusUpdateComplete] != 1 || statuses["UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"] != 1 {
		t.Errorf("stack events %v", statuses)
	}

	// Replacement: a new bucket name creates the new bucket and deletes the old one.
	if _, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("b"), UsePreviousTemplate: aws.Bool(true),
		Parameters: []types.Parameter{param("Name", "bucket-two")}}); err != nil {
		t.Fatalf("update: %v", err)
	}
	st := waitSettled(t, c, "b")
	if st.StackStatus != types.StackStatusUpdateComplete || outputs(st)["BucketId"] != "bucket-two" {
		t.Fatalf("after replacement: %s %v", st.StackStatus, outputs(st))
	}
	if e.s3.bucket("bucket-one") != nil || e.s3.bucket("bucket-two") == nil {
		t.Errorf("replacement did not swap buckets")
	}
	ex, _ := c.ListExports(ctx, &cloudformation.ListExportsInput{})
	if len(ex.Exports) != 1 || aws.ToString(ex.Exports[0].Value) != "bucket-two" {
		t.Errorf("exports %+v", ex.Exports)
	}

	// An update that fails rolls back to the previous bucket.
	e.faults.set("b", "injected failure")
	if _, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("b"), UsePreviousTemplate: aws.Bool(true),
		Parameters: []types.Parameter{param("Name", "bucket-three")}}); err != nil {
		t.Fatalf("update: %v", err)
	}
	st = waitSettled(t, c, "b")
	if st.StackStatus != types.StackStatusUpdateRollbackComplete || outputs(st)["BucketId"] != "bucket-two" {
		t.Fatalf("after failed update: %s %v", st.StackStatus, outputs(st))
	}
	if e.s3.bucket("bucket-two") == nil || e.s3.bucket("bucket-three") != nil {
		t.Errorf("rollback did not keep the old bucket")
	}
	e.faults.set("b", "")
	delete(e.faults.reasons, "b")
}

func TestUpdateRollbackFailedAndContinue(t *testing.T) {
	e := newEnv(t, 40*time.Millisecond)
	c := e.client(acctA)
	ctx := context.Background()
	if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("u"), TemplateBody: aws.String(bucketTemplate),
		Parameters: []types.Parameter{param("Name", "ubucket")}}); err != nil {
		t.Fatal(err)
	}
	waitSettled(t, c, "u")
	e.faults.set("u", RollbackFailurePrefix+" cannot roll back")
	if _, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("u"), UsePreviousTemplate: aws.Bool(true),
		Parameters: []types.Parameter{param("Name", "ubucket2")}}); err != nil {
		t.Fatal(err)
	}
	st := waitSettled(t, c, "u")
	if st.StackStatus != types.StackStatusUpdateRollbackFailed || aws.ToString(st.StackStatusReason) != "cannot roll back" {
		t.Fatalf("status %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	_, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("u"), UsePreviousTemplate: aws.Bool(true),
		Parameters: []types.Parameter{param("Name", "ubucket2")}})
	wantAPIError(t, err, "ValidationError", "is in UPDATE_ROLLBACK_FAILED state and can not be updated.")
	if _, err := c.ContinueUpdateRollback(ctx, &cloudformation.ContinueUpdateRollbackInput{StackName: aws.String("u")}); err != nil {
		t.Fatalf("continue: %v", err)
	}
	st = waitSettled(t, c, "u")
	if st.StackStatus != types.StackStatusUpdateRollbackComplete {
		t.Fatalf("after continue: %s", st.StackStatus)
	}
	_, err = c.ContinueUpdateRollback(ctx, &cloudformation.ContinueUpdateRollbackInput{StackName: aws.String("u")})
	wantAPIError(t, err, "ValidationError", "can not continue update rollback")
}

func TestCancelUpdateStack(t *testing.T) {
	e := newEnv(t, 300*time.Millisecond)
	c := e.client(acctA)
	ctx := context.Background()
	tpl := func(v string) string {
		return `{"Resources":{"A":{"Type":"AWS::SSM::Parameter","Properties":{"Type":"String","Value":"` + v + `"}},` +
			`"B":{"Type":"AWS::SSM::Parameter","Properties":{"Type":"String","Value":"` + v + `"}}}}`
	}
	if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("c"), TemplateBody: aws.String(tpl("1"))}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CancelUpdateStack(ctx, &cloudformation.CancelUpdateStackInput{StackName: aws.String("c")})
	wantAPIError(t, err, "ValidationError", "CancelUpdateStack cannot be called from current stack status")
	waitSettled(t, c, "c")
	if _, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("c"), TemplateBody: aws.String(tpl("2"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CancelUpdateStack(ctx, &cloudformation.CancelUpdateStackInput{StackName: aws.String("c")}); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	st := waitSettled(t, c, "c")
	if st.StackStatus != types.StackStatusUpdateRollbackComplete {
		t.Fatalf("after cancel: %s", st.StackStatus)
	}
	res, _ := c.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String("c")})
	for _, r := range res.StackResources {
		v, _, _ := e.ssm.GetParameterFor(acctA, "us-east-1", aws.ToString(r.PhysicalResourceId))
		if v != "1" {
			t.Errorf("%s = %q after the rollback, want 1", aws.ToString(r.LogicalResourceId), v)
		}
	}
}

func TestDeleteFailures(t *testing.T) {
	e := newEnv(t, 20*time.Millisecond)
	c := e.client(acctA)
	ctx := context.Background()
	created, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("d"), TemplateBody: aws.String(bucketTemplate),
		Parameters: []types.Parameter{param("Name", "full-bucket")}, EnableTerminationProtection: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	waitSettled(t, c, "d")
	_, err = c.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("d")})
	wantAPIError(t, err, "ValidationError", "Stack [d] cannot be deleted while TerminationProtection is enabled")
	if _, err := c.UpdateTerminationProtection(ctx, &cloudformation.UpdateTerminationProtectionInput{StackName: aws.String("d"), EnableTerminationProtection: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	e.s3.put("full-bucket", "k", "v")
	if _, err := c.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("d")}); err != nil {
		t.Fatal(err)
	}
	st := waitSettled(t, c, "d")
	if st.StackStatus != types.StackStatusDeleteFailed || !strings.Contains(aws.ToString(st.StackStatusReason), "[Bucket]") {
		t.Fatalf("status %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	if _, err := c.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("d"), RetainResources: []string{"Bucket"}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("d")})
		if err != nil {
			wantAPIError(t, err, "ValidationError", "does not exist")
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("stack not deleted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if e.s3.bucket("full-bucket") == nil {
		t.Errorf("retained bucket deleted")
	}
	skipped := false
	for _, ev := range events(t, c, aws.ToString(created.StackId)) { // a deleted stack answers by ID
		if aws.ToString(ev.LogicalResourceId) == "Bucket" && ev.ResourceStatus == types.ResourceStatusDeleteSkipped {
			skipped = true
		}
	}
	if !skipped {
		t.Error("no DELETE_SKIPPED event for the retained bucket")
	}
	// Deleting a stack that does not exist succeeds, as on AWS.
	if _, err := c.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("nothing")}); err != nil {
		t.Errorf("delete of a missing stack: %v", err)
	}
}

func TestExportsAndImports(t *testing.T) {
	e := newEnv(t, 20*time.Millisecond)
	c := e.client(acctA)
	ctx := context.Background()
	exp := `{"Resources":{"H":{"Type":"AWS::CloudFormation::WaitConditionHandle"}},"Outputs":{"O":{"Value":"shared-value","Export":{"Name":"Shared"}}}}`
	imp := `{"Resources":{"P":{"Type":"AWS::SSM::Parameter","Properties":{"Type":"String","Value":{"Fn::ImportValue":"Shared"}}}},"Outputs":{"V":{"Value":{"Fn::GetAtt":["P","Value"]}}}}`
	for _, s := range []struct{ name, body string }{{"exporter", exp}, {"dup", exp}, {"importer", imp}} {
		if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(s.name), TemplateBody: aws.String(s.body)}); err != nil {
			t.Fatalf("create %s: %v", s.name, err)
		}
		waitSettled(t, c, s.name)
	}
	dup := waitSettled(t, c, "dup")
	if dup.StackStatus != types.StackStatusRollbackComplete {
		t.Errorf("duplicate export: %s", dup.StackStatus)
	}
	found := false
	for _, ev := range events(t, c, "dup") {
		if strings.Contains(aws.ToString(ev.ResourceStatusReason), "Export with name Shared is already exported by stack exporter") {
			found = true
		}
	}
	if !found {
		t.Errorf("no event says the export is taken")
	}
	if got := outputs(waitSettled(t, c, "importer"))["V"]; got != "shared-value" {
		t.Errorf("imported value %q", got)
	}
	if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("importer2"), TemplateBody: aws.String(imp)}); err != nil {
		t.Fatal(err)
	}
	waitSettled(t, c, "importer2")

	// AWS accepts the deletion, shows DELETE_IN_PROGRESS, then puts the stack
	// back in its previous status with the reason (no DELETE_FAILED, no API error).
	if _, err := c.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("exporter")}); err != nil {
		t.Fatalf("DeleteStack of an exporter in use must be accepted: %v", err)
	}
	// The DELETE_IN_PROGRESS lasts a quarter of the stack duration, too short
	// to catch with DescribeStacks under load: the events below record it.
	const refused = "Export Shared cannot be deleted as it is in use by importer and importer2"
	st := waitSettled(t, c, "exporter")
	if st.StackStatus != types.StackStatusCreateComplete || aws.ToString(st.StackStatusReason) != refused {
		t.Errorf("after the refused delete: %s %q", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	evs := events(t, c, "exporter") // newest first
	if len(evs) < 2 || evs[0].ResourceStatus != types.ResourceStatusCreateComplete || aws.ToString(evs[0].ResourceStatusReason) != refused ||
		evs[1].ResourceStatus != types.ResourceStatusDeleteInProgress || aws.ToString(evs[0].LogicalResourceId) != "exporter" {
		t.Errorf("events after the refused delete: %+v", evs[:min(2, len(evs))])
	}
	if ex, err := c.ListExports(ctx, &cloudformation.ListExportsInput{}); err != nil || len(ex.Exports) != 1 || aws.ToString(ex.Exports[0].Name) != "Shared" {
		t.Errorf("exports after a refused delete: %+v %v", ex, err)
	}

	// Updates that drop or change an export in use fail and roll back.
	for _, tc := range []struct{ name, body, reason string }{
		{"remove", `{"Resources":{"H":{"Type":"AWS::CloudFormation::WaitConditionHandle"},"H2":{"Type":"AWS::CloudFormation::WaitConditionHandle"}}}`,
			"Cannot delete export Shared as it is in use by importer and importer2"},
		{"change", `{"Resources":{"H":{"Type":"AWS::CloudFormation::WaitConditionHandle"}},"Outputs":{"O":{"Value":"other","Export":{"Name":"Shared"}}}}`,
			"Cannot update export Shared as it is in use by importer and importer2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("exporter"), TemplateBody: aws.String(tc.body)}); err != nil {
				t.Fatal(err)
			}
			st := waitSettled(t, c, "exporter")
			if st.StackStatus != types.StackStatusUpdateRollbackComplete {
				t.Errorf("status %s", st.StackStatus)
			}
			found := false
			for _, ev := range events(t, c, "exporter") {
				if strings.Contains(aws.ToString(ev.ResourceStatusReason), tc.reason) {
					found = true
				}
			}
			if !found {
				t.Errorf("no event says %q", tc.reason)
			}
			if got := outputs(st)["O"]; got != "shared-value" {
				t.Errorf("output after rollback %q", got)
			}
		})
	}

	imports, err := c.ListImports(ctx, &cloudformation.ListImportsInput{ExportName: aws.String("Shared")})
	if err != nil || len(imports.Imports) != 2 || imports.Imports[0] != "importer" {
		t.Errorf("ListImports %+v %v", imports, err)
	}
	for _, n := range []string{"importer", "importer2"} {
		if _, err := c.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"importer", "importer2"} {
		waitGone(t, c, n)
	}
	if _, err := c.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("exporter")}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, c, "exporter")
}

// waitGone waits until DescribeStacks no longer finds the stack by name.
func waitGone(t *testing.T, c *cloudformation.Client, name string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := c.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
		if err != nil {
			wantAPIError(t, err, "ValidationError", "does not exist")
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stack %s not deleted", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStackPolicy(t *testing.T) {
	e := newEnv(t, 20*time.Millisecond)
	c := e.client(acctA)
	ctx := context.Background()
	deny := `{"Statement":[{"Effect":"Allow","Action":"Update:*","Principal":"*","Resource":"*"},` +
		`{"Effect":"Deny","Action":"Update:*","Principal":"*","Resource":"LogicalResourceId/Bucket"}]}`
	if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("p"), TemplateBody: aws.String(bucketTemplate),
		Parameters: []types.Parameter{param("Name", "policy-bucket")}, StackPolicyBody: aws.String(deny)}); err != nil {
		t.Fatal(err)
	}
	waitSettled(t, c, "p")
	got, err := c.GetStackPolicy(ctx, &cloudformation.GetStackPolicyInput{StackName: aws.String("p")})
	if err != nil || aws.ToString(got.StackPolicyBody) != deny {
		t.Fatalf("GetStackPolicy %v %v", got, err)
	}
	if _, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("p"), UsePreviousTemplate: aws.Bool(true),
		Parameters: []types.Parameter{{ParameterKey: aws.String("Name"), UsePreviousValue: aws.Bool(true)}, param("Versioning", "Enabled")}}); err != nil {
		t.Fatal(err)
	}
	st := waitSettled(t, c, "p")
	if st.StackStatus != types.StackStatusUpdateRollbackComplete {
		t.Fatalf("protected update: %s", st.StackStatus)
	}
	reason := ""
	for _, ev := range events(t, c, "p") {
		if ev.ResourceStatus == types.ResourceStatusUpdateFailed {
			reason = aws.ToString(ev.ResourceStatusReason)
		}
	}
	if !strings.HasPrefix(reason, "Action denied by stack policy") {
		t.Errorf("UPDATE_FAILED reason %q", reason)
	}
	_, err = c.SetStackPolicy(ctx, &cloudformation.SetStackPolicyInput{StackName: aws.String("p"), StackPolicyBody: aws.String("not json")})
	wantAPIError(t, err, "ValidationError", "Invalid stack policy")
	if _, err := c.SetStackPolicy(ctx, &cloudformation.SetStackPolicyInput{StackName: aws.String("p"),
		StackPolicyBody: aws.String(`{"Statement":[{"Effect":"Allow","Action":"Update:*","Principal":"*","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("p"), UsePreviousTemplate: aws.Bool(true),
		Parameters: []types.Parameter{{ParameterKey: aws.String("Name"), UsePreviousValue: aws.Bool(true)}, param("Versioning", "Enabled")}}); err != nil {
		t.Fatal(err)
	}
	if st := waitSettled(t, c, "p"); st.StackStatus != types.StackStatusUpdateComplete {
		t.Fatalf("allowed update: %s", st.StackStatus)
	}
}

func TestProviderAuthorization(t *testing.T) {
	e := newEnv(t, 20*time.Millisecond)
	c := e.client(acctA)
	e.authz.deny["iam:CreateRole"] = true
	if _, err := c.CreateStack(context.Background(), &cloudformation.CreateStackInput{StackName: aws.String("r"), TemplateBody: aws.String(roleTemplate),
		Capabilities: []types.Capability{types.CapabilityCapabilityNamedIam}}); err != nil {
		t.Fatal(err)
	}
	st := waitSettled(t, c, "r")
	if st.StackStatus != types.StackStatusRollbackComplete {
		t.Fatalf("status %s", st.StackStatus)
	}
	var reason string
	for _, ev := range events(t, c, "r") {
		if ev.ResourceStatus == types.ResourceStatusCreateFailed {
			reason = aws.ToString(ev.ResourceStatusReason)
		}
	}
	if !strings.Contains(reason, "is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::"+acctA+":role/Stacker") {
		t.Errorf("reason %q", reason)
	}
	// The CloudFormation action itself is authorized too.
	e.authz.deny["cloudformation:DescribeStacks"] = true
	_, err := c.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String("r")})
	wantAPIError(t, err, "AccessDenied", "cloudformation:DescribeStacks on resource: arn:aws:cloudformation:us-east-1:"+acctA+":stack/r/*")
}

func TestStacksArePerAccountAndRegion(t *testing.T) {
	e := newEnv(t, 10*time.Millisecond)
	ctx := context.Background()
	a, b := e.client(acctA), e.client(acctB)
	if _, err := a.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("same"), TemplateBody: aws.String(failTemplate), DisableRollback: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("same"), TemplateBody: aws.String(failTemplate), DisableRollback: aws.Bool(true)}); err != nil {
		t.Fatalf("same name in another account: %v", err)
	}
	_, err := a.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("same")}, func(o *cloudformation.Options) { o.Region = "eu-west-1" })
	wantAPIError(t, err, "ValidationError", "Stack with id same does not exist")
	waitSettled(t, a, "same")
	waitSettled(t, b, "same")
}

func TestPagination(t *testing.T) {
	e := newEnv(t, 10*time.Millisecond)
	e.svc.pageSize = 2
	c := e.client(acctA)
	ctx := context.Background()
	for _, n := range []string{"s1", "s2", "s3", "s4", "s5"} {
		if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(n), TemplateBody: aws.String(bucketTemplate),
			Parameters: []types.Parameter{param("Name", "pg-"+n)}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"s1", "s2", "s3", "s4", "s5"} {
		waitSettled(t, c, n)
	}
	count := func(pages int, n int) {}
	_ = count
	var names []string
	pages := 0
	p := cloudformation.NewDescribeStacksPaginator(c, &cloudformation.DescribeStacksInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, s := range out.Stacks {
			names = append(names, aws.ToString(s.StackName))
		}
	}
	if pages != 3 || strings.Join(names, ",") != "s5,s4,s3,s2,s1" {
		t.Errorf("DescribeStacks pages=%d names=%v", pages, names)
	}
	ls := cloudformation.NewListStacksPaginator(c, &cloudformation.ListStacksInput{})
	total := 0
	for ls.HasMorePages() {
		out, err := ls.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total += len(out.StackSummaries)
	}
	ex := cloudformation.NewListExportsPaginator(c, &cloudformation.ListExportsInput{})
	exports := 0
	for ex.HasMorePages() {
		out, err := ex.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		exports += len(out.Exports)
	}
	if total != 5 || exports != 5 {
		t.Errorf("ListStacks %d, ListExports %d, want 5 each", total, exports)
	}
	if n := len(events(t, c, "s1")); n < 5 {
		t.Errorf("paginated events: %d", n)
	}
	_, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{NextToken: aws.String("garbage!")})
	wantAPIError(t, err, "ValidationError", "Invalid NextToken")
}
