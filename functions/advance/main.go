// Command advance is the Advance Lambda function (docs/runtime.md): one
// engine step of a run per invocation. It only wires: environment, clients,
// the handler in pkg/handlers.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stackerless/stackerless/functions/internal/lambdaenv"
	"github.com/stackerless/stackerless/pkg/handlers"
	"github.com/stackerless/stackerless/pkg/runstate"
)

func main() {
	lambdaenv.Start("advance", func(_ context.Context, env lambdaenv.Env) (any, error) {
		h := &handlers.Advance{Log: env.Log, Approvers: lambdaenv.List("APPROVERS")}
		var err error
		for name, dst := range map[string]*int{"POLL_SECONDS": &h.PollSeconds, "APPROVAL_POLL_SECONDS": &h.ApprovalPollSeconds, "MAX_POLL_PARALLEL": &h.PollParallel} {
			if v := os.Getenv(name); v != "" {
				if *dst, err = strconv.Atoi(v); err != nil || *dst < 0 {
					return nil, fmt.Errorf("%s=%q: want a whole number", name, v)
				}
			}
		}
		if v := os.Getenv("APPROVAL_EXPIRY"); v != "" {
			if h.ApprovalExpiry, err = time.ParseDuration(v); err != nil || h.ApprovalExpiry <= 0 {
				return nil, fmt.Errorf("APPROVAL_EXPIRY=%q: want a Go duration such as 24h", v)
			}
		}
		s3c := s3.NewFromConfig(env.AWS)
		h.Store = &runstate.Store{S3: s3c, Bucket: env.StateBucket}
		h.Loader = &handlers.BundleLoader{S3: s3c, StateBucket: env.StateBucket, Base: env.AWS, AllowedAccounts: lambdaenv.List("ALLOWED_ACCOUNTS"), Log: env.Log}
		if bus := os.Getenv("EVENT_BUS"); bus != "" {
			h.Events = &handlers.Emitter{Client: eventbridge.NewFromConfig(env.AWS), Bus: bus}
		}
		return h.Handle, nil
	})
}
