package iam

import (
	"testing"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

func TestAssumeRoleForService(t *testing.T) {
	s, c := newTestStore(t)
	lambdaTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole",` +
		`"Condition":{"StringEquals":{"aws:SourceAccount":"111111111111"}}}]}`
	for _, spec := range []RoleSpec{
		{Name: "fn-role", AssumeRolePolicy: lambdaTrust, ManagedPolicyARNs: []string{"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}},
		{Name: "not-for-lambda", AssumeRolePolicy: trustDoc(`"111111111111"`, "")},
	} {
		if _, _, err := s.CreateRole(master, spec); err != nil {
			t.Fatalf("CreateRole %s: %v", spec.Name, err)
		}
	}
	src := map[string]string{"aws:SourceAccount": master}
	sess, err := s.AssumeRoleForService("arn:aws:iam::111111111111:role/fn-role", "lambda.amazonaws.com", "my-fn", src)
	if err != nil {
		t.Fatalf("AssumeRoleForService: %v", err)
	}
	call := sessionCall(t, s, sess)
	if call.Caller.ARN != "arn:aws:sts::111111111111:assumed-role/fn-role/my-fn" || call.Caller.RoleARN != "arn:aws:iam::111111111111:role/fn-role" ||
		!call.Caller.Expires.Equal(c.Now().Add(time.Hour).UTC().Truncate(time.Second)) {
		t.Errorf("session caller = %+v", call.Caller)
	}
	// The session has the role's permissions: the AWS managed basic execution policy.
	logsARN := "arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/my-fn"
	if err := s.Authorize(call, "logs:CreateLogStream", awsapi.Resource{ARN: logsARN}, nil); err != nil {
		t.Errorf("logs:CreateLogStream: %v", err)
	}
	wantCode(t, s.Authorize(call, "s3:GetObject", awsapi.Resource{ARN: "arn:aws:s3:::b/k"}, nil), 403, "AccessDenied")

	for _, tt := range []struct{ name, role, service string }{
		{"trust names another service", "arn:aws:iam::111111111111:role/fn-role", "states.amazonaws.com"},
		{"trust names no service", "arn:aws:iam::111111111111:role/not-for-lambda", "lambda.amazonaws.com"},
		{"missing role", "arn:aws:iam::111111111111:role/nope", "lambda.amazonaws.com"},
		{"missing account", "arn:aws:iam::999999999999:role/fn-role", "lambda.amazonaws.com"},
	} {
		_, err := s.AssumeRoleForService(tt.role, tt.service, "my-fn", src)
		wantCode(t, err, 403, "AccessDenied")
	}
	// The trust policy's confused-deputy condition holds.
	_, err = s.AssumeRoleForService("arn:aws:iam::111111111111:role/fn-role", "lambda.amazonaws.com", "my-fn", map[string]string{"aws:SourceAccount": prod})
	wantCode(t, err, 403, "AccessDenied")
}

func TestAuthorizeServicePrincipal(t *testing.T) {
	s, _ := newTestStore(t)
	fn := "arn:aws:lambda:us-east-1:111111111111:function:fn"
	resPolicy := `{"Version":"2012-10-17","Statement":[{"Sid":"events","Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"lambda:InvokeFunction",` +
		`"Resource":"` + fn + `","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:events:us-east-1:111111111111:rule/r"}}}]}`
	call := func(service string) *awsapi.Call {
		return &awsapi.Call{Caller: &awsapi.Caller{Service: service}, Region: "us-east-1", Time: t0}
	}
	rule := map[string]string{"aws:SourceArn": "arn:aws:events:us-east-1:111111111111:rule/r"}
	if err := s.Authorize(call("events.amazonaws.com"), "lambda:InvokeFunction", awsapi.Resource{ARN: fn, Account: master, Policy: resPolicy}, rule); err != nil {
		t.Errorf("allowed service: %v", err)
	}
	otherRule := map[string]string{"aws:SourceArn": "arn:aws:events:us-east-1:111111111111:rule/other"}
	wantCode(t, s.Authorize(call("events.amazonaws.com"), "lambda:InvokeFunction", awsapi.Resource{ARN: fn, Account: master, Policy: resPolicy}, otherRule), 403, "AccessDenied")
	wantCode(t, s.Authorize(call("sns.amazonaws.com"), "lambda:InvokeFunction", awsapi.Resource{ARN: fn, Account: master, Policy: resPolicy}, rule), 403, "AccessDenied")
	// Without a resource policy nothing allows a service.
	wantCode(t, s.Authorize(call("events.amazonaws.com"), "lambda:InvokeFunction", awsapi.Resource{ARN: fn, Account: master}, rule), 403, "AccessDenied")
}
