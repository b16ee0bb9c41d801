package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func startInternal(t testing.TB) *Sandbox {
	t.Helper()
	o := DefaultOptions()
	o.Listen = "127.0.0.1:0"
	sb, err := Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

// signed builds a request signed with the master root keys, serialized as on the wire.
func signed(t testing.TB, sb *Sandbox, method, target, service string, hdr map[string]string, body string) []byte {
	t.Helper()
	a := sb.accounts[0]
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Host = strings.TrimPrefix(sb.URL(), "http://")
	req.RequestURI = ""
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256([]byte(body))
	hash := hex.EncodeToString(sum[:])
	if service == "s3" {
		req.Header.Set("X-Amz-Content-Sha256", hash)
	}
	creds := aws.Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: a.SecretAccessKey}
	if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" }).SignHTTP(context.Background(), creds, req, hash, service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	// DumpRequest writes only Header fields: carry the length as on the wire.
	req.Header.Set("Content-Length", strconv.Itoa(len(body)))
	dump, err := httputil.DumpRequest(req, true)
	if err != nil {
		t.Fatal(err)
	}
	return dump
}

type panicHandler struct{}

func (panicHandler) ServeHTTP(http.ResponseWriter, *http.Request) { panic("boom") }

func TestPanicRecovered(t *testing.T) {
	sb := startInternal(t)
	sb.router.services["ssm"].handler = panicHandler{}
	raw := signed(t, sb, http.MethodPost, "/", "ssm", map[string]string{"X-Amz-Target": "AmazonSSM.GetParameter", "Content-Type": "application/x-amz-json-1.1"}, `{"Name":"x"}`)
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	sb.router.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "InternalFailure") {
		t.Fatalf("got %d %s, want 500 InternalFailure", rec.Code, rec.Body)
	}
	if sb.Panics() != 1 {
		t.Fatalf("Panics() = %d, want 1", sb.Panics())
	}
}

// FuzzRouter feeds raw HTTP requests (seeded from real signed requests of every
// protocol) through the router: it must answer, never panic.
func FuzzRouter(f *testing.F) {
	sb := startInternal(f)
	seeds := [][]byte{
		signed(f, sb, http.MethodPost, "/", "sts", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "Action=GetCallerIdentity&Version=2011-06-15"),
		signed(f, sb, http.MethodPost, "/", "cloudformation", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "Action=DescribeStacks&Version=2010-05-15&StackName=a"),
		signed(f, sb, http.MethodPost, "/", "ssm", map[string]string{"X-Amz-Target": "AmazonSSM.GetParameter", "Content-Type": "application/x-amz-json-1.1"}, `{"Name":"/x"}`),
		signed(f, sb, http.MethodPost, "/", "events", map[string]string{"X-Amz-Target": "AWSEvents.PutEvents", "Content-Type": "application/x-amz-json-1.1"}, `{"Entries":[{"Source":"a","DetailType":"b","Detail":"{}"}]}`),
		signed(f, sb, http.MethodPut, "/bucket/key%20x", "s3", nil, "hello"),
		signed(f, sb, http.MethodGet, "/bucket?list-type=2&prefix=a", "s3", nil, ""),
		[]byte("GET / HTTP/1.1\r\nHost: b.s3.localhost\r\n\r\n"),
		[]byte("POST / HTTP/1.1\r\nHost: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request, SignedHeaders=host;content-length;user-agent, Signature=00\r\nX-Amz-Date: 20240101T000000Z\r\nContent-Length: 3\r\n\r\nabc"),
		[]byte("GET /b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=A%2F2024%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=9999999&X-Amz-SignedHeaders=host&X-Amz-Signature=ab HTTP/1.1\r\nHost: x\r\n\r\n"),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return
		}
		req.RemoteAddr = "127.0.0.1:1234"
		rec := httptest.NewRecorder()
		sb.router.ServeHTTP(rec, req)
		if rec.Code == 0 || rec.Code < 200 {
			t.Fatalf("no status written")
		}
		if n := sb.Panics(); n != 0 {
			t.Fatalf("router panicked on %q", raw)
		}
	})
}
