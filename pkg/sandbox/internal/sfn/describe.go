package sfn

import (
	sdk "github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// Descriptor presents Step Functions to the sandbox's router.
var Descriptor = &awsapi.Descriptor{
	SigningName:  "states",
	Title:        "Step Functions",
	Protocol:     awsapi.ProtoJSON10,
	TargetPrefix: "AWSStepFunctions.",
	ServerError:  "InternalFailure",
	Client:       (*sdk.Client)(nil),
	LowerCamel:   true,
}
