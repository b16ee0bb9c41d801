package ssm

import (
	sdk "github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// Descriptor presents SSM to the sandbox's router.
var Descriptor = &awsapi.Descriptor{
	SigningName:  "ssm",
	Title:        "SSM",
	Protocol:     awsapi.ProtoJSON11,
	TargetPrefix: "AmazonSSM.",
	ServerError:  "InternalServerError",
	Client:       (*sdk.Client)(nil),
}
