package iam

import (
	sdk "github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// Descriptor presents IAM to the sandbox's router.
var Descriptor = &awsapi.Descriptor{
	SigningName: "iam",
	Title:       "IAM",
	Protocol:    awsapi.ProtoQuery,
	Namespace:   namespace,
	ServerError: "ServiceFailure",
	Client:      (*sdk.Client)(nil),
}
