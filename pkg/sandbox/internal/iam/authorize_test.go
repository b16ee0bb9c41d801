package iam

import (
	"strings"
	"testing"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// world is a store with roles used by the authorization tests.
type world struct {
	s        *Store
	clock    *clock
	reader   *awsapi.Call // master session of a role allowed only s3:GetObject
	admin    *awsapi.Call // master session of an admin role with a deny on iam:Delete*
	prodRole *awsapi.Call // prod session of an admin role
}

func newWorld(t *testing.T) *world {
	t.Helper()
	s, c := newTestStore(t)
	w := &world{s: s, clock: c}
	mustRole := func(account string, spec RoleSpec) {
		t.Helper()
		if _, _, err := s.CreateRole(account, spec); err != nil {
			t.Fatalf("CreateRole %s: %v", spec.Name, err)
		}
	}
	mustRole(master, RoleSpec{Name: "Reader", AssumeRolePolicy: trustDoc(`"111111111111"`, ""),
		Policies: map[string]string{"get": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`}})
	mustRole(master, RoleSpec{Name: "Admin", AssumeRolePolicy: trustDoc(`"111111111111"`, ""),
		ManagedPolicyARNs: []string{"arn:aws:iam::aws:policy/AdministratorAccess"},
		Policies:          map[string]string{"nodelete": `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:Delete*","Resource":"*"}]}`}})
	mustRole(prod, RoleSpec{Name: "Admin", AssumeRolePolicy: trustDoc(`"222222222222"`, ""),
		ManagedPolicyARNs: []string{"arn:aws:iam::aws:policy/AdministratorAccess"}})
	assume := func(account, arn string) *awsapi.Call {
		t.Helper()
		sess, err := s.AssumeRole(rootCall(t, s, account), AssumeRoleInput{RoleARN: arn, SessionName: "test"})
		if err != nil {
			t.Fatalf("AssumeRole %s: %v", arn, err)
		}
		return sessionCall(t, s, sess)
	}
	w.reader = assume(master, "arn:aws:iam::111111111111:role/Reader")
	w.admin = assume(master, "arn:aws:iam::111111111111:role/Admin")
	w.prodRole = assume(prod, "arn:aws:iam::222222222222:role/Admin")
	return w
}

func TestAuthorize(t *testing.T) {
	w := newWorld(t)
	masterRoot, prodRoot := rootCall(t, w.s, master), rootCall(t, w.s, prod)
	bucket := func(policy string) awsapi.Resource {
		return awsapi.Resource{ARN: "arn:aws:s3:::b/k", Account: master, Policy: policy}
	}
	grant := func(principal string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":` + principal + `},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`
	}
	tlsOnly := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	tests := []struct {
		name   string
		call   *awsapi.Call
		action string
		res    awsapi.Resource
		extra  map[string]string
		msg    string // "" = allowed
	}{
		{"root own account", masterRoot, "iam:CreateRole", awsapi.Resource{ARN: "arn:aws:iam::111111111111:role/X"}, nil, ""},
		{"root own account explicit", masterRoot, "s3:GetObject", bucket(""), nil, ""},
		{"root cross account without policy", prodRoot, "s3:GetObject", bucket(""), nil,
			"User: arn:aws:iam::222222222222:root is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::b/k because no resource-based policy allows the s3:GetObject action"},
		{"root cross account with account grant", prodRoot, "s3:GetObject", bucket(grant(`"222222222222"`)), nil, ""},
		{"root denied by resource policy", masterRoot, "s3:GetObject", bucket(tlsOnly), nil,
			"User: arn:aws:iam::111111111111:root is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::b/k with an explicit deny in a resource-based policy"},
		{"tls-only policy allows over TLS", &awsapi.Call{Caller: masterRoot.Caller, Secure: true}, "s3:GetObject", bucket(tlsOnly), nil, ""},
		{"session allowed action", w.reader, "s3:GetObject", bucket(""), nil, ""},
		{"session lacking action", w.reader, "iam:GetRole", awsapi.Resource{ARN: "arn:aws:iam::111111111111:role/Admin"}, nil,
			"User: arn:aws:sts::111111111111:assumed-role/Reader/test is not authorized to perform: iam:GetRole on resource: arn:aws:iam::111111111111:role/Admin because no identity-based policy allows the iam:GetRole action"},
		{"session lacking action, case-insensitive allow", w.reader, "S3:getobject", bucket(""), nil, ""},
		{"admin managed policy", w.admin, "cloudformation:CreateStack", awsapi.Resource{ARN: "arn:aws:cloudformation:us-east-1:111111111111:stack/s/*"}, nil, ""},
		{"explicit identity deny wins", w.admin, "iam:DeleteRole", awsapi.Resource{ARN: "arn:aws:iam::111111111111:role/X"}, nil,
			"User: arn:aws:sts::111111111111:assumed-role/Admin/test is not authorized to perform: iam:DeleteRole on resource: arn:aws:iam::111111111111:role/X with an explicit deny in an identity-based policy"},
		{"same account resource policy naming role", w.reader, "s3:PutObject", awsapi.Resource{ARN: "arn:aws:s3:::b/k", Account: master,
			Policy: `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/Reader"},"Action":"s3:PutObject","Resource":"*"}]}`}, nil, ""},
		{"same account resource policy naming session", w.reader, "s3:PutObject", awsapi.Resource{ARN: "arn:aws:s3:::b/k", Account: master,
			Policy: `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111111111111:assumed-role/Reader/test"},"Action":"s3:PutObject","Resource":"*"}]}`}, nil, ""},
		{"same account resource policy naming account delegates", w.reader, "s3:PutObject", awsapi.Resource{ARN: "arn:aws:s3:::b/k", Account: master,
			Policy: `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"s3:PutObject","Resource":"*"}]}`}, nil,
			"User: arn:aws:sts::111111111111:assumed-role/Reader/test is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::b/k because no identity-based policy allows the s3:PutObject action"},
		{"same account public policy", w.reader, "s3:PutObject", awsapi.Resource{ARN: "arn:aws:s3:::b/k", Account: master,
			Policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"*"}]}`}, nil, ""},
		{"cross account identity only", w.prodRole, "s3:GetObject", bucket(""), nil,
			"User: arn:aws:sts::222222222222:assumed-role/Admin/test is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::b/k because no resource-based policy allows the s3:GetObject action"},
		{"cross account both", w.prodRole, "s3:GetObject", bucket(grant(`"arn:aws:iam::222222222222:role/Admin"`)), nil, ""},
		{"cross account policy names other role", w.prodRole, "s3:GetObject", bucket(grant(`"arn:aws:iam::222222222222:role/Other"`)), nil,
			"User: arn:aws:sts::222222222222:assumed-role/Admin/test is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::b/k because no resource-based policy allows the s3:GetObject action"},
		{"cross account resource only", w.prodRole, "s3:PutObject", awsapi.Resource{ARN: "arn:aws:s3:::b/k", Account: prod}, nil, ""},
		{"extra keys", w.admin, "s3:ListBucket", awsapi.Resource{ARN: "arn:aws:s3:::b", Account: master,
			Policy: `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:ListBucket","Resource":"*","Condition":{"StringNotLike":{"s3:prefix":"public/*"}}}]}`},
			map[string]string{"s3:prefix": "private/"}, "User: arn:aws:sts::111111111111:assumed-role/Admin/test is not authorized to perform: s3:ListBucket on resource: arn:aws:s3:::b with an explicit deny in a resource-based policy"},
		{"extra keys allow", w.admin, "s3:ListBucket", awsapi.Resource{ARN: "arn:aws:s3:::b", Account: master,
			Policy: `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:ListBucket","Resource":"*","Condition":{"StringNotLike":{"s3:prefix":"public/*"}}}]}`},
			map[string]string{"s3:prefix": "public/x"}, ""},
		{"anonymous public", &awsapi.Call{}, "s3:GetObject", bucket(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}`), nil, ""},
		{"anonymous", &awsapi.Call{}, "s3:GetObject", bucket(""), nil, "Anonymous users are not authorized to perform: s3:GetObject on resource: arn:aws:s3:::b/k"},
		{"unparsable resource policy grants nothing", prodRoot, "s3:GetObject", bucket(`{`), nil,
			"User: arn:aws:iam::222222222222:root is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::b/k because no resource-based policy allows the s3:GetObject action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := w.s.Authorize(tt.call, tt.action, tt.res, tt.extra)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				return
			}
			e := wantCode(t, err, 403, "AccessDenied")
			if e.Message != tt.msg {
				t.Errorf("message:\n got %q\nwant %q", e.Message, tt.msg)
			}
		})
	}
}

func TestAuthorizeDeletedRoleAndExpiry(t *testing.T) {
	w := newWorld(t)
	if err := w.s.Authorize(w.reader, "s3:GetObject", awsapi.Resource{ARN: "arn:aws:s3:::b/k"}, nil); err != nil {
		t.Fatalf("before: %v", err)
	}
	w.clock.now = t0.Add(2 * time.Hour)
	wantCode(t, w.s.Authorize(w.reader, "s3:GetObject", awsapi.Resource{ARN: "arn:aws:s3:::b/k"}, nil), 403, "ExpiredToken")
	w.clock.now = t0
	if err := w.s.DeleteRole(master, "Reader"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, w.s.Authorize(w.reader, "s3:GetObject", awsapi.Resource{ARN: "arn:aws:s3:::b/k"}, nil), 403, "AccessDenied")
}

func TestPolicyChangesApplyToLiveSessions(t *testing.T) {
	w := newWorld(t)
	res := awsapi.Resource{ARN: "arn:aws:iam::111111111111:role/Admin"}
	wantCode(t, w.s.Authorize(w.reader, "iam:GetRole", res, nil), 403, "AccessDenied")
	if err := w.s.AttachRolePolicy(master, "Reader", "arn:aws:iam::aws:policy/ReadOnlyAccess"); err != nil {
		t.Fatal(err)
	}
	if err := w.s.Authorize(w.reader, "iam:GetRole", res, nil); err != nil {
		t.Fatalf("after attaching ReadOnlyAccess: %v", err)
	}
	wantCode(t, w.s.Authorize(w.reader, "iam:DeleteRole", res, nil), 403, "AccessDenied")
}

func TestConditionContext(t *testing.T) {
	s, _ := newTestStore(t)
	root := rootCall(t, s, master)
	mfa, err := s.GetSessionToken(root, 0, "arn:aws:iam::111111111111:mfa/root-account-mfa-device", "123456")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := s.GetSessionToken(root, 0, "", "")
	if err != nil {
		t.Fatal(err)
	}
	mfaCall := sessionCall(t, s, mfa)
	mfaCall.Time = t0.Add(90 * time.Second)
	tests := []struct {
		name string
		call *awsapi.Call
		want map[string]string // "" = absent
	}{
		{"root long-term", root, map[string]string{
			"aws:MultiFactorAuthPresent": "", "aws:MultiFactorAuthAge": "", "aws:SecureTransport": "false",
			"aws:PrincipalArn": "arn:aws:iam::111111111111:root", "aws:PrincipalAccount": master, "aws:PrincipalOrgID": "o-sandbox",
			"aws:SourceIp": "127.0.0.1", "aws:userid": master, "aws:username": "", "aws:PrincipalType": "Account",
			"aws:CurrentTime": "2024-05-01T10:00:00Z", "aws:EpochTime": "1714557600", "aws:RequestedRegion": "us-east-1",
		}},
		{"session without mfa", sessionCall(t, s, plain), map[string]string{"aws:MultiFactorAuthPresent": "false", "aws:MultiFactorAuthAge": ""}},
		{"session with mfa", mfaCall, map[string]string{"aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": "90", "aws:PrincipalArn": "arn:aws:iam::111111111111:root"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := s.requestContext(tt.call, tt.call.Caller, nil)
			for k, want := range tt.want {
				got := strings.Join(ctx.Get(k), ",")
				if got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// CDK's file-publishing role allows S3 actions only where aws:ResourceAccount
// is its own account: its bucket, not a bucket elsewhere that grants it.
func TestResourceAccountCondition(t *testing.T) {
	s, _ := newTestStore(t)
	if _, _, err := s.CreateRole(prod, RoleSpec{Name: "Publisher", AssumeRolePolicy: trustDoc(`"222222222222"`, ""),
		Policies: map[string]string{"own": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*",` +
			`"Condition":{"StringEquals":{"aws:ResourceAccount":["222222222222"]}}}]}`}}); err != nil {
		t.Fatal(err)
	}
	sess, err := s.AssumeRole(rootCall(t, s, prod), AssumeRoleInput{RoleARN: "arn:aws:iam::222222222222:role/Publisher", SessionName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	call := sessionCall(t, s, sess)
	if err := s.Authorize(call, "s3:PutObject", awsapi.Resource{ARN: "arn:aws:s3:::own/k", Account: prod}, nil); err != nil {
		t.Errorf("own account's bucket: %v", err)
	}
	grant := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"s3:PutObject","Resource":"*"}]}`
	err = s.Authorize(call, "s3:PutObject", awsapi.Resource{ARN: "arn:aws:s3:::other/k", Account: master, Policy: grant}, nil)
	wantCode(t, err, 403, "AccessDenied")
}
