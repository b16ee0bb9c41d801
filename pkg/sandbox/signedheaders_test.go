package sandbox_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// TestUnsignedHeaders: what a request does must be covered by its signature.
// S3 refuses an unsigned x-amz-* header as S3 does; the other services act
// only on signed headers; the host must be signed everywhere.
func TestUnsignedHeaders(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	master, _ := sb.Account("master")
	client := s3.NewFromConfig(sb.AWSConfig("master"), func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	for _, b := range []string{"private", "uploads"} {
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatalf("CreateBucket %s: %v", b, err)
		}
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("private"), Key: aws.String("secret"), Body: strings.NewReader("s3cr3t")}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	absent := func(t *testing.T, key string) {
		t.Helper()
		if _, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("uploads"), Key: aws.String(key)}); err == nil {
			t.Errorf("uploads/%s was written by the refused request", key)
		}
	}

	t.Run("s3 refuses an unsigned x-amz-* header", func(t *testing.T) {
		_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("uploads"), Key: aws.String("meta"), Body: strings.NewReader("x")},
			s3.WithAPIOptions(sandboxtest.UnsignedHeader("x-amz-meta-owner", "mallory")))
		if apiCode(err) != "AccessDenied" || !strings.Contains(err.Error(), "There were headers present in the request which were not signed") {
			t.Fatalf("PutObject with an unsigned x-amz-meta-owner: %v", err)
		}
		absent(t, "meta")
	})

	t.Run("a presigned PUT cannot be turned into a copy", func(t *testing.T) {
		put, err := s3.NewPresignClient(client).PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("uploads"), Key: aws.String("slot")})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPut, put.URL, nil)
		req.Header.Set("x-amz-copy-source", "/private/secret")
		req.Header.Set("X-Amz-Meta-B", "1")
		status, body := do(t, req)
		if status != http.StatusForbidden || !strings.Contains(body, "<Code>AccessDenied</Code>") ||
			!strings.Contains(body, "<HeadersNotSigned>x-amz-copy-source, x-amz-meta-b</HeadersNotSigned>") {
			t.Fatalf("got %d %s, want 403 AccessDenied naming the unsigned headers", status, body)
		}
		absent(t, "slot")
		// The same URL, used as it was signed, still works.
		req, _ = http.NewRequest(http.MethodPut, put.URL, strings.NewReader("upload"))
		if status, body := do(t, req); status != http.StatusOK {
			t.Fatalf("plain presigned PUT: %d %s", status, body)
		}
	})

	t.Run("an unsigned X-Amz-Target does not pick the operation", func(t *testing.T) {
		c := ssm.NewFromConfig(sb.AWSConfig("master"), func(o *ssm.Options) { o.RetryMaxAttempts = 1 })
		if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/keep"), Value: aws.String("v"), Type: "String"}); err != nil {
			t.Fatal(err)
		}
		_, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/keep")},
			ssm.WithAPIOptions(sandboxtest.UnsignedHeader("X-Amz-Target", "AmazonSSM.DeleteParameter")))
		if apiCode(err) != "UnknownOperationException" {
			t.Fatalf("GetParameter with an unsigned X-Amz-Target: %v", err)
		}
		if _, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/keep")}); err != nil {
			t.Fatalf("the parameter is gone: %v", err)
		}
	})

	// dropHost signs req as the SDK does, then takes host out of the signed
	// headers the Authorization header lists.
	dropHost := func(t *testing.T, req *http.Request, service, hash string) {
		t.Helper()
		creds := aws.Credentials{AccessKeyID: master.AccessKeyID, SecretAccessKey: master.SecretAccessKey}
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, hash, service, "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		auth := req.Header.Get("Authorization")
		unhosted := regexp.MustCompile(`;?host;?`).ReplaceAllStringFunc(auth, func(m string) string {
			if strings.HasPrefix(m, ";") && strings.HasSuffix(m, ";") {
				return ";"
			}
			return ""
		})
		if unhosted == auth {
			t.Fatalf("host not in %s", auth)
		}
		req.Header.Set("Authorization", unhosted)
	}
	t.Run("query services need the host signed", func(t *testing.T) {
		const form = "Action=GetCallerIdentity&Version=2011-06-15"
		req, _ := http.NewRequest(http.MethodPost, sb.URL()+"/", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		sum := sha256.Sum256([]byte(form))
		dropHost(t, req, "sts", hex.EncodeToString(sum[:]))
		status, body := do(t, req)
		if status != http.StatusBadRequest || !strings.Contains(body, "<Code>IncompleteSignature</Code>") ||
			!strings.Contains(body, "&#39;Host&#39; or &#39;:authority&#39; must be a &#39;SignedHeader&#39; in the AWS Authorization.") {
			t.Fatalf("got %d %s", status, body)
		}
	})
	t.Run("s3 needs the host signed", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, sb.URL()+"/private/secret", nil)
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		dropHost(t, req, "s3", "UNSIGNED-PAYLOAD")
		status, body := do(t, req)
		if status != http.StatusForbidden || !strings.Contains(body, "<HeadersNotSigned>host</HeadersNotSigned>") {
			t.Fatalf("got %d %s", status, body)
		}
	})
}
