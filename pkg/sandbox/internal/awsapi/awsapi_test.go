package awsapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestFormLists(t *testing.T) {
	f := Form(url.Values{
		"Capabilities.member.1":                    {"CAPABILITY_IAM"},
		"Capabilities.member.2":                    {"CAPABILITY_NAMED_IAM"},
		"Capabilities.member.4":                    {"skipped: the list stops at the first gap"},
		"Parameters.member.2.ParameterKey":         {"B"},
		"Parameters.member.1.ParameterKey":         {"A"},
		"Parameters.member.1.ParameterValue":       {"1"},
		"Parameters.member.10.ParameterKey":        {"J"},
		"Parameters.member.x.ParameterKey":         {"ignored: not an index"},
		"Parameters.member.2":                      {"ignored: no field"},
		"Parameters.member.2.UsePreviousValue":     {"true"},
		"Tags.member.1.Key":                        {"k"},
		"NotificationARNs.member.1":                {""},
		"StackName":                                {"s"},
		"Parameters.member.0.ParameterKey":         {"ignored: indexes start at 1"},
		"Parameters.memberish.1.ParameterKey":      {"ignored: other prefix"},
		"OtherParameters.member.1.ParameterKey":    {"ignored: other list"},
		"Parameters.member.3.ParameterValue.Extra": {"kept as field ParameterValue.Extra"},
	})
	if got := strings.Join(f.List("Capabilities"), ","); got != "CAPABILITY_IAM,CAPABILITY_NAMED_IAM" {
		t.Errorf("List = %q", got)
	}
	if got := f.List("NotificationARNs"); len(got) != 1 || got[0] != "" {
		t.Errorf("List of one empty member = %q", got)
	}
	if got := f.List("Missing"); got != nil {
		t.Errorf("List of a missing list = %q", got)
	}
	structs := f.Structs("Parameters")
	var keys []string
	for _, s := range structs {
		keys = append(keys, s["ParameterKey"]+"="+s["ParameterValue"])
	}
	if got := strings.Join(keys, ","); got != "A=1,B=,=,J=" {
		t.Errorf("Structs keys = %q", got)
	}
	if structs[1]["UsePreviousValue"] != "true" || structs[2]["ParameterValue.Extra"] == "" {
		t.Errorf("Structs fields = %v", structs)
	}
	if !f.Has("StackName") || f.Has("Nope") || f.Get("StackName") != "s" {
		t.Error("Get/Has disagree with the form")
	}
}

func TestErrorsKeepTheirShape(t *testing.T) {
	call := &Call{Action: "DescribeStacks", RequestID: "req-1"}
	tests := []struct {
		name       string
		write      func(w http.ResponseWriter)
		status     int
		contains   []string
		errorType  string
		emptyBody  bool
		contentTyp string
	}{
		{
			name: "query validation error",
			write: func(w http.ResponseWriter) {
				WriteQueryError(w, call, "ns", ValidationError("Stack with id %s does not exist", "x"))
			},
			status: 400, contentTyp: "text/xml",
			contains: []string{`<ErrorResponse xmlns="ns">`, "<Type>Sender</Type>", "<Code>ValidationError</Code>", "<Message>Stack with id x does not exist</Message>", "<RequestId>req-1</RequestId>"},
		},
		{
			name:   "query unknown error is a 500 from the receiver",
			write:  func(w http.ResponseWriter) { WriteQueryError(w, call, "ns", errors.New("boom")) },
			status: 500, contains: []string{"<Type>Receiver</Type>", "<Code>InternalFailure</Code>"},
		},
		{
			name:   "wrapped errors keep their code",
			write:  func(w http.ResponseWriter) { WriteQueryError(w, call, "ns", fmt.Errorf("ctx: %w", AccessDenied("no"))) },
			status: 403, contains: []string{"<Code>AccessDenied</Code>"},
		},
		{
			name: "json error",
			write: func(w http.ResponseWriter) {
				WriteJSONError(w, call, Errorf(400, "ParameterNotFound", "no %s", "p"))
			},
			status: 400, errorType: "ParameterNotFound", contentTyp: "application/x-amz-json-1.1",
			contains: []string{`"__type":"ParameterNotFound"`, `"message":"no p"`},
		},
		{
			name: "json services call access denied AccessDeniedException, with a 400",
			write: func(w http.ResponseWriter) {
				WriteJSONError(w, call, AccessDenied("User: x is not authorized"))
			},
			status: 400, errorType: "AccessDeniedException",
			contains: []string{`"__type":"AccessDeniedException"`, `"message":"User: x is not authorized"`},
		},
		{
			name: "rest error with fields",
			write: func(w http.ResponseWriter) {
				WriteRESTError(w, call, &Error{Status: 404, Code: "NoSuchKey", Message: "gone", Fields: map[string]string{"Key": "k", "BucketName": "b"}})
			},
			status: 404, contentTyp: "application/xml",
			contains: []string{"<Code>NoSuchKey</Code>", "<Message>gone</Message>", "<BucketName>b</BucketName><Key>k</Key>", "<RequestId>req-1</RequestId>"},
		},
		{
			name: "rest internal errors use S3's code",
			write: func(w http.ResponseWriter) {
				WriteRESTError(w, call, errors.New("boom"))
			},
			status: 500, contains: []string{"<Code>InternalError</Code>"},
		},
		{
			name: "HEAD errors have no body",
			write: func(w http.ResponseWriter) {
				WriteRESTError(w, &Call{Action: "HeadObject"}, &Error{Status: 404, Code: "NoSuchKey", Message: "gone"})
			},
			status: 404, emptyBody: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.write(rec)
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			body := rec.Body.String()
			for _, c := range tt.contains {
				if !strings.Contains(body, c) {
					t.Errorf("body lacks %s:\n%s", c, body)
				}
			}
			if tt.errorType != "" && rec.Header().Get("X-Amzn-ErrorType") != tt.errorType {
				t.Errorf("X-Amzn-ErrorType = %q", rec.Header().Get("X-Amzn-ErrorType"))
			}
			if tt.contentTyp != "" && rec.Header().Get("Content-Type") != tt.contentTyp {
				t.Errorf("Content-Type = %q", rec.Header().Get("Content-Type"))
			}
			if tt.emptyBody && body != "" {
				t.Errorf("body = %q, want none", body)
			}
		})
	}
}

func TestQueryResult(t *testing.T) {
	rec := httptest.NewRecorder()
	call := &Call{Action: "GetCallerIdentity", RequestID: "req-2"}
	WriteQueryResult(rec, call, "https://sts.amazonaws.com/doc/2011-06-15/", struct {
		Account string
		Arn     string
	}{"111111111111", "arn:aws:iam::111111111111:root"})
	want := `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Account>111111111111</Account><Arn>arn:aws:iam::111111111111:root</Arn></GetCallerIdentityResult><ResponseMetadata><RequestId>req-2</RequestId></ResponseMetadata></GetCallerIdentityResponse>`
	if got := strings.TrimPrefix(rec.Body.String(), `<?xml version="1.0" encoding="UTF-8"?>`+"\n"); got != want {
		t.Errorf("body:\n%s\nwant:\n%s", got, want)
	}
	rec = httptest.NewRecorder()
	WriteQueryResult(rec, &Call{Action: "DeleteStack", RequestID: "r"}, "ns", nil)
	if strings.Contains(rec.Body.String(), "DeleteStackResult") {
		t.Errorf("nil result wrote a Result element: %s", rec.Body.String())
	}
}

func TestDecodeJSON(t *testing.T) {
	var v struct{ Name string }
	if err := DecodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(`{"Name":"x"}`)), &v); err != nil || v.Name != "x" {
		t.Errorf("DecodeJSON = %v, %+v", err, v)
	}
	if err := DecodeJSON(httptest.NewRequest("POST", "/", strings.NewReader("")), &v); err != nil {
		t.Errorf("an empty body is an empty object: %v", err)
	}
	err := DecodeJSON(httptest.NewRequest("POST", "/", strings.NewReader("{")), &v)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Code != "SerializationException" || apiErr.Status != 400 {
		t.Errorf("malformed body: %v", err)
	}
	rec := httptest.NewRecorder()
	WriteJSON(rec, &Call{RequestID: "r"}, map[string]int{"n": 1})
	var out map[string]int
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out["n"] != 1 || rec.Header().Get("x-amzn-RequestId") != "r" {
		t.Errorf("WriteJSON: %v %v %v", err, out, rec.Header())
	}
}
