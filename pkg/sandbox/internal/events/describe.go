package events

import (
	sdk "github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// Descriptor presents EventBridge to the sandbox's router.
var Descriptor = &awsapi.Descriptor{
	SigningName:  "events",
	Title:        "EventBridge",
	Protocol:     awsapi.ProtoJSON11,
	TargetPrefix: "AWSEvents.",
	ServerError:  "InternalException",
	Client:       (*sdk.Client)(nil),
}
