package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// TaskInvoker runs the Lambda function behind a Task state: the sandbox's
// Lambda Invoke (RequestResponse).
type TaskInvoker interface {
	// InvokeTask invokes functionARN with payload as call.Caller, a session of
	// the state machine's role (so lambda:InvokeFunction is authorized as on
	// AWS), and returns the function's response payload. A failure is a
	// *FunctionError when the function itself failed, or an *awsapi.Error
	// when Lambda refused or failed the call (its Code is the exception name,
	// e.g. TooManyRequestsException, AccessDeniedException).
	InvokeTask(ctx context.Context, call *awsapi.Call, functionARN string, payload []byte) ([]byte, error)
}

// FunctionError is a function's own failure: Lambda answered 200 with
// X-Amz-Function-Error and an error document as payload.
type FunctionError struct {
	// Payload is the error document, e.g. {"errorType":"NegativeError","errorMessage":"..."}.
	Payload []byte
	// Unknown marks failures Lambda reports without a usable error type: the
	// function timed out or its process crashed. Step Functions reports them
	// as Lambda.Unknown, as it does a payload without errorType.
	Unknown bool
}

func (e *FunctionError) Error() string { return "function error: " + string(e.Payload) }

// taskFailure is how a Task's failure reads in the state machine: the error
// name Retry and Catch match, and the cause.
type taskFailure struct{ name, cause string }

// lambdaUnknownCause is what Step Functions says when a function fails without an error type.
const lambdaUnknownCause = "The cause could not be determined because Lambda did not return an error type. Returned payload: "

// failureOf maps an InvokeTask error to AWS's error names: a function error
// keeps its errorType (the whole error document is the cause); one without
// errorType, a timeout or a crash is Lambda.Unknown; a Lambda service error
// is Lambda.<Exception>.
func failureOf(err error) taskFailure {
	var fe *FunctionError
	if errors.As(err, &fe) {
		var doc struct {
			ErrorType string `json:"errorType"`
		}
		if !fe.Unknown && json.Unmarshal(fe.Payload, &doc) == nil && doc.ErrorType != "" {
			return taskFailure{name: doc.ErrorType, cause: string(fe.Payload)}
		}
		return taskFailure{name: "Lambda.Unknown", cause: lambdaUnknownCause + string(fe.Payload)}
	}
	var ae *awsapi.Error
	if errors.As(err, &ae) {
		code := ae.Code
		if code == "AccessDenied" {
			code = "AccessDeniedException" // as Lambda's JSON API names it
		}
		// Step Functions names the exceptions Lambda's model declares; any
		// other (AccessDeniedException) is the client's generic AWSLambdaException.
		name := "Lambda.AWSLambdaException"
		if modeledLambdaErrors[code] {
			name = "Lambda." + code
		}
		return taskFailure{name: name, cause: fmt.Sprintf("%s (Service: AWSLambda; Status Code: %d; Error Code: %s; Request ID: %s; Proxy: null)",
			ae.Message, ae.Status, code, newRevision())}
	}
	return taskFailure{name: "Lambda.SdkClientException", cause: err.Error()}
}

// modeledLambdaErrors are the errors Lambda's Invoke declares.
var modeledLambdaErrors = map[string]bool{
	"ResourceNotFoundException": true, "InvalidRequestContentException": true, "RequestTooLargeException": true,
	"UnsupportedMediaTypeException": true, "TooManyRequestsException": true, "InvalidParameterValueException": true,
	"ServiceException": true, "ResourceConflictException": true, "ResourceNotReadyException": true,
	"InvalidRuntimeException": true, "InvalidZipFileException": true, "RecursiveInvocationException": true,
	"EC2UnexpectedException": true, "EC2ThrottledException": true, "EC2AccessDeniedException": true,
	"ENILimitReachedException": true, "SubnetIPAddressLimitReachedException": true, "InvalidSubnetIDException": true,
	"InvalidSecurityGroupIDException": true, "KMSDisabledException": true, "KMSInvalidStateException": true,
	"KMSAccessDeniedException": true, "KMSNotFoundException": true, "EFSIOException": true, "EFSMountConnectivityException": true,
	"EFSMountFailureException": true, "EFSMountTimeoutException": true, "SnapStartException": true,
	"SnapStartNotReadyException": true, "SnapStartTimeoutException": true,
}
