// Command prepare is the Prepare Lambda function (docs/runtime.md): it turns
// an execution's input into a run. It only wires: environment, clients, the
// handler in pkg/handlers.
package main

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/stackerless/stackerless/functions/internal/lambdaenv"
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/handlers"
)

func main() {
	lambdaenv.Start("prepare", func(_ context.Context, env lambdaenv.Env) (any, error) {
		h := &handlers.Prepare{
			S3:              s3.NewFromConfig(env.AWS),
			Executions:      sfn.NewFromConfig(env.AWS),
			StateBucket:     env.StateBucket,
			AllowedAccounts: lambdaenv.List("ALLOWED_ACCOUNTS"),
			Base:            env.AWS,
			// As the CLI's default --retry-for: a stack whose AWS calls keep
			// failing fails after ten minutes instead of looping forever.
			Options: engine.Options{RetryFor: 10 * time.Minute},
			Log:     env.Log,
		}
		return h.Handle, nil
	})
}
