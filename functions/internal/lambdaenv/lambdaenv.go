// Package lambdaenv is the start every function of the runtime shares: a
// JSON logger carrying the request id, the AWS configuration of the
// function's role, and the state bucket, read once at init.
package lambdaenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Env is what a function's handler is built from.
type Env struct {
	Log         *slog.Logger
	AWS         aws.Config
	StateBucket string
}

// Start builds the handler from the environment and serves it; a function
// that cannot start logs why and exits, so Lambda reports an init error.
func Start(name string, build func(ctx context.Context, env Env) (any, error)) {
	log := slog.New(lambdacontext.NewLogHandler())
	h, err := load(context.Background(), log, build)
	if err != nil {
		log.Error(name+" cannot start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h)
}

func load(ctx context.Context, log *slog.Logger, build func(context.Context, Env) (any, error)) (any, error) {
	bucket := os.Getenv("STATE_BUCKET")
	if bucket == "" {
		return nil, fmt.Errorf("STATE_BUCKET is not set")
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return build(ctx, Env{Log: log, AWS: cfg, StateBucket: bucket})
}

// List reads a comma-separated variable, such as ALLOWED_ACCOUNTS.
func List(name string) []string {
	var out []string
	for _, v := range strings.Split(os.Getenv(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
