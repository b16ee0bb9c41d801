package cfn_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go/middleware"

	"github.com/stackerless/stackerless/pkg/cfn"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// holdBody is a connection whose second write (the request body, sent after
// the headers) returns only once release is closed: the response to the
// request can then arrive before net/http has finished writing it.
type holdBody struct {
	net.Conn
	mu      sync.Mutex
	writes  int
	release <-chan struct{}
}

func (c *holdBody) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	c.writes++
	second := c.writes == 2
	c.mu.Unlock()
	if second {
		select {
		case <-c.release:
		case <-time.After(10 * time.Second):
		}
	}
	return n, err
}

// TestRequestWriteEndsCleanlyAfterResponse is the cause of "use of closed
// network connection" while reading large responses: the SDK closes the
// request body when the response arrives, and net/http, still finishing the
// write, must not fail it (and close the connection the response is read
// from) because the closed body says io.EOF from WriteTo.
func TestRequestWriteEndsCleanlyAfterResponse(t *testing.T) {
	sb := sandboxtest.Start(t)
	cfg := sb.AWSConfig("master")
	cfg.APIOptions = nil // only what cfn.New adds
	release := make(chan struct{})
	cfg.HTTPClient = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &holdBody{Conn: c, release: release}, nil
		},
	}}
	wrote := make(chan error, 1)
	var writeErr error
	// Innermost in the deserialize step: runs when the response has arrived
	// and the SDK has closed the request body, before anything reads it.
	cfg.APIOptions = append(cfg.APIOptions, func(s *middleware.Stack) error {
		return s.Deserialize.Add(middleware.DeserializeMiddlewareFunc("FinishWrite",
			func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleDeserialize(ctx, in)
				close(release)
				writeErr = <-wrote
				return out, md, err
			}), middleware.After)
	})
	ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) { wrote <- info.Err },
	})
	if _, err := cfn.New(cfg).Describe(ctx, "no-such-stack"); err != nil {
		t.Errorf("describe: %v", err)
	}
	if writeErr != nil {
		t.Errorf("writing the request failed once its response had arrived (net/http then closes the connection): %v", writeErr)
	}
}
