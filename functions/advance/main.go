// Command advance is the Advance Lambda function (docs/runtime.md): one
// engine step of a run per invocation. It only wires: environment, clients,
// the handler in pkg/handlers.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

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
		log.Error("advance cannot start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

func newHandler(ctx context.Context, log *slog.Logger) (*handlers.Advance, error) {
	bucket := os.Getenv("STATE_BUCKET")
	if bucket == "" {
		return nil, fmt.Errorf("STATE_BUCKET is not set")
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	h := &handlers.Advance{Log: log, Approvers: list("APPROVERS")}
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
	s3c := s3.NewFromConfig(cfg)
	h.Store = &runstate.Store{S3: s3c, Bucket: bucket}
	h.Loader = &handlers.BundleLoader{S3: s3c, StateBucket: bucket, Base: cfg, AllowedAccounts: list("ALLOWED_ACCOUNTS"), Log: log}
	if bus := os.Getenv("EVENT_BUS"); bus != "" {
		h.Events = &handlers.Emitter{Client: eventbridge.NewFromConfig(cfg), Bus: bus}
	}
	return h, nil
}

// list reads a comma-separated variable.
func list(name string) []string {
	var out []string
	for _, v := range strings.Split(os.Getenv(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
