// Package lambda is the sandbox's AWS Lambda: the REST-JSON API
// (/2015-03-31/functions/...) and Invoke, which runs a function's real
// `bootstrap` from its zip against a Lambda Runtime API served on a local
// port, as Lambda does: with the function's environment and the credentials
// of an execution-role session, warm instances reused, concurrency and
// timeouts enforced, and the output, START/END/REPORT lines included, in the
// function's CloudWatch Logs group.
//
// Only OS-only runtimes (provided.al2023, provided.al2) run; functions of
// other runtimes can be created and described, and their invocations fail
// with InvalidRuntimeException. Instances run directly on the host, so the
// bootstrap must be built for the host's architecture.
package lambda

import (
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda/schemas"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/iam"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/logs"
)

// servicePrincipal is the principal execution roles must trust.
const servicePrincipal = "lambda.amazonaws.com"

// Roles checks the roles callers pass to Lambda and issues execution-role
// sessions.
type Roles interface {
	PassRole(call *awsapi.Call, roleARN, service string) error
	AssumeRoleForService(roleARN, service, sessionName string, extra map[string]string) (iam.Session, error)
	LookupAccessKey(akid string) (iam.Credential, bool)
}

// CodeStore reads deployment packages from S3 with the caller's permissions.
type CodeStore interface {
	ReadObject(call *awsapi.Call, bucket, key, versionID string) ([]byte, error)
}

// LogStore is where function output goes.
type LogStore interface {
	GroupExists(account, region, name string) bool
	CreateGroupFor(account, region, name string, set logs.GroupSettings) error
	PutEventsFor(account, region, group, stream string, events ...logs.Event) error
}

// FaultSource kills instances mid-invocation on request.
type FaultSource interface {
	// LambdaKill reports whether the next invocation of the function (by
	// name) must have its instance killed, and how far into the invocation.
	LambdaKill(function string) (after time.Duration, ok bool)
	// LambdaThrottle reports whether the next synchronous invocation of the
	// function (by name) must be throttled.
	LambdaThrottle(function string) bool
}

// Options configure a Service.
type Options struct {
	Authorizer awsapi.Authorizer
	Roles      Roles
	Code       CodeStore
	Logs       LogStore
	Faults     FaultSource
	// Endpoint is the sandbox's URL, given to functions as AWS_ENDPOINT_URL;
	// CAFile, if set, is the CA that functions trust for it (AWS_CA_BUNDLE,
	// SSL_CERT_FILE), so that they call the sandbox over HTTPS as functions
	// call AWS, and TLS-only bucket policies hold for them.
	Endpoint, CAFile string
	// StateDelay is how long a function created or updated through the API
	// stays Pending / InProgress (default 100ms: long enough that a client
	// which does not wait for Active, as it must on AWS, fails here too).
	// Functions made by CloudFormation are Active when their resource
	// completes, as CloudFormation waits for them.
	StateDelay time.Duration
	// AccountConcurrency is each account's concurrency limit (default 1000).
	AccountConcurrency int
	// IdleTimeout is how long an idle instance stays warm (default 10 minutes).
	IdleTimeout time.Duration
	// AsyncRetryDelay is the wait before the first of the two retries of a
	// failed Event invocation, doubled for the second (AWS waits about a
	// minute, then two; the sandbox 200ms, then 400ms). Throttled events wait
	// it too, and are kept until they run.
	AsyncRetryDelay time.Duration
	Logger          *slog.Logger
	Now             func() time.Time
}

// Service is the Lambda API; it implements http.Handler.
type Service struct {
	opts Options
	now  func() time.Time
	// root holds the unzipped task roots and instance output files.
	rootOnce sync.Once
	root     string
	rootErr  error

	mu        sync.Mutex
	functions map[fnKey]*function
	closed    bool
	closeCh   chan struct{}  // closed by Close
	wg        sync.WaitGroup // async invocations and instance supervisors

	codeOnce sync.Once
	codeSrv  *codeServer
}

// New returns a Lambda service with no functions. Close removes its files
// and stops every instance.
func New(opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.AccountConcurrency <= 0 {
		opts.AccountConcurrency = 1000
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 10 * time.Minute
	}
	if opts.StateDelay <= 0 {
		opts.StateDelay = 100 * time.Millisecond
	}
	if opts.AsyncRetryDelay <= 0 {
		opts.AsyncRetryDelay = 200 * time.Millisecond
	}
	return &Service{opts: opts, now: opts.Now, functions: map[fnKey]*function{}, closeCh: make(chan struct{})}
}

// taskRoot is the directory task roots and instance output go in, made on
// first use.
func (s *Service) taskRoot() (string, error) {
	s.rootOnce.Do(func() {
		s.root, s.rootErr = os.MkdirTemp("", "sandbox-lambda-")
	})
	return s.root, s.rootErr
}

// Close stops every instance (killing their process groups), waits for
// asynchronous invocations to end and removes the unzipped code.
func (s *Service) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.closeCh)
	var all []*instance
	for _, f := range s.functions {
		all = append(all, f.instances...)
	}
	s.mu.Unlock()
	for _, in := range all {
		in.kill()
	}
	s.wg.Wait()
	if s.codeSrv != nil {
		s.codeSrv.close()
	}
	if s.root != "" {
		_ = os.RemoveAll(s.root)
	}
}

// routes are Lambda's operations the sandbox serves, read from the SDK's schemas.
var routes = awsapi.NewRESTJSON("InvalidRequestContentException",
	awsapi.RESTOp{Operation: schemas.CreateFunction, Input: schemas.CreateFunctionRequest},
	awsapi.RESTOp{Operation: schemas.GetFunction, Input: schemas.GetFunctionRequest},
	awsapi.RESTOp{Operation: schemas.GetFunctionConfiguration, Input: schemas.GetFunctionConfigurationRequest},
	awsapi.RESTOp{Operation: schemas.UpdateFunctionCode, Input: schemas.UpdateFunctionCodeRequest},
	awsapi.RESTOp{Operation: schemas.UpdateFunctionConfiguration, Input: schemas.UpdateFunctionConfigurationRequest},
	awsapi.RESTOp{Operation: schemas.DeleteFunction, Input: schemas.DeleteFunctionRequest},
	awsapi.RESTOp{Operation: schemas.ListFunctions, Input: schemas.ListFunctionsRequest},
	awsapi.RESTOp{Operation: schemas.Invoke, Input: schemas.InvocationRequest},
	awsapi.RESTOp{Operation: schemas.AddPermission, Input: schemas.AddPermissionRequest},
	awsapi.RESTOp{Operation: schemas.RemovePermission, Input: schemas.RemovePermissionRequest},
	awsapi.RESTOp{Operation: schemas.GetPolicy, Input: schemas.GetPolicyRequest},
	awsapi.RESTOp{Operation: schemas.PublishVersion, Input: schemas.PublishVersionRequest},
	awsapi.RESTOp{Operation: schemas.ListVersionsByFunction, Input: schemas.ListVersionsByFunctionRequest},
	awsapi.RESTOp{Operation: schemas.CreateAlias, Input: schemas.CreateAliasRequest},
	awsapi.RESTOp{Operation: schemas.GetAlias, Input: schemas.GetAliasRequest},
	awsapi.RESTOp{Operation: schemas.UpdateAlias, Input: schemas.UpdateAliasRequest},
	awsapi.RESTOp{Operation: schemas.DeleteAlias, Input: schemas.DeleteAliasRequest},
	awsapi.RESTOp{Operation: schemas.ListAliases, Input: schemas.ListAliasesRequest},
	awsapi.RESTOp{Operation: schemas.PutFunctionConcurrency, Input: schemas.PutFunctionConcurrencyRequest},
	awsapi.RESTOp{Operation: schemas.GetFunctionConcurrency, Input: schemas.GetFunctionConcurrencyRequest},
	awsapi.RESTOp{Operation: schemas.DeleteFunctionConcurrency, Input: schemas.DeleteFunctionConcurrencyRequest},
)

// Operation names the operation of a request ("" if none), for the
// sandbox's request log and fault rules.
func Operation(r *http.Request) string { return routes.Operation(r) }

// MaxRequestBody is the largest request Lambda reads: a CreateFunction
// carrying a 50 MB zip, base64-encoded.
const MaxRequestBody = 69_905_067

// TooLarge is Lambda's answer to a body over MaxRequestBody.
func TooLarge(op string) *awsapi.Error {
	if op == "" {
		op = "CreateFunction"
	}
	return awsapi.Errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", "Request must be smaller than %d bytes for the %s operation", MaxRequestBody, op)
}

// request is a matched API request.
type request struct {
	r      *http.Request
	op     *awsapi.RESTOperation
	labels map[string]string
	body   []byte
}

func (q *request) query(name string) string { return q.r.URL.Query().Get(name) }

// decode reads the JSON body into v.
func (q *request) decode(v any) error { return routes.Decode(q.op, q.body, v) }

// result is a handler's answer: a status (0 = the operation's default) and
// a JSON body (nil = none).
type result struct {
	status int
	body   any
}

type handler func(s *Service, call *awsapi.Call, q *request) (result, error)

var handlers = map[string]handler{
	"CreateFunction":              (*Service).createFunction,
	"GetFunction":                 (*Service).getFunction,
	"GetFunctionConfiguration":    (*Service).getFunctionConfiguration,
	"UpdateFunctionCode":          (*Service).updateFunctionCode,
	"UpdateFunctionConfiguration": (*Service).updateFunctionConfiguration,
	"DeleteFunction":              (*Service).deleteFunction,
	"ListFunctions":               (*Service).listFunctions,
	"AddPermission":               (*Service).addPermission,
	"RemovePermission":            (*Service).removePermission,
	"GetPolicy":                   (*Service).getPolicy,
	"PublishVersion":              (*Service).publishVersion,
	"ListVersionsByFunction":      (*Service).listVersionsByFunction,
	"CreateAlias":                 (*Service).createAlias,
	"GetAlias":                    (*Service).getAlias,
	"UpdateAlias":                 (*Service).updateAlias,
	"DeleteAlias":                 (*Service).deleteAlias,
	"ListAliases":                 (*Service).listAliases,
	"PutFunctionConcurrency":      (*Service).putFunctionConcurrency,
	"GetFunctionConcurrency":      (*Service).getFunctionConcurrency,
	"DeleteFunctionConcurrency":   (*Service).deleteFunctionConcurrency,
}

// ServeHTTP serves one authenticated REST-JSON request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, ok := routes.Read(w, r)
	if !ok {
		return
	}
	call, op := req.Call, req.Op
	q := &request{r: r, op: op, labels: req.Labels, body: req.Body}
	if op.Name == "Invoke" {
		s.serveInvoke(w, call, q)
		return
	}
	res, err := handlers[op.Name](s, call, q)
	if err != nil {
		awsapi.WriteRESTJSONError(w, call, err)
		return
	}
	status := res.status
	if status == 0 {
		status = op.Status
	}
	awsapi.WriteRESTJSON(w, call, status, res.body)
}

// authorize checks lambda:<action> on a function resource for the caller,
// with the function's resource policy when it has one.
func (s *Service) authorize(call *awsapi.Call, action, arn, account, policy string) error {
	if s.opts.Authorizer == nil {
		return nil
	}
	return s.opts.Authorizer.Authorize(call, "lambda:"+action, awsapi.Resource{ARN: arn, Account: account, Policy: policy}, nil)
}

// lookup finds a function. s.mu must be held.
func (s *Service) lookup(r ref) (*function, error) {
	f := s.functions[r.key()]
	if f == nil {
		return nil, functionNotFound(r)
	}
	return f, nil
}

// resolve finds the version a qualifier names: $LATEST (or none), a version
// number, or an alias. s.mu must be held.
func (f *function) resolve(r ref) (*version, error) {
	switch q := r.qualifier; {
	case q == "" || q == latest:
		return f.latest, nil
	case versionNumber(q):
		if v := f.versions[q]; v != nil {
			return v, nil
		}
	default:
		if a := f.aliases[q]; a != nil {
			return f.versionByNumber(a.version), nil
		}
	}
	return nil, functionNotFound(r)
}

func (f *function) versionByNumber(n string) *version {
	if n == latest {
		return f.latest
	}
	return f.versions[n]
}
