package logs

import (
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// Descriptor presents CloudWatch Logs to the sandbox's router.
var Descriptor = &awsapi.Descriptor{
	SigningName:  "logs",
	Title:        "CloudWatch Logs",
	Protocol:     awsapi.ProtoJSON11,
	TargetPrefix: "Logs_20140328.",
	ServerError:  "ServiceUnavailableException",
	Client:       (*sdk.Client)(nil),
	LowerCamel:   true,
}
