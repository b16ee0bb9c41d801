package awsapi

import (
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
	if err := json.Unmarshal(data, v); err != nil {
		return Errorf(http.StatusBadRequest, "SerializationException", "Start of structure or map found where not expected: %v", err)
	}
	return nil
}

// WriteJSON writes a JSON 1.1 success response.
func WriteJSON(w http.ResponseWriter, call *Call, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		WriteJSONError(w, call, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", requestID(call))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

// WriteJSONError writes err as a JSON 1.1 error: {"__type": code, "message": ...}
// with the X-Amzn-ErrorType header the SDKs read.
func WriteJSONError(w http.ResponseWriter, call *Call, err error) {
	e := AsError(err)
	if e.Code == "AccessDenied" {
		// JSON services name it differently, and with a 400 (SSM, EventBridge).
		e = &Error{Status: http.StatusBadRequest, Code: "AccessDeniedException", Message: e.Message}
	}
	data, _ := json.Marshal(map[string]string{"__type": e.Code, "message": e.Message})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.Header().Set("x-amzn-RequestId", requestID(call))
	w.WriteHeader(e.Status)
	_, _ = w.Write(data)
}
