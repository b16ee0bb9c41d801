package awsapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/lambda/schemas"
)

func lambdaRoutes() *RESTJSON {
	return NewRESTJSON("InvalidRequestContentException",
		RESTOp{schemas.CreateFunction, schemas.CreateFunctionRequest},
		RESTOp{schemas.GetFunction, schemas.GetFunctionRequest},
		RESTOp{schemas.GetFunctionConfiguration, schemas.GetFunctionConfigurationRequest},
		RESTOp{schemas.UpdateFunctionCode, schemas.UpdateFunctionCodeRequest},
		RESTOp{schemas.ListFunctions, schemas.ListFunctionsRequest},
		RESTOp{schemas.Invoke, schemas.InvocationRequest},
		RESTOp{schemas.RemovePermission, schemas.RemovePermissionRequest},
		RESTOp{schemas.GetPolicy, schemas.GetPolicyRequest},
	)
}

func TestRESTJSONRoutesFromSchemas(t *testing.T) {
	s := lambdaRoutes()
	tests := []struct {
		method, path string
		op           string
		labels       map[string]string
	}{
		{"POST", "/2015-03-31/functions", "CreateFunction", nil},
		{"GET", "/2015-03-31/functions/", "ListFunctions", nil},
		{"GET", "/2015-03-31/functions/fn", "GetFunction", map[string]string{"FunctionName": "fn"}},
		{"GET", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A111111111111%3Afunction%3Afn/configuration", "GetFunctionConfiguration",
			map[string]string{"FunctionName": "arn:aws:lambda:us-east-1:111111111111:function:fn"}},
		{"PUT", "/2015-03-31/functions/fn/code", "UpdateFunctionCode", map[string]string{"FunctionName": "fn"}},
		{"POST", "/2015-03-31/functions/fn/invocations?Qualifier=1", "Invoke", map[string]string{"FunctionName": "fn"}},
		{"GET", "/2015-03-31/functions/fn/policy", "GetPolicy", map[string]string{"FunctionName": "fn"}},
		{"DELETE", "/2015-03-31/functions/fn/policy/sid-1", "RemovePermission", map[string]string{"FunctionName": "fn", "StatementId": "sid-1"}},
		{"DELETE", "/2015-03-31/functions/fn", "", nil},            // DeleteFunction is not routed here
		{"PATCH", "/2015-03-31/functions/fn/code", "", nil},        // wrong method
		{"GET", "/2015-03-31/functions/fn/policy/x/y", "", nil},    // too long
		{"GET", "/2015-03-31/functions//configuration", "", nil},   // empty label
		{"GET", "/2016-01-01/functions/fn/configuration", "", nil}, // other version
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			op, labels, err := s.Match(r)
			if tt.op == "" {
				var e *Error
				if !errors.As(err, &e) || e.Code != "UnknownOperationException" || e.Status != 404 {
					t.Fatalf("Match = %v, %v; want UnknownOperationException", op, err)
				}
				if s.Operation(r) != "" {
					t.Errorf("Operation = %q for an unrouted request", s.Operation(r))
				}
				return
			}
			if err != nil || op.Name != tt.op {
				t.Fatalf("Match = %v, %v; want %s", op, err, tt.op)
			}
			for k, v := range tt.labels {
				if labels[k] != v {
					t.Errorf("label %s = %q, want %q", k, labels[k], v)
				}
			}
			if len(labels) != len(tt.labels) {
				t.Errorf("labels = %v, want %v", labels, tt.labels)
			}
		})
	}
	create, _, _ := s.Match(httptest.NewRequest("POST", "/2015-03-31/functions", nil))
	if create.Status != 201 {
		t.Errorf("CreateFunction status %d, want the model's 201", create.Status)
	}
}

func TestRESTJSONDecode(t *testing.T) {
	s := lambdaRoutes()
	code, _, _ := s.Match(httptest.NewRequest("PUT", "/2015-03-31/functions/fn/code", nil))
	invoke, _, _ := s.Match(httptest.NewRequest("POST", "/2015-03-31/functions/fn/invocations", nil))
	var in struct {
		S3Bucket string
		Publish  bool
	}
	if err := s.Decode(code, []byte(`{"S3Bucket":"b","Publish":true}`), &in); err != nil || in.S3Bucket != "b" || !in.Publish {
		t.Fatalf("Decode = %v, %+v", err, in)
	}
	if err := s.Decode(code, nil, &in); err != nil {
		t.Errorf("an empty body is {}: %v", err)
	}
	tests := []struct {
		name, body, code, msg string
	}{
		{"unknown member", `{"S3Bucket":"b","Bogus":1}`, "ValidationException", `Unknown parameter in input: "Bogus", must be one of: Architectures, DryRun, `},
		{"label member in the body", `{"FunctionName":"fn"}`, "ValidationException", `Unknown parameter in input: "FunctionName"`},
		{"members are case-sensitive", `{"s3bucket":"b"}`, "ValidationException", `"s3bucket"`},
		{"not json", `{`, "InvalidRequestContentException", "Could not parse request body into json"},
		{"not an object", `[1]`, "InvalidRequestContentException", "Could not parse request body into json"},
		{"wrong type", `{"Publish":"yes"}`, "InvalidRequestContentException", `Cannot deserialize value of type string for field "Publish"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Decode(code, []byte(tt.body), &in)
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.code || e.Status != 400 || !strings.Contains(e.Message, tt.msg) {
				t.Fatalf("Decode(%s) = %v, want %s containing %q", tt.body, err, tt.code, tt.msg)
			}
		})
	}
	// A payload operation takes any JSON object: the body is the payload.
	var payload map[string]any
	if err := s.Decode(invoke, []byte(`{"anything":1}`), &payload); err != nil {
		t.Errorf("payload body refused: %v", err)
	}
}

func TestRESTJSONErrors(t *testing.T) {
	call := &Call{RequestID: "req-1"}
	tests := []struct {
		name   string
		err    error
		status int
		code   string
		body   map[string]string
	}{
		{"user error", Errorf(404, "ResourceNotFoundException", "Function not found: x"), 404, "ResourceNotFoundException",
			map[string]string{"Type": "User", "message": "Function not found: x"}},
		{"access denied", AccessDenied("User: u is not authorized"), 403, "AccessDeniedException",
			map[string]string{"Type": "User", "message": "User: u is not authorized"}},
		{"unknown errors are the service's", errors.New("boom"), 500, "ServiceException", map[string]string{"Type": "Service", "message": "boom"}},
		{"fields", &Error{Status: 429, Code: "TooManyRequestsException", Message: "Rate Exceeded.", Fields: map[string]string{"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"}},
			429, "TooManyRequestsException", map[string]string{"Type": "User", "message": "Rate Exceeded.", "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteRESTJSONError(rec, call, tt.err)
			if rec.Code != tt.status || rec.Header().Get("X-Amzn-ErrorType") != tt.code || rec.Header().Get("x-amzn-RequestId") != "req-1" {
				t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if len(body) != len(tt.body) {
				t.Errorf("body %v, want %v", body, tt.body)
			}
			for k, v := range tt.body {
				if body[k] != v {
					t.Errorf("body[%s] = %q, want %q", k, body[k], v)
				}
			}
		})
	}
	rec := httptest.NewRecorder()
	WriteRESTJSON(rec, call, http.StatusNoContent, nil)
	if rec.Code != 204 || rec.Body.Len() != 0 {
		t.Errorf("no-body success: %d %q", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	WriteRESTJSON(rec, call, http.StatusCreated, map[string]string{"FunctionName": "fn"})
	if rec.Code != 201 || rec.Header().Get("Content-Type") != "application/json" || !strings.Contains(rec.Body.String(), `"FunctionName":"fn"`) {
		t.Errorf("success: %d %v %s", rec.Code, rec.Header(), rec.Body.String())
	}
}
