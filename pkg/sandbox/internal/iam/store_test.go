package iam

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

const (
	master = "111111111111"
	prod   = "222222222222"
)

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func newTestStore(t *testing.T) (*Store, *clock) {
	t.Helper()
	c := &clock{now: t0}
	s := NewStore(Options{Accounts: []Account{{Name: "master", ID: master}, {Name: "prod", ID: prod}}, OrgID: "o-sandbox", Now: c.Now})
	return s, c
}

func wantCode(t *testing.T, err error, status int, code string) *awsapi.Error {
	t.Helper()
	var e *awsapi.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want *awsapi.Error %s", err, code)
	}
	if e.Code != code || e.Status != status {
		t.Fatalf("error = %d %s %q, want %d %s", e.Status, e.Code, e.Message, status, code)
	}
	return e
}

func rootCall(t *testing.T, s *Store, account string) *awsapi.Call {
	t.Helper()
	akid, _ := s.RootKeys(account)
	cred, ok := s.LookupAccessKey(akid)
	if !ok {
		t.Fatalf("root key of %s not found", account)
	}
	return &awsapi.Call{Caller: &cred.Caller, Service: "sts", Region: "us-east-1", SourceIP: "127.0.0.1:5555", Time: t0}
}

func sessionCall(t *testing.T, s *Store, sess Session) *awsapi.Call {
	t.Helper()
	cred, ok := s.LookupAccessKey(sess.AccessKeyID)
	if !ok {
		t.Fatalf("session key %s not found", sess.AccessKeyID)
	}
	if cred.SessionToken != sess.SessionToken || cred.SecretAccessKey != sess.SecretAccessKey {
		t.Fatalf("stored session credentials differ from the issued ones")
	}
	return &awsapi.Call{Caller: &cred.Caller, Region: "us-east-1", SourceIP: "127.0.0.1", Time: t0}
}

func trustDoc(principal, condition string) string {
	if condition != "" {
		condition = `,"Condition":` + condition
	}
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":` + principal + `},"Action":"sts:AssumeRole"` + condition + `}]}`
}

const adminDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

func TestRootKeys(t *testing.T) {
	s, _ := newTestStore(t)
	akid1, secret1 := s.RootKeys(master)
	akid2, secret2 := s.RootKeys(prod)
	if !regexp.MustCompile(`^AKIA[A-Z0-9]{16}$`).MatchString(akid1) || len(secret1) != 40 {
		t.Errorf("root keys %q/%d chars have the wrong shape", akid1, len(secret1))
	}
	if akid1 == akid2 || secret1 == secret2 {
		t.Errorf("accounts share keys")
	}
	if a, sec := s.RootKeys("999999999999"); a != "" || sec != "" {
		t.Errorf("unknown account has keys")
	}
	cred, ok := s.LookupAccessKey(akid2)
	want := awsapi.Caller{Account: prod, ARN: "arn:aws:iam::222222222222:root", UserID: prod, Root: true, AccessKeyID: akid2}
	if !ok || cred.Caller != want || cred.SecretAccessKey != secret2 || cred.SessionToken != "" {
		t.Errorf("LookupAccessKey = %+v, %v; want caller %+v", cred, ok, want)
	}
	if _, ok := s.LookupAccessKey("AKIANOTAKEY"); ok {
		t.Errorf("unknown key found")
	}
	other := NewStore(Options{Accounts: []Account{{Name: "master", ID: master}}})
	if a, _ := other.RootKeys(master); a == akid1 {
		t.Errorf("keys are not random per store")
	}
	if got := s.Accounts(); len(got) != 2 || got[0].Name != "master" || got[1].ID != prod {
		t.Errorf("Accounts() = %v", got)
	}
}

func TestCreateRole(t *testing.T) {
	s, _ := newTestStore(t)
	arn, id, err := s.CreateRole(master, RoleSpec{Name: "Stacker", AssumeRolePolicy: trustDoc(`"111111111111"`, ""), Policies: map[string]string{"admin": adminDoc}})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	if arn != "arn:aws:iam::111111111111:role/Stacker" || !regexp.MustCompile(`^AROA[A-Z0-9]{17}$`).MatchString(id) {
		t.Errorf("CreateRole = %s, %s", arn, id)
	}
	arn, _, err = s.CreateRole(prod, RoleSpec{Name: "Deployer", Path: "/ci/", AssumeRolePolicy: trustDoc(`"arn:aws:iam::111111111111:role/Stacker"`, ""),
		ManagedPolicyARNs: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}, MaxSessionDuration: 7200})
	if err != nil || arn != "arn:aws:iam::222222222222:role/ci/Deployer" {
		t.Fatalf("CreateRole with path = %s, %v", arn, err)
	}

	tests := []struct {
		name    string
		account string
		spec    RoleSpec
		status  int
		code    string
		msg     string
	}{
		{"duplicate", master, RoleSpec{Name: "stacker", AssumeRolePolicy: trustDoc(`"*"`, "")}, 409, "EntityAlreadyExists", "Role with name stacker already exists."},
		{"bad json", master, RoleSpec{Name: "X", AssumeRolePolicy: `{`}, 400, "MalformedPolicyDocument", "Syntax errors in policy."},
		{"trust with resource", master, RoleSpec{Name: "X", AssumeRolePolicy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}]}`}, 400, "MalformedPolicyDocument", "Has prohibited field Resource"},
		{"unknown role principal", master, RoleSpec{Name: "X", AssumeRolePolicy: trustDoc(`"arn:aws:iam::222222222222:role/Nope"`, "")}, 400, "MalformedPolicyDocument", `Invalid principal in policy: "AWS":"arn:aws:iam::222222222222:role/Nope"`},
		{"bad inline", master, RoleSpec{Name: "X", AssumeRolePolicy: trustDoc(`"*"`, ""), Policies: map[string]string{"p": `{"Statement":[{"Effect":"Allow","Action":"*"}]}`}}, 400, "MalformedPolicyDocument", "Policy statement must contain resources."},
		{"unknown managed", master, RoleSpec{Name: "X", AssumeRolePolicy: trustDoc(`"*"`, ""), ManagedPolicyARNs: []string{"arn:aws:iam::111111111111:policy/Nope"}}, 404, "NoSuchEntity", "Policy arn:aws:iam::111111111111:policy/Nope does not exist or is not attachable."},
		{"bad name", master, RoleSpec{Name: "a b", AssumeRolePolicy: trustDoc(`"*"`, "")}, 400, "ValidationError", ""},
		{"bad path", master, RoleSpec{Name: "X", Path: "ci", AssumeRolePolicy: trustDoc(`"*"`, "")}, 400, "ValidationError", ""},
		{"short max session", master, RoleSpec{Name: "X", MaxSessionDuration: 60, AssumeRolePolicy: trustDoc(`"*"`, "")}, 400, "ValidationError", ""},
		{"no trust", master, RoleSpec{Name: "X"}, 400, "ValidationError", ""},
		{"unknown account", "999999999999", RoleSpec{Name: "X", AssumeRolePolicy: trustDoc(`"*"`, "")}, 404, "NoSuchEntity", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.CreateRole(tt.account, tt.spec)
			e := wantCode(t, err, tt.status, tt.code)
			if tt.msg != "" && e.Message != tt.msg {
				t.Errorf("message = %q, want %q", e.Message, tt.msg)
			}
		})
	}
}

func TestRoleLifecycle(t *testing.T) {
	s, _ := newTestStore(t)
	if _, _, err := s.CreateRole(master, RoleSpec{Name: "R", AssumeRolePolicy: trustDoc(`"*"`, "")}); err != nil {
		t.Fatal(err)
	}
	policyARN, err := s.CreatePolicy(master, "Deploy", "/team/", adminDoc)
	if err != nil || policyARN != "arn:aws:iam::111111111111:policy/team/Deploy" {
		t.Fatalf("CreatePolicy = %s, %v", policyARN, err)
	}
	_, err = s.CreatePolicy(master, "deploy", "/", adminDoc)
	wantCode(t, err, 409, "EntityAlreadyExists")
	_, err = s.CreatePolicy(master, "Bad", "/", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`)
	wantCode(t, err, 400, "MalformedPolicyDocument")

	steps := []struct {
		name string
		run  func() error
		code string
	}{
		{"attach customer", func() error { return s.AttachRolePolicy(master, "r", policyARN) }, ""},
		{"attach twice is a no-op", func() error { return s.AttachRolePolicy(master, "R", policyARN) }, ""},
		{"attach builtin", func() error { return s.AttachRolePolicy(master, "R", "arn:aws:iam::aws:policy/PowerUserAccess") }, ""},
		{"attach other account's", func() error { return s.AttachRolePolicy(prod, "R", policyARN) }, "NoSuchEntity"},
		{"attach unknown", func() error { return s.AttachRolePolicy(master, "R", "arn:aws:iam::aws:policy/Nope") }, "NoSuchEntity"},
		{"put inline", func() error { return s.PutRolePolicy(master, "R", "p", adminDoc) }, ""},
		{"put malformed inline", func() error { return s.PutRolePolicy(master, "R", "p", `[]`) }, "MalformedPolicyDocument"},
		{"put inline unknown role", func() error { return s.PutRolePolicy(master, "Nope", "p", adminDoc) }, "NoSuchEntity"},
		{"update policy", func() error { return s.UpdatePolicy(master, policyARN, adminDoc) }, ""},
		{"update malformed", func() error { return s.UpdatePolicy(master, policyARN, `{}`) }, "MalformedPolicyDocument"},
		{"update unknown", func() error { return s.UpdatePolicy(master, policyARN+"x", adminDoc) }, "NoSuchEntity"},
		{"detach", func() error { return s.DetachRolePolicy(master, "R", "arn:aws:iam::aws:policy/PowerUserAccess") }, ""},
		{"detach again", func() error { return s.DetachRolePolicy(master, "R", "arn:aws:iam::aws:policy/PowerUserAccess") }, "NoSuchEntity"},
		{"delete inline", func() error { return s.DeleteRolePolicy(master, "R", "p") }, ""},
		{"delete inline again", func() error { return s.DeleteRolePolicy(master, "R", "p") }, "NoSuchEntity"},
		{"update role", func() error {
			return s.UpdateRole(master, RoleSpec{Name: "R", AssumeRolePolicy: trustDoc(`"222222222222"`, ""), Description: "d", Policies: map[string]string{"q": adminDoc}})
		}, ""},
		{"update unknown role", func() error {
			return s.UpdateRole(master, RoleSpec{Name: "Nope", AssumeRolePolicy: trustDoc(`"*"`, "")})
		}, "NoSuchEntity"},
		{"delete policy detaches", func() error { return s.DeletePolicy(master, policyARN) }, ""},
		{"delete policy again", func() error { return s.DeletePolicy(master, policyARN) }, "NoSuchEntity"},
		{"delete role", func() error { return s.DeleteRole(master, "R") }, ""},
		{"delete role again", func() error { return s.DeleteRole(master, "R") }, "NoSuchEntity"},
	}
	for _, st := range steps {
		err := st.run()
		if st.code == "" {
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			continue
		}
		var e *awsapi.Error
		if !errors.As(err, &e) || e.Code != st.code {
			t.Fatalf("%s: error %v, want %s", st.name, err, st.code)
		}
	}
}

func TestUpdateRoleReplacesPolicies(t *testing.T) {
	s, _ := newTestStore(t)
	arn, id, err := s.CreateRole(master, RoleSpec{Name: "R", Path: "/p/", AssumeRolePolicy: trustDoc(`"*"`, ""),
		Policies: map[string]string{"old": adminDoc}, ManagedPolicyARNs: []string{"arn:aws:iam::aws:policy/AdministratorAccess"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateRole(master, RoleSpec{Name: "R", AssumeRolePolicy: trustDoc(`"*"`, ""), Policies: map[string]string{"new": adminDoc}}); err != nil {
		t.Fatal(err)
	}
	r := s.accounts[master].roleByARN(arn)
	if r == nil || r.id != id || r.path != "/p/" {
		t.Fatalf("role identity changed: %+v", r)
	}
	if _, ok := r.inline["old"]; ok || r.inline["new"] == nil || len(r.attached) != 0 {
		t.Errorf("policies not replaced: inline %v attached %v", r.inline, r.attached)
	}
}

func TestBuiltinPolicies(t *testing.T) {
	s, _ := newTestStore(t)
	for _, name := range []string{"AdministratorAccess", "PowerUserAccess", "ReadOnlyAccess", "AWSCloudFormationReadOnlyAccess"} {
		if s.builtin["arn:aws:iam::aws:policy/"+name] == nil {
			t.Errorf("missing %s", name)
		}
	}
}

func TestSessionSweep(t *testing.T) {
	s, c := newTestStore(t)
	s.sweepAt = 4
	call := rootCall(t, s, master)
	first, err := s.GetSessionToken(call, 900, "", "")
	if err != nil {
		t.Fatal(err)
	}
	c.now = t0.Add(3 * time.Hour)
	for range 3 {
		if _, err := s.GetSessionToken(call, 900, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := s.LookupAccessKey(first.AccessKeyID); ok {
		t.Errorf("long-expired session not swept")
	}
	if !strings.HasPrefix(first.AccessKeyID, "ASIA") {
		t.Errorf("session key %s", first.AccessKeyID)
	}
}
