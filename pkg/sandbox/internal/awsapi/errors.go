package awsapi

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an AWS-shaped API error. Its Code is what SDKs switch on.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code is AWS's error code, e.g. ValidationError, AccessDenied, NoSuchKey.
	Code string
	// Message is the human-readable message.
	Message string
	// Receiver marks server-side faults (Query protocol <Type>Receiver</Type>).
	Receiver bool
	// Fields are extra elements rendered in REST/XML errors (e.g. BucketName, Key).
	Fields map[string]string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given status, code and formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...), Receiver: status >= 500}
}

// ValidationError is the Query services' 400 for bad input.
func ValidationError(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, "ValidationError", format, args...)
}

// AccessDenied is the 403 returned when policies do not allow a call.
func AccessDenied(format string, args ...any) *Error {
	return Errorf(http.StatusForbidden, "AccessDenied", format, args...)
}

// AsError converts any error to an *Error; unknown errors become 500 InternalFailure.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error(), Receiver: true}
}
