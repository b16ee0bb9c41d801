package policy

import (
	"fmt"
	"testing"
)

func mustParse(t *testing.T, doc string, kind Kind) *Policy {
	t.Helper()
	p, err := Parse(doc, kind)
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return p
}

func ctxOf(kv ...any) Context {
	c := Context{}
	for i := 0; i < len(kv); i += 2 {
		switch v := kv[i+1].(type) {
		case string:
			c.Set(kv[i].(string), v)
		case []string:
			c.Set(kv[i].(string), v...)
		}
	}
	return c
}

func TestConditionOperators(t *testing.T) {
	tests := []struct {
		op    string
		key   string
		value string // JSON value in the policy
		ctx   Context
		want  bool
	}{
		{"StringEquals", "sts:ExternalId", `"abc"`, ctxOf("sts:ExternalId", "abc"), true},
		{"StringEquals", "sts:ExternalId", `"abc"`, ctxOf("sts:ExternalId", "ABC"), false},
		{"StringEquals", "sts:ExternalId", `["x","abc"]`, ctxOf("sts:ExternalId", "abc"), true},
		{"StringEquals", "sts:ExternalId", `"abc"`, ctxOf(), false},
		{"StringEquals", "STS:EXTERNALID", `"abc"`, ctxOf("sts:externalid", "abc"), true},
		{"StringEqualsIfExists", "sts:ExternalId", `"abc"`, ctxOf(), true},
		{"StringEqualsIfExists", "sts:ExternalId", `"abc"`, ctxOf("sts:ExternalId", "x"), false},
		{"StringNotEquals", "sts:ExternalId", `"abc"`, ctxOf("sts:ExternalId", "x"), true},
		{"StringNotEquals", "sts:ExternalId", `["x","abc"]`, ctxOf("sts:ExternalId", "abc"), false},
		{"StringNotEquals", "sts:ExternalId", `"abc"`, ctxOf(), true},
		{"StringEqualsIgnoreCase", "aws:x", `"AbC"`, ctxOf("aws:x", "aBc"), true},
		{"StringEqualsIgnoreCase", "aws:x", `"AbC"`, ctxOf("aws:x", "aBd"), false},
		{"StringNotEqualsIgnoreCase", "aws:x", `"AbC"`, ctxOf("aws:x", "abc"), false},
		{"StringNotEqualsIgnoreCase", "aws:x", `"AbC"`, ctxOf("aws:x", "abd"), true},
		{"StringLike", "s3:prefix", `"home/*"`, ctxOf("s3:prefix", "home/bob"), true},
		{"StringLike", "s3:prefix", `"home/?ob"`, ctxOf("s3:prefix", "home/bob"), true},
		{"StringLike", "s3:prefix", `"home/?"`, ctxOf("s3:prefix", "home/bob"), false},
		{"StringLike", "s3:prefix", `"Home/*"`, ctxOf("s3:prefix", "home/bob"), false},
		{"StringNotLike", "s3:prefix", `"home/*"`, ctxOf("s3:prefix", "etc/x"), true},
		{"StringNotLike", "s3:prefix", `"home/*"`, ctxOf("s3:prefix", "home/x"), false},
		{"StringNotLike", "s3:prefix", `"home/*"`, ctxOf(), true},
		{"StringNotLikeIfExists", "s3:prefix", `"home/*"`, ctxOf("s3:prefix", "home/x"), false},
		{"ArnEquals", "aws:PrincipalArn", `"arn:aws:iam::111111111111:role/Stacker"`, ctxOf("aws:PrincipalArn", "arn:aws:iam::111111111111:role/Stacker"), true},
		{"ArnEquals", "aws:PrincipalArn", `"arn:aws:iam::111111111111:role/Stacker"`, ctxOf("aws:PrincipalArn", "arn:aws:iam::111111111111:role/Other"), false},
		{"ArnLike", "aws:PrincipalArn", `"arn:aws:iam::*:role/Stack*"`, ctxOf("aws:PrincipalArn", "arn:aws:iam::222222222222:role/Stacker"), true},
		{"ArnLike", "aws:PrincipalArn", `"arn:aws:iam::*:role/Stack*"`, ctxOf("aws:PrincipalArn", "arn:aws:iam::222222222222:user/Stacker"), false},
		{"ArnLike", "aws:PrincipalArn", `"arn:aws:iam::*"`, ctxOf("aws:PrincipalArn", "arn:aws:iam::222222222222:role/x"), false},
		{"ArnLike", "aws:SourceArn", `"arn:aws:s3:::b/a:b*"`, ctxOf("aws:SourceArn", "arn:aws:s3:::b/a:bc"), true},
		{"ArnLike", "aws:SourceArn", `"*"`, ctxOf("aws:SourceArn", "arn:aws:s3:::b"), true},
		{"ArnLike", "aws:SourceArn", `"arn:aws:s3:::*"`, ctxOf("aws:SourceArn", "not-an-arn"), false},
		{"ArnNotEquals", "aws:PrincipalArn", `"arn:aws:iam::1:role/A"`, ctxOf("aws:PrincipalArn", "arn:aws:iam::1:role/B"), true},
		{"ArnNotLike", "aws:PrincipalArn", `"arn:aws:iam::*:role/A*"`, ctxOf("aws:PrincipalArn", "arn:aws:iam::1:role/Ab"), false},
		{"ArnNotLike", "aws:PrincipalArn", `"arn:aws:iam::*:role/A*"`, ctxOf(), true},
		{"ArnLikeIfExists", "aws:PrincipalArn", `"arn:aws:iam::*:role/A*"`, ctxOf(), true},
		{"Bool", "aws:SecureTransport", `"false"`, ctxOf("aws:SecureTransport", "false"), true},
		{"Bool", "aws:SecureTransport", `false`, ctxOf("aws:SecureTransport", "false"), true},
		{"Bool", "aws:SecureTransport", `true`, ctxOf("aws:SecureTransport", "false"), false},
		{"Bool", "aws:MultiFactorAuthPresent", `true`, ctxOf(), false},
		{"BoolIfExists", "aws:MultiFactorAuthPresent", `false`, ctxOf(), true},
		{"BoolIfExists", "aws:MultiFactorAuthPresent", `false`, ctxOf("aws:MultiFactorAuthPresent", "true"), false},
		{"Null", "aws:MultiFactorAuthAge", `"true"`, ctxOf(), true},
		{"Null", "aws:MultiFactorAuthAge", `"true"`, ctxOf("aws:MultiFactorAuthAge", "5"), false},
		{"Null", "aws:MultiFactorAuthAge", `"false"`, ctxOf("aws:MultiFactorAuthAge", "5"), true},
		{"Null", "aws:MultiFactorAuthAge", `false`, ctxOf(), false},
		{"NumericEquals", "aws:n", `10`, ctxOf("aws:n", "10.0"), true},
		{"NumericNotEquals", "aws:n", `10`, ctxOf("aws:n", "11"), true},
		{"NumericLessThan", "aws:MultiFactorAuthAge", `3600`, ctxOf("aws:MultiFactorAuthAge", "10"), true},
		{"NumericLessThan", "aws:MultiFactorAuthAge", `"3600"`, ctxOf("aws:MultiFactorAuthAge", "3600"), false},
		{"NumericLessThan", "aws:MultiFactorAuthAge", `3600`, ctxOf(), false},
		{"NumericLessThan", "aws:MultiFactorAuthAge", `3600`, ctxOf("aws:MultiFactorAuthAge", "x"), false},
		{"NumericLessThanEquals", "aws:n", `5`, ctxOf("aws:n", "5"), true},
		{"NumericGreaterThan", "aws:n", `5`, ctxOf("aws:n", "5"), false},
		{"NumericGreaterThan", "aws:n", `5`, ctxOf("aws:n", "6"), true},
		{"NumericGreaterThanEquals", "aws:n", `5`, ctxOf("aws:n", "5"), true},
		{"NumericLessThanIfExists", "aws:MultiFactorAuthAge", `3600`, ctxOf(), true},
		{"DateGreaterThan", "aws:CurrentTime", `"2020-01-01T00:00:00Z"`, ctxOf("aws:CurrentTime", "2024-05-01T10:00:00Z"), true},
		{"DateGreaterThan", "aws:CurrentTime", `"2030-01-01"`, ctxOf("aws:CurrentTime", "2024-05-01T10:00:00Z"), false},
		{"DateLessThan", "aws:CurrentTime", `"2030-01-01T00:00:00Z"`, ctxOf("aws:CurrentTime", "2024-05-01T10:00:00Z"), true},
		{"DateLessThan", "aws:EpochTime", `1700000000`, ctxOf("aws:EpochTime", "1600000000"), true},
		{"DateLessThanEquals", "aws:CurrentTime", `"2024-05-01T10:00:00Z"`, ctxOf("aws:CurrentTime", "2024-05-01T10:00:00Z"), true},
		{"DateGreaterThanEquals", "aws:CurrentTime", `"2024-05-01T10:00:01Z"`, ctxOf("aws:CurrentTime", "2024-05-01T10:00:00Z"), false},
		{"DateEquals", "aws:CurrentTime", `"2024-05-01T10:00:00Z"`, ctxOf("aws:CurrentTime", "2024-05-01T12:00:00+02:00"), true},
		{"DateNotEquals", "aws:CurrentTime", `"2024-05-01T10:00:00Z"`, ctxOf("aws:CurrentTime", "2024-05-01T10:00:01Z"), true},
		{"DateLessThan", "aws:CurrentTime", `"garbage"`, ctxOf("aws:CurrentTime", "2024-05-01T10:00:00Z"), false},
		{"IpAddress", "aws:SourceIp", `"127.0.0.0/8"`, ctxOf("aws:SourceIp", "127.0.0.1"), true},
		{"IpAddress", "aws:SourceIp", `["10.0.0.0/8","192.168.1.1"]`, ctxOf("aws:SourceIp", "192.168.1.1"), true},
		{"IpAddress", "aws:SourceIp", `"10.0.0.0/8"`, ctxOf("aws:SourceIp", "127.0.0.1"), false},
		{"IpAddress", "aws:SourceIp", `"::1/128"`, ctxOf("aws:SourceIp", "::1"), true},
		{"IpAddress", "aws:SourceIp", `"10.0.0.0/8"`, ctxOf("aws:SourceIp", "junk"), false},
		{"NotIpAddress", "aws:SourceIp", `"10.0.0.0/8"`, ctxOf("aws:SourceIp", "127.0.0.1"), true},
		{"IpAddressIfExists", "aws:SourceIp", `"10.0.0.0/8"`, ctxOf(), true},
		{"BinaryEquals", "aws:b", `"aGk="`, ctxOf("aws:b", "hi"), true},
		// Set operators on multi-valued keys.
		{"ForAnyValue:StringEquals", "aws:TagKeys", `["a","b"]`, ctxOf("aws:TagKeys", []string{"x", "b"}), true},
		{"ForAnyValue:StringEquals", "aws:TagKeys", `["a","b"]`, ctxOf("aws:TagKeys", []string{"x", "y"}), false},
		{"ForAnyValue:StringEquals", "aws:TagKeys", `["a","b"]`, ctxOf(), false},
		{"ForAllValues:StringEquals", "aws:TagKeys", `["a","b"]`, ctxOf("aws:TagKeys", []string{"a", "b"}), true},
		{"ForAllValues:StringEquals", "aws:TagKeys", `["a","b"]`, ctxOf("aws:TagKeys", []string{"a", "c"}), false},
		{"ForAllValues:StringEquals", "aws:TagKeys", `["a","b"]`, ctxOf(), true},
		{"ForAllValues:StringLike", "aws:TagKeys", `"a*"`, ctxOf("aws:TagKeys", []string{"ab", "ac"}), true},
		{"ForAnyValue:StringNotEquals", "aws:TagKeys", `"a"`, ctxOf("aws:TagKeys", []string{"a", "b"}), true},
		{"ForAllValues:StringNotEquals", "aws:TagKeys", `"a"`, ctxOf("aws:TagKeys", []string{"a", "b"}), false},
		{"StringNotEquals", "aws:TagKeys", `"a"`, ctxOf("aws:TagKeys", []string{"a", "b"}), false},
		{"StringEquals", "aws:TagKeys", `"a"`, ctxOf("aws:TagKeys", []string{"b", "a"}), true},
		{"ForAnyValue:StringEqualsIfExists", "aws:TagKeys", `"a"`, ctxOf(), true},
		// Policy variables in condition values.
		{"StringEquals", "s3:prefix", `"home/${aws:username}"`, ctxOf("s3:prefix", "home/bob", "aws:username", "bob"), true},
		{"StringEquals", "s3:prefix", `"home/${aws:username}"`, ctxOf("s3:prefix", "home/bob"), false},
		{"StringEquals", "s3:prefix", `"home/${aws:username, 'anon'}"`, ctxOf("s3:prefix", "home/anon"), true},
		{"StringLike", "s3:prefix", `"${*}x"`, ctxOf("s3:prefix", "*x"), true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s=%s/%v", tt.op, tt.key, tt.value, tt.ctx), func(t *testing.T) {
			doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{%q:{%q:%s}}}]}`, tt.op, tt.key, tt.value)
			p := mustParse(t, doc, Identity)
			got := p.Evaluate(&Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: tt.ctx}) == Allow
			if got != tt.want {
				t.Errorf("allowed = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConditionsAreANDed(t *testing.T) {
	p := mustParse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*",
		"Condition":{"StringEquals":{"sts:ExternalId":"e","aws:PrincipalAccount":"111111111111"},"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`, Identity)
	tests := []struct {
		name string
		ctx  Context
		want Decision
	}{
		{"all", ctxOf("sts:ExternalId", "e", "aws:PrincipalAccount", "111111111111", "aws:MultiFactorAuthPresent", "true"), Allow},
		{"one key missing", ctxOf("sts:ExternalId", "e", "aws:MultiFactorAuthPresent", "true"), ImplicitDeny},
		{"one operator fails", ctxOf("sts:ExternalId", "e", "aws:PrincipalAccount", "111111111111", "aws:MultiFactorAuthPresent", "false"), ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Evaluate(&Request{Action: "x:Y", Resource: "arn:aws:s3:::b", Context: tt.ctx}); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestActionsAndResources(t *testing.T) {
	p := mustParse(t, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["s3:Get*","IAM:getrole"],"Resource":["arn:aws:s3:::bucket/*","arn:aws:iam::111111111111:role/R?"]},
		{"Effect":"Allow","Action":"cloudformation:*","Resource":"arn:aws:cloudformation:*:111111111111:stack/${aws:PrincipalAccount}-*/*"},
		{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/secret/*"},
		{"Effect":"Allow","NotAction":["s3:*","iam:*","cloudformation:*"],"NotResource":"arn:aws:ssm:*:*:parameter/private*"}]}`, Identity)
	ctx := ctxOf("aws:PrincipalAccount", "111111111111")
	tests := []struct {
		action, resource string
		want             Decision
	}{
		{"s3:GetObject", "arn:aws:s3:::bucket/a/b", Allow},
		{"S3:GETOBJECT", "arn:aws:s3:::bucket/a/b", Allow},
		{"s3:getobjectversion", "arn:aws:s3:::bucket/a", Allow},
		{"s3:PutObject", "arn:aws:s3:::bucket/a", ImplicitDeny},
		{"s3:GetObject", "arn:aws:s3:::BUCKET/a", ImplicitDeny},
		{"s3:GetObject", "arn:aws:s3:::bucket/secret/x", ExplicitDeny},
		{"iam:GetRole", "arn:aws:iam::111111111111:role/R1", Allow},
		{"iam:GetRole", "arn:aws:iam::111111111111:role/R12", ImplicitDeny},
		{"cloudformation:CreateStack", "arn:aws:cloudformation:us-east-1:111111111111:stack/111111111111-vpc/abc", Allow},
		{"cloudformation:CreateStack", "arn:aws:cloudformation:us-east-1:111111111111:stack/vpc/abc", ImplicitDeny},
		{"ssm:GetParameter", "arn:aws:ssm:us-east-1:1:parameter/x", Allow},
		{"ssm:GetParameter", "arn:aws:ssm:us-east-1:1:parameter/private/x", ImplicitDeny},
		{"iam:DeleteRole", "arn:aws:iam::111111111111:role/R1", ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.action+" "+tt.resource, func(t *testing.T) {
			if got := p.Evaluate(&Request{Action: tt.action, Resource: tt.resource, Context: ctx}); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestVariablesIgnoredInOldVersion(t *testing.T) {
	p := mustParse(t, `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/${aws:username}"}]}`, Identity)
	ctx := ctxOf("aws:username", "bob")
	if got := p.Evaluate(&Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/bob", Context: ctx}); got != ImplicitDeny {
		t.Errorf("substituted in 2008 policy: %v", got)
	}
	if got := p.Evaluate(&Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/${aws:username}", Context: ctx}); got != Allow {
		t.Errorf("literal match: %v", got)
	}
}

func TestPrincipals(t *testing.T) {
	root1 := &Principal{Account: "111111111111", ARN: "arn:aws:iam::111111111111:root"}
	session := &Principal{Account: "111111111111", ARN: "arn:aws:sts::111111111111:assumed-role/Stacker/s1", RoleARN: "arn:aws:iam::111111111111:role/Stacker"}
	otherRole := &Principal{Account: "111111111111", ARN: "arn:aws:sts::111111111111:assumed-role/Other/s1", RoleARN: "arn:aws:iam::111111111111:role/Other"}
	root2 := &Principal{Account: "222222222222", ARN: "arn:aws:iam::222222222222:root"}
	cfn := &Principal{Service: "cloudformation.amazonaws.com"}
	anon := &Principal{Anonymous: true}
	tests := []struct {
		name      string
		principal string
		not       bool
		who       *Principal
		direct    bool
		want      bool
	}{
		{"star", `"*"`, false, anon, false, true},
		{"aws star", `{"AWS":"*"}`, false, session, false, true},
		{"aws star matches service", `{"AWS":"*"}`, false, cfn, false, true},
		{"account id", `{"AWS":"111111111111"}`, false, session, false, true},
		{"account id root", `{"AWS":"111111111111"}`, false, root1, false, true},
		{"account root arn", `{"AWS":"arn:aws:iam::111111111111:root"}`, false, otherRole, false, true},
		{"account other", `{"AWS":"arn:aws:iam::111111111111:root"}`, false, root2, false, false},
		{"account direct only", `{"AWS":"111111111111"}`, false, session, true, false},
		{"account direct only root", `{"AWS":"arn:aws:iam::111111111111:root"}`, false, root1, true, true},
		{"account not anonymous", `{"AWS":"111111111111"}`, false, anon, false, false},
		{"account not service", `{"AWS":"111111111111"}`, false, cfn, false, false},
		{"role arn", `{"AWS":"arn:aws:iam::111111111111:role/Stacker"}`, false, session, true, true},
		{"role arn other role", `{"AWS":"arn:aws:iam::111111111111:role/Stacker"}`, false, otherRole, false, false},
		{"role arn root", `{"AWS":"arn:aws:iam::111111111111:role/Stacker"}`, false, root1, false, false},
		{"session arn", `{"AWS":"arn:aws:sts::111111111111:assumed-role/Stacker/s1"}`, false, session, true, true},
		{"other session", `{"AWS":"arn:aws:sts::111111111111:assumed-role/Stacker/s2"}`, false, session, false, false},
		{"list", `{"AWS":["222222222222","arn:aws:iam::111111111111:role/Stacker"]}`, false, session, false, true},
		{"service", `{"Service":"cloudformation.amazonaws.com"}`, false, cfn, false, true},
		{"service other", `{"Service":"lambda.amazonaws.com"}`, false, cfn, false, false},
		{"service vs aws caller", `{"Service":"cloudformation.amazonaws.com"}`, false, root1, false, false},
		{"not principal excludes", `{"AWS":"arn:aws:iam::111111111111:role/Stacker"}`, true, session, false, false},
		{"not principal includes others", `{"AWS":"arn:aws:iam::111111111111:role/Stacker"}`, true, otherRole, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			elem := "Principal"
			if tt.not {
				elem = "NotPrincipal"
			}
			p := mustParse(t, fmt.Sprintf(`{"Statement":[{"Effect":"Allow",%q:%s,"Action":"s3:GetObject","Resource":"*"}]}`, elem, tt.principal), Resource)
			got := p.Evaluate(&Request{Principal: tt.who, DirectOnly: tt.direct, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}) == Allow
			if got != tt.want {
				t.Errorf("allowed = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDenyHonoursAccountPrincipalWhenDirectOnly(t *testing.T) {
	p := mustParse(t, `{"Statement":[{"Effect":"Deny","Principal":{"AWS":"111111111111"},"Action":"s3:*","Resource":"*"},
		{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`, Resource)
	session := &Principal{Account: "111111111111", ARN: "arn:aws:sts::111111111111:assumed-role/R/s", RoleARN: "arn:aws:iam::111111111111:role/R"}
	if got := p.Evaluate(&Request{Principal: session, DirectOnly: true, Action: "s3:GetObject", Resource: "arn:aws:s3:::b"}); got != ExplicitDeny {
		t.Errorf("got %v, want ExplicitDeny", got)
	}
}

func TestEvaluateCombines(t *testing.T) {
	allow := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, Identity)
	deny := mustParse(t, `{"Statement":{"Effect":"Deny","Action":"iam:*","Resource":"*"}}`, Identity)
	req := &Request{Action: "iam:GetRole", Resource: "arn:aws:iam::1:role/x"}
	tests := []struct {
		name     string
		policies []*Policy
		want     Decision
	}{
		{"none", nil, ImplicitDeny},
		{"allow", []*Policy{allow}, Allow},
		{"deny wins after", []*Policy{allow, deny}, ExplicitDeny},
		{"deny wins before", []*Policy{deny, allow}, ExplicitDeny},
		{"nil skipped", []*Policy{nil, allow}, Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Evaluate(req, tt.policies...); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true}, {"*", "", true}, {"*", "abc", true}, {"a*c", "abbbc", true}, {"a*c", "abbb", false},
		{"a?c", "abc", true}, {"a?c", "ac", false}, {"*b*", "abc", true}, {"**", "x", true}, {"a*b*c", "aXbYbZc", true},
		{"abc", "abd", false}, {"ab", "abc", false},
	}
	for _, tt := range tests {
		if got := glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}
