// Command report is the Report Lambda function (docs/runtime.md): it closes
// a run, however it ended. It only wires: environment, clients, the handler
// in pkg/handlers.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stackerless/stackerless/pkg/handlers"
	"github.com/stackerless/stackerless/pkg/runstate"
)

func main() {
	log := slog.New(lambdacontext.NewLogHandler())
	h, err := newHandler(context.Background(), log)
	if err != nil {
		log.Error("report cannot start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

func newHandler(ctx context.Context, log *slog.Logger) (*handlers.Report, error) {
	bucket := os.Getenv("STATE_BUCKET")
	if bucket == "" {
		return nil, fmt.Errorf("STATE_BUCKET is not set")
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	h := &handlers.Report{Store: &runstate.Store{S3: s3.NewFromConfig(cfg), Bucket: bucket}, Log: log}
	if bus := os.Getenv("EVENT_BUS"); bus != "" {
		h.Events = &handlers.Emitter{Client: eventbridge.NewFromConfig(cfg), Bus: bus}
	}
	return h, nil
}
