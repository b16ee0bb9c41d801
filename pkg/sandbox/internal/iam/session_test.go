package iam

import (
	"regexp"
	"testing"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

const mfaDevice = "arn:aws:iam::111111111111:mfa/root-account-mfa-device"

// seedWorld builds the seed's roles: master Stacker trusting the master account
// with MFA, prod Stacker trusting master Stacker with MFA, plus roles for
// ExternalId, untrusted and scoped callers.
func seedWorld(t *testing.T) (*Store, *clock) {
	t.Helper()
	s, c := newTestStore(t)
	mfaCond := `{"Null":{"aws:MultiFactorAuthAge":"false"}}`
	roles := []struct {
		account string
		spec    RoleSpec
	}{
		{master, RoleSpec{Name: "Stacker", AssumeRolePolicy: trustDoc(`"arn:aws:iam::111111111111:root"`, mfaCond), MaxSessionDuration: 43200,
			ManagedPolicyARNs: []string{"arn:aws:iam::aws:policy/AdministratorAccess"}}},
		{prod, RoleSpec{Name: "Stacker", AssumeRolePolicy: trustDoc(`"arn:aws:iam::111111111111:role/Stacker"`, mfaCond), MaxSessionDuration: 43200,
			ManagedPolicyARNs: []string{"arn:aws:iam::aws:policy/AdministratorAccess"}}},
		{prod, RoleSpec{Name: "Deployer", AssumeRolePolicy: trustDoc(`"111111111111"`, `{"StringEquals":{"sts:ExternalId":"s3cr3t"}}`)}},
		{master, RoleSpec{Name: "Scoped", AssumeRolePolicy: trustDoc(`"111111111111"`, ""),
			Policies: map[string]string{"p": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`}}},
		{master, RoleSpec{Name: "TrustsScoped", AssumeRolePolicy: trustDoc(`"arn:aws:iam::111111111111:role/Scoped"`, "")}},
		{master, RoleSpec{Name: "TrustsAccountOnly", AssumeRolePolicy: trustDoc(`"111111111111"`, "")}},
		{prod, RoleSpec{Name: "OrgOnly", AssumeRolePolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-sandbox"},"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111111111111:*"}}}]}`}},
		{prod, RoleSpec{Name: "DenyAll", AssumeRolePolicy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole"}]}`}},
	}
	for _, r := range roles {
		if _, _, err := s.CreateRole(r.account, r.spec); err != nil {
			t.Fatalf("CreateRole %s/%s: %v", r.account, r.spec.Name, err)
		}
	}
	return s, c
}

func TestAssumeRole(t *testing.T) {
	s, _ := seedWorld(t)
	root := rootCall(t, s, master)
	prodRoot := rootCall(t, s, prod)
	mustAssume := func(call *awsapi.Call, in AssumeRoleInput) *awsapi.Call {
		t.Helper()
		sess, err := s.AssumeRole(call, in)
		if err != nil {
			t.Fatalf("AssumeRole %s: %v", in.RoleARN, err)
		}
		return sessionCall(t, s, sess)
	}
	mfaSess, err := s.GetSessionToken(root, 3600, mfaDevice, "123456")
	if err != nil {
		t.Fatalf("GetSessionToken: %v", err)
	}
	mfaCall := sessionCall(t, s, mfaSess)
	masterStacker := mustAssume(mfaCall, AssumeRoleInput{RoleARN: "arn:aws:iam::111111111111:role/Stacker", SessionName: "stacker"})
	scoped := mustAssume(root, AssumeRoleInput{RoleARN: "arn:aws:iam::111111111111:role/Scoped", SessionName: "s"})
	stackerNoMFA := func() *awsapi.Call {
		// A master Stacker session without MFA context cannot exist through the
		// trust policy; build one directly to test the prod trust condition.
		c := *masterStacker.Caller
		c.MFAAuthTime = time.Time{}
		return &awsapi.Call{Caller: &c, Time: t0}
	}()

	denied := func(caller, role string) string {
		return "User: " + caller + " is not authorized to perform: sts:AssumeRole on resource: " + role
	}
	tests := []struct {
		name   string
		call   *awsapi.Call
		in     AssumeRoleInput
		status int
		code   string
		msg    string
	}{
		{"mfa gated denies root without mfa", root, AssumeRoleInput{RoleARN: "arn:aws:iam::111111111111:role/Stacker", SessionName: "s"}, 403, "AccessDenied",
			denied("arn:aws:iam::111111111111:root", "arn:aws:iam::111111111111:role/Stacker")},
		{"mfa gated allows mfa session", mfaCall, AssumeRoleInput{RoleARN: "arn:aws:iam::111111111111:role/Stacker", SessionName: "s"}, 0, "", ""},
		{"mfa in the call itself", root, AssumeRoleInput{RoleARN: "arn:aws:iam::111111111111:role/Stacker", SessionName: "s", SerialNumber: mfaDevice, TokenCode: "654321"}, 0, "", ""},
		{"mfa serial of another account", root, AssumeRoleInput{RoleARN: "arn:aws:iam::111111111111:role/Stacker", SessionName: "s", SerialNumber: "arn:aws:iam::222222222222:mfa/x", TokenCode: "654321"}, 403, "AccessDenied",
			"MultiFactorAuthentication failed, unable to validate MFA code."},
		{"mfa code not digits", root, AssumeRoleInput{RoleARN: "arn:aws:iam::111111111111:role/Stacker", SessionName: "s", SerialNumber: mfaDevice, TokenCode: "12345x"}, 403, "AccessDenied", ""},
		{"chain to prod keeps mfa", masterStacker, AssumeRoleInput{RoleARN: "arn:aws:iam::222222222222:role/Stacker", SessionName: "s"}, 0, "", ""},
		{"chain to prod without mfa", stackerNoMFA, AssumeRoleInput{RoleARN: "arn:aws:iam::222222222222:role/Stacker", SessionName: "s"}, 403, "AccessDenied",
			denied("arn:aws:sts::111111111111:assumed-role/Stacker/stacker", "arn:aws:iam::222222222222:role/Stacker")},
		{"untrusted role of the trusted account", scoped, AssumeRoleInput{RoleARN: "arn:aws:iam::222222222222:role/Stacker", SessionName: "s"}, 403, "AccessDenied",
			denied("arn:aws:sts::111111111111:assumed-role/Scoped/s", "arn:aws:iam::222222222222:role/Stacker")},
		{"untrusted account root", prodRoot, AssumeRoleInput{RoleARN: "arn:aws:iam::111111111111:role/Stacker", SessionName: "s", SerialNumber: "arn:aws:iam::222222222222:mfa/d", TokenCode: "111111"}, 403, "AccessDenied",
			denied("arn:aws:iam::222222222222:root", "arn:aws:iam::111111111111:role/Stacker")},
		{"unknown role is access denied", root, AssumeRoleInput{RoleARN: "arn:aws:iam::111111111111:role/Nope", SessionName: "s"}, 403, "AccessDenied",
			denied("arn:aws:iam::111111111111:root", "arn:aws:iam::111111111111:role/Nope")},
		{"unknown account", root, AssumeRoleInput{RoleARN: "arn:aws:iam::999999999999:role/Nope", SessionName: "s"}, 403, "AccessDenied", ""},
		{"wrong path", root, AssumeRoleInput{RoleARN: "arn:aws:iam::111111111111:role/x/Stacker", SessionName: "s"}, 403, "AccessDenied", ""},
		{"external id required", root, AssumeRoleInput{RoleARN: "arn:aws:iam::222222222222:role/Deployer", SessionName: "s"}, 403, "AccessDenied", ""},
		{"external id wrong", root, AssumeRoleInput{RoleARN: "arn:aws:iam::222222222222:role/Deployer", SessionName: "s", ExternalID: "nope", HasExternalID: true}, 403, "AccessDenied", ""},
		{"external id right", root, AssumeRoleInput{RoleARN: "arn:aws:iam::222222222222:role/Deployer", SessionName: "s", ExternalID: "s3cr3t", HasExternalID: true}, 0, "", ""},
		{"account trust needs identity allow", scoped, AssumeRoleInput{RoleARN: "arn:aws:iam::111111111111:role/TrustsAccountOnly", SessionName: "s"}, 403, "AccessDenied", ""},
		{"account trust with admin identity", masterStacker, AssumeRoleInput{RoleARN: "arn:aws:iam::111111111111:role/TrustsAccountOnly", SessionName: "s"}, 0, "", ""},
		{"role trust same account needs no identity allow", scoped, AssumeRoleInput{RoleARN: "arn:aws:iam::111111111111:role/TrustsScoped", SessionName: "s"}, 0, "", ""},
		{"cross account needs identity allow", scoped, AssumeRoleInput{RoleARN: "arn:aws:iam::222222222222:role/Deployer", SessionName: "s", ExternalID: "s3cr3t", HasExternalID: true}, 403, "AccessDenied", ""},
		{"org and principal arn conditions", masterStacker, AssumeRoleInput{RoleARN: "arn:aws:iam::222222222222:role/OrgOnly", SessionName: "s"}, 0, "", ""},
		{"principal arn condition mismatch", prodRoot, AssumeRoleInput{RoleARN: "arn:aws:iam::222222222222:role/OrgOnly", SessionName: "s"}, 403, "AccessDenied", ""},
		{"explicit deny in trust", prodRoot, AssumeRoleInput{RoleARN: "arn:aws:iam::222222222222:role/DenyAll", SessionName: "s"}, 403, "AccessDenied", ""},
		{"duration over role max", mfaCall, AssumeRoleInput{RoleARN: "arn:aws:iam::111111111111:role/Stacker", SessionName: "s", DurationSeconds: 43201}, 400, "ValidationError",
			"The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		{"duration up to role max", mfaCall, AssumeRoleInput{RoleARN: "arn:aws:iam::111111111111:role/Stacker", SessionName: "s", DurationSeconds: 43200}, 0, "", ""},
		{"chaining caps at one hour", masterStacker, AssumeRoleInput{RoleARN: "arn:aws:iam::222222222222:role/Stacker", SessionName: "s", DurationSeconds: 3601}, 400, "ValidationError",
			"The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."},
		{"chaining one hour", masterStacker, AssumeRoleInput{RoleARN: "arn:aws:iam::222222222222:role/Stacker", SessionName: "s", DurationSeconds: 3600}, 0, "", ""},
		{"anonymous", &awsapi.Call{}, AssumeRoleInput{RoleARN: "arn:aws:iam::111111111111:role/Stacker", SessionName: "s"}, 403, "AccessDenied", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sess, err := s.AssumeRole(tt.call, tt.in)
			if tt.code != "" {
				e := wantCode(t, err, tt.status, tt.code)
				if tt.msg != "" && e.Message != tt.msg {
					t.Errorf("message:\n got %q\nwant %q", e.Message, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("AssumeRole: %v", err)
			}
			if !regexp.MustCompile(`^ASIA[A-Z0-9]{16}$`).MatchString(sess.AccessKeyID) || len(sess.SecretAccessKey) != 40 || sess.SessionToken == "" {
				t.Errorf("credentials have the wrong shape: %+v", sess)
			}
		})
	}
}

func TestAssumeRoleSession(t *testing.T) {
	s, c := seedWorld(t)
	root := rootCall(t, s, master)
	mfaSess, err := s.GetSessionToken(root, 0, mfaDevice, "123456")
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(time.Hour); !mfaSess.Expiration.Equal(want) {
		t.Errorf("root session expiration = %v, want %v (root sessions last at most 1h)", mfaSess.Expiration, want)
	}
	mfaCall := sessionCall(t, s, mfaSess)
	if !mfaCall.Caller.Root || mfaCall.Caller.ARN != "arn:aws:iam::111111111111:root" || !mfaCall.Caller.MFAAuthTime.Equal(t0) {
		t.Errorf("MFA session caller = %+v", mfaCall.Caller)
	}
	c.now = t0.Add(10 * time.Minute)
	sess, err := s.AssumeRole(mfaCall, AssumeRoleInput{RoleARN: "arn:aws:iam::111111111111:role/Stacker", SessionName: "stacker", DurationSeconds: 7200})
	if err != nil {
		t.Fatal(err)
	}
	cred, _ := s.LookupAccessKey(sess.AccessKeyID)
	got := cred.Caller
	if got.Account != master || got.ARN != "arn:aws:sts::111111111111:assumed-role/Stacker/stacker" || got.RoleARN != "arn:aws:iam::111111111111:role/Stacker" ||
		got.RoleName != "Stacker" || got.SessionName != "stacker" || got.Root || got.Chained || !got.MFAAuthTime.Equal(t0) ||
		!got.Expires.Equal(t0.Add(10*time.Minute+2*time.Hour)) || got.UserID != sess.AssumedRoleID || got.ARN != sess.AssumedRoleARN {
		t.Errorf("role session caller = %+v", got)
	}
	if !regexp.MustCompile(`^AROA[A-Z0-9]{17}:stacker$`).MatchString(sess.AssumedRoleID) {
		t.Errorf("AssumedRoleId = %s", sess.AssumedRoleID)
	}
	chained, err := s.AssumeRole(&awsapi.Call{Caller: &got}, AssumeRoleInput{RoleARN: "arn:aws:iam::222222222222:role/Stacker", SessionName: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	cred, _ = s.LookupAccessKey(chained.AccessKeyID)
	if !cred.Caller.Chained || cred.Caller.Account != prod || !cred.Caller.MFAAuthTime.Equal(t0) || !cred.Caller.Expires.Equal(c.now.Add(time.Hour)) {
		t.Errorf("chained session caller = %+v", cred.Caller)
	}
	// GetSessionToken is refused to session credentials; expired callers get ExpiredToken.
	_, err = s.GetSessionToken(&awsapi.Call{Caller: &got}, 0, "", "")
	wantCode(t, err, 403, "AccessDenied")
	c.now = t0.Add(5 * time.Hour)
	_, err = s.AssumeRole(mfaCall, AssumeRoleInput{RoleARN: "arn:aws:iam::111111111111:role/Stacker", SessionName: "x"})
	wantCode(t, err, 403, "ExpiredToken")
}

func TestConcurrentUse(t *testing.T) {
	s, _ := seedWorld(t)
	root := rootCall(t, s, master)
	done := make(chan error, 8)
	for range 8 {
		go func() {
			for j := range 50 {
				sess, err := s.AssumeRole(root, AssumeRoleInput{RoleARN: "arn:aws:iam::111111111111:role/Scoped", SessionName: "s"})
				if err != nil {
					done <- err
					return
				}
				cred, _ := s.LookupAccessKey(sess.AccessKeyID)
				call := &awsapi.Call{Caller: &cred.Caller, Time: t0}
				_ = s.Authorize(call, "s3:GetObject", awsapi.Resource{ARN: "arn:aws:s3:::b/k"}, nil)
				if j%10 == 0 {
					doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
					if err := s.PutRolePolicy(master, "Scoped", "p", doc); err != nil {
						done <- err
						return
					}
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
