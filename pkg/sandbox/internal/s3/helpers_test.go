package s3

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

const (
	acctA = "111111111111"
	acctB = "222222222222"
)

func root(account string) *awsapi.Caller {
	return &awsapi.Caller{Account: account, ARN: "arn:aws:iam::" + account + ":root", UserID: account, Root: true}
}

// authzCall is one Authorize call seen by fakeAuthz.
type authzCall struct {
	action string
	res    awsapi.Resource
	extra  map[string]string
}

// fakeAuthz allows a caller everything in its own account, and across
// accounts only when the resource policy mentions the caller's account ID
// and the action (a crude stand-in for the identity helper's evaluator).
type fakeAuthz struct {
	mu    sync.Mutex
	calls []authzCall
	deny  map[string]bool // actions denied to everyone
}

func (f *fakeAuthz) Authorize(call *awsapi.Call, action string, res awsapi.Resource, extra map[string]string) error {
	f.mu.Lock()
	f.calls = append(f.calls, authzCall{action, res, extra})
	f.mu.Unlock()
	if f.deny[action] {
		return awsapi.AccessDenied("User: %s is not authorized to perform: %s on resource: %s", call.Caller.ARN, action, res.ARN)
	}
	if res.Account == "" || res.Account == call.Caller.Account {
		return nil
	}
	if strings.Contains(res.Policy, call.Caller.Account) && strings.Contains(res.Policy, `"`+action+`"`) {
		return nil
	}
	return awsapi.AccessDenied("User: %s is not authorized to perform: %s on resource: %s", call.Caller.ARN, action, res.ARN)
}

func (f *fakeAuthz) last() authzCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return authzCall{}
	}
	return f.calls[len(f.calls)-1]
}

func (f *fakeAuthz) reset() {
	f.mu.Lock()
	f.calls = nil
	f.mu.Unlock()
}

type env struct {
	t      *testing.T
	svc    *Service
	authz  *fakeAuthz
	mu     sync.Mutex
	events []ObjectCreated
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, authz: &fakeAuthz{deny: map[string]bool{}}}
	e.svc = New(Options{Authorizer: e.authz, Notify: func(ev ObjectCreated) {
		e.mu.Lock()
		e.events = append(e.events, ev)
		e.mu.Unlock()
	}})
	return e
}

// req is one request to send; zero values mean root of acctA, no body.
type req struct {
	caller  *awsapi.Caller
	method  string
	target  string
	body    string
	host    string
	headers map[string]string
	secure  bool
}

func (e *env) do(r req) *httptest.ResponseRecorder {
	e.t.Helper()
	hr := httptest.NewRequest(r.method, r.target, strings.NewReader(r.body))
	if r.body == "" {
		hr.Body = http.NoBody
		hr.ContentLength = 0
	}
	if r.host != "" {
		hr.Host = r.host
	} else {
		hr.Host = "127.0.0.1:4566"
	}
	for k, v := range r.headers {
		hr.Header.Set(k, v)
	}
	caller := r.caller
	if caller == nil {
		caller = root(acctA)
	}
	call := &awsapi.Call{Caller: caller, Service: "s3", Region: "us-east-1", Secure: r.secure,
		Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), RequestID: "req-1"}
	hr = hr.WithContext(awsapi.WithCall(hr.Context(), call))
	w := httptest.NewRecorder()
	e.svc.ServeHTTP(w, hr)
	return w
}

// must sends r and fails unless the status is want.
func (e *env) must(want int, r req) *httptest.ResponseRecorder {
	e.t.Helper()
	w := e.do(r)
	if w.Code != want {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", r.method, r.target, w.Code, want, w.Body.String())
	}
	return w
}

// errCode sends r and returns the status and S3 error code.
func (e *env) errCode(r req) (int, string) {
	e.t.Helper()
	w := e.do(r)
	var body struct {
		Code string `xml:"Code"`
	}
	_ = xml.Unmarshal(w.Body.Bytes(), &body)
	return w.Code, body.Code
}

func (e *env) mkBucket(name string) {
	e.t.Helper()
	e.must(http.StatusOK, req{method: "PUT", target: "/" + name})
}

func body(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	b, _ := io.ReadAll(w.Result().Body)
	return string(b)
}

var (
	testCallA = awsapi.Call{Caller: root(acctA), Service: "cloudformation", Action: "CreateStack", Region: "us-east-1"}
	testCallB = awsapi.Call{Caller: &awsapi.Caller{Account: acctB, ARN: "arn:aws:sts::" + acctB + ":assumed-role/Stacker/s", RoleARN: "arn:aws:iam::" + acctB + ":role/Stacker"},
		Service: "cloudformation", Action: "CreateStack", Region: "us-east-1"}
)
