package cfn

import (
	sdk "github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// Descriptor presents CloudFormation to the sandbox's router.
var Descriptor = &awsapi.Descriptor{
	SigningName: "cloudformation",
	Title:       "CloudFormation",
	Protocol:    awsapi.ProtoQuery,
	Namespace:   Namespace,
	ServerError: "InternalFailure",
	Client:      (*sdk.Client)(nil),
}
