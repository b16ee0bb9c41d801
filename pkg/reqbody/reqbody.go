// Package reqbody keeps aws-sdk-go-v2 request bodies from breaking the
// connection a response is read from.
//
// The SDK wraps every request body so that it reads io.EOF once the SDK has
// closed it, and the SDK closes it as soon as the response headers arrive.
// A body that can write itself (io.WriterTo: the bytes.Reader and
// strings.Reader the SDK serializes into) returns io.EOF from WriteTo after
// that close, which is not how WriteTo ends. net/http copies a body once more
// after sending it, to check that nothing is left: when the server answered
// before that copy (it has the whole request by then), net/http takes the
// io.EOF for a failed write and closes the connection while the response body
// is still being read, and the call fails with "use of closed network
// connection". Large responses (DescribeStackEvents, GetTemplate) show it.
package reqbody

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// HideWriteTo is an SDK API option (aws.Config.APIOptions or a client's
// Options.APIOptions) that sends every request body through plain Read (and
// Seek, when it has it), so that the extra copy after a close reads io.EOF
// and ends cleanly.
// Adding it twice (a config and a client both ask for it) is harmless.
func HideWriteTo(stack *middleware.Stack) error {
	const id = "HideRequestBodyWriteTo"
	if _, ok := stack.Finalize.Get(id); ok {
		return nil
	}
	// Last in the finalize step: after signing and retries, on the body of
	// each attempt as it is sent.
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc(id, hideWriteTo), middleware.After)
}

func hideWriteTo(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	req, ok := in.Request.(*smithyhttp.Request)
	if !ok {
		return next.HandleFinalize(ctx, in)
	}
	stream := req.GetStream()
	if _, writesItself := stream.(io.WriterTo); !writesItself {
		return next.HandleFinalize(ctx, in)
	}
	var plain io.Reader = readOnly{stream}
	if rs, ok := stream.(io.ReadSeeker); ok {
		plain = readSeekOnly{rs}
	}
	req, err := req.SetStream(plain)
	if err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("wrap request body: %w", err)
	}
	in.Request = req
	return next.HandleFinalize(ctx, in)
}

// readOnly and readSeekOnly expose only the methods their embedded
// interface declares: WriteTo (and Len, which the SDK would otherwise use
// for the length) stay hidden.
type readOnly struct{ io.Reader }

type readSeekOnly struct{ io.ReadSeeker }
