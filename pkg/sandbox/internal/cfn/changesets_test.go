package cfn

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/s3"
)

func waitChangeSet(t *testing.T, c *cloudformation.Client, stack, name string) *cloudformation.DescribeChangeSetOutput {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		out, err := c.DescribeChangeSet(context.Background(), &cloudformation.DescribeChangeSetInput{StackName: aws.String(stack), ChangeSetName: aws.String(name)})
		if err != nil {
			t.Fatalf("describe change set: %v", err)
		}
		if out.Status == types.ChangeSetStatusCreateComplete || out.Status == types.ChangeSetStatusFailed {
			return out
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("change set %s did not settle", name)
	return nil
}

const csTemplate = `
Parameters:
  Name: {Type: String}
  Token: {Type: String, NoEcho: true, Default: secret}
  WithTopic: {Type: String, Default: "no"}
Conditions:
  Topic: !Equals [!Ref WithTopic, "yes"]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties: {BucketName: !Ref Name}
  Param:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: !GetAtt Bucket.Arn}
  Topic:
    Type: AWS::SNS::Topic
    Condition: Topic
`

func TestChangeSets(t *testing.T) {
	e := newEnv(t, 40*time.Millisecond)
	c := e.client(acctA)
	ctx := context.Background()

	created, err := c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("cs"), ChangeSetName: aws.String("create-1"),
		ChangeSetType: types.ChangeSetTypeCreate, TemplateBody: aws.String(csTemplate), Parameters: []types.Parameter{param("Name", "cs-one")}})
	if err != nil {
		t.Fatalf("create change set: %v", err)
	}
	st := describe(t, c, "cs")
	if st.StackStatus != types.StackStatusReviewInProgress || aws.ToString(st.StackId) != aws.ToString(created.StackId) {
		t.Fatalf("stack for a CREATE change set: %s", st.StackStatus)
	}
	w := cloudformation.NewChangeSetCreateCompleteWaiter(c, func(o *cloudformation.ChangeSetCreateCompleteWaiterOptions) {
		o.MinDelay, o.MaxDelay = 5*time.Millisecond, 10*time.Millisecond
	})
	if err := w.Wait(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: created.Id}, 5*time.Second); err != nil {
		t.Fatalf("wait change set: %v", err)
	}
	d := waitChangeSet(t, c, "cs", "create-1")
	if d.ExecutionStatus != types.ExecutionStatusAvailable || len(d.Changes) != 2 {
		t.Fatalf("create change set: %s %d changes", d.ExecutionStatus, len(d.Changes))
	}
	for _, ch := range d.Changes {
		if ch.ResourceChange.Action != types.ChangeActionAdd {
			t.Errorf("change %+v", ch.ResourceChange)
		}
	}
	for _, p := range d.Parameters {
		if aws.ToString(p.ParameterKey) == "Token" && aws.ToString(p.ParameterValue) != "****" {
			t.Errorf("NoEcho parameter shown as %q", aws.ToString(p.ParameterValue))
		}
	}
	if _, err := c.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{ChangeSetName: created.Id, ClientRequestToken: aws.String("x1")}); err != nil {
		t.Fatalf("execute: %v", err)
	}
	if _, err := c.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{ChangeSetName: created.Id, ClientRequestToken: aws.String("x1")}); err != nil {
		t.Fatalf("retried execute: %v", err)
	}
	if st := waitSettled(t, c, "cs"); st.StackStatus != types.StackStatusCreateComplete {
		t.Fatalf("after CREATE change set: %s", st.StackStatus)
	}
	if e.s3.bucket("cs-one") == nil {
		t.Fatal("bucket not created")
	}

	// No changes: FAILED with AWS's reason.
	if _, err := c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("cs"), ChangeSetName: aws.String("same"),
		UsePreviousTemplate: aws.Bool(true), Parameters: []types.Parameter{{ParameterKey: aws.String("Name"), UsePreviousValue: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	d = waitChangeSet(t, c, "cs", "same")
	if d.Status != types.ChangeSetStatusFailed || d.ExecutionStatus != types.ExecutionStatusUnavailable || aws.ToString(d.StatusReason) != noChanges {
		t.Fatalf("no-change change set: %s %s %q", d.Status, d.ExecutionStatus, aws.ToString(d.StatusReason))
	}
	_, err = c.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{StackName: aws.String("cs"), ChangeSetName: aws.String("same")})
	wantAPIError(t, err, "InvalidChangeSetStatus", "cannot be executed")
	if _, err := c.DeleteChangeSet(ctx, &cloudformation.DeleteChangeSetInput{StackName: aws.String("cs"), ChangeSetName: aws.String("same")}); err != nil {
		t.Fatal(err)
	}

	// Replacement, a dependent modification, an addition by condition.
	if _, err := c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("cs"), ChangeSetName: aws.String("rename"),
		UsePreviousTemplate: aws.Bool(true), Parameters: []types.Parameter{param("Name", "cs-two"), param("WithTopic", "yes")}}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("cs"), ChangeSetName: aws.String("rename"),
		UsePreviousTemplate: aws.Bool(true), Parameters: []types.Parameter{param("Name", "cs-two")}})
	wantAPIError(t, err, "AlreadyExistsException", "rename")
	d = waitChangeSet(t, c, "cs", "rename")
	got := map[string]string{}
	for _, ch := range d.Changes {
		rc := ch.ResourceChange
		got[aws.ToString(rc.LogicalResourceId)] = string(rc.Action) + "/" + string(rc.Replacement)
	}
	want := map[string]string{"Bucket": "Modify/True", "Param": "Modify/False", "Topic": "Add/"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("change of %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	list, err := c.ListChangeSets(ctx, &cloudformation.ListChangeSetsInput{StackName: aws.String("cs")})
	if err != nil || len(list.Summaries) != 2 {
		t.Fatalf("ListChangeSets: %+v %v", list, err)
	}
	if _, err := c.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{StackName: aws.String("cs"), ChangeSetName: aws.String("rename")}); err != nil {
		t.Fatal(err)
	}
	if st := waitSettled(t, c, "cs"); st.StackStatus != types.StackStatusUpdateComplete || aws.ToString(st.ChangeSetId) != aws.ToString(d.ChangeSetId) {
		t.Fatalf("after UPDATE change set: %s", st.StackStatus)
	}
	if e.s3.bucket("cs-one") != nil || e.s3.bucket("cs-two") == nil {
		t.Errorf("bucket not replaced")
	}
	list, _ = c.ListChangeSets(ctx, &cloudformation.ListChangeSetsInput{StackName: aws.String("cs")})
	if len(list.Summaries) != 1 || list.Summaries[0].ExecutionStatus != types.ExecutionStatusExecuteComplete {
		t.Errorf("after execution the executed change set stays, EXECUTE_COMPLETE, alone: %+v", list.Summaries)
	}

	// Removal.
	if _, err := c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("cs"), ChangeSetName: aws.String("drop"),
		UsePreviousTemplate: aws.Bool(true), Parameters: []types.Parameter{{ParameterKey: aws.String("Name"), UsePreviousValue: aws.Bool(true)}, param("WithTopic", "no")}}); err != nil {
		t.Fatal(err)
	}
	d = waitChangeSet(t, c, "cs", "drop")
	if len(d.Changes) != 1 || d.Changes[0].ResourceChange.Action != types.ChangeActionRemove {
		t.Errorf("removal change set: %+v", d.Changes)
	}
	tpl, err := c.GetTemplate(ctx, &cloudformation.GetTemplateInput{StackName: aws.String("cs"), ChangeSetName: aws.String("drop"), TemplateStage: types.TemplateStageOriginal})
	if err != nil || aws.ToString(tpl.TemplateBody) != csTemplate {
		t.Errorf("GetTemplate of a change set: %v", err)
	}

	_, err = c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("nostack"), ChangeSetName: aws.String("u"), TemplateBody: aws.String(csTemplate)})
	wantAPIError(t, err, "ValidationError", "Stack [nostack] does not exist")
	_, err = c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("cs"), ChangeSetName: aws.String("again"), ChangeSetType: types.ChangeSetTypeCreate, TemplateBody: aws.String(csTemplate)})
	wantAPIError(t, err, "ValidationError", "already exists and cannot be created again")
	_, err = c.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{StackName: aws.String("cs"), ChangeSetName: aws.String("missing")})
	wantAPIError(t, err, "ChangeSetNotFound", "ChangeSet [missing] does not exist")
}

func TestChangeSetDeleteLeavesReviewStack(t *testing.T) {
	e := newEnv(t, 20*time.Millisecond)
	c := e.client(acctA)
	ctx := context.Background()
	out, err := c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("rv"), ChangeSetName: aws.String("c1"),
		ChangeSetType: types.ChangeSetTypeCreate, TemplateBody: aws.String(failTemplate)})
	if err != nil {
		t.Fatal(err)
	}
	waitChangeSet(t, c, "rv", "c1")
	if _, err := c.DeleteChangeSet(ctx, &cloudformation.DeleteChangeSetInput{ChangeSetName: out.Id}); err != nil {
		t.Fatal(err)
	}
	if st := describe(t, c, "rv"); st.StackStatus != types.StackStatusReviewInProgress {
		t.Fatalf("status %s", st.StackStatus)
	}
	if _, err := c.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("rv")}); err != nil {
		t.Fatal(err)
	}
	if st := waitSettled(t, c, aws.ToString(out.StackId)); st.StackStatus != types.StackStatusDeleteComplete {
		t.Fatalf("status %s", st.StackStatus)
	}
}

func TestTemplateURL(t *testing.T) {
	e := newEnv(t, 20*time.Millisecond)
	ctx := context.Background()
	if err := e.s3.CreateBucketFor(acctA, "us-east-1", "stacker-bucket", s3.BucketSettings{}); err != nil {
		t.Fatal(err)
	}
	e.s3.put("stacker-bucket", "stack_templates/x.json", failTemplate)
	tests := []struct {
		name, account, url string
		code, msg          string
	}{
		{"owner path style", acctA, "https://s3.amazonaws.com/stacker-bucket/stack_templates/x.json", "", ""},
		{"owner regional virtual host", acctA, "https://stacker-bucket.s3.us-east-1.amazonaws.com/stack_templates/x.json", "", ""},
		{"owner sandbox endpoint", acctA, e.srv.URL + "/stacker-bucket/stack_templates/x.json", "", ""},
		{"other account without policy", acctB, "https://stacker-bucket.s3.amazonaws.com/stack_templates/x.json", "ValidationError", "S3 error: Access Denied"},
		{"missing key", acctA, "https://s3.us-east-1.amazonaws.com/stacker-bucket/nope.json", "ValidationError", "S3 error: The specified key does not exist."},
		{"not a URL", acctA, "ftp://x/y", "ValidationError", "TemplateURL must be a supported URL."},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "url" + string(rune('a'+i))
			_, err := e.client(tt.account).CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateURL: aws.String(tt.url), DisableRollback: aws.Bool(true)})
			if tt.code == "" {
				if err != nil {
					t.Fatalf("create: %v", err)
				}
				waitSettled(t, e.client(tt.account), name)
				return
			}
			wantAPIError(t, err, tt.code, tt.msg)
		})
	}
	// With a bucket policy naming the other account, it reads the template.
	if err := e.s3.SetBucketPolicy(acctA, "stacker-bucket", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+acctB+`:role/Stacker"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::stacker-bucket/*"}]}`); err != nil {
		t.Fatal(err)
	}
	b := e.client(acctB)
	if _, err := b.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("cross"), TemplateURL: aws.String("https://stacker-bucket.s3.amazonaws.com/stack_templates/x.json"), DisableRollback: aws.Bool(true)}); err != nil {
		t.Fatalf("cross-account with policy: %v", err)
	}
	waitSettled(t, b, "cross")
}

func TestParseTemplateURL(t *testing.T) {
	tests := []struct{ in, bucket, key, version string }{
		{"https://s3.amazonaws.com/b/k/x.json", "b", "k/x.json", ""},
		{"https://s3.eu-west-1.amazonaws.com/b/k", "b", "k", ""},
		{"https://s3-eu-west-1.amazonaws.com/b/k", "b", "k", ""},
		{"https://b.s3.amazonaws.com/k", "b", "k", ""},
		{"https://my.bucket.s3.us-west-2.amazonaws.com/k?versionId=v1", "my.bucket", "k", "v1"},
		{"http://127.0.0.1:4566/b/k", "b", "k", ""},
		{"http://b.localhost:4566/k", "b", "k", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			b, k, v, err := parseTemplateURL(tt.in)
			if err != nil || b != tt.bucket || k != tt.key || v != tt.version {
				t.Errorf("= %q %q %q %v", b, k, v, err)
			}
		})
	}
	for _, bad := range []string{"", "s3://b/k", "https://s3.amazonaws.com/b", "https://b.s3.amazonaws.com/"} {
		if _, _, _, err := parseTemplateURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestTemplateSummaryAndValidate(t *testing.T) {
	e := newEnv(t, 20*time.Millisecond)
	c := e.client(acctA)
	ctx := context.Background()
	sum, err := c.GetTemplateSummary(ctx, &cloudformation.GetTemplateSummaryInput{TemplateBody: aws.String(roleTemplate)})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Parameters) != 2 || aws.ToString(sum.Parameters[0].ParameterKey) != "RoleName" || aws.ToString(sum.Parameters[0].DefaultValue) != "Stacker" ||
		!aws.ToBool(sum.Parameters[1].NoEcho) || len(sum.Capabilities) != 1 || sum.Capabilities[0] != types.CapabilityCapabilityNamedIam ||
		!strings.Contains(aws.ToString(sum.CapabilitiesReason), "AWS::IAM::Role") || len(sum.ResourceTypes) != 3 {
		t.Errorf("summary %+v", sum)
	}
	v, err := c.ValidateTemplate(ctx, &cloudformation.ValidateTemplateInput{TemplateBody: aws.String(roleTemplate)})
	if err != nil || len(v.Parameters) != 2 || aws.ToString(v.Description) != "a role and a parameter" {
		t.Errorf("validate %+v %v", v, err)
	}
	_, err = c.ValidateTemplate(ctx, &cloudformation.ValidateTemplateInput{TemplateBody: aws.String(`{"Resources":{"A":{"Type":"AWS::SNS::Topic","Properties":{"X":{"Ref":"Nope"}}}}}`)})
	wantAPIError(t, err, "ValidationError", "Template format error")
	if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("sum"), TemplateBody: aws.String(failTemplate), DisableRollback: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	sum, err = c.GetTemplateSummary(ctx, &cloudformation.GetTemplateSummaryInput{StackName: aws.String("sum")})
	if err != nil || len(sum.ResourceTypes) != 3 {
		t.Errorf("summary of a stack: %+v %v", sum, err)
	}
	waitSettled(t, c, "sum")
}

func TestSSMParameterTypes(t *testing.T) {
	e := newEnv(t, 20*time.Millisecond)
	c := e.client(acctA)
	ctx := context.Background()
	if _, err := e.ssm.PutParameterFor(acctA, "us-east-1", "/app/cidr", "String", "10.0.0.0/16", "", false); err != nil {
		t.Fatal(err)
	}
	tpl := `{"Parameters":{"Cidr":{"Type":"AWS::SSM::Parameter::Value<String>","Default":"/app/cidr"}},` +
		`"Resources":{"VPC":{"Type":"AWS::EC2::VPC","Properties":{"CidrBlock":{"Ref":"Cidr"}}},` +
		`"Subnet":{"Type":"AWS::EC2::Subnet","Properties":{"VpcId":{"Ref":"VPC"},"CidrBlock":{"Fn::Select":[0,{"Fn::Cidr":[{"Fn::GetAtt":["VPC","CidrBlock"]},2,8]}]},"AvailabilityZone":{"Fn::Select":[1,{"Fn::GetAZs":""}]}}}},` +
		`"Outputs":{"Vpc":{"Value":{"Ref":"VPC"}},"Cidr":{"Value":{"Fn::GetAtt":["VPC","CidrBlock"]}},"Az":{"Value":{"Fn::GetAtt":["Subnet","AvailabilityZone"]}}}}`
	if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("ssm"), TemplateBody: aws.String(tpl)}); err != nil {
		t.Fatal(err)
	}
	st := waitSettled(t, c, "ssm")
	outs := outputs(st)
	if st.StackStatus != types.StackStatusCreateComplete || outs["Cidr"] != "10.0.0.0/16" || !strings.HasPrefix(outs["Vpc"], "vpc-") || len(outs["Vpc"]) != 21 || outs["Az"] != "us-east-1b" {
		t.Fatalf("%s %v", st.StackStatus, outs)
	}
	if p := st.Parameters[0]; aws.ToString(p.ParameterValue) != "/app/cidr" || aws.ToString(p.ResolvedValue) != "10.0.0.0/16" {
		t.Errorf("SSM parameter shown as %q resolved %q", aws.ToString(p.ParameterValue), aws.ToString(p.ResolvedValue))
	}
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t, 20*time.Millisecond)
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"unknown action", "Action=Frobnicate&Version=2010-05-15", 400, "InvalidAction"},
		{"malformed form", "Action=DescribeStacks&%zz", 400, "MalformedQueryString"},
		{"missing stack name", "Action=DescribeStackEvents", 400, "ValidationError"},
		{"list without name", "Action=ListChangeSets", 400, "ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			call := &awsapi.Call{Caller: &awsapi.Caller{Account: acctA, ARN: "arn:aws:iam::" + acctA + ":root", Root: true}, Region: "us-east-1", RequestID: "r"}
			rec := httptest.NewRecorder()
			e.svc.ServeHTTP(rec, req.WithContext(awsapi.WithCall(req.Context(), call)))
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), "<Code>"+tt.code+"</Code>") {
				t.Errorf("%d %s", rec.Code, rec.Body.String())
			}
		})
	}
}

func TestCloseStopsOperations(t *testing.T) {
	svc := New(Options{Authorizer: &fakeAuthz{deny: map[string]bool{}}, StackDuration: time.Hour})
	form := url.Values{"Action": {"CreateStack"}, "StackName": {"slow"}, "TemplateBody": {failTemplate}}
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
	call := &awsapi.Call{Caller: &awsapi.Caller{Account: acctA, Root: true}, Region: "us-east-1", RequestID: "r"}
	rec := httptest.NewRecorder()
	svc.ServeHTTP(rec, req.WithContext(awsapi.WithCall(req.Context(), call)))
	if rec.Code != 200 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
	}
	done := make(chan struct{})
	go func() { svc.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not stop the running operation")
	}
}
