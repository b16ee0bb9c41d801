package lambda

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// FunctionSpec is a function definition, from CreateFunction,
// UpdateFunctionConfiguration or an AWS::Lambda::Function resource.
type FunctionSpec struct {
	Name, Runtime, Role, Handler, Description string
	// Timeout (seconds) and MemorySize (MB); 0 takes Lambda's defaults (3, 128).
	Timeout, MemorySize int
	Environment         map[string]string
	// Architecture is x86_64 (the default) or arm64.
	Architecture string
	// LogGroup defaults to /aws/lambda/<name>; LogFormat is Text or JSON.
	LogGroup, LogFormat string
	TracingMode         string
	EphemeralStorage    int
	PackageType         string
	Layers              []string
	Tags                map[string]string
	// ReservedConcurrency, if set, reserves (and caps) concurrent executions.
	ReservedConcurrency *int
}

// CodeSource is where a deployment package comes from: the zip itself or
// an S3 object, read with the caller's permissions.
type CodeSource struct {
	ZipFile                          []byte
	S3Bucket, S3Key, S3ObjectVersion string
	ImageURI                         string
}

// Runtimes Lambda no longer lets anyone create or update a function with.
var blockedRuntimes = []string{"nodejs", "nodejs4.3", "nodejs4.3-edge", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x",
	"nodejs16.x", "python2.7", "python3.6", "python3.7", "python3.8", "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1",
	"dotnet6", "ruby2.5", "ruby2.7", "go1.x", "provided", "java8"}

// runnable are the runtimes the sandbox can start: the OS-only ones, whose
// bootstrap is the function's own executable.
var runnable = []string{"provided.al2023", "provided.al2"}

// reservedEnv are the variables Lambda sets and a function may not.
var reservedEnv = []string{"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
	"AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_RUNTIME_API", "AWS_REGION", "AWS_SECRET_ACCESS_KEY",
	"AWS_SESSION_TOKEN", "AWS_XRAY_CONTEXT_MISSING", "AWS_XRAY_DAEMON_ADDRESS", "LAMBDA_RUNTIME_DIR", "LAMBDA_TASK_ROOT",
	"_AWS_XRAY_DAEMON_ADDRESS", "_AWS_XRAY_DAEMON_PORT"}

var (
	envKeyPattern  = regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9_])+$`)
	rolePattern    = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)
	handlerPattern = regexp.MustCompile(`^[^\s]+$`)
)

// validate checks a definition as CreateFunction does, and fills defaults.
// UpdateFunctionConfiguration merges its changes into the current
// definition before validating it.
func (sp *FunctionSpec) validate() error {
	if !nameOnly.MatchString(sp.Name) {
		return validation("1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+", sp.Name)
	}
	if sp.PackageType == "Image" {
		return invalidParam("The sandbox runs Zip functions only; container image functions (PackageType Image) are not supported.")
	}
	if sp.PackageType != "" && sp.PackageType != "Zip" {
		return validation("1 validation error detected: Value '%s' at 'packageType' failed to satisfy constraint: Member must satisfy enum value set: [Image, Zip]", sp.PackageType)
	}
	if sp.Runtime == "" || sp.Handler == "" {
		return invalidParam("Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	if err := checkRuntime(sp.Runtime); err != nil {
		return err
	}
	if len(sp.Handler) > 128 || !handlerPattern.MatchString(sp.Handler) {
		return validation("1 validation error detected: Value '%s' at 'handler' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\\s]+", sp.Handler)
	}
	if !rolePattern.MatchString(sp.Role) {
		return validation("1 validation error detected: Value '%s' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+", sp.Role)
	}
	if len(sp.Description) > 256 {
		return validation("1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 256")
	}
	for _, r := range []struct {
		member      string
		v           *int
		def, lo, hi int
	}{
		{"timeout", &sp.Timeout, 3, 1, 900},
		{"memorySize", &sp.MemorySize, 128, 128, 10240},
		{"ephemeralStorage.size", &sp.EphemeralStorage, 512, 512, 10240},
	} {
		if *r.v == 0 {
			*r.v = r.def
		}
		if *r.v < r.lo {
			return validation("1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value greater than or equal to %d", *r.v, r.member, r.lo)
		}
		if *r.v > r.hi {
			return validation("1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value less than or equal to %d", *r.v, r.member, r.hi)
		}
	}
	for _, e := range []struct {
		member string
		v      *string
		values []string // the first is the default
	}{
		{"architectures", &sp.Architecture, []string{"x86_64", "arm64"}},
		{"loggingConfig.logFormat", &sp.LogFormat, []string{"Text", "JSON"}},
		{"tracingConfig.mode", &sp.TracingMode, []string{"PassThrough", "Active"}},
	} {
		if *e.v == "" {
			*e.v = e.values[0]
		}
		if !slices.Contains(e.values, *e.v) {
			return validation("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum value set: [%s]", *e.v, e.member, strings.Join(e.values, ", "))
		}
	}
	if sp.LogGroup == "" {
		sp.LogGroup = "/aws/lambda/" + sp.Name
	}
	if len(sp.Layers) > 0 {
		return invalidParam("Layer version %s does not exist. (The sandbox serves no layers.)", sp.Layers[0])
	}
	if sp.ReservedConcurrency != nil && *sp.ReservedConcurrency < 0 {
		return validation("1 validation error detected: Value '%d' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0", *sp.ReservedConcurrency)
	}
	return checkEnv(sp.Environment)
}

// checkRuntime refuses what Lambda refuses: values outside the enum, and
// runtimes past their block-create date.
func checkRuntime(rt string) error {
	var valid []string
	for _, r := range types.Runtime("").Values() {
		valid = append(valid, string(r))
	}
	if !slices.Contains(valid, rt) {
		return validation("1 validation error detected: Value '%s' at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [%s] or be a valid ARN", rt, strings.Join(valid, ", "))
	}
	if slices.Contains(blockedRuntimes, rt) {
		return invalidParam("The runtime parameter of %s is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions.", rt)
	}
	return nil
}

// checkEnv applies Lambda's rules for environment variables: key syntax,
// reserved keys, and 4 KB for the whole set as JSON.
func checkEnv(env map[string]string) error {
	var reserved []string
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !envKeyPattern.MatchString(k) {
			return validation("1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]")
		}
		if slices.Contains(reservedEnv, k) {
			reserved = append(reserved, k)
		}
	}
	if len(reserved) > 0 {
		return invalidParam("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ", "))
	}
	if data, _ := json.Marshal(env); len(env) > 0 && len(data) > 4096 {
		return invalidParam("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %s", data)
	}
	return nil
}

// readCode fetches a deployment package as Lambda does for the caller.
func (s *Service) readCode(call *awsapi.Call, src CodeSource) (*code, error) {
	switch {
	case src.ImageURI != "":
		return nil, invalidParam("The sandbox runs Zip functions only; container image functions (ImageUri) are not supported.")
	case len(src.ZipFile) > 0 && src.S3Bucket != "":
		return nil, invalidParam("Please do not provide other FunctionCode parameters when providing a ZipFile.")
	case len(src.ZipFile) > 0:
		if len(src.ZipFile) > maxZipDirect {
			return nil, awsapi.Errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", "Request must be smaller than %d bytes for the %s operation", MaxRequestBody, call.Action)
		}
		return newCode(src.ZipFile)
	case src.S3Bucket == "" || src.S3Key == "":
		return nil, invalidParam("Please provide a source for function code.")
	}
	if s.opts.Code == nil {
		return nil, invalidParam("Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist")
	}
	// Lambda fetches the package over TLS, with the caller's permissions.
	fetch := *call
	fetch.Secure = true
	data, err := s.opts.Code.ReadObject(&fetch, src.S3Bucket, src.S3Key, src.S3ObjectVersion)
	if err != nil {
		var e *awsapi.Error
		if errors.As(err, &e) && (e.Code == "AccessDenied" || e.Status == http.StatusForbidden) {
			return nil, awsapi.Errorf(http.StatusForbidden, "AccessDeniedException",
				"Your access has been denied by S3, please make sure your request credentials have permission to GetObject for %s/%s. S3 Error Code: AccessDenied. S3 Error Message: Access Denied", src.S3Bucket, src.S3Key)
		}
		e = awsapi.AsError(err)
		return nil, invalidParam("Error occurred while GetObject. S3 Error Code: %s. S3 Error Message: %s", e.Code, e.Message)
	}
	return newCode(data)
}

// checkRole makes sure the caller may pass the role to Lambda and that Lambda
// can assume it, as CreateFunction and UpdateFunctionConfiguration do.
func (s *Service) checkRole(call *awsapi.Call, account, functionARN, role string) error {
	if s.opts.Roles == nil {
		return nil
	}
	if err := s.opts.Roles.PassRole(call, role, servicePrincipal); err != nil {
		return err
	}
	if _, err := s.opts.Roles.AssumeRoleForService(role, servicePrincipal, "sandbox-role-check", sourceKeys(account, functionARN)); err != nil {
		return invalidParam("The role defined for the function cannot be assumed by Lambda.")
	}
	return nil
}

// sourceKeys are the condition keys Lambda sends when it assumes a role.
func sourceKeys(account, functionARN string) map[string]string {
	return map[string]string{"aws:SourceAccount": account, "aws:SourceArn": functionARN}
}
