package lambda

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// latest is the qualifier of a function's unpublished version.
const latest = "$LATEST"

type fnKey struct{ account, region, name string }

// function is one Lambda function: its $LATEST version, published versions,
// aliases, resource policy and reserved concurrency.
type function struct {
	account, region, name, arn string
	latest                     *version
	versions                   map[string]*version // published, by number
	nextVersion                int
	aliases                    map[string]*alias
	policy                     []statement // the resource policy's statements
	policyRevision             string
	reserved                   *int // reserved concurrency; nil = unreserved
	tags                       map[string]string
	deleted                    bool

	// instances of every version; busy counts those running an invocation.
	instances []*instance
	busy      int
}

// config is what a version runs with.
type config struct {
	runtime, role, handler, description string
	timeout, memory                     int // seconds, MB
	env                                 map[string]string
	arch                                string // x86_64 or arm64
	logGroup, logFormat                 string
	tracingMode                         string
	ephemeral                           int // MB of /tmp
}

// version is $LATEST or a published version.
type version struct {
	fn           *function
	number       string // "$LATEST", "1", ...
	cfg          config
	code         *code
	lastModified time.Time
	revisionID   string
	description  string // of a published version
	// state is Pending until activeAt, then Active; updateDoneAt ends a
	// LastUpdateStatus of InProgress.
	activeAt, updateDoneAt time.Time
	// generation changes with every update, retiring the instances of older ones.
	generation int
}

// arn is the version's qualified ARN ($LATEST too).
func (v *version) arn() string { return v.fn.arn + ":" + v.number }

// alias points a name at a version.
type alias struct {
	name, version, description string
	revisionID                 string
	routing                    map[string]float64
}

func (f *function) aliasARN(name string) string { return f.arn + ":" + name }

func functionARN(region, account, name string) string {
	return "arn:aws:lambda:" + region + ":" + account + ":function:" + name
}

var (
	nameOnly = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	// FunctionName accepts a name, a partial ARN (123456789012:function:name)
	// or a full ARN, each optionally qualified.
	functionRef      = regexp.MustCompile(`^(?:arn:aws[a-zA-Z-]*:lambda:([a-z]{2}(?:-gov)?-[a-z]+-\d):)?(?:(\d{12}):)?(?:function:)?([a-zA-Z0-9_-]+)(?::(\$LATEST|[a-zA-Z0-9_-]+))?$`)
	qualifierPattern = regexp.MustCompile(`^(\$LATEST|[a-zA-Z0-9_-]+)$`)
)

// ref is a parsed FunctionName (plus Qualifier).
type ref struct {
	account, region, name, qualifier string
}

// parseRef resolves a FunctionName as Lambda does, defaulting the account
// and region to the caller's. qualifier is the separate Qualifier parameter.
func parseRef(call *awsapi.Call, fnName, qualifier string, maxLen int) (ref, error) {
	if fnName == "" {
		return ref{}, validation("1 validation error detected: Value null at 'functionName' failed to satisfy constraint: Member must not be null")
	}
	if len(fnName) > maxLen {
		return ref{}, validation("1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to %d", fnName, maxLen)
	}
	m := functionRef.FindStringSubmatch(fnName)
	if m == nil || len(m[3]) > 64 {
		return ref{}, validation("1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", fnName, functionRef.String())
	}
	r := ref{region: m[1], account: m[2], name: m[3], qualifier: m[4]}
	if r.region == "" {
		r.region = call.Region
	}
	if r.account == "" {
		r.account = call.Caller.Account
	}
	if qualifier != "" {
		if !qualifierPattern.MatchString(qualifier) || len(qualifier) > 128 {
			return ref{}, validation("1 validation error detected: Value '%s' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)", qualifier)
		}
		if r.qualifier != "" && r.qualifier != qualifier {
			return ref{}, invalidParam("The derived qualifier from the function name does not match the specified qualifier.")
		}
		r.qualifier = qualifier
	}
	return r, nil
}

func (r ref) key() fnKey { return fnKey{r.account, r.region, r.name} }

func (r ref) arn() string {
	a := functionARN(r.region, r.account, r.name)
	if r.qualifier != "" {
		a += ":" + r.qualifier
	}
	return a
}

// Errors Lambda answers with.

func validation(format string, args ...any) error {
	return awsapi.Errorf(http.StatusBadRequest, "ValidationException", format, args...)
}

func invalidParam(format string, args ...any) error {
	return awsapi.Errorf(http.StatusBadRequest, "InvalidParameterValueException", format, args...)
}

func notFound(format string, args ...any) error {
	return awsapi.Errorf(http.StatusNotFound, "ResourceNotFoundException", format, args...)
}

func conflict(format string, args ...any) error {
	return awsapi.Errorf(http.StatusConflict, "ResourceConflictException", format, args...)
}

func staleRevision() error {
	return awsapi.Errorf(http.StatusPreconditionFailed, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
}

func stalePolicyRevision() error {
	return awsapi.Errorf(http.StatusPreconditionFailed, "PreconditionFailedException", "The RevisionId provided does not match the latest RevisionId for the Lambda function or alias. Call the GetFunction or the GetAlias API to retrieve the latest RevisionId for your resource.")
}

func functionNotFound(r ref) error {
	return notFound("Function not found: %s", r.arn())
}

func newUUID() string { return awsapi.NewUUID() }

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// lastModified formats times as Lambda does: 2026-11-20T12:00:00.000+0000.
func lastModified(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }

// versionNumber reports whether q names a published version.
func versionNumber(q string) bool {
	n, err := strconv.Atoi(q)
	return err == nil && n > 0 && !strings.HasPrefix(q, "0")
}
