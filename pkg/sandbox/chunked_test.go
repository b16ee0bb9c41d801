package sandbox_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// chunkedPut builds a PUT of data as an aws-chunked upload the way the
// chunk-signing SDKs send it (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, with
// -TRAILER a CRC32 trailer). tamper may rewrite each chunk signature
// (index, signature) before it is written.
func chunkedPut(ctx context.Context, t *testing.T, sb *sandbox.Sandbox, key string, data []byte, chunk int, trailer bool, tamper func(int, string) string) *http.Request {
	t.Helper()
	master, _ := sb.Account("master")
	creds := aws.Credentials{AccessKeyID: master.AccessKeyID, SecretAccessKey: master.SecretAccessKey}
	mode := "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	if trailer {
		mode += "-TRAILER"
	}
	now := time.Now().UTC()
	req, _ := http.NewRequest(http.MethodPut, sb.URL()+"/chunks/"+key, nil)
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Content-Sha256", mode)
	req.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(data)))
	if trailer {
		req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
	}
	if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(ctx, creds, req, mode, "s3", "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	_, seedHex, _ := strings.Cut(req.Header.Get("Authorization"), "Signature=")
	seed, _ := hex.DecodeString(seedHex)
	signer := v4.NewStreamSigner(creds, "s3", "us-east-1", seed)
	var body strings.Builder
	prev, rest := seedHex, data
	for i := 0; ; i++ {
		n := min(chunk, len(rest))
		part := rest[:n]
		rest = rest[n:]
		sig, err := signer.GetSignature(ctx, nil, part, now)
		if err != nil {
			t.Fatal(err)
		}
		prev = hex.EncodeToString(sig)
		written := prev
		if tamper != nil {
			written = tamper(i, prev)
		}
		fmt.Fprintf(&body, "%x;chunk-signature=%s\r\n", n, written)
		if n == 0 {
			break
		}
		body.Write(part)
		body.WriteString("\r\n")
	}
	if trailer {
		crc := crc32.ChecksumIEEE(data)
		line := "x-amz-checksum-crc32:" + base64.StdEncoding.EncodeToString([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
		body.WriteString(line + "\r\n")
		// The trailer's signature, computed here by hand from SigV4's definition.
		mac := func(key []byte, s string) []byte {
			m := hmac.New(sha256.New, key)
			m.Write([]byte(s))
			return m.Sum(nil)
		}
		day := now.Format("20060102")
		key := mac(mac(mac(mac([]byte("AWS4"+master.SecretAccessKey), day), "us-east-1"), "s3"), "aws4_request")
		sum := sha256.Sum256([]byte(line + "\n"))
		sig := hex.EncodeToString(mac(key, "AWS4-HMAC-SHA256-TRAILER\n"+now.Format("20060102T150405Z")+"\n"+day+"/us-east-1/s3/aws4_request\n"+prev+"\n"+hex.EncodeToString(sum[:])))
		if tamper != nil {
			sig = tamper(-1, sig)
		}
		body.WriteString("x-amz-trailer-signature:" + sig + "\r\n")
	}
	body.WriteString("\r\n")
	req.Body = io.NopCloser(strings.NewReader(body.String()))
	req.ContentLength = int64(body.Len())
	return req
}

// TestChunkedUploadSignatures: S3 checks every chunk signature of a signed
// aws-chunked upload (and the trailer's), chained from the seed signature.
func TestChunkedUploadSignatures(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	client := s3.NewFromConfig(sb.AWSConfig("master"), func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("chunks")}); err != nil {
		t.Fatal(err)
	}
	data := []byte(strings.Repeat("0123456789abcdef", 1200)) // 19,200 bytes: three chunks of 8 KiB
	zero := strings.Repeat("0", 64)
	tests := []struct {
		name    string
		trailer bool
		tamper  func(i int, sig string) string
		status  int
		code    string
	}{
		{"signed chunks", false, nil, http.StatusOK, ""},
		{"signed chunks and trailer", true, nil, http.StatusOK, ""},
		{"all-zero chunk signatures", false, func(int, string) string { return zero }, http.StatusForbidden, "SignatureDoesNotMatch"},
		{"one forged chunk", false, func(i int, sig string) string {
			if i == 1 {
				return zero
			}
			return sig
		}, http.StatusForbidden, "SignatureDoesNotMatch"},
		{"forged final chunk", false, func(i int, sig string) string {
			if i == 3 {
				return zero
			}
			return sig
		}, http.StatusForbidden, "SignatureDoesNotMatch"},
		{"forged trailer", true, func(i int, sig string) string {
			if i == -1 {
				return zero
			}
			return sig
		}, http.StatusForbidden, "SignatureDoesNotMatch"},
	}
	t.Run("unknown x-amz-content-sha256", func(t *testing.T) {
		master, _ := sb.Account("master")
		for _, h := range []string{"STREAMING-AWS4-HMAC-SHA256-PAYLOADS", "not-a-digest"} {
			req, _ := http.NewRequest(http.MethodPut, sb.URL()+"/chunks/unknown", strings.NewReader("x"))
			req.Header.Set("X-Amz-Content-Sha256", h)
			creds := aws.Credentials{AccessKeyID: master.AccessKeyID, SecretAccessKey: master.SecretAccessKey}
			if err := v4.NewSigner().SignHTTP(ctx, creds, req, h, "s3", "us-east-1", time.Now()); err != nil {
				t.Fatal(err)
			}
			if status, body := do(t, req); status != http.StatusBadRequest || !strings.Contains(body, "<Code>InvalidArgument</Code>") {
				t.Errorf("%s: got %d %s, want 400 InvalidArgument", h, status, body)
			}
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := strings.ReplaceAll(tt.name, " ", "-")
			status, body := do(t, chunkedPut(ctx, t, sb, key, data, 8192, tt.trailer, tt.tamper))
			if status != tt.status || !strings.Contains(body, tt.code) {
				t.Fatalf("got %d %s, want %d %s", status, body, tt.status, tt.code)
			}
			out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("chunks"), Key: aws.String(key)})
			if tt.status != http.StatusOK {
				if err == nil {
					out.Body.Close()
					t.Fatal("the refused upload was stored")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer out.Body.Close()
			if got, _ := io.ReadAll(out.Body); string(got) != string(data) {
				t.Errorf("stored %d bytes, want the %d uploaded", len(got), len(data))
			}
		})
	}
}
