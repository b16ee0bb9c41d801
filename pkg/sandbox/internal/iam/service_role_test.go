package iam

import (
	"strings"
	"testing"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

func TestAssumeRoleAsService(t *testing.T) {
	s, _ := newTestStore(t)
	trust := `{"Statement":[{"Effect":"Allow","Principal":{"Service":"states.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	arn, id, err := s.CreateRole(master, RoleSpec{Name: "StatesRole", Path: "/", AssumeRolePolicy: trust,
		Policies: map[string]string{"invoke": `{"Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"*"}]}`}})
	if err != nil {
		t.Fatal(err)
	}
	caller, err := s.AssumeRoleAsService("states.amazonaws.com", arn, "exec-1")
	if err != nil {
		t.Fatal(err)
	}
	if caller.ARN != "arn:aws:sts::"+master+":assumed-role/StatesRole/exec-1" || caller.RoleARN != arn || caller.UserID != id+":exec-1" ||
		caller.Root || !caller.Expires.Equal(t0.Add(time.Hour)) {
		t.Fatalf("caller = %+v", caller)
	}
	// The session acts with the role's policies.
	call := &awsapi.Call{Caller: &caller, Time: t0}
	if err := s.Authorize(call, "lambda:InvokeFunction", awsapi.Resource{ARN: "arn:aws:lambda:us-east-1:" + master + ":function:f"}, nil); err != nil {
		t.Fatalf("allowed action: %v", err)
	}
	wantCode(t, s.Authorize(call, "s3:GetObject", awsapi.Resource{ARN: "arn:aws:s3:::b/k"}, nil), 403, "AccessDenied")

	for name, tt := range map[string]struct{ service, role string }{
		"another service":       {"events.amazonaws.com", arn},
		"a role that is absent": {"states.amazonaws.com", "arn:aws:iam::" + master + ":role/Nope"},
		"an unknown account":    {"states.amazonaws.com", "arn:aws:iam::999999999999:role/StatesRole"},
	} {
		_, err := s.AssumeRoleAsService(tt.service, tt.role, "x")
		e := wantCode(t, err, 403, "AccessDenied")
		if !strings.Contains(e.Message, "Neither the global service principal "+tt.service) {
			t.Errorf("%s: message %q", name, e.Message)
		}
	}
}
