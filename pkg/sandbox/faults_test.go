package sandbox_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
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

// TestFaultsHold: a held call waits, untouched, until released; other APIs
// go through meanwhile.
func TestFaultsHold(t *testing.T) {
	sb := sandboxtest.Start(t)
	release, err := sb.Faults().Hold("s3:PutObject")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Faults().Hold("s3:PutObject"); err == nil {
		t.Fatal("a second hold of the same API was accepted")
	}
	s3c := s3.NewFromConfig(sb.AWSConfig("master"), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("held")}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s3c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("held"), Key: aws.String("k"), Body: strings.NewReader("x")})
		done <- err
	}()
	// Calls of other APIs are served while the PutObject waits, and it has
	// not taken effect.
	for range 20 {
		if _, err := s3c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String("held"), Key: aws.String("k")}); err == nil {
			t.Fatal("the held PutObject took effect")
		}
		select {
		case err := <-done:
			t.Fatalf("the held PutObject returned: %v", err)
		default:
		}
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("released PutObject: %v", err)
	}
	release() // again: nothing
	if _, err := s3c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("held"), Key: aws.String("k2"), Body: strings.NewReader("x")}); err != nil {
		t.Fatalf("PutObject after release: %v", err)
	}
	// Reset lets held calls go too.
	if _, err := sb.Faults().Hold("s3:*"); err != nil {
		t.Fatal(err)
	}
	sb.Faults().Reset()
	if _, err := s3c.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("held"), Key: aws.String("k3"), Body: strings.NewReader("x")}); err != nil {
		t.Fatalf("PutObject after Reset: %v", err)
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
			_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k 1"), Body: bytes.NewReader([]byte("data"))})
			return err
		}},
		{"put unsigned payload", func() error {
			_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/k+2"),
				Body: strings.NewReader("data")}, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
			return err
		}},
		{"get", func() error {
			out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dir/k+2")})
			if err != nil {
				return err
			}
			defer out.Body.Close()
			if b, _ := io.ReadAll(out.Body); string(b) != "data" {
				return fmt.Errorf("body = %q", b)
			}
			return nil
		}},
		{"presigned get", func() error {
			req, err := s3.NewPresignClient(client).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k 1")})
			if err != nil {
				return err
			}
			resp, err := http.Get(req.URL)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(b) != "data" {
				return fmt.Errorf("presigned GET: %d %s", resp.StatusCode, b)
			}
			return nil
		}},
	}
	var mu sync.Mutex
	var created []sandbox.ObjectCreated
	cancel := sb.SubscribeObjectCreated(func(ev sandbox.ObjectCreated) {
		mu.Lock()
		defer mu.Unlock()
		created = append(created, ev)
	})
	t.Cleanup(func() {
		cancel()
		mu.Lock()
		defer mu.Unlock()
		if len(created) != 2 || created[0].Bucket != "bkt" || created[0].Key != "k 1" || created[0].Account != "111111111111" {
			t.Errorf("ObjectCreated notifications = %+v, want the two puts", created)
		}
	})
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err != nil {
				t.Errorf("%v", err)
			}
			for _, b := range bad {
				if apiCode(err) == b {
					t.Fatalf("refused: %v", err)
				}
			}
		})
	}
}
