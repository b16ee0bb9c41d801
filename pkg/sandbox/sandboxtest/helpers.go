package sandboxtest

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stackerless/stackerless/pkg/sandbox"
)

// Profiles is the text of an AWS config file with one profile per sandbox
// account, named after it and holding its root keys.
func Profiles(sb *sandbox.Sandbox) string {
	var b strings.Builder
	for _, a := range sb.Accounts() {
		fmt.Fprintf(&b, "[profile %s]\naws_access_key_id = %s\naws_secret_access_key = %s\n\n", a.Name, a.AccessKeyID, a.SecretAccessKey)
	}
	return b.String()
}

// ReplaceBody is an SDK API option that swaps the body a client serialized
// for body before the request is signed, so a test can send, through the
// real client's signing and error decoding, what no SDK would.
func ReplaceBody(body string) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		// Before the build step's content length and the payload hash.
		return s.Build.Add(middleware.BuildMiddlewareFunc("ReplaceBody",
			func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
				req, ok := in.Request.(*smithyhttp.Request)
				if !ok {
					return middleware.BuildOutput{}, middleware.Metadata{}, errors.New("unexpected request type")
				}
				req, err := req.SetStream(strings.NewReader(body))
				if err != nil {
					return middleware.BuildOutput{}, middleware.Metadata{}, err
				}
				in.Request = req
				return next.HandleBuild(ctx, in)
			}), middleware.Before)
	}
}

// UnsignedHeader is an SDK API option that sends the header name with value
// outside the signature: any value the client serialized is kept out of the
// signing, and value is set only once the request is signed, as a tampering
// proxy or a careless client would. The real client still signs and decodes.
func UnsignedHeader(name, value string) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		hide := middleware.FinalizeMiddlewareFunc("HideHeader"+name,
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if req, ok := in.Request.(*smithyhttp.Request); ok {
					req.Header.Del(name)
				}
				return next.HandleFinalize(ctx, in)
			})
		set := middleware.FinalizeMiddlewareFunc("SetUnsignedHeader"+name,
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if req, ok := in.Request.(*smithyhttp.Request); ok {
					req.Header.Set(name, value)
				}
				return next.HandleFinalize(ctx, in)
			})
		// "Signing" is the SDK's signing step in Finalize.
		if err := s.Finalize.Insert(hide, "Signing", middleware.Before); err != nil {
			return err
		}
		return s.Finalize.Insert(set, "Signing", middleware.After)
	}
}

// CAEnv is the environment that makes the AWS CLI and SDKs (AWS_CA_BUNDLE),
// Node and the CDK CLI (NODE_EXTRA_CA_CERTS) and OpenSSL-based tools
// (SSL_CERT_FILE) trust the sandbox's HTTPS listener, for a child process.
func CAEnv(sb *sandbox.Sandbox) []string {
	f := sb.CAFile()
	return []string{"AWS_CA_BUNDLE=" + f, "NODE_EXTRA_CA_CERTS=" + f, "SSL_CERT_FILE=" + f}
}
