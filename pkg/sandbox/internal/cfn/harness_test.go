package cfn

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/stackerless/stackerless/pkg/reqbody"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/iam"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/logs"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/s3"
)

// Fakes of the stores the providers use, small and in memory.

type fakeAuthz struct {
	mu   sync.Mutex
	deny map[string]bool // IAM actions denied to every caller
}

func (a *fakeAuthz) Authorize(call *awsapi.Call, action string, res awsapi.Resource, _ map[string]string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.deny[action] {
		return awsapi.AccessDenied("User: %s is not authorized to perform: %s on resource: %s", call.Caller.ARN, action, res.ARN)
	}
	return nil
}

type fakeIAM struct {
	mu       sync.Mutex
	roles    map[string]iam.RoleSpec // account/name
	policies map[string]string       // arn -> document
}

func newFakeIAM() *fakeIAM {
	return &fakeIAM{roles: map[string]iam.RoleSpec{}, policies: map[string]string{}}
}

func (f *fakeIAM) CreateRole(account string, spec iam.RoleSpec) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.roles[account+"/"+spec.Name]; ok {
		return "", "", awsapi.Errorf(409, "EntityAlreadyExists", "Role with name %s already exists.", spec.Name)
	}
	f.roles[account+"/"+spec.Name] = spec
	return "arn:aws:iam::" + account + ":role" + spec.Path + spec.Name, "AROA" + spec.Name, nil
}

func (f *fakeIAM) UpdateRole(account string, spec iam.RoleSpec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.roles[account+"/"+spec.Name]; !ok {
		return awsapi.Errorf(404, "NoSuchEntity", "no role %s", spec.Name)
	}
	f.roles[account+"/"+spec.Name] = spec
	return nil
}

func (f *fakeIAM) DeleteRole(account, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.roles, account+"/"+name)
	return nil
}

func (f *fakeIAM) role(account, name string) (iam.RoleSpec, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.roles[account+"/"+name]
	return r, ok
}

func (f *fakeIAM) PutRolePolicy(account, role, name, doc string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.roles[account+"/"+role]
	if !ok {
		return awsapi.Errorf(404, "NoSuchEntity", "no role %s", role)
	}
	if r.Policies == nil {
		r.Policies = map[string]string{}
	}
	r.Policies[name] = doc
	f.roles[account+"/"+role] = r
	return nil
}

func (f *fakeIAM) DeleteRolePolicy(account, role, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.roles[account+"/"+role]; ok {
		delete(r.Policies, name)
	}
	return nil
}

func (f *fakeIAM) CreatePolicy(account, name, path, doc string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := "arn:aws:iam::" + account + ":policy" + path + name
	f.policies[arn] = doc
	return arn, nil
}

func (f *fakeIAM) UpdatePolicy(account, arn, doc string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.policies[arn] = doc
	return nil
}

func (f *fakeIAM) DeletePolicy(account, arn string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.policies, arn)
	return nil
}

func (f *fakeIAM) AttachRolePolicy(account, role, arn string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.roles[account+"/"+role]
	r.ManagedPolicyARNs = append(r.ManagedPolicyARNs, arn)
	f.roles[account+"/"+role] = r
	return nil
}

func (f *fakeIAM) DetachRolePolicy(account, role, arn string) error { return nil }

type fakeBucket struct {
	owner, policy string
	settings      s3.BucketSettings
	objects       map[string][]byte
}

type fakeS3 struct {
	mu      sync.Mutex
	buckets map[string]*fakeBucket
}

func newFakeS3() *fakeS3 { return &fakeS3{buckets: map[string]*fakeBucket{}} }

func (f *fakeS3) CreateBucketFor(account, region, name string, set s3.BucketSettings) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.buckets[name]; ok {
		return awsapi.Errorf(409, "BucketAlreadyExists", "exists")
	}
	f.buckets[name] = &fakeBucket{owner: account, settings: set, objects: map[string][]byte{}}
	return nil
}

func (f *fakeS3) UpdateBucketSettings(account, name string, set s3.BucketSettings) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.buckets[name]
	if !ok {
		return awsapi.Errorf(404, "NoSuchBucket", "The specified bucket does not exist")
	}
	b.settings = set
	return nil
}

func (f *fakeS3) DeleteBucketFor(account, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.buckets[name]
	if !ok {
		return awsapi.Errorf(404, "NoSuchBucket", "The specified bucket does not exist")
	}
	if len(b.objects) > 0 {
		return awsapi.Errorf(409, "BucketNotEmpty", "The bucket you tried to delete is not empty")
	}
	delete(f.buckets, name)
	return nil
}

func (f *fakeS3) SetBucketPolicy(account, name, policy string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.buckets[name]
	if !ok {
		return awsapi.Errorf(404, "NoSuchBucket", "The specified bucket does not exist")
	}
	b.policy = policy
	return nil
}

// ReadObject allows the owner, and other accounts named in the bucket policy.
func (f *fakeS3) ReadObject(call *awsapi.Call, bucket, key, version string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.buckets[bucket]
	if !ok {
		return nil, awsapi.Errorf(404, "NoSuchBucket", "The specified bucket does not exist")
	}
	if b.owner != call.Caller.Account && !strings.Contains(b.policy, call.Caller.Account) {
		return nil, awsapi.AccessDenied("Access Denied")
	}
	data, ok := b.objects[key]
	if !ok {
		return nil, awsapi.Errorf(404, "NoSuchKey", "The specified key does not exist.")
	}
	return data, nil
}

func (f *fakeS3) put(bucket, key, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buckets[bucket].objects[key] = []byte(body)
}

func (f *fakeS3) bucket(name string) *fakeBucket {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buckets[name]
}

type fakeSSM struct {
	mu     sync.Mutex
	params map[string][2]string // account/region/name -> value, type
}

func newFakeSSM() *fakeSSM { return &fakeSSM{params: map[string][2]string{}} }

func (f *fakeSSM) PutParameterFor(account, region, name, typ, value, desc string, overwrite bool) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := account + "/" + region + "/" + name
	if _, ok := f.params[k]; ok && !overwrite {
		return 0, awsapi.Errorf(400, "ParameterAlreadyExists", "The parameter already exists.")
	}
	f.params[k] = [2]string{value, typ}
	return 1, nil
}

func (f *fakeSSM) DeleteParameterFor(account, region, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.params, account+"/"+region+"/"+name)
	return nil
}

func (f *fakeSSM) GetParameterFor(account, region, name string) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.params[account+"/"+region+"/"+name]
	if !ok {
		return "", "", awsapi.Errorf(400, "ParameterNotFound", "not found")
	}
	return p[0], p[1], nil
}

type fakeFaults struct {
	mu      sync.Mutex
	reasons map[string]string
}

func (f *fakeFaults) StackFailure(name string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.reasons[name]
	return r, ok
}

func (f *fakeFaults) set(name, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reasons[name] = reason
}

// env is one CloudFormation service behind an HTTP server that plays the
// sandbox core: the access key names the account.
type env struct {
	svc    *Service
	srv    *httptest.Server
	authz  *fakeAuthz
	iam    *fakeIAM
	s3     *fakeS3
	ssm    *fakeSSM
	faults *fakeFaults
}

const (
	acctA = "111111111111"
	acctB = "222222222222"
)

var credentialRE = regexp.MustCompile(`Credential=AKID(\d{12})/\d+/([^/]+)/`)

func newEnv(t *testing.T, duration time.Duration) *env {
	t.Helper()
	e := &env{authz: &fakeAuthz{deny: map[string]bool{}}, iam: newFakeIAM(), s3: newFakeS3(), ssm: newFakeSSM(), faults: &fakeFaults{reasons: map[string]string{}}}
	e.svc = New(Options{Authorizer: e.authz, IAM: e.iam, S3: e.s3, SSM: e.ssm, Logs: logs.New(nil, nil), Faults: e.faults, StackDuration: duration})
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization"))
		if m == nil {
			http.Error(w, "unsigned", http.StatusForbidden)
			return
		}
		call := &awsapi.Call{Caller: &awsapi.Caller{Account: m[1], ARN: "arn:aws:iam::" + m[1] + ":root", UserID: m[1], Root: true},
			Service: "cloudformation", Region: m[2], Time: time.Now(), RequestID: newUUID()}
		e.svc.ServeHTTP(w, r.WithContext(awsapi.WithCall(r.Context(), call)))
	}))
	t.Cleanup(func() {
		e.srv.Close()
		e.svc.Close()
	})
	return e
}

func (e *env) client(account string) *cloudformation.Client {
	return cloudformation.New(cloudformation.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(e.srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID"+account, "secret", ""),
		Retryer:      aws.NopRetryer{},
		// Without it, large responses (events) fail one read in a few
		// dozen with "use of closed network connection": see reqbody.
		APIOptions: []func(*middleware.Stack) error{reqbody.HideWriteTo},
	})
}

// apiError returns the code and message of an SDK error.
func apiError(t *testing.T, err error) (string, string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an API error, got %v", err)
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

func wantAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s %q, got success", code, msg)
	}
	c, m := apiError(t, err)
	if c != code || !strings.Contains(m, msg) {
		t.Fatalf("got %s %q, want %s containing %q", c, m, code, msg)
	}
}

// waitSettled polls until the stack leaves *_IN_PROGRESS and returns it.
func waitSettled(t *testing.T, c *cloudformation.Client, name string) types.Stack {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		out, err := c.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
		if err != nil {
			t.Fatalf("describe %s: %v", name, err)
		}
		st := out.Stacks[0]
		if !strings.HasSuffix(string(st.StackStatus), "_IN_PROGRESS") {
			return st
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("stack %s did not settle", name)
	return types.Stack{}
}

func events(t *testing.T, c *cloudformation.Client, name string) []types.StackEvent {
	t.Helper()
	var all []types.StackEvent
	p := cloudformation.NewDescribeStackEventsPaginator(c, &cloudformation.DescribeStackEventsInput{StackName: aws.String(name)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("events of %s: %v", name, err)
		}
		all = append(all, out.StackEvents...)
	}
	return all
}

func outputs(st types.Stack) map[string]string {
	m := map[string]string{}
	for _, o := range st.Outputs {
		m[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return m
}

func describe(t *testing.T, c *cloudformation.Client, name string) types.Stack {
	t.Helper()
	out, err := c.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		t.Fatalf("describe %s: %v", name, err)
	}
	return out.Stacks[0]
}
