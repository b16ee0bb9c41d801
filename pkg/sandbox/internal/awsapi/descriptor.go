package awsapi

import (
	"net/http"
)

// Protocol is the wire protocol a service speaks: how the router finds a
// request's action and how errors are written.
type Protocol int

const (
	// ProtoQuery is a form body with Action, answered in XML (STS, IAM, CloudFormation).
	ProtoQuery Protocol = iota + 1
	// ProtoJSON10 is JSON 1.0, the action in X-Amz-Target (Step Functions).
	ProtoJSON10
	// ProtoJSON11 is JSON 1.1, the action in X-Amz-Target (SSM, EventBridge, CloudWatch Logs).
	ProtoJSON11
	// ProtoRESTXML is REST with XML bodies (S3).
	ProtoRESTXML
	// ProtoRESTJSON is REST with JSON bodies (Lambda, Scheduler).
	ProtoRESTJSON
)

// IsJSON reports whether the protocol is JSON 1.0 or 1.1.
func (p Protocol) IsJSON() bool { return p == ProtoJSON10 || p == ProtoJSON11 }

// jsonContentType is the Content-Type of a JSON protocol's responses.
func (p Protocol) jsonContentType() string {
	if p == ProtoJSON10 {
		return "application/x-amz-json-1.0"
	}
	return "application/x-amz-json-1.1"
}

// Descriptor is what a sandbox service tells the sandbox about itself: the
// requests that are its own, the parameters its actions take, and the shape
// of its errors. Each service package declares one; registering it with the
// service's handler is all the router needs to route, authenticate,
// parameter-check, fault and answer errors for the service.
type Descriptor struct {
	// SigningName is the service in SigV4 credential scopes (e.g. "states"):
	// requests signed for it are the service's.
	SigningName string
	// Title names the service in messages (e.g. "Step Functions").
	Title    string
	Protocol Protocol
	// Namespace is the XML namespace of a Query service's results and errors.
	Namespace string
	// TargetPrefix is a JSON service's X-Amz-Target prefix (e.g.
	// "AWSStepFunctions."); what follows it is the action.
	TargetPrefix string
	// ServerError is the service's code for an internal error (500), which
	// the SDKs retry.
	ServerError string
	// Throttle, when set, is the service's throttling error where it is not
	// its protocol's (Lambda's 429 TooManyRequestsException).
	Throttle *Error
	// Client is the service's aws-sdk-go-v2 client, e.g. (*sfn.Client)(nil).
	// The exported fields of its operations' inputs are the parameters a
	// Query or JSON action takes; any other is refused as the AWS CLI refuses
	// it. Nil checks none (REST services check their own).
	Client any
	// LowerCamel says the JSON members are the SDK's field names starting
	// lower-case (stateMachineArn, logGroupName).
	LowerCamel bool
	// Routes are a REST-JSON service's operations; they name its requests'
	// operations unless Operation is set.
	Routes *RESTJSON
	// Operation names a REST request's operation (for the call, fault rules
	// and the request log), or "" when none fits.
	Operation func(*http.Request) string
	// MaxBody, when set, replaces the protocol's request body cap; TooLarge,
	// when set, answers a body over it.
	MaxBody  int64
	TooLarge func(*http.Request) *Error
}

// OperationOf names the operation of a REST request ("" when none fits).
func (d *Descriptor) OperationOf(r *http.Request) string {
	switch {
	case d.Operation != nil:
		return d.Operation(r)
	case d.Routes != nil:
		return d.Routes.Operation(r)
	}
	return ""
}

// ThrottleError is the error of a throttled request.
func (d *Descriptor) ThrottleError() *Error {
	if d.Throttle != nil {
		e := *d.Throttle
		return &e
	}
	switch d.Protocol {
	case ProtoJSON10, ProtoJSON11:
		return Errorf(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
	case ProtoRESTXML:
		return Errorf(http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
	case ProtoRESTJSON:
		return Errorf(http.StatusTooManyRequests, "ThrottlingException", "Rate exceeded")
	default:
		return Errorf(http.StatusBadRequest, "Throttling", "Rate exceeded")
	}
}

// InternalError is the service's internal error (500) with msg.
func (d *Descriptor) InternalError(msg string) *Error {
	return Errorf(http.StatusInternalServerError, d.ServerError, "%s", msg)
}

// WriteError writes err in the service's protocol.
func (d *Descriptor) WriteError(w http.ResponseWriter, r *http.Request, call *Call, err error) {
	WriteError(w, r, call, d.Protocol, d.Namespace, err)
}

// WriteError writes err in protocol p; namespace is a Query service's XML
// namespace. Errors of HEAD requests (REST-XML) have no body.
func WriteError(w http.ResponseWriter, r *http.Request, call *Call, p Protocol, namespace string, err error) {
	switch p {
	case ProtoQuery:
		WriteQueryError(w, call, namespace, err)
	case ProtoJSON10, ProtoJSON11:
		writeJSONError(w, call, p, err)
	case ProtoRESTJSON:
		WriteRESTJSONError(w, call, err)
	default:
		if r.Method == http.MethodHead {
			w.WriteHeader(AsError(err).Status)
			return
		}
		WriteRESTError(w, call, err)
	}
}
