package sandbox_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

func TestParseAccounts(t *testing.T) {
	tests := []struct {
		in      string
		want    []sandbox.AccountSpec
		wantErr string
	}{
		{in: "master=111111111111,prod=222222222222", want: []sandbox.AccountSpec{{Name: "master", ID: "111111111111"}, {Name: "prod", ID: "222222222222"}}},
		{in: " a = 123456789012 ", want: []sandbox.AccountSpec{{Name: "a", ID: "123456789012"}}},
		{in: "", wantErr: "no accounts"},
		{in: "master", wantErr: "want name=123456789012"},
		{in: "master=1111", wantErr: "not 12 digits"},
		{in: "master=11111111111a", wantErr: "not 12 digits"},
		{in: "a=111111111111,a=222222222222", wantErr: `name "a" given twice`},
		{in: "a=111111111111,b=111111111111", wantErr: "ID 111111111111 given twice"},
		{in: "=111111111111", wantErr: "account name"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := sandbox.ParseAccounts(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseAccounts(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAccounts(%q): %v", tt.in, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("account %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestAccounts(t *testing.T) {
	sb := sandboxtest.Start(t)
	accts := sb.Accounts()
	if len(accts) != 3 || accts[0].Name != "master" || accts[1].ID != "222222222222" || accts[2].Name != "stage" {
		t.Fatalf("Accounts() = %+v", accts)
	}
	seen := map[string]bool{}
	for _, a := range accts {
		if !strings.HasPrefix(a.AccessKeyID, "AKIA") || len(a.SecretAccessKey) != 40 || seen[a.AccessKeyID] {
			t.Errorf("account %s: bad or duplicate keys %q", a.Name, a.AccessKeyID)
		}
		seen[a.AccessKeyID] = true
	}
	if _, ok := sb.Account("nope"); ok {
		t.Error("Account(nope) found")
	}
}

// apiCode returns the smithy error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func noRetry(o *sts.Options) { o.RetryMaxAttempts = 1 }

// wrongSecret returns a secret that differs from s in its first character,
// whatever that character is.
func wrongSecret(s string) string {
	b := []byte(s)
	b[0] ^= 1
	return string(b)
}

func TestWrongSecretDiffers(t *testing.T) {
	for _, s := range []string{"xAbc", "x", "abc/+=", "0123"} {
		if w := wrongSecret(s); w == s || len(w) != len(s) {
			t.Errorf("wrongSecret(%q) = %q", s, w)
		}
	}
}

func TestSignatureChecks(t *testing.T) {
	sb := sandboxtest.Start(t)
	master, _ := sb.Account("master")
	ctx := t.Context()
	tests := []struct {
		name  string
		creds aws.CredentialsProvider
		want  string
	}{
		{"wrong secret", credentials.NewStaticCredentialsProvider(master.AccessKeyID, wrongSecret(master.SecretAccessKey), ""), "SignatureDoesNotMatch"},
		{"unknown key", credentials.NewStaticCredentialsProvider("AKIAUNKNOWNKEY000000", master.SecretAccessKey, ""), "InvalidClientTokenId"},
		{"anonymous", aws.AnonymousCredentials{}, "MissingAuthenticationToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := sts.NewFromConfig(sb.ConfigWith(tt.creds), noRetry)
			_, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if got := apiCode(err); got != tt.want {
				t.Fatalf("GetCallerIdentity error = %v (code %q), want code %q", err, got, tt.want)
			}
			var re interface{ HTTPStatusCode() int }
			if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusForbidden {
				t.Errorf("status = %v, want 403", err)
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		client := sts.NewFromConfig(sb.AWSConfig("master"), noRetry)
		out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("valid signature rejected: %v", err)
		}
		if got := aws.ToString(out.Arn); got != "arn:aws:iam::111111111111:root" {
			t.Errorf("caller = %s", got)
		}
	})
	t.Run("ssm wrong secret", func(t *testing.T) {
		cfg := sb.ConfigWith(credentials.NewStaticCredentialsProvider(master.AccessKeyID, "wrong", ""))
		_, err := ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.RetryMaxAttempts = 1 }).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("x")})
		if got := apiCode(err); got != "InvalidSignatureException" {
			t.Fatalf("error = %v, want InvalidSignatureException", err)
		}
	})
	t.Run("s3 unknown key", func(t *testing.T) {
		cfg := sb.ConfigWith(credentials.NewStaticCredentialsProvider("AKIAUNKNOWNKEY000000", "x", ""))
		_, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.RetryMaxAttempts = 1; o.UsePathStyle = true }).ListBuckets(ctx, &s3.ListBucketsInput{})
		if got := apiCode(err); got != "InvalidAccessKeyId" {
			t.Fatalf("error = %v, want InvalidAccessKeyId", err)
		}
	})
}

// rawRequest signs a Query request by hand so tests can tamper with it.
func signedQuery(t *testing.T, sb *sandbox.Sandbox, acct sandbox.Account, body string, when time.Time) *http.Request {
	t.Helper()
	return signedQueryFor(t, sb, acct, "sts", body, when)
}

// signedQueryFor signs a Query request for service with the SDK's signer.
func signedQueryFor(t *testing.T, sb *sandbox.Sandbox, acct sandbox.Account, service, body string, when time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, sb.URL()+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: acct.AccessKeyID, SecretAccessKey: acct.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(t.Context(), creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", when); err != nil {
		t.Fatal(err)
	}
	return req
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("x-amzn-RequestId") == "" && resp.Header.Get("x-amz-request-id") == "" {
		t.Errorf("response without a request ID")
	}
	return resp.StatusCode, string(b)
}

func TestRawRequests(t *testing.T) {
	sb := sandboxtest.Start(t)
	master, _ := sb.Account("master")
	const body = "Action=GetCallerIdentity&Version=2011-06-15"
	tests := []struct {
		name       string
		req        func() *http.Request
		wantStatus int
		wantCode   string
	}{
		{"tampered body", func() *http.Request {
			r := signedQuery(t, sb, master, body, time.Now())
			r.Body = io.NopCloser(strings.NewReader(strings.Replace(body, "GetCallerIdentity", "GetCallerIdentitz", 1)))
			return r
		}, 403, "SignatureDoesNotMatch"},
		{"skewed clock", func() *http.Request { return signedQuery(t, sb, master, body, time.Now().Add(-20*time.Minute)) }, 403, "Signature expired"},
		{"future clock", func() *http.Request { return signedQuery(t, sb, master, body, time.Now().Add(20*time.Minute)) }, 403, "Signature not yet current"},
		{"missing action", func() *http.Request { return signedQuery(t, sb, master, "Version=2011-06-15", time.Now()) }, 400, "MissingAction"},
		{"bad action", func() *http.Request { return signedQuery(t, sb, master, "Action=../x", time.Now()) }, 400, "InvalidAction"},
		{"oversized body", func() *http.Request {
			return signedQuery(t, sb, master, body+"&Pad="+strings.Repeat("a", 2<<20), time.Now())
		}, 413, "RequestEntityTooLarge"},
		{"unsigned", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, sb.URL()+"/", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, 403, "MissingAuthenticationToken"},
		{"garbage authorization", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, sb.URL()+"/", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
			return r
		}, 400, "IncompleteSignature"},
		{"unsigned S3", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, sb.URL()+"/bucket/key", nil)
			return r
		}, 403, "<Code>AccessDenied</Code>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, got := do(t, tt.req())
			if status != tt.wantStatus || !strings.Contains(got, tt.wantCode) {
				t.Fatalf("got %d %s, want %d containing %q", status, got, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

func TestUnknownService(t *testing.T) {
	sb := sandboxtest.Start(t)
	master, _ := sb.Account("master")
	req, _ := http.NewRequest(http.MethodPost, sb.URL()+"/", strings.NewReader("Action=ListQueues"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sum := sha256.Sum256([]byte("Action=ListQueues"))
	creds := aws.Credentials{AccessKeyID: master.AccessKeyID, SecretAccessKey: master.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(t.Context(), creds, req, hex.EncodeToString(sum[:]), "sqs", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	status, body := do(t, req)
	if status != 400 || !strings.Contains(body, "UnknownService") {
		t.Fatalf("got %d %s", status, body)
	}
}

func TestPresignedURL(t *testing.T) {
	sb := sandboxtest.Start(t)
	master, _ := sb.Account("master")
	ctx := t.Context()
	creds := aws.Credentials{AccessKeyID: master.AccessKeyID, SecretAccessKey: master.SecretAccessKey}
	presign := func(t *testing.T, secret string, when time.Time, expires string) string {
		req, _ := http.NewRequest(http.MethodGet, sb.URL()+"/no-such-bucket/some%20key.txt?X-Amz-Expires="+expires, nil)
		c := creds
		c.SecretAccessKey = secret
		u, _, err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).PresignHTTP(ctx, c, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", when)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	tests := []struct {
		name      string
		url       string
		notStatus int
		want      string
	}{
		{"valid", presign(t, master.SecretAccessKey, time.Now(), "60"), 403, ""},
		{"wrong secret", presign(t, "nope", time.Now(), "60"), 0, "SignatureDoesNotMatch"},
		{"expired", presign(t, master.SecretAccessKey, time.Now().Add(-2*time.Minute), "60"), 0, "Request has expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, tt.url, nil)
			status, body := do(t, req)
			if tt.want != "" && !strings.Contains(body, tt.want) {
				t.Fatalf("got %d %s, want %q", status, body, tt.want)
			}
			if tt.notStatus != 0 && status == tt.notStatus {
				t.Fatalf("got %d %s", status, body)
			}
		})
	}
}

func TestS3VirtualHostSigned(t *testing.T) {
	sb := sandboxtest.Start(t)
	master, _ := sb.Account("master")
	// A virtual-host style request signed over Host "bucket.s3.localhost:port" must verify
	// (the rewrite to path style happens after the signature check).
	port := sb.URL()[strings.LastIndex(sb.URL(), ":"):]
	req, _ := http.NewRequest(http.MethodGet, sb.URL()+"/key.txt", nil)
	req.Host = "my-bucket.s3.localhost" + port
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	creds := aws.Credentials{AccessKeyID: master.AccessKeyID, SecretAccessKey: master.SecretAccessKey}
	if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(t.Context(), creds, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	status, body := do(t, req)
	if status == 403 || strings.Contains(body, "SignatureDoesNotMatch") {
		t.Fatalf("virtual-host request rejected: %d %s", status, body)
	}
}

func TestStartErrors(t *testing.T) {
	ctx := context.Background()
	o := sandbox.DefaultOptions()
	o.Listen = "127.0.0.1:0"
	o.Accounts = []sandbox.AccountSpec{{Name: "a", ID: "1"}}
	if _, err := sandbox.Start(ctx, o); err == nil || !strings.Contains(err.Error(), "not 12 digits") {
		t.Fatalf("Start with bad account: %v", err)
	}
	o = sandbox.DefaultOptions()
	o.Listen = "256.0.0.1:x"
	if _, err := sandbox.Start(ctx, o); err == nil {
		t.Fatal("Start with a bad listen address succeeded")
	}
}

func TestCloseOnContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	o := sandbox.DefaultOptions()
	o.Listen = "127.0.0.1:0"
	sb, err := sandbox.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := http.Post(sb.URL(), "text/plain", bytes.NewReader(nil))
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sandbox still serving after its context was canceled")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
}
