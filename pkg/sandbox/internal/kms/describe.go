package kms

import (
	sdk "github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// Descriptor presents KMS to the sandbox's router.
var Descriptor = &awsapi.Descriptor{
	SigningName:  "kms",
	Title:        "KMS",
	Protocol:     awsapi.ProtoJSON11,
	TargetPrefix: "TrentService.",
	ServerError:  "KMSInternalException",
	Client:       (*sdk.Client)(nil),
}
