// Command prepare is the Prepare Lambda function (docs/runtime.md): it turns
// an execution's input into a run. It only wires: environment, clients, the
// handler in pkg/handlers.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/handlers"
)

func main() {
	log := slog.New(lambdacontext.NewLogHandler())
	h, err := newHandler(context.Background(), log)
	if err != nil {
		log.Error("prepare cannot start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

func newHandler(ctx context.Context, log *slog.Logger) (*handlers.Prepare, error) {
	bucket := os.Getenv("STATE_BUCKET")
	if bucket == "" {
		return nil, fmt.Errorf("STATE_BUCKET is not set")
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	var allowed []string
	for _, id := range strings.Split(os.Getenv("ALLOWED_ACCOUNTS"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			allowed = append(allowed, id)
		}
	}
	return &handlers.Prepare{
		S3:              s3.NewFromConfig(cfg),
		Executions:      sfn.NewFromConfig(cfg),
		StateBucket:     bucket,
		AllowedAccounts: allowed,
		Base:            cfg,
		// As the CLI's default --retry-for: a stack whose AWS calls keep
		// failing fails after ten minutes instead of looping forever.
		Options: engine.Options{RetryFor: 10 * time.Minute},
		Log:     log,
	}, nil
}
