package s3

import (
	"net/http"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// MaxBody caps the uploads (objects and parts) the sandbox keeps in memory.
const MaxBody = 256 << 20

// Descriptor presents S3 to the sandbox's router. S3 names its operations
// itself (Operation), and checks its parameters as it parses them.
var Descriptor = &awsapi.Descriptor{
	SigningName: "s3",
	Title:       "S3",
	Protocol:    awsapi.ProtoRESTXML,
	ServerError: "InternalError",
	Operation:   Operation,
	MaxBody:     MaxBody,
	TooLarge: func(*http.Request) *awsapi.Error {
		return awsapi.Errorf(http.StatusRequestEntityTooLarge, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size of %d bytes in the sandbox.", MaxBody)
	},
}
