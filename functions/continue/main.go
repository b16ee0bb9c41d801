// Command continue is the Continue Lambda function (docs/runtime.md): it
// hands a long run to a new execution of the state machine before the old
// one reaches Step Functions' history limit. It only wires: environment,
// clients, the handler in pkg/handlers.
package main

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/stackerless/stackerless/functions/internal/lambdaenv"
	"github.com/stackerless/stackerless/pkg/handlers"
	"github.com/stackerless/stackerless/pkg/runstate"
)

func main() {
	lambdaenv.Start("continue", func(_ context.Context, env lambdaenv.Env) (any, error) {
		h := &handlers.Continue{
			Store:      &runstate.Store{S3: s3.NewFromConfig(env.AWS), Bucket: env.StateBucket},
			Executions: sfn.NewFromConfig(env.AWS),
			Log:        env.Log,
		}
		return h.Handle, nil
	})
}
