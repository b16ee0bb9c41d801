package lambda

import (
	"net/http"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// Descriptor presents Lambda to the sandbox's router: its REST-JSON routes
// (which check body members as they decode), its body cap and its own
// throttling error.
var Descriptor = &awsapi.Descriptor{
	SigningName: "lambda",
	Title:       "Lambda",
	Protocol:    awsapi.ProtoRESTJSON,
	ServerError: "ServiceException",
	Routes:      routes,
	MaxBody:     MaxRequestBody,
	TooLarge:    func(r *http.Request) *awsapi.Error { return TooLarge(routes.Operation(r)) },
	Throttle: &awsapi.Error{Status: http.StatusTooManyRequests, Code: "TooManyRequestsException", Message: "Rate exceeded",
		Fields: map[string]string{"Reason": "CallerRateLimitExceeded"}},
}
