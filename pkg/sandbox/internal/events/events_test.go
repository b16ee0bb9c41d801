package events_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// withBody sends body instead of what the client serialized.
func withBody(body string) func(*eventbridge.Options) {
	return func(o *eventbridge.Options) { o.APIOptions = append(o.APIOptions, sandboxtest.ReplaceBody(body)) }
}

func TestPutEvents(t *testing.T) {
	sb := sandboxtest.Start(t)
	client := eventbridge.NewFromConfig(sb.AWSConfig("master"))
	out, err := client.PutEvents(t.Context(), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("stackerless"), DetailType: aws.String("Run Finished"), Detail: aws.String(`{"status":"ok"}`), Resources: []string{"arn:x"}},
		{Source: aws.String("stackerless"), DetailType: aws.String("Bad"), Detail: aws.String("not json")},
		{Source: aws.String("stackerless"), Detail: aws.String("{}")},
	}})
	if err != nil {
		t.Fatalf("PutEvents: %v", err)
	}
	if out.FailedEntryCount != 2 || len(out.Entries) != 3 {
		t.Fatalf("got FailedEntryCount %d, %d entries", out.FailedEntryCount, len(out.Entries))
	}
	e0, e1, e2 := out.Entries[0], out.Entries[1], out.Entries[2]
	if aws.ToString(e0.EventId) == "" || e0.ErrorCode != nil ||
		aws.ToString(e1.ErrorCode) != "MalformedDetail" || e1.EventId != nil ||
		aws.ToString(e2.ErrorCode) != "InvalidArgument" || e2.EventId != nil {
		t.Fatalf("entries = %+v", out.Entries)
	}
	got := sb.Events()
	if len(got) != 1 || got[0].DetailType != "Run Finished" || got[0].Account != "111111111111" || got[0].EventBusName != "default" ||
		got[0].EventID != aws.ToString(e0.EventId) || len(got[0].Resources) != 1 || got[0].Detail != `{"status":"ok"}` {
		t.Fatalf("Events() = %+v", got)
	}

	tests := []struct {
		name   string
		in     *eventbridge.PutEventsInput
		opts   []func(*eventbridge.Options)
		code   string
		status int
	}{
		{"no entries", &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{}}, nil, "ValidationException", 400},
		{"malformed JSON", &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Source: aws.String("x")}}},
			[]func(*eventbridge.Options){withBody(`{"Entries":`)}, "SerializationException", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.PutEvents(t.Context(), tt.in, tt.opts...)
			var apiErr smithy.APIError
			var respErr *awshttp.ResponseError
			if !errors.As(err, &apiErr) || !errors.As(err, &respErr) {
				t.Fatalf("got %v, want an API error", err)
			}
			if apiErr.ErrorCode() != tt.code || respErr.HTTPStatusCode() != tt.status {
				t.Fatalf("got %d %s (%v), want %d %s", respErr.HTTPStatusCode(), apiErr.ErrorCode(), err, tt.status, tt.code)
			}
		})
	}
	if n := len(sb.Events()); n != 1 {
		t.Fatalf("rejected requests recorded events: %d", n)
	}
}
