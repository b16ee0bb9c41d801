package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// fakeTables is a service the sandbox does not have, DynamoDB (JSON 1.0),
// with one action: ListTables names a table after the calling account.
type fakeTables struct {
	mu    sync.Mutex
	calls int
}

var fakeTablesDescriptor = &awsapi.Descriptor{
	SigningName:  "dynamodb",
	Title:        "DynamoDB",
	Protocol:     awsapi.ProtoJSON10,
	TargetPrefix: "DynamoDB_20120810.",
	ServerError:  "InternalServerError",
	Client:       (*dynamodb.Client)(nil),
}

type fakeTablesAction func(f *fakeTables, call *awsapi.Call) any

func (f *fakeTables) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	actions := map[string]fakeTablesAction{"ListTables": func(f *fakeTables, call *awsapi.Call) any {
		return map[string][]string{"TableNames": {"table-of-" + call.Caller.Account}}
	}}
	awsapi.ServeJSON(fakeTablesDescriptor, w, r, actions, func(h fakeTablesAction, _ context.Context, call *awsapi.Call, _ []byte) (any, error) {
		f.mu.Lock()
		f.calls++
		f.mu.Unlock()
		return h(f, call), nil
	})
}

func (f *fakeTables) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// A service registered only through its descriptor is routed, has its
// signatures checked and its parameters checked, is faulted, and answers
// errors in its own protocol: nothing else of the sandbox knows it.
func TestServiceSlotsInThroughItsDescriptor(t *testing.T) {
	sb := startInternal(t)
	fake := &fakeTables{}
	sb.router.services.add(fakeTablesDescriptor, fake)
	// A server of its own, started after the registration.
	srv := httptest.NewServer(sb.router)
	t.Cleanup(srv.Close)
	ctx := t.Context()
	master := sb.accounts[0]
	client := func(secret string) *dynamodb.Client {
		cfg := sb.ConfigWith(credentials.NewStaticCredentialsProvider(master.AccessKeyID, secret, ""))
		cfg.BaseEndpoint = aws.String(srv.URL)
		return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
	}
	apiCode := func(err error) string {
		var ae smithy.APIError
		if !errors.As(err, &ae) {
			t.Fatalf("error %v is no API error", err)
		}
		return ae.ErrorCode()
	}

	t.Run("routed", func(t *testing.T) {
		out, err := client(master.SecretAccessKey).ListTables(ctx, &dynamodb.ListTablesInput{})
		if err != nil {
			t.Fatal(err)
		}
		if want := "table-of-" + master.ID; len(out.TableNames) != 1 || out.TableNames[0] != want {
			t.Fatalf("TableNames = %v, want [%s]", out.TableNames, want)
		}
	})

	t.Run("signature checked", func(t *testing.T) {
		before := fake.count()
		_, err := client("not-the-secret").ListTables(ctx, &dynamodb.ListTablesInput{})
		if got := apiCode(err); got != "InvalidSignatureException" {
			t.Fatalf("error code %s, want InvalidSignatureException", got)
		}
		if fake.count() != before {
			t.Fatal("a request with a bad signature reached the service")
		}
	})

	t.Run("parameters checked", func(t *testing.T) {
		before := fake.count()
		raw := signed(t, sb, http.MethodPost, "/", "dynamodb",
			map[string]string{"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"}, `{"Limit":5,"Bogus":1}`)
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		sb.router.ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code != http.StatusBadRequest || rec.Header().Get("X-Amzn-ErrorType") != "ValidationException" ||
			!strings.Contains(body, `Unknown parameter in input: \"Bogus\", must be one of: ExclusiveStartTableName, Limit`) {
			t.Fatalf("got %d %s %s, want 400 ValidationException naming Bogus and the members ListTables takes", rec.Code, rec.Header().Get("X-Amzn-ErrorType"), body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/x-amz-json-1.0" {
			t.Errorf("Content-Type %q, want JSON 1.0's", ct)
		}
		if fake.count() != before {
			t.Fatal("a request with an unknown parameter reached the service")
		}
	})

	t.Run("unknown action", func(t *testing.T) {
		_, err := client(master.SecretAccessKey).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("t")})
		if got := apiCode(err); got != "UnknownOperationException" || !strings.Contains(err.Error(), "The sandbox's DynamoDB does not support the operation DescribeTable.") {
			t.Fatalf("DescribeTable: %v, want the sandbox's UnknownOperationException", err)
		}
	})

	t.Run("faulted", func(t *testing.T) {
		if err := sb.Faults().Throttle("dynamodb:ListTables", 1); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = sb.Faults().Throttle("dynamodb:ListTables", 0) }()
		_, err := client(master.SecretAccessKey).ListTables(ctx, &dynamodb.ListTablesInput{})
		if got := apiCode(err); got != "ThrottlingException" {
			t.Fatalf("error code %s, want ThrottlingException", got)
		}
	})
}
