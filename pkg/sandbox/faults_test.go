package sandbox_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// countRequests counts HTTP attempts the SDK makes.
type countingTransport struct {
	n    int
	base http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n++
	return c.base.RoundTrip(r)
}

func TestFaultsThrottleAllProtocols(t *testing.T) {
	sb := sandboxtest.Start(t, func(o *sandbox.Options) { o.Seed = 42 })
	if err := sb.Faults().Throttle("*", 1); err != nil {
		t.Fatal(err)
	}
	cfg := sb.AWSConfig("master")
	ct := &countingTransport{base: http.DefaultTransport}
	cfg.HTTPClient = &http.Client{Transport: ct}
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			o.RateLimiter = ratelimit.None
		})
	}
	ctx := t.Context()
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"query", func() error {
			_, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{})
			return err
		}, "Throttling"},
		{"json", func() error {
			_, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("x")})
			return err
		}, "ThrottlingException"},
		{"rest", func() error {
			_, err := s3.NewFromConfig(cfg).ListBuckets(ctx, &s3.ListBucketsInput{})
			return err
		}, "SlowDown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct.n = 0
			err := tt.call()
			if got := apiCode(err); got != tt.code {
				t.Fatalf("error = %v, want code %s", err, tt.code)
			}
			var maxErr *retry.MaxAttemptsError
			if !errors.As(err, &maxErr) {
				t.Errorf("error %v is not a MaxAttemptsError: the SDK did not treat it as retryable", err)
			}
			if ct.n != 3 {
				t.Errorf("SDK made %d attempts, want 3", ct.n)
			}
		})
	}
}

func TestFaultsRetriedThrough(t *testing.T) {
	sb := sandboxtest.Start(t, func(o *sandbox.Options) { o.Seed = 7 })
	// Half the calls are throttled, a share fail with 5xx: with enough attempts every call succeeds
	// past the faults (it then reaches the service, whatever that answers).
	if err := sb.Faults().Throttle("sts:GetCallerIdentity", 0.5); err != nil {
		t.Fatal(err)
	}
	if err := sb.Faults().ServerErrors("sts:*", 0.3); err != nil {
		t.Fatal(err)
	}
	cfg := sb.AWSConfig("master")
	ct := &countingTransport{base: http.DefaultTransport}
	cfg.HTTPClient = &http.Client{Transport: ct}
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 30
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			o.RateLimiter = ratelimit.None
		})
	}
	client := sts.NewFromConfig(cfg)
	for i := 0; i < 10; i++ {
		_, err := client.GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
		if code := apiCode(err); code == "Throttling" || code == "InternalFailure" {
			t.Fatalf("call %d gave up on an injected fault: %v", i, err)
		}
	}
	if ct.n <= 10 {
		t.Errorf("%d attempts for 10 calls: no fault was injected", ct.n)
	}
}

func TestFaultsLatency(t *testing.T) {
	sb := sandboxtest.Start(t)
	if err := sb.Faults().Latency("sts:*", 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _ = sts.NewFromConfig(sb.AWSConfig("master"), noRetry).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("call took %s, want >= 100ms", d)
	}
}

func TestS3SDKSignatures(t *testing.T) {
	sb := sandboxtest.Start(t)
	client := s3.NewFromConfig(sb.AWSConfig("master"), func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	ctx := t.Context()
	bad := []string{"SignatureDoesNotMatch", "XAmzContentSHA256Mismatch", "InvalidAccessKeyId", "AccessDenied", "EntityTooLarge"}
	tests := []struct {
		name string
		call func() error
	}{
		{"put seekable", func() error {
			_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("k 1"), Body: bytes.NewReader([]byte("data"))})
			return err
		}},
		{"put stream", func() error {
			_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("dir/k+2"),
				Body: io.MultiReader(strings.NewReader("da"), strings.NewReader("ta")), ContentLength: aws.Int64(4)})
			return err
		}},
		{"get", func() error {
			_, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b"), Key: aws.String("k 1")})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			for _, b := range bad {
				if apiCode(err) == b {
					t.Fatalf("refused: %v", err)
				}
			}
		})
	}
}
