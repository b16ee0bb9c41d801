package sts

import (
	sdk "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// Descriptor presents STS to the sandbox's router.
var Descriptor = &awsapi.Descriptor{
	SigningName: "sts",
	Title:       "STS",
	Protocol:    awsapi.ProtoQuery,
	Namespace:   namespace,
	ServerError: "InternalFailure",
	Client:      (*sdk.Client)(nil),
}
