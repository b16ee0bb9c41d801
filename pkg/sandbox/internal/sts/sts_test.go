package sts

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/iam"
)

func newService(t *testing.T) (*Service, *iam.Store, *awsapi.Caller) {
	t.Helper()
	store := iam.NewStore(iam.Options{Accounts: []iam.Account{{Name: "master", ID: "111111111111"}}})
	akid, _ := store.RootKeys("111111111111")
	cred, _ := store.LookupAccessKey(akid)
	if _, _, err := store.CreateRole("111111111111", iam.RoleSpec{Name: "R",
		AssumeRolePolicy: `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sts:AssumeRole"}]}`}); err != nil {
		t.Fatal(err)
	}
	return New(store), store, &cred.Caller
}

func do(t *testing.T, h http.Handler, caller *awsapi.Call, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if caller != nil {
		r = r.WithContext(awsapi.WithCall(r.Context(), caller))
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

type errorResponse struct {
	Error struct {
		Type, Code, Message string
	}
	RequestID string `xml:"RequestId"`
}

func TestHandlerErrors(t *testing.T) {
	svc, _, root := newService(t)
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	assume := func(kv ...string) string {
		return form(append([]string{"Action", "AssumeRole", "Version", "2011-06-15", "RoleArn", "arn:aws:iam::111111111111:role/R", "RoleSessionName", "ok"}, kv...)...)
	}
	tests := []struct {
		name   string
		call   *awsapi.Call
		body   string
		status int
		code   string
		msg    string
	}{
		{"unknown action", &awsapi.Call{Caller: root}, form("Action", "GetFederationToken"), 400, "InvalidAction", "Could not find operation GetFederationToken for version 2011-06-15"},
		{"no action", &awsapi.Call{Caller: root}, "", 400, "InvalidAction", ""},
		{"malformed body", &awsapi.Call{Caller: root}, "Action=AssumeRole&%zz", 400, "MalformedQueryString", ""},
		{"no caller", &awsapi.Call{}, form("Action", "GetCallerIdentity"), 403, "MissingAuthenticationToken", ""},
		{"missing role arn", &awsapi.Call{Caller: root}, form("Action", "AssumeRole", "RoleSessionName", "ok"), 400, "ValidationError",
			"1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"},
		{"short role arn", &awsapi.Call{Caller: root}, form("Action", "AssumeRole", "RoleArn", "arn:aws:iam", "RoleSessionName", "ok"), 400, "ValidationError",
			"1 validation error detected: Value 'arn:aws:iam' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"},
		{"missing session name", &awsapi.Call{Caller: root}, form("Action", "AssumeRole", "RoleArn", "arn:aws:iam::111111111111:role/R"), 400, "ValidationError",
			"1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null"},
		{"long session name", &awsapi.Call{Caller: root}, assume("RoleSessionName", strings.Repeat("a", 65)), 400, "ValidationError", ""},
		{"duration not a number", &awsapi.Call{Caller: root}, assume("DurationSeconds", "soon"), 400, "MalformedInput", ""},
		{"duration too long", &awsapi.Call{Caller: root}, assume("DurationSeconds", "43201"), 400, "ValidationError",
			"1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"},
		{"duration over role max", &awsapi.Call{Caller: root}, assume("DurationSeconds", "7200"), 400, "ValidationError",
			"The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		{"bad external id", &awsapi.Call{Caller: root}, assume("ExternalId", "a b"), 400, "ValidationError", ""},
		{"short token code", &awsapi.Call{Caller: root}, assume("SerialNumber", "arn:aws:iam::111111111111:mfa/d", "TokenCode", "123"), 400, "ValidationError",
			"1 validation error detected: Value '123' at 'tokenCode' failed to satisfy constraint: Member must have length greater than or equal to 6"},
		{"token code letters", &awsapi.Call{Caller: root}, assume("SerialNumber", "arn:aws:iam::111111111111:mfa/d", "TokenCode", "12345a"), 400, "ValidationError", ""},
		{"token without serial", &awsapi.Call{Caller: root}, assume("TokenCode", "123456"), 403, "AccessDenied", "MultiFactorAuthentication failed, unable to validate MFA code."},
		{"session token duration", &awsapi.Call{Caller: root}, form("Action", "GetSessionToken", "DurationSeconds", "100"), 400, "ValidationError", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.call.RequestID = "req-1"
			w := do(t, svc, tt.call, tt.body)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			var e errorResponse
			if err := xml.Unmarshal(w.Body.Bytes(), &e); err != nil {
				t.Fatalf("decode %s: %v", w.Body, err)
			}
			if e.Error.Code != tt.code || (tt.msg != "" && e.Error.Message != tt.msg) || e.Error.Type != "Sender" || e.RequestID != "req-1" {
				t.Errorf("error = %+v, want %s %q", e, tt.code, tt.msg)
			}
		})
	}
}

func TestHandlerResults(t *testing.T) {
	svc, store, root := newService(t)
	w := do(t, svc, &awsapi.Call{Caller: root, Action: "GetCallerIdentity", RequestID: "r1"}, "Action=GetCallerIdentity&Version=2011-06-15")
	var id struct {
		XMLName xml.Name `xml:"GetCallerIdentityResponse"`
		Result  struct {
			UserId, Account, Arn string
		} `xml:"GetCallerIdentityResult"`
	}
	if err := xml.Unmarshal(w.Body.Bytes(), &id); err != nil || w.Code != 200 || id.Result.Arn != "arn:aws:iam::111111111111:root" || id.Result.Account != "111111111111" {
		t.Fatalf("GetCallerIdentity: %d %s (%v)", w.Code, w.Body, err)
	}
	if !strings.Contains(w.Body.String(), `xmlns="https://sts.amazonaws.com/doc/2011-06-15/"`) {
		t.Errorf("namespace missing: %s", w.Body)
	}

	w = do(t, svc, &awsapi.Call{Caller: root}, "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2FR&RoleSessionName=s1&DurationSeconds=900")
	var ar struct {
		Result struct {
			Credentials struct {
				AccessKeyId, SecretAccessKey, SessionToken, Expiration string
			}
			AssumedRoleUser struct{ AssumedRoleId, Arn string }
		} `xml:"AssumeRoleResult"`
	}
	if err := xml.Unmarshal(w.Body.Bytes(), &ar); err != nil || w.Code != 200 {
		t.Fatalf("AssumeRole: %d %s (%v)", w.Code, w.Body, err)
	}
	cred, ok := store.LookupAccessKey(ar.Result.Credentials.AccessKeyId)
	if !ok || cred.SessionToken != ar.Result.Credentials.SessionToken || ar.Result.AssumedRoleUser.Arn != "arn:aws:sts::111111111111:assumed-role/R/s1" ||
		cred.Caller.Expires.Format("2006-01-02T15:04:05Z") != ar.Result.Credentials.Expiration {
		t.Errorf("AssumeRole result %+v does not match the stored session %+v", ar.Result, cred)
	}
}
