package iam

import (
	"testing"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

func TestAssumeServiceRole(t *testing.T) {
	s, _ := newTestStore(t)
	service := func(name string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + name + `"},"Action":"sts:AssumeRole"}]}`
	}
	for _, spec := range []RoleSpec{
		{Name: "Cfn", Path: "/deploy/", AssumeRolePolicy: service("cloudformation.amazonaws.com"),
			Policies: map[string]string{"s3": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`}},
		{Name: "Lambda", AssumeRolePolicy: service("lambda.amazonaws.com")},
		{Name: "Account", AssumeRolePolicy: trustDoc(`"111111111111"`, "")},
		{Name: "Denied", AssumeRolePolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"cloudformation.amazonaws.com"},"Action":"sts:AssumeRole"},` +
			`{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole"}]}`},
	} {
		if _, _, err := s.CreateRole(master, spec); err != nil {
			t.Fatalf("CreateRole %s: %v", spec.Name, err)
		}
	}
	tests := []struct {
		arn string
		ok  bool
	}{
		{"arn:aws:iam::111111111111:role/deploy/Cfn", true},
		{"arn:aws:iam::111111111111:role/Cfn", false}, // wrong path
		{"arn:aws:iam::111111111111:role/Lambda", false},
		{"arn:aws:iam::111111111111:role/Account", false},
		{"arn:aws:iam::111111111111:role/Denied", false},
		{"arn:aws:iam::111111111111:role/Missing", false},
		{"arn:aws:iam::999999999999:role/deploy/Cfn", false},
	}
	for _, tt := range tests {
		t.Run(tt.arn, func(t *testing.T) {
			c, ok := s.AssumeServiceRole(tt.arn, "cloudformation.amazonaws.com", "AWSCloudFormation")
			if ok != tt.ok {
				t.Fatalf("AssumeServiceRole = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if c.ARN != "arn:aws:sts::111111111111:assumed-role/Cfn/AWSCloudFormation" || c.RoleARN != tt.arn || c.Root || c.Account != master {
				t.Fatalf("caller %+v", c)
			}
			// The session has the role's permissions.
			call := &awsapi.Call{Caller: &c}
			if err := s.Authorize(call, "s3:GetObject", awsapi.Resource{ARN: "arn:aws:s3:::b/k", Account: master}, nil); err != nil {
				t.Errorf("role session refused what its role allows: %v", err)
			}
			if err := s.Authorize(call, "iam:CreateRole", awsapi.Resource{ARN: "arn:aws:iam::111111111111:role/x", Account: master}, nil); err == nil {
				t.Error("role session allowed what its role does not")
			}
		})
	}
}
