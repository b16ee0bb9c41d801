package awsapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
)

// DecodeJSON reads a JSON 1.1 request body into v; a malformed body is a 400
// SerializationException, as AWS returns.
func DecodeJSON(r *http.Request, v any) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return Errorf(http.StatusBadRequest, "SerializationException", "read request body: %v", err)
	}
	if len(data) == 0 {
		data = []byte("{}")
	}
	return Unmarshal(data, v)
}

// WriteJSON writes a JSON 1.1 success response.
func WriteJSON(w http.ResponseWriter, call *Call, v any) { writeJSON(w, call, ProtoJSON11, v) }

// WriteJSONError writes err as a JSON 1.1 error.
func WriteJSONError(w http.ResponseWriter, call *Call, err error) {
	writeJSONError(w, call, ProtoJSON11, err)
}

// writeJSON writes a success response of JSON protocol p.
func writeJSON(w http.ResponseWriter, call *Call, p Protocol, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		writeJSONError(w, call, p, err)
		return
	}
	w.Header().Set("Content-Type", p.jsonContentType())
	w.Header().Set("x-amzn-RequestId", requestID(call))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

// writeJSONError writes err as JSON protocol p's error: {"__type": code,
// "message": ...} with the X-Amzn-ErrorType header the SDKs read.
func writeJSONError(w http.ResponseWriter, call *Call, p Protocol, err error) {
	e := AsError(err)
	if e.Code == "AccessDenied" {
		// JSON services name it differently, and with a 400 (SSM, EventBridge).
		e = &Error{Status: http.StatusBadRequest, Code: "AccessDeniedException", Message: e.Message}
	}
	data, _ := json.Marshal(map[string]string{"__type": e.Code, "message": e.Message})
	w.Header().Set("Content-Type", p.jsonContentType())
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.Header().Set("x-amzn-RequestId", requestID(call))
	w.WriteHeader(e.Status)
	_, _ = w.Write(data)
}

// ServeJSON serves one authenticated request of a JSON service (JSON 1.0 or
// 1.1, as d says): it finds the action's handler in handlers, reads the body
// (an empty one is {}), runs the handler through run and writes its result
// or error in d's protocol.
func ServeJSON[H any](d *Descriptor, w http.ResponseWriter, r *http.Request, handlers map[string]H,
	run func(h H, ctx context.Context, call *Call, body []byte) (any, error)) {
	call := CallFrom(r.Context())
	if call == nil || call.Caller == nil {
		writeJSONError(w, call, d.Protocol, Errorf(http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"))
		return
	}
	h, ok := handlers[call.Action]
	if !ok {
		writeJSONError(w, call, d.Protocol, UnknownOperation(d, call.Action))
		return
	}
	var body json.RawMessage
	if err := DecodeJSON(r, &body); err != nil {
		writeJSONError(w, call, d.Protocol, err)
		return
	}
	out, err := run(h, r.Context(), call, body)
	if err != nil {
		writeJSONError(w, call, d.Protocol, err)
		return
	}
	writeJSON(w, call, d.Protocol, out)
}

// JSONAction is an action of a JSON service S that needs no context.
type JSONAction[S any] func(s S, call *Call, body []byte) (any, error)

// ServeJSONActions is ServeJSON for a service s whose actions are JSONActions.
func ServeJSONActions[S any](d *Descriptor, w http.ResponseWriter, r *http.Request, s S, actions map[string]JSONAction[S]) {
	ServeJSON(d, w, r, actions, func(h JSONAction[S], _ context.Context, call *Call, body []byte) (any, error) {
		return h(s, call, body)
	})
}

// UnknownOperation is the error for an action the sandbox's service d does not serve.
func UnknownOperation(d *Descriptor, action string) *Error {
	return Errorf(http.StatusBadRequest, "UnknownOperationException", "The sandbox's %s does not support the operation %s.", d.Title, action)
}

// Unmarshal reads a JSON request body into v; a malformed one is a 400
// SerializationException, as AWS returns.
func Unmarshal(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return Errorf(http.StatusBadRequest, "SerializationException", "Start of structure or map found where not expected: %v", err)
	}
	return nil
}

// Decoded adapts a handler of a typed input to one of the raw body: the
// body is decoded into a fresh In (a malformed one is a SerializationException).
func Decoded[S, In any](fn func(s S, call *Call, in *In) (any, error)) JSONAction[S] {
	return func(s S, call *Call, body []byte) (any, error) {
		in := new(In)
		if err := Unmarshal(body, in); err != nil {
			return nil, err
		}
		return fn(s, call, in)
	}
}
