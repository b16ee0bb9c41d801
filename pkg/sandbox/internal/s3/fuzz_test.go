package s3

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// fuzzService is a small populated service for one fuzz input.
func fuzzService(t *testing.T) *Service {
	svc := New(Options{}) // nil authorizer: owner-account semantics
	if err := svc.CreateBucketFor(acctA, "us-east-1", "fzb", BucketSettings{Versioning: "Enabled"}); err != nil {
		t.Fatal(err)
	}
	svc.mu.Lock()
	b := svc.buckets["fzb"]
	for _, k := range []string{"a", "dir/b", "dir/c"} {
		b.add(&object{key: k, versionID: randomID(8), data: []byte(k), etag: `"` + md5Hex([]byte(k)) + `"`, header: http.Header{}})
	}
	b.uploads["up"] = &upload{id: "up", key: "a", template: &object{key: "a", header: http.Header{}}, parts: map[int]*part{
		1: {data: []byte("p1"), etag: `"` + md5Hex([]byte("p1")) + `"`}}}
	svc.mu.Unlock()
	return svc
}

// FuzzServeHTTP feeds arbitrary S3 requests (method, path+query, Host, headers,
// body) to the service: it must never panic, and every refusal must be an
// AWS-shaped 4xx (or 501 for what is not implemented).
func FuzzServeHTTP(f *testing.F) {
	seeds := []struct{ method, target, host, headers, body string }{
		{"GET", "/", "", "", ""},
		{"PUT", "/nb", "", "", `<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`},
		{"PUT", "/fzb?versioning", "", "", `<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>`},
		{"PUT", "/fzb?policy", "", "", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::fzb/*"}]}`},
		{"PUT", "/fzb?encryption", "", "", `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`},
		{"PUT", "/fzb?publicAccessBlock", "", "", `<PublicAccessBlockConfiguration><BlockPublicPolicy>true</BlockPublicPolicy></PublicAccessBlockConfiguration>`},
		{"PUT", "/fzb?tagging", "", "", `<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>`},
		{"GET", "/fzb?list-type=2&delimiter=/&max-keys=1&continuation-token=ZGly", "", "", ""},
		{"GET", "/fzb?versions&key-marker=a&version-id-marker=x&max-keys=1", "", "", ""},
		{"GET", "/?prefix=dir&marker=a&encoding-type=url", "fzb.s3.sandbox.test", "", ""},
		{"PUT", "/fzb/k", "", "If-None-Match: *\nContent-MD5: XUFAKrxLKna5cZ2REBfFkg==", "hello"},
		{"PUT", "/fzb/k", "", "Content-Encoding: aws-chunked\nx-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\nx-amz-decoded-content-length: 5", "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"},
		{"GET", "/fzb/a", "", "Range: bytes=0-0\nIf-None-Match: \"x\"", ""},
		{"GET", "/fzb/a?partNumber=1", "", "", ""},
		{"PUT", "/fzb/copy", "", "x-amz-copy-source: /fz/a?versionId=zz\nx-amz-metadata-directive: REPLACE", ""},
		{"POST", "/fzb?delete", "", "Content-MD5: 1B2M2Y8AsgTpgAmY7PhCfg==", `<Delete><Object><Key>a</Key></Object></Delete>`},
		{"POST", "/fzb/a?uploads", "", "x-amz-checksum-algorithm: CRC32", ""},
		{"PUT", "/fzb/a?partNumber=2&uploadId=up", "", "", "part two"},
		{"POST", "/fzb/a?uploadId=up", "", "", `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"ff"</ETag></Part></CompleteMultipartUpload>`},
		{"GET", "/fzb/a?uploadId=up&max-parts=1", "", "", ""},
		{"DELETE", "/fzb/a?versionId=null", "", "", ""},
		{"HEAD", "/fzb", "", "", ""},
		{"DELETE", "/fzb", "", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.host, s.headers, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method, target, host, headers string, body []byte) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !strings.HasPrefix(target, "/") || len(body) > 1<<16 {
			t.Skip()
		}
		r := httptest.NewRequest(http.MethodGet, "/", bytes.NewReader(body))
		r.Method, r.URL, r.RequestURI = method, u, target
		r.Host = host
		for _, line := range strings.Split(headers, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && validHeaderName(k) {
				r.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
		}
		call := &awsapi.Call{Caller: root(acctA), Service: "s3", Region: "us-east-1", Time: time.Unix(1700000000, 0), RequestID: "fz"}
		r = r.WithContext(awsapi.WithCall(r.Context(), call))
		w := httptest.NewRecorder()
		fuzzService(t).ServeHTTP(w, r)
		if w.Code < 200 || w.Code >= 600 || w.Code >= 500 && w.Code != http.StatusNotImplemented {
			t.Fatalf("%s %s: status %d: %s", method, target, w.Code, w.Body.String())
		}
		if w.Code >= 400 && method != http.MethodHead && !strings.Contains(w.Body.String(), "<Code>") {
			t.Fatalf("%s %s: error %d without an S3 error document: %q", method, target, w.Code, w.Body.String())
		}
	})
}

func validHeaderName(k string) bool {
	k = strings.TrimSpace(k)
	if k == "" {
		return false
	}
	for _, c := range k {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, c) {
			return false
		}
	}
	return true
}

// FuzzDecodeChunked checks the aws-chunked decoder never panics and decodes
// what an encoder produces.
func FuzzDecodeChunked(f *testing.F) {
	f.Add([]byte("5;chunk-signature=ab\r\nhello\r\n0;chunk-signature=cd\r\n\r\n"), []byte("hello"), 3)
	f.Add([]byte("ffffffffffffffff\r\n"), []byte(""), 1)
	f.Add([]byte("0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"), []byte("payload of some size"), 7)
	f.Fuzz(func(t *testing.T, raw, data []byte, chunk int) {
		_, _, _ = decodeChunked(raw)
		if chunk <= 0 || chunk > 1<<10 {
			return
		}
		var enc bytes.Buffer
		for i := 0; i < len(data); i += chunk {
			part := data[i:min(i+chunk, len(data))]
			fmt.Fprintf(&enc, "%x;chunk-signature=00\r\n%s\r\n", len(part), part)
		}
		enc.WriteString("0\r\nx-amz-checksum-sha256:" + checksumOf("SHA256", data) + "\r\n\r\n")
		got, trailers, err := decodeChunked(enc.Bytes())
		if err != nil || !bytes.Equal(got, data) || trailers.Get("x-amz-checksum-sha256") != checksumOf("SHA256", data) {
			t.Fatalf("round trip of %q by %d: %q, %v, %v", data, chunk, got, trailers, err)
		}
	})
}
