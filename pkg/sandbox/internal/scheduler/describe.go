package scheduler

import (
	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// Descriptor presents EventBridge Scheduler to the sandbox's router: its
// REST-JSON routes check body members as they decode.
var Descriptor = &awsapi.Descriptor{
	SigningName: "scheduler",
	Title:       "EventBridge Scheduler",
	Protocol:    awsapi.ProtoRESTJSON,
	ServerError: "InternalServerException",
	Routes:      routes,
}
