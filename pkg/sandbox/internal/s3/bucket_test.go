package s3

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

func TestCreateBucketRules(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("shared")
	tests := []struct {
		name   string
		r      req
		status int
		code   string
	}{
		{"same owner", req{method: "PUT", target: "/shared"}, 409, "BucketAlreadyOwnedByYou"},
		{"other owner", req{caller: root(acctB), method: "PUT", target: "/shared"}, 409, "BucketAlreadyExists"},
		{"bad name", req{method: "PUT", target: "/Bad_Name"}, 400, "InvalidBucketName"},
		{"ip name", req{method: "PUT", target: "/192.168.1.1"}, 400, "InvalidBucketName"},
		{"malformed config", req{method: "PUT", target: "/cfgbad", body: "<CreateBucketConfiguration"}, 400, "MalformedXML"},
		{"us-east-1 constraint", req{method: "PUT", target: "/cfgeast", body: `<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>`}, 400, "InvalidArgument"},
		{"bogus region", req{method: "PUT", target: "/cfgmoon", body: `<CreateBucketConfiguration><LocationConstraint>moon-1</LocationConstraint></CreateBucketConfiguration>`}, 400, "InvalidArgument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, code := e.errCode(tt.r)
			if st != tt.status || code != tt.code {
				t.Fatalf("got %d %s, want %d %s", st, code, tt.status, tt.code)
			}
		})
	}
}

func TestBucketLifecycle(t *testing.T) {
	e := newEnv(t)
	e.must(200, req{method: "PUT", target: "/west", body: `<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`})
	e.mkBucket("east")
	e.must(200, req{caller: root(acctB), method: "PUT", target: "/other"})

	w := e.must(200, req{method: "GET", target: "/"})
	b := body(t, w)
	if !strings.Contains(b, "<Name>east</Name>") || !strings.Contains(b, "<Name>west</Name>") || strings.Contains(b, "other") {
		t.Fatalf("ListBuckets = %s", b)
	}
	if strings.Index(b, "east") > strings.Index(b, "west") {
		t.Errorf("buckets not sorted: %s", b)
	}
	if got := body(t, e.must(200, req{method: "GET", target: "/west?location"})); !strings.Contains(got, ">eu-west-1</LocationConstraint>") {
		t.Errorf("GetBucketLocation(west) = %s", got)
	}
	if got := body(t, e.must(200, req{method: "GET", target: "/east?location"})); strings.Contains(got, "us-east-1") {
		t.Errorf("GetBucketLocation(east) = %s, want empty constraint", got)
	}
	if w := e.must(200, req{method: "HEAD", target: "/west"}); w.Header().Get("x-amz-bucket-region") != "eu-west-1" {
		t.Errorf("HeadBucket region = %q", w.Header().Get("x-amz-bucket-region"))
	}
	if w := e.do(req{method: "HEAD", target: "/nope"}); w.Code != 404 || w.Body.Len() != 0 {
		t.Errorf("HeadBucket(missing) = %d %q, want 404 without body", w.Code, w.Body.String())
	}
	w = e.do(req{method: "GET", target: "/nope?list-type=2"})
	if w.Code != 404 || !strings.Contains(w.Body.String(), "<BucketName>nope</BucketName>") || !strings.Contains(w.Body.String(), "<Code>NoSuchBucket</Code>") {
		t.Errorf("ListObjectsV2(missing) = %d %s", w.Code, w.Body.String())
	}

	e.must(200, req{method: "PUT", target: "/east/k", body: "x"})
	if st, code := e.errCode(req{method: "DELETE", target: "/east"}); st != 409 || code != "BucketNotEmpty" {
		t.Fatalf("DeleteBucket(non-empty) = %d %s", st, code)
	}
	e.must(204, req{method: "DELETE", target: "/east/k"})
	e.must(204, req{method: "DELETE", target: "/east"})
	if st, code := e.errCode(req{method: "DELETE", target: "/east"}); st != 404 || code != "NoSuchBucket" {
		t.Fatalf("DeleteBucket(deleted) = %d %s", st, code)
	}
	// The name is free again, for anyone.
	e.must(200, req{caller: root(acctB), method: "PUT", target: "/east"})
}

func TestBucketSettingsAPI(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("cfg")
	steps := []struct {
		name   string
		r      req
		status int
		want   string // substring of the body, or the error code
	}{
		{"versioning unset", req{method: "GET", target: "/cfg?versioning"}, 200, "<VersioningConfiguration"},
		{"versioning bad", req{method: "PUT", target: "/cfg?versioning", body: `<VersioningConfiguration><Status>On</Status></VersioningConfiguration>`}, 400, "MalformedXML"},
		{"versioning on", req{method: "PUT", target: "/cfg?versioning", body: `<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`}, 200, ""},
		{"versioning get", req{method: "GET", target: "/cfg?versioning"}, 200, "<Status>Enabled</Status>"},
		{"encryption none", req{method: "GET", target: "/cfg?encryption"}, 404, "ServerSideEncryptionConfigurationNotFoundError"},
		{"encryption bad", req{method: "PUT", target: "/cfg?encryption", body: `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>ROT13</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`}, 400, "MalformedXML"},
		{"encryption put", req{method: "PUT", target: "/cfg?encryption", body: `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>alias/k</KMSMasterKeyID></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`}, 200, ""},
		{"encryption get", req{method: "GET", target: "/cfg?encryption"}, 200, "<KMSMasterKeyID>alias/k</KMSMasterKeyID>"},
		{"encryption delete", req{method: "DELETE", target: "/cfg?encryption"}, 204, ""},
		{"encryption gone", req{method: "GET", target: "/cfg?encryption"}, 404, "ServerSideEncryptionConfigurationNotFoundError"},
		{"pab none", req{method: "GET", target: "/cfg?publicAccessBlock"}, 404, "NoSuchPublicAccessBlockConfiguration"},
		{"pab put", req{method: "PUT", target: "/cfg?publicAccessBlock", body: `<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls><BlockPublicPolicy>true</BlockPublicPolicy></PublicAccessBlockConfiguration>`}, 200, ""},
		{"pab get", req{method: "GET", target: "/cfg?publicAccessBlock"}, 200, "<BlockPublicPolicy>true</BlockPublicPolicy><RestrictPublicBuckets>false</RestrictPublicBuckets>"},
		{"public policy blocked", req{method: "PUT", target: "/cfg?policy", body: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::cfg/*"}]}`}, 403, "AccessDenied"},
		{"restricted star allowed", req{method: "PUT", target: "/cfg?policy", body: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::cfg/*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-sandbox"}}}]}`}, 204, ""},
		{"pab delete", req{method: "DELETE", target: "/cfg?publicAccessBlock"}, 204, ""},
		{"public policy ok now", req{method: "PUT", target: "/cfg?policy", body: `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::cfg/*"}]}`}, 204, ""},
		{"policy get", req{method: "GET", target: "/cfg?policy"}, 200, `"Principal":{"AWS":"*"}`},
		{"policy not json", req{method: "PUT", target: "/cfg?policy", body: `Statement: x`}, 400, "MalformedPolicy"},
		{"policy other bucket", req{method: "PUT", target: "/cfg?policy", body: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::elsewhere/*"}]}`}, 400, "MalformedPolicy"},
		{"policy no principal", req{method: "PUT", target: "/cfg?policy", body: `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::cfg/*"}]}`}, 400, "MalformedPolicy"},
		{"policy bad action", req{method: "PUT", target: "/cfg?policy", body: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"iam:PassRole","Resource":"arn:aws:s3:::cfg/*"}]}`}, 400, "MalformedPolicy"},
		{"policy delete", req{method: "DELETE", target: "/cfg?policy"}, 204, ""},
		{"policy gone", req{method: "GET", target: "/cfg?policy"}, 404, "NoSuchBucketPolicy"},
		{"tags none", req{method: "GET", target: "/cfg?tagging"}, 404, "NoSuchTagSet"},
		{"tags put", req{method: "PUT", target: "/cfg?tagging", body: `<Tagging><TagSet><Tag><Key>team</Key><Value>infra</Value></Tag></TagSet></Tagging>`}, 204, ""},
		{"tags get", req{method: "GET", target: "/cfg?tagging"}, 200, "<Key>team</Key><Value>infra</Value>"},
		{"tags dup", req{method: "PUT", target: "/cfg?tagging", body: `<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag></TagSet></Tagging>`}, 400, "InvalidTag"},
		{"unimplemented subresource", req{method: "GET", target: "/cfg?cors"}, 501, "NotImplemented"},
		{"unknown method", req{method: "PATCH", target: "/cfg"}, 405, "MethodNotAllowed"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			w := e.do(s.r)
			if w.Code != s.status {
				t.Fatalf("status %d, want %d: %s", w.Code, s.status, w.Body.String())
			}
			if s.want != "" && !strings.Contains(w.Body.String(), s.want) {
				t.Fatalf("body %s does not contain %q", w.Body.String(), s.want)
			}
		})
	}
}

func TestAuthorizationRequests(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("azb")
	e.must(200, req{method: "PUT", target: "/azb/dir/k", body: "x"})
	tests := []struct {
		r      req
		action string
		arn    string
		extra  map[string]string
	}{
		{req{method: "GET", target: "/azb/dir/k"}, "s3:GetObject", "arn:aws:s3:::azb/dir/k", nil},
		{req{method: "GET", target: "/azb/dir/k?versionId=null"}, "s3:GetObjectVersion", "arn:aws:s3:::azb/dir/k", nil},
		{req{method: "HEAD", target: "/azb/dir/k"}, "s3:GetObject", "arn:aws:s3:::azb/dir/k", nil},
		{req{method: "PUT", target: "/azb/dir/k", headers: map[string]string{"x-amz-server-side-encryption": "AES256"}}, "s3:PutObject", "arn:aws:s3:::azb/dir/k", map[string]string{"s3:x-amz-server-side-encryption": "AES256"}},
		{req{method: "GET", target: "/azb?list-type=2&prefix=dir/&delimiter=/"}, "s3:ListBucket", "arn:aws:s3:::azb", map[string]string{"s3:prefix": "dir/", "s3:delimiter": "/", "s3:max-keys": "1000"}},
		{req{method: "GET", target: "/azb?versions"}, "s3:ListBucketVersions", "arn:aws:s3:::azb", nil},
		{req{method: "HEAD", target: "/azb"}, "s3:ListBucket", "arn:aws:s3:::azb", nil},
		// The owner's root may always read the policy; a role session is asked.
		{req{method: "GET", target: "/azb?policy", caller: &awsapi.Caller{Account: acctA, ARN: "arn:aws:sts::" + acctA + ":assumed-role/R/s", RoleARN: "arn:aws:iam::" + acctA + ":role/R"}},
			"s3:GetBucketPolicy", "arn:aws:s3:::azb", nil},
		{req{method: "DELETE", target: "/azb?encryption"}, "s3:PutEncryptionConfiguration", "arn:aws:s3:::azb", nil},
		{req{method: "GET", target: "/azb?publicAccessBlock"}, "s3:GetBucketPublicAccessBlock", "arn:aws:s3:::azb", nil},
		{req{method: "DELETE", target: "/azb/dir/k?versionId=null"}, "s3:DeleteObjectVersion", "arn:aws:s3:::azb/dir/k", nil},
		{req{method: "GET", target: "/"}, "s3:ListAllMyBuckets", "arn:aws:s3:::*", nil},
		{req{method: "PUT", target: "/azb2"}, "s3:CreateBucket", "arn:aws:s3:::azb2", nil},
	}
	for _, tt := range tests {
		t.Run(tt.r.method+" "+tt.r.target, func(t *testing.T) {
			e.authz.reset()
			e.do(tt.r)
			e.authz.mu.Lock()
			calls := e.authz.calls
			e.authz.mu.Unlock()
			if len(calls) == 0 {
				t.Fatal("no authorization asked")
			}
			got := calls[0]
			if got.action != tt.action || got.res.ARN != tt.arn || got.res.Account != acctA {
				t.Fatalf("authorized %s on %s (account %s), want %s on %s (%s)", got.action, got.res.ARN, got.res.Account, tt.action, tt.arn, acctA)
			}
			for k, v := range tt.extra {
				if got.extra[k] != v {
					t.Errorf("extra[%s] = %q, want %q", k, got.extra[k], v)
				}
			}
		})
	}
}

func TestCrossAccountAccess(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("master-bucket")
	e.must(200, req{method: "PUT", target: "/master-bucket/t.json", body: "{}"})

	// Without a bucket policy the other account is refused, for existing and missing keys alike.
	for _, target := range []string{"/master-bucket/t.json", "/master-bucket/missing"} {
		if st, code := e.errCode(req{caller: root(acctB), method: "GET", target: target}); st != 403 || code != "AccessDenied" {
			t.Fatalf("GET %s as other account = %d %s, want 403 AccessDenied", target, st, code)
		}
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acctB + `:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::master-bucket/*"}]}`
	e.must(204, req{method: "PUT", target: "/master-bucket?policy", body: policy})
	w := e.must(200, req{caller: root(acctB), method: "GET", target: "/master-bucket/t.json"})
	if got := e.authz.last(); got.res.Policy != policy || got.res.Account != acctA {
		t.Fatalf("bucket owner and policy not passed to the authorizer: %+v", got.res)
	}
	if w.Body.String() != "{}" {
		t.Fatalf("cross-account read = %q", w.Body.String())
	}
	// GetObject allowed but not ListBucket: a missing key is 403, as on S3.
	if st, code := e.errCode(req{caller: root(acctB), method: "GET", target: "/master-bucket/missing"}); st != 403 || code != "AccessDenied" {
		t.Fatalf("missing key without ListBucket = %d %s, want 403", st, code)
	}
	// The owner may list, so it sees 404.
	if st, code := e.errCode(req{method: "GET", target: "/master-bucket/missing"}); st != 404 || code != "NoSuchKey" {
		t.Fatalf("missing key as owner = %d %s, want 404 NoSuchKey", st, code)
	}
	// Writes are still refused.
	if st, _ := e.errCode(req{caller: root(acctB), method: "PUT", target: "/master-bucket/t.json", body: "x"}); st != 403 {
		t.Fatalf("cross-account write = %d, want 403", st)
	}
}

func TestRestrictPublicBuckets(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("pub")
	e.must(200, req{method: "PUT", target: "/pub/k", body: "x"})
	// A public policy that also names acctB so the fake authorizer would allow it.
	policy := `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Sid":"` + acctB + `"}]}`
	e.must(204, req{method: "PUT", target: "/pub?policy", body: policy})
	e.must(200, req{caller: root(acctB), method: "GET", target: "/pub/k"})
	e.must(200, req{method: "PUT", target: "/pub?publicAccessBlock", body: `<PublicAccessBlockConfiguration><RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>`})
	if st, _ := e.errCode(req{caller: root(acctB), method: "GET", target: "/pub/k"}); st != http.StatusForbidden {
		t.Fatalf("RestrictPublicBuckets: cross-account read = %d, want 403", st)
	}
}
