package events_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// putEvents sends a PutEvents request signed with the SDK's signer, as the
// eventbridge client does (the eventbridge client module is not a dependency).
func putEvents(t *testing.T, url string, creds aws.Credentials, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AWSEvents.PutEvents")
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(t.Context(), creds, req, hex.EncodeToString(sum[:]), "events", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	return resp.StatusCode, out
}

func TestPutEvents(t *testing.T) {
	sb := sandboxtest.Start(t)
	a, _ := sb.Account("master")
	creds := aws.Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: a.SecretAccessKey}
	status, out := putEvents(t, sb.URL(), creds, `{"Entries":[
		{"Source":"stackerless","DetailType":"Run Finished","Detail":"{\"status\":\"ok\"}","Resources":["arn:x"]},
		{"Source":"stackerless","DetailType":"Bad","Detail":"not json"},
		{"Source":"stackerless","Detail":"{}"}]}`)
	if status != 200 {
		t.Fatalf("status %d: %v", status, out)
	}
	entries, _ := out["Entries"].([]any)
	if out["FailedEntryCount"] != float64(2) || len(entries) != 3 {
		t.Fatalf("got %v", out)
	}
	e0, _ := entries[0].(map[string]any)
	e1, _ := entries[1].(map[string]any)
	e2, _ := entries[2].(map[string]any)
	if e0["EventId"] == nil || e1["ErrorCode"] != "MalformedDetail" || e2["ErrorCode"] != "InvalidArgument" {
		t.Fatalf("entries = %v", entries)
	}
	got := sb.Events()
	if len(got) != 1 || got[0].DetailType != "Run Finished" || got[0].Account != "111111111111" || got[0].EventBusName != "default" ||
		got[0].EventID != e0["EventId"] || len(got[0].Resources) != 1 {
		t.Fatalf("Events() = %+v", got)
	}

	tests := []struct {
		name, body, code string
		status           int
	}{
		{"no entries", `{"Entries":[]}`, "ValidationException", 400},
		{"malformed JSON", `{"Entries":`, "SerializationException", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := putEvents(t, sb.URL(), creds, tt.body)
			if status != tt.status || out["__type"] != tt.code {
				t.Fatalf("got %d %v, want %d %s", status, out, tt.status, tt.code)
			}
		})
	}
}
