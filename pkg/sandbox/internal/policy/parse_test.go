package policy

import (
	"errors"
	"testing"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		doc  string
	}{
		{"identity single statement object", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`},
		{"identity list", Identity, `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":["s3:*","iam:Get*"],"Resource":["*"]},{"Effect":"Deny","NotAction":"iam:*","NotResource":"arn:aws:iam::*:role/x"}]}`},
		{"no version", Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`},
		{"old version", Identity, `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`},
		{"id", Identity, `{"Id":"x","Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`},
		{"trust with account", Trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sts:AssumeRole"}]}`},
		{"trust with list and condition", Trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:root","arn:aws:iam::111111111111:role/p/Stacker","arn:aws:sts::111111111111:assumed-role/R/s"]},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"Null":{"aws:MultiFactorAuthAge":"false"},"StringEquals":{"sts:ExternalId":["a","b"]},"NumericLessThan":{"aws:MultiFactorAuthAge":3600},"Bool":{"aws:MultiFactorAuthPresent":true}}}]}`},
		{"trust service", Trust, `{"Statement":[{"Effect":"Allow","Principal":{"Service":["cloudformation.amazonaws.com"]},"Action":"sts:AssumeRole"}]}`},
		{"bucket policy star", Resource, `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`},
		{"bucket policy not principal", Resource, `{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"*"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"ForAnyValue:StringLikeIfExists":{"s3:prefix":"x*"}}}]}`},
		{"any kind without action", Any, `{"Statement":[{"Effect":"Allow"}]}`},
		{"whitespace", Identity, " \n{\"Statement\":{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\"}}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(tt.doc, tt.kind); err != nil {
				t.Fatalf("Parse: %v", err)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name, doc string
		kind      Kind
		want      string
	}{
		{"not json", `nope`, Identity, "Syntax errors in policy."},
		{"empty", ``, Identity, "Syntax errors in policy."},
		{"truncated", `{"Statement":[`, Identity, "Syntax errors in policy."},
		{"trailing", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]} {}`, Identity, "Syntax errors in policy."},
		{"bad version", `{"Version":"2020-01-01","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, Identity, "The policy failed legacy parsing"},
		{"unknown top key", `{"Foo":1,"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, Identity, "Syntax errors in policy."},
		{"no statement", `{"Version":"2012-10-17"}`, Identity, "Syntax errors in policy."},
		{"empty statements", `{"Statement":[]}`, Identity, "Syntax errors in policy."},
		{"statement not object", `{"Statement":["x"]}`, Identity, "Syntax errors in policy."},
		{"bad effect", `{"Statement":[{"Effect":"allow","Action":"*","Resource":"*"}]}`, Identity, "Syntax errors in policy."},
		{"missing effect", `{"Statement":[{"Action":"*","Resource":"*"}]}`, Identity, "Syntax errors in policy."},
		{"no vendor", `{"Statement":[{"Effect":"Allow","Action":"GetObject","Resource":"*"}]}`, Identity, "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."},
		{"action number", `{"Statement":[{"Effect":"Allow","Action":5,"Resource":"*"}]}`, Identity, "Syntax errors in policy."},
		{"action empty list", `{"Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}`, Identity, "Syntax errors in policy."},
		{"action and notaction", `{"Statement":[{"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"}]}`, Identity, "Syntax errors in policy."},
		{"no actions", `{"Statement":[{"Effect":"Allow","Resource":"*"}]}`, Identity, "Policy statement must contain actions."},
		{"identity principal", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`, Identity, "Policy document should not specify a principal."},
		{"identity no resource", `{"Statement":[{"Effect":"Allow","Action":"*"}]}`, Identity, "Policy statement must contain resources."},
		{"bad resource", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"bucket"}]}`, Identity, "Resource bucket must be in ARN format or \"*\"."},
		{"resource no principal", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, Resource, "Missing required field Principal"},
		{"trust no principal", `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`, Trust, "Missing required field Principal"},
		{"trust resource", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}]}`, Trust, "Has prohibited field Resource"},
		{"trust non sts action", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}]}`, Trust, "AssumeRole policy may only specify STS AssumeRole actions."},
		{"principal string", `{"Statement":[{"Effect":"Allow","Principal":"111111111111","Action":"sts:AssumeRole"}]}`, Trust, `Invalid principal in policy: "111111111111"`},
		{"principal bad arn", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"sts:AssumeRole"}]}`, Trust, `Invalid principal in policy: "AWS":"arn:aws:iam::1:root"`},
		{"principal wildcard arn", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::*:root"},"Action":"sts:AssumeRole"}]}`, Trust, `Invalid principal in policy: "AWS":"arn:aws:iam::*:root"`},
		{"principal unknown type", `{"Statement":[{"Effect":"Allow","Principal":{"Bob":"x"},"Action":"sts:AssumeRole"}]}`, Trust, `Invalid principal in policy: "Bob"`},
		{"principal empty", `{"Statement":[{"Effect":"Allow","Principal":{},"Action":"sts:AssumeRole"}]}`, Trust, "Syntax errors in policy."},
		{"unknown operator", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringSortOf":{"aws:x":"y"}}}]}`, Identity, "Invalid Condition type : StringSortOf"},
		{"bad set operator", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForSome:StringLike":{"aws:x":"y"}}}]}`, Identity, "Invalid Condition type : ForSome:StringLike"},
		{"null if exists", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NullIfExists":{"aws:x":"true"}}}]}`, Identity, "Invalid Condition type : NullIfExists"},
		{"null bad value", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Null":{"aws:x":"yes"}}}]}`, Identity, "Syntax errors in policy."},
		{"condition key without vendor", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"x":"y"}}}]}`, Identity, "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."},
		{"condition value object", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:x":{"a":1}}}}]}`, Identity, "Syntax errors in policy."},
		{"condition not object", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":[]}]}`, Identity, "Syntax errors in policy."},
		{"unknown statement key", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Foo":1}]}`, Identity, "Syntax errors in policy."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.doc, tt.kind)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse error = %v, want *SyntaxError", err)
			}
			if se.Msg != tt.want {
				t.Errorf("message = %q, want %q", se.Msg, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:username}/*"}}`,
		`{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":["111111111111"]},"NotAction":"iam:*","NotResource":"*","Condition":{"ForAllValues:StringNotLikeIfExists":{"aws:TagKeys":["a*"]},"Null":{"aws:MultiFactorAuthAge":"true"}}}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":{"Service":"cloudformation.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"},"NumericLessThan":{"aws:MultiFactorAuthAge":[1,2.5]}}}]}`,
		`{`, `[]`, `{"Statement":null}`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	ctx := Context{}
	ctx.Set("aws:username", "bob")
	ctx.Set("aws:MultiFactorAuthAge", "10")
	ctx.Set("aws:SourceIp", "10.1.2.3")
	ctx.Set("aws:CurrentTime", "2024-01-01T00:00:00Z")
	ctx.Set("aws:TagKeys", "a", "b")
	f.Fuzz(func(t *testing.T, doc string) {
		for _, kind := range []Kind{Any, Identity, Resource, Trust} {
			p, err := Parse(doc, kind)
			if err != nil {
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("error %v is not a *SyntaxError", err)
				}
				continue
			}
			for _, pr := range []*Principal{nil, {Account: "111111111111", ARN: "arn:aws:iam::111111111111:root"}, {Service: "cloudformation.amazonaws.com"}, {Anonymous: true}} {
				req := &Request{Principal: pr, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/bob/k", Context: ctx}
				_ = p.Evaluate(req)
			}
		}
	})
}

func TestParseAnyIsLenient(t *testing.T) {
	// Stored documents validated elsewhere (e.g. by S3) must still evaluate,
	// Deny statements included, even where IAM's own checks are stricter.
	doc := `{"Statement":[{"Effect":"Deny","Principal":{"AWS":"AROAEXAMPLEID"},"Action":"s3:*","Resource":"*"},
		{"Effect":"Allow","Principal":"111111111111","Action":"GetObject","Resource":"bucket"}]}`
	if _, err := Parse(doc, Resource); err == nil {
		t.Fatalf("strict parse accepted %s", doc)
	}
	p, err := Parse(doc, Any)
	if err != nil {
		t.Fatalf("Parse(Any): %v", err)
	}
	anon := &Principal{Anonymous: true}
	if got := p.Evaluate(&Request{Principal: anon, Action: "GetObject", Resource: "bucket"}); got != ImplicitDeny {
		t.Errorf("bare account string principal matched an anonymous caller: %v", got)
	}
	root := &Principal{Account: "111111111111", ARN: "arn:aws:iam::111111111111:root"}
	if got := p.Evaluate(&Request{Principal: root, Action: "GetObject", Resource: "bucket"}); got != Allow {
		t.Errorf("lenient statement did not apply: %v", got)
	}
}
