// Command report is the Report Lambda function (docs/runtime.md): it closes
// a run, however it ended. It only wires: environment, clients, the handler
// in pkg/handlers.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stackerless/stackerless/functions/internal/lambdaenv"
	"github.com/stackerless/stackerless/pkg/handlers"
	"github.com/stackerless/stackerless/pkg/runstate"
)

func main() {
	lambdaenv.Start("report", func(_ context.Context, env lambdaenv.Env) (any, error) {
		h := &handlers.Report{Store: &runstate.Store{S3: s3.NewFromConfig(env.AWS), Bucket: env.StateBucket}, Log: env.Log}
		if bus := os.Getenv("EVENT_BUS"); bus != "" {
			h.Events = &handlers.Emitter{Client: eventbridge.NewFromConfig(env.AWS), Bus: bus}
		}
		return h.Handle, nil
	})
}
