package sandbox_test

import (
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

func TestSessionCredentials(t *testing.T) {
	var offset atomic.Int64
	sb := sandboxtest.Start(t, func(o *sandbox.Options) {
		o.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	})
	ctx := t.Context()
	root := sts.NewFromConfig(sb.AWSConfig("prod"), noRetry)
	id, err := root.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with root keys: %v", err)
	}
	if aws.ToString(id.Account) != "222222222222" {
		t.Fatalf("account = %s", aws.ToString(id.Account))
	}
	tok, err := root.GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatalf("GetSessionToken: %v", err)
	}
	c := tok.Credentials
	session := func(token string) error {
		cfg := sb.ConfigWith(credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), token))
		_, err := sts.NewFromConfig(cfg, noRetry).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		return err
	}
	if err := session(aws.ToString(c.SessionToken)); err != nil {
		t.Fatalf("session credentials rejected: %v", err)
	}
	if err := session(""); apiCode(err) != "InvalidClientTokenId" {
		t.Fatalf("session key without its token: %v", err)
	}
	if err := session("forged"); apiCode(err) != "InvalidClientTokenId" {
		t.Fatalf("session key with a forged token: %v", err)
	}
	// The client signs with the real clock; the sandbox's clock is an hour ahead,
	// past the session's expiry: ExpiredToken wins over the clock skew.
	offset.Store(int64(time.Hour))
	if err := session(aws.ToString(c.SessionToken)); apiCode(err) != "ExpiredToken" {
		t.Fatalf("expired session: %v", err)
	}
}

// TestRootKeysWithSessionToken: long-term keys take no session token; AWS
// refuses them when one comes along, even a live session's token, each
// protocol with its own code.
func TestRootKeysWithSessionToken(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	master, _ := sb.Account("master")
	tok, err := sts.NewFromConfig(sb.AWSConfig("master"), noRetry).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if err != nil {
		t.Fatalf("GetSessionToken: %v", err)
	}
	cfg := sb.ConfigWith(credentials.NewStaticCredentialsProvider(master.AccessKeyID, master.SecretAccessKey, aws.ToString(tok.Credentials.SessionToken)))
	tests := []struct {
		name   string
		call   func() error
		code   string
		status int
	}{
		{"query", func() error {
			_, err := sts.NewFromConfig(cfg, noRetry).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		}, "InvalidClientTokenId", http.StatusForbidden},
		{"json", func() error {
			_, err := ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.RetryMaxAttempts = 1 }).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/x")})
			return err
		}, "UnrecognizedClientException", 0},
		{"s3", func() error {
			_, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.RetryMaxAttempts = 1; o.UsePathStyle = true }).ListBuckets(ctx, &s3.ListBucketsInput{})
			return err
		}, "InvalidToken", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if got := apiCode(err); got != tt.code {
				t.Fatalf("error %v (code %q), want %s", err, got, tt.code)
			}
			var re interface{ HTTPStatusCode() int }
			if tt.status != 0 && (!errors.As(err, &re) || re.HTTPStatusCode() != tt.status) {
				t.Errorf("status of %v, want %d", err, tt.status)
			}
		})
	}
}
