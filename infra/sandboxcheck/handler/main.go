// Command handler is the check stack's Lambda: it answers with its build's
// version and what started it (an upload's bucket and key, or a schedule),
// so a test sees which code ran.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

type input struct {
	Source string `json:"source"`
	Detail struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key string `json:"key"`
		} `json:"object"`
	} `json:"detail"`
}

type output struct {
	Version string `json:"version"`
	Source  string `json:"source"`
	Bucket  string `json:"bucket,omitempty"`
	Key     string `json:"key,omitempty"`
}

func handle(ctx context.Context, in input) (output, error) {
	out := output{Version: version, Source: in.Source, Bucket: in.Detail.Bucket.Name, Key: in.Detail.Object.Key}
	slog.InfoContext(ctx, "handled", "version", out.Version, "source", out.Source, "bucket", out.Bucket, "key", out.Key)
	return out, nil
}

func main() {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	lambda.Start(handle)
}
