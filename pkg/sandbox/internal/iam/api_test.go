package iam

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

func apiDo(t *testing.T, a *API, call *awsapi.Call, params ...string) *httptest.ResponseRecorder {
	t.Helper()
	v := url.Values{}
	for i := 0; i < len(params); i += 2 {
		v.Set(params[i], params[i+1])
	}
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(v.Encode()))
	c := *call
	c.Action = v.Get("Action")
	r = r.WithContext(awsapi.WithCall(r.Context(), &c))
	w := httptest.NewRecorder()
	a.ServeHTTP(w, r)
	return w
}

func TestAPIErrors(t *testing.T) {
	w := newWorld(t)
	a := NewAPI(w.s)
	root := rootCall(t, w.s, master)
	tests := []struct {
		name   string
		call   *awsapi.Call
		params []string
		status int
		code   string
		msg    string
	}{
		{"unknown action", root, []string{"Action", "CreateUser"}, 400, "InvalidAction", "Could not find operation CreateUser for version 2010-05-08"},
		{"missing role name", root, []string{"Action", "GetRole"}, 400, "ValidationError", "1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null"},
		{"bad role name", root, []string{"Action", "GetRole", "RoleName", "a/b"}, 400, "ValidationError", ""},
		{"unknown role", root, []string{"Action", "GetRole", "RoleName", "Nope"}, 404, "NoSuchEntity", "The role with name Nope cannot be found."},
		{"unknown inline", root, []string{"Action", "GetRolePolicy", "RoleName", "Reader", "PolicyName", "nope"}, 404, "NoSuchEntity", "The role policy with name nope cannot be found."},
		{"missing trust", root, []string{"Action", "CreateRole", "RoleName", "X"}, 400, "ValidationError", ""},
		{"bad max session", root, []string{"Action", "CreateRole", "RoleName", "X", "AssumeRolePolicyDocument", trustDoc(`"*"`, ""), "MaxSessionDuration", "x"}, 400, "ValidationError", ""},
		{"bad policy arn", root, []string{"Action", "GetPolicy", "PolicyArn", "nope"}, 400, "InvalidInput", "ARN nope is not valid."},
		{"unknown policy", root, []string{"Action", "GetPolicy", "PolicyArn", "arn:aws:iam::111111111111:policy/Nope"}, 404, "NoSuchEntity", ""},
		{"bad marker", root, []string{"Action", "ListRoles", "Marker", "zz"}, 400, "ValidationError", ""},
		{"bad max items", root, []string{"Action", "ListRoles", "MaxItems", "0"}, 400, "ValidationError", ""},
		{"denied session", w.reader, []string{"Action", "ListRoles"}, 403, "AccessDenied", ""},
		{"denied delete by explicit deny", w.admin, []string{"Action", "DeleteRole", "RoleName", "Reader"}, 403, "AccessDenied",
			"User: arn:aws:sts::111111111111:assumed-role/Admin/test is not authorized to perform: iam:DeleteRole on resource: arn:aws:iam::111111111111:role/Reader with an explicit deny in an identity-based policy"},
		{"no caller", &awsapi.Call{}, []string{"Action", "ListRoles"}, 403, "MissingAuthenticationToken", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := apiDo(t, a, tt.call, tt.params...)
			var e struct {
				Error struct{ Code, Message string }
			}
			if err := xml.Unmarshal(rec.Body.Bytes(), &e); err != nil {
				t.Fatalf("decode %s: %v", rec.Body, err)
			}
			if rec.Code != tt.status || e.Error.Code != tt.code || (tt.msg != "" && e.Error.Message != tt.msg) {
				t.Errorf("got %d %s %q, want %d %s %q", rec.Code, e.Error.Code, e.Error.Message, tt.status, tt.code, tt.msg)
			}
		})
	}
}

func TestAPITrustAndPolicyVersion(t *testing.T) {
	w := newWorld(t)
	a := NewAPI(w.s)
	root := rootCall(t, w.s, master)
	newTrust := trustDoc(`"arn:aws:iam::222222222222:role/Admin"`, "")
	if rec := apiDo(t, a, root, "Action", "UpdateAssumeRolePolicy", "RoleName", "Reader", "PolicyDocument", newTrust); rec.Code != 200 {
		t.Fatalf("UpdateAssumeRolePolicy: %d %s", rec.Code, rec.Body)
	}
	if rec := apiDo(t, a, root, "Action", "UpdateAssumeRolePolicy", "RoleName", "Reader", "PolicyDocument", trustDoc(`"arn:aws:iam::222222222222:role/Gone"`, "")); rec.Code != 400 {
		t.Errorf("UpdateAssumeRolePolicy with unknown principal: %d %s", rec.Code, rec.Body)
	}
	if _, err := w.s.AssumeRole(w.prodRole, AssumeRoleInput{RoleARN: "arn:aws:iam::111111111111:role/Reader", SessionName: "p"}); err != nil {
		t.Errorf("updated trust not in effect: %v", err)
	}
	rec := apiDo(t, a, root, "Action", "GetPolicyVersion", "PolicyArn", "arn:aws:iam::aws:policy/AdministratorAccess", "VersionId", "v1")
	var out struct {
		Result struct {
			PolicyVersion struct {
				Document         string
				IsDefaultVersion bool
			}
		} `xml:"GetPolicyVersionResult"`
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &out); err != nil || rec.Code != 200 {
		t.Fatalf("GetPolicyVersion: %d %s", rec.Code, rec.Body)
	}
	doc, err := url.QueryUnescape(out.Result.PolicyVersion.Document)
	if err != nil || !strings.Contains(doc, `"Action":"*"`) || !out.Result.PolicyVersion.IsDefaultVersion || strings.Contains(out.Result.PolicyVersion.Document, " ") {
		t.Errorf("GetPolicyVersion document = %q", out.Result.PolicyVersion.Document)
	}
}

func TestEncodeDocument(t *testing.T) {
	got := encodeDocument(`{"a b":"c+d/e"}`)
	if want := "%7B%22a%20b%22%3A%22c%2Bd%2Fe%22%7D"; got != want {
		t.Errorf("encodeDocument = %s, want %s", got, want)
	}
}
