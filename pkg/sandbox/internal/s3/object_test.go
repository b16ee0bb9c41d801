package s3

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func b64md5(s string) string {
	sum := md5.Sum([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func TestPutGetHeadObject(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("objs")
	w := e.must(200, req{method: "PUT", target: "/objs/dir/a.txt", body: "hello", headers: map[string]string{
		"Content-Type": "text/plain", "x-amz-meta-Owner": "me", "Content-MD5": b64md5("hello"),
		"x-amz-server-side-encryption": "AES256", "x-amz-checksum-crc32": checksumOf("CRC32", []byte("hello")),
	}})
	etag := `"` + md5Hex([]byte("hello")) + `"`
	if got := w.Header().Get("ETag"); got != etag {
		t.Fatalf("ETag = %s, want %s", got, etag)
	}
	if w.Header().Get("x-amz-version-id") != "" {
		t.Errorf("unversioned bucket returned a version id")
	}
	if w.Header().Get("x-amz-server-side-encryption") != "AES256" || w.Header().Get("x-amz-checksum-crc32") == "" {
		t.Errorf("PutObject headers = %v", w.Header())
	}
	w = e.must(200, req{method: "GET", target: "/objs/dir/a.txt", headers: map[string]string{"x-amz-checksum-mode": "ENABLED"}})
	h := w.Header()
	if w.Body.String() != "hello" || h.Get("Content-Type") != "text/plain" || h.Get("x-amz-meta-owner") != "me" ||
		h.Get("ETag") != etag || h.Get("Content-Length") != "5" || h.Get("x-amz-server-side-encryption") != "AES256" ||
		h.Get("x-amz-checksum-crc32") != checksumOf("CRC32", []byte("hello")) {
		t.Fatalf("GetObject = %q %v", w.Body.String(), h)
	}
	w = e.must(200, req{method: "HEAD", target: "/objs/dir/a.txt"})
	if w.Body.Len() != 0 || w.Header().Get("Content-Length") != "5" {
		t.Fatalf("HeadObject = %q %v", w.Body.String(), w.Header())
	}
	w = e.do(req{method: "HEAD", target: "/objs/nope"})
	if w.Code != 404 || w.Body.Len() != 0 {
		t.Fatalf("HeadObject(missing) = %d %q", w.Code, w.Body.String())
	}
	w = e.do(req{method: "GET", target: "/objs/nope"})
	if w.Code != 404 || !strings.Contains(w.Body.String(), "<Key>nope</Key>") || !strings.Contains(w.Body.String(), "NoSuchKey") {
		t.Fatalf("GetObject(missing) = %d %s", w.Code, w.Body.String())
	}
	// Ranges.
	ranges := []struct {
		hdr, want string
		status    int
	}{
		{"bytes=1-3", "ell", 206}, {"bytes=2-", "llo", 206}, {"bytes=-2", "lo", 206}, {"bytes=0-99", "hello", 206},
		{"bytes=9-", "", 416}, {"items=0-1", "hello", 200},
	}
	for _, r := range ranges {
		t.Run(r.hdr, func(t *testing.T) {
			w := e.do(req{method: "GET", target: "/objs/dir/a.txt", headers: map[string]string{"Range": r.hdr}})
			if w.Code != r.status || r.status != 416 && w.Body.String() != r.want {
				t.Fatalf("Range %s = %d %q", r.hdr, w.Code, w.Body.String())
			}
		})
	}
	// Read conditions.
	if w := e.do(req{method: "GET", target: "/objs/dir/a.txt", headers: map[string]string{"If-None-Match": etag}}); w.Code != 304 {
		t.Errorf("If-None-Match on read = %d, want 304", w.Code)
	}
	if st, code := e.errCode(req{method: "GET", target: "/objs/dir/a.txt", headers: map[string]string{"If-Match": `"abc"`}}); st != 412 || code != "PreconditionFailed" {
		t.Errorf("If-Match on read = %d %s, want 412", st, code)
	}
	// Response overrides.
	if w := e.must(200, req{method: "GET", target: "/objs/dir/a.txt?response-content-type=application/json"}); w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("response-content-type ignored: %v", w.Header())
	}
}

func TestPutObjectIntegrity(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("integ")
	tests := []struct {
		name    string
		headers map[string]string
		status  int
		code    string
	}{
		{"bad md5", map[string]string{"Content-MD5": b64md5("other")}, 400, "BadDigest"},
		{"invalid md5", map[string]string{"Content-MD5": "zz"}, 400, "InvalidDigest"},
		{"bad crc32", map[string]string{"x-amz-checksum-crc32": checksumOf("CRC32", []byte("other"))}, 400, "BadDigest"},
		{"bad sha256", map[string]string{"x-amz-checksum-sha256": checksumOf("SHA256", []byte("other"))}, 400, "BadDigest"},
		{"good crc64", map[string]string{"x-amz-checksum-crc64nvme": checksumOf("CRC64NVME", []byte("data"))}, 200, ""},
		{"good crc32c", map[string]string{"x-amz-checksum-crc32c": checksumOf("CRC32C", []byte("data"))}, 200, ""},
		{"bad sse", map[string]string{"x-amz-server-side-encryption": "rot13"}, 400, "InvalidArgument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, code := e.errCode(req{method: "PUT", target: "/integ/k", body: "data", headers: tt.headers})
			if st != tt.status || code != tt.code {
				t.Fatalf("got %d %s, want %d %s", st, code, tt.status, tt.code)
			}
		})
	}
	long := strings.Repeat("k", 1025)
	if st, code := e.errCode(req{method: "PUT", target: "/integ/" + long, body: "x"}); st != 400 || code != "KeyTooLongError" {
		t.Fatalf("long key = %d %s", st, code)
	}
}

func TestBucketDefaultEncryption(t *testing.T) {
	e := newEnv(t)
	if err := e.svc.CreateBucketFor(acctA, "eu-west-1", "enc-bucket", BucketSettings{SSEAlgorithm: "aws:kms"}); err != nil {
		t.Fatal(err)
	}
	w := e.must(200, req{method: "PUT", target: "/enc-bucket/k", body: "x"})
	if w.Header().Get("x-amz-server-side-encryption") != "aws:kms" ||
		w.Header().Get("x-amz-server-side-encryption-aws-kms-key-id") != "arn:aws:kms:eu-west-1:"+acctA+":alias/aws/s3" {
		t.Fatalf("default encryption not applied: %v", w.Header())
	}
	// An explicit header wins over the default.
	w = e.must(200, req{method: "PUT", target: "/enc-bucket/k2", body: "x", headers: map[string]string{"x-amz-server-side-encryption": "AES256"}})
	if w.Header().Get("x-amz-server-side-encryption") != "AES256" {
		t.Fatalf("explicit encryption = %v", w.Header())
	}
}

func TestConditionalWrites(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("cond")
	e.must(200, req{method: "PUT", target: "/cond/k", body: "v1", headers: map[string]string{"If-None-Match": "*"}})
	etag := `"` + md5Hex([]byte("v1")) + `"`
	tests := []struct {
		name    string
		target  string
		headers map[string]string
		status  int
		code    string
	}{
		{"create exists", "/cond/k", map[string]string{"If-None-Match": "*"}, 412, "PreconditionFailed"},
		{"match wrong", "/cond/k", map[string]string{"If-Match": `"0000"`}, 412, "PreconditionFailed"},
		{"match missing", "/cond/none", map[string]string{"If-Match": etag}, 404, "NoSuchKey"},
		{"none-match etag", "/cond/k", map[string]string{"If-None-Match": etag}, 501, "NotImplemented"},
		{"match right", "/cond/k", map[string]string{"If-Match": etag}, 200, ""},
		{"match right unquoted", "/cond/k", map[string]string{"If-Match": md5Hex([]byte("v2"))}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, code := e.errCode(req{method: "PUT", target: tt.target, body: "v2", headers: tt.headers})
			if st != tt.status || code != tt.code {
				t.Fatalf("got %d %s, want %d %s", st, code, tt.status, tt.code)
			}
		})
	}
	// Once deleted, If-None-Match: * succeeds again.
	e.must(204, req{method: "DELETE", target: "/cond/k"})
	e.must(200, req{method: "PUT", target: "/cond/k", body: "v3", headers: map[string]string{"If-None-Match": "*"}})
}

type listVersionsResult struct {
	Versions []struct {
		Key, VersionId string
		IsLatest       bool
	} `xml:"Version"`
	DeleteMarkers []struct {
		Key, VersionId string
		IsLatest       bool
	} `xml:"DeleteMarker"`
	IsTruncated         bool
	NextKeyMarker       string
	NextVersionIdMarker string
}

func TestVersioning(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("ver")
	e.must(200, req{method: "PUT", target: "/ver/k", body: "pre"})
	e.must(200, req{method: "PUT", target: "/ver?versioning", body: `<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`})
	v1 := e.must(200, req{method: "PUT", target: "/ver/k", body: "one"}).Header().Get("x-amz-version-id")
	v2 := e.must(200, req{method: "PUT", target: "/ver/k", body: "two"}).Header().Get("x-amz-version-id")
	if v1 == "" || v2 == "" || v1 == v2 || v1 == "null" {
		t.Fatalf("version ids %q %q", v1, v2)
	}
	if got := e.must(200, req{method: "GET", target: "/ver/k"}).Body.String(); got != "two" {
		t.Fatalf("current = %q", got)
	}
	for id, want := range map[string]string{v1: "one", v2: "two", "null": "pre"} {
		w := e.must(200, req{method: "GET", target: "/ver/k?versionId=" + id})
		if w.Body.String() != want || w.Header().Get("x-amz-version-id") != id {
			t.Errorf("version %s = %q (%s)", id, w.Body.String(), w.Header().Get("x-amz-version-id"))
		}
	}
	if st, code := e.errCode(req{method: "GET", target: "/ver/k?versionId=nope"}); st != 404 || code != "NoSuchVersion" {
		t.Errorf("missing version = %d %s", st, code)
	}
	w := e.must(204, req{method: "DELETE", target: "/ver/k"})
	marker := w.Header().Get("x-amz-version-id")
	if w.Header().Get("x-amz-delete-marker") != "true" || marker == "" {
		t.Fatalf("delete marker headers = %v", w.Header())
	}
	w = e.do(req{method: "GET", target: "/ver/k"})
	if w.Code != 404 || w.Header().Get("x-amz-delete-marker") != "true" {
		t.Fatalf("GET after delete = %d %v", w.Code, w.Header())
	}
	if st, code := e.errCode(req{method: "GET", target: "/ver/k?versionId=" + marker}); st != 405 || code != "MethodNotAllowed" {
		t.Errorf("GET delete marker version = %d %s", st, code)
	}
	var lv listVersionsResult
	if err := xml.Unmarshal(e.must(200, req{method: "GET", target: "/ver?versions"}).Body.Bytes(), &lv); err != nil {
		t.Fatal(err)
	}
	if len(lv.Versions) != 3 || len(lv.DeleteMarkers) != 1 || !lv.DeleteMarkers[0].IsLatest || lv.Versions[0].VersionId != v2 || lv.Versions[2].VersionId != "null" {
		t.Fatalf("ListObjectVersions = %+v", lv)
	}
	// Paginate versions one by one.
	var seen []string
	km, vm := "", ""
	for i := 0; i < 10; i++ {
		target := "/ver?versions&max-keys=1"
		if km != "" {
			target += "&key-marker=" + km + "&version-id-marker=" + vm
		}
		var page listVersionsResult
		if err := xml.Unmarshal(e.must(200, req{method: "GET", target: target}).Body.Bytes(), &page); err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Versions {
			seen = append(seen, v.VersionId)
		}
		for _, v := range page.DeleteMarkers {
			seen = append(seen, v.VersionId)
		}
		if !page.IsTruncated {
			break
		}
		km, vm = page.NextKeyMarker, page.NextVersionIdMarker
	}
	if want := []string{marker, v2, v1, "null"}; fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("paged versions %v, want %v", seen, want)
	}
	// Deleting the marker restores the object.
	if w := e.must(204, req{method: "DELETE", target: "/ver/k?versionId=" + marker}); w.Header().Get("x-amz-delete-marker") != "true" {
		t.Errorf("deleting a marker should say so: %v", w.Header())
	}
	if got := e.must(200, req{method: "GET", target: "/ver/k"}).Body.String(); got != "two" {
		t.Fatalf("after removing marker = %q", got)
	}
	// Suspended: writes replace the null version.
	e.must(200, req{method: "PUT", target: "/ver?versioning", body: `<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>`})
	if id := e.must(200, req{method: "PUT", target: "/ver/k", body: "sus"}).Header().Get("x-amz-version-id"); id != "null" {
		t.Fatalf("suspended version id = %q", id)
	}
	if got := e.must(200, req{method: "GET", target: "/ver/k?versionId=null"}).Body.String(); got != "sus" {
		t.Fatalf("null version after suspended write = %q", got)
	}
	// A versioned bucket with versions is not empty.
	if st, code := e.errCode(req{method: "DELETE", target: "/ver"}); st != 409 || code != "BucketNotEmpty" {
		t.Fatalf("DeleteBucket = %d %s", st, code)
	}
}

type listV2Result struct {
	Contents []struct {
		Key  string
		Size int64
	} `xml:"Contents"`
	CommonPrefixes []struct {
		Prefix string
	} `xml:"CommonPrefixes"`
	KeyCount              int
	IsTruncated           bool
	NextContinuationToken string
	NextMarker            string
}

func (r listV2Result) names() []string {
	var out []string
	for _, c := range r.Contents {
		out = append(out, c.Key)
	}
	for _, p := range r.CommonPrefixes {
		out = append(out, p.Prefix+"(p)")
	}
	return out
}

func TestListObjects(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("lst")
	for _, k := range []string{"a", "b/1", "b/2", "c/x/1", "d", "e f+g"} {
		e.must(200, req{method: "PUT", target: "/lst/" + strings.ReplaceAll(strings.ReplaceAll(k, " ", "%20"), "+", "%2B"), body: k})
	}
	list := func(q string) listV2Result {
		t.Helper()
		var r listV2Result
		if err := xml.Unmarshal(e.must(200, req{method: "GET", target: "/lst?" + q}).Body.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		query string
		want  string
	}{
		{"list-type=2", "[a b/1 b/2 c/x/1 d e f+g]"},
		{"list-type=2&delimiter=/", "[a d e f+g b/(p) c/(p)]"},
		{"list-type=2&prefix=b/", "[b/1 b/2]"},
		{"list-type=2&prefix=c/&delimiter=/", "[c/x/(p)]"},
		{"list-type=2&start-after=b/1", "[b/2 c/x/1 d e f+g]"},
		{"list-type=2&encoding-type=url&prefix=e", "[e+f%2Bg]"},
		{"prefix=b", "[b/1 b/2]"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			if got := fmt.Sprint(list(tt.query).names()); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
	// Pagination with a delimiter: prefixes count towards max-keys.
	var all [][]string
	token := ""
	for i := 0; i < 10; i++ {
		q := "list-type=2&delimiter=/&max-keys=2"
		if token != "" {
			q += "&continuation-token=" + token
		}
		r := list(q)
		all = append(all, r.names())
		if r.KeyCount != len(r.names()) {
			t.Errorf("KeyCount %d for %v", r.KeyCount, r.names())
		}
		if !r.IsTruncated {
			break
		}
		token = r.NextContinuationToken
	}
	if got := fmt.Sprint(all); got != "[[a b/(p)] [d c/(p)] [e f+g]]" {
		t.Fatalf("paginated = %s", got)
	}
	// V1 pagination with markers.
	r := list("max-keys=2")
	if !r.IsTruncated || r.NextMarker != "b/1" {
		t.Fatalf("V1 page = %+v", r)
	}
	if got := fmt.Sprint(list("marker=b/1&max-keys=2").names()); got != "[b/2 c/x/1]" {
		t.Fatalf("V1 second page = %s", got)
	}
	if st, code := e.errCode(req{method: "GET", target: "/lst?list-type=2&max-keys=x"}); st != 400 || code != "InvalidArgument" {
		t.Fatalf("bad max-keys = %d %s", st, code)
	}
	if st, code := e.errCode(req{method: "GET", target: "/lst?list-type=2&continuation-token=!!"}); st != 400 || code != "InvalidArgument" {
		t.Fatalf("bad token = %d %s", st, code)
	}
}

func TestDeleteObjects(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("bulk")
	e.must(200, req{method: "PUT", target: "/bulk/a", body: "1"})
	e.must(200, req{method: "PUT", target: "/bulk/b", body: "2"})
	doc := `<Delete><Object><Key>a</Key></Object><Object><Key>b</Key></Object><Object><Key>missing</Key></Object></Delete>`
	if st, code := e.errCode(req{method: "POST", target: "/bulk?delete", body: doc}); st != 400 || code != "InvalidRequest" {
		t.Fatalf("DeleteObjects without Content-MD5 = %d %s", st, code)
	}
	w := e.must(200, req{method: "POST", target: "/bulk?delete", body: doc, headers: map[string]string{"Content-MD5": b64md5(doc)}})
	if strings.Count(w.Body.String(), "<Deleted>") != 3 {
		t.Fatalf("DeleteObjects = %s", w.Body.String())
	}
	if st, _ := e.errCode(req{method: "GET", target: "/bulk/a"}); st != 404 {
		t.Fatalf("a still there")
	}
}

func TestCopyObject(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("src-b")
	e.mkBucket("dst-b")
	e.must(200, req{method: "PUT", target: "/src-b/k", body: "payload", headers: map[string]string{"x-amz-meta-a": "1", "Content-Type": "text/x"}})
	w := e.must(200, req{method: "PUT", target: "/dst-b/copy", headers: map[string]string{"x-amz-copy-source": "/src-b/k"}})
	if !strings.Contains(w.Body.String(), md5Hex([]byte("payload"))) {
		t.Fatalf("CopyObject = %s", w.Body.String())
	}
	g := e.must(200, req{method: "GET", target: "/dst-b/copy"})
	if g.Body.String() != "payload" || g.Header().Get("x-amz-meta-a") != "1" || g.Header().Get("Content-Type") != "text/x" {
		t.Fatalf("copied object = %q %v", g.Body.String(), g.Header())
	}
	e.must(200, req{method: "PUT", target: "/dst-b/copy2", headers: map[string]string{"x-amz-copy-source": "src-b/k", "x-amz-metadata-directive": "REPLACE", "x-amz-meta-b": "2"}})
	g = e.must(200, req{method: "GET", target: "/dst-b/copy2"})
	if g.Header().Get("x-amz-meta-a") != "" || g.Header().Get("x-amz-meta-b") != "2" {
		t.Fatalf("REPLACE metadata = %v", g.Header())
	}
	if st, code := e.errCode(req{method: "PUT", target: "/src-b/k", headers: map[string]string{"x-amz-copy-source": "/src-b/k"}}); st != 400 || code != "InvalidRequest" {
		t.Fatalf("self copy = %d %s", st, code)
	}
	if st, code := e.errCode(req{method: "PUT", target: "/dst-b/x", headers: map[string]string{"x-amz-copy-source": "/src-b/none"}}); st != 404 || code != "NoSuchKey" {
		t.Fatalf("copy missing = %d %s", st, code)
	}
	// Reading the source needs s3:GetObject in the source bucket's account.
	if st, _ := e.errCode(req{caller: root(acctB), method: "PUT", target: "/dst-b/y", headers: map[string]string{"x-amz-copy-source": "/src-b/k"}}); st != 403 {
		t.Fatalf("cross-account copy = %d", st)
	}
	if n := len(e.events); n != 3 {
		t.Fatalf("events = %d, want 3 (1 put + 2 copies)", n)
	}
}

func TestMultipartUpload(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("mpu")
	start := func(key string) string {
		var r struct{ UploadId string }
		w := e.must(200, req{method: "POST", target: "/mpu/" + key + "?uploads", headers: map[string]string{"Content-Type": "text/big", "x-amz-checksum-algorithm": "CRC32"}})
		if err := xml.Unmarshal(w.Body.Bytes(), &r); err != nil || r.UploadId == "" {
			t.Fatalf("CreateMultipartUpload = %s", w.Body.String())
		}
		return r.UploadId
	}
	id := start("big")
	p1 := bytes.Repeat([]byte("a"), minPartSize)
	p2 := []byte("tail")
	w1 := e.must(200, req{method: "PUT", target: "/mpu/big?partNumber=1&uploadId=" + id, body: string(p1)})
	w2 := e.must(200, req{method: "PUT", target: "/mpu/big?partNumber=2&uploadId=" + id, body: string(p2)})
	if w1.Header().Get("x-amz-checksum-crc32") != checksumOf("CRC32", p1) {
		t.Errorf("part checksum = %v", w1.Header())
	}
	lp := e.must(200, req{method: "GET", target: "/mpu/big?uploadId=" + id})
	if strings.Count(lp.Body.String(), "<Part>") != 2 {
		t.Errorf("ListParts = %s", lp.Body.String())
	}
	if lu := e.must(200, req{method: "GET", target: "/mpu?uploads"}); !strings.Contains(lu.Body.String(), id) {
		t.Errorf("ListMultipartUploads = %s", lu.Body.String())
	}
	doc := func(parts ...string) string {
		var b strings.Builder
		b.WriteString("<CompleteMultipartUpload>")
		for i := 0; i+1 < len(parts); i += 2 {
			fmt.Fprintf(&b, "<Part><PartNumber>%s</PartNumber><ETag>%s</ETag></Part>", parts[i], parts[i+1])
		}
		b.WriteString("</CompleteMultipartUpload>")
		return b.String()
	}
	e1, e2 := w1.Header().Get("ETag"), w2.Header().Get("ETag")
	bad := []struct {
		name, body, code string
	}{
		{"order", doc("2", e2, "1", e1), "InvalidPartOrder"},
		{"etag", doc("1", e2, "2", e2), "InvalidPart"},
		{"unknown part", doc("1", e1, "3", e2), "InvalidPart"},
		{"empty", "<CompleteMultipartUpload></CompleteMultipartUpload>", "MalformedXML"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			if st, code := e.errCode(req{method: "POST", target: "/mpu/big?uploadId=" + id, body: b.body}); st != 400 || code != b.code {
				t.Fatalf("got %d %s, want 400 %s", st, code, b.code)
			}
		})
	}
	w := e.must(200, req{method: "POST", target: "/mpu/big?uploadId=" + id, body: doc("1", e1, "2", e2)})
	sum1, sum2 := md5.Sum(p1), md5.Sum(p2)
	all := md5.Sum(append(sum1[:], sum2[:]...))
	wantETag := fmt.Sprintf(`"%x-2"`, all[:])
	if !strings.Contains(w.Body.String(), "<ETag>"+strings.ReplaceAll(wantETag, `"`, "&#34;")+"</ETag>") {
		t.Fatalf("Complete = %s, want ETag %s", w.Body.String(), wantETag)
	}
	g := e.must(200, req{method: "GET", target: "/mpu/big"})
	if g.Body.Len() != len(p1)+len(p2) || g.Header().Get("ETag") != wantETag || g.Header().Get("Content-Type") != "text/big" || g.Header().Get("x-amz-mp-parts-count") != "2" {
		t.Fatalf("assembled object: len %d headers %v", g.Body.Len(), g.Header())
	}
	if p := e.must(206, req{method: "GET", target: "/mpu/big?partNumber=2"}); p.Body.String() != "tail" {
		t.Fatalf("partNumber=2 = %q", p.Body.String())
	}
	if st, code := e.errCode(req{method: "POST", target: "/mpu/big?uploadId=" + id, body: doc("1", e1, "2", e2)}); st != 404 || code != "NoSuchUpload" {
		t.Fatalf("second Complete = %d %s", st, code)
	}
	// Small non-final parts are refused.
	id2 := start("small")
	s1 := e.must(200, req{method: "PUT", target: "/mpu/small?partNumber=1&uploadId=" + id2, body: "x"}).Header().Get("ETag")
	s2 := e.must(200, req{method: "PUT", target: "/mpu/small?partNumber=2&uploadId=" + id2, body: "y"}).Header().Get("ETag")
	if st, code := e.errCode(req{method: "POST", target: "/mpu/small?uploadId=" + id2, body: doc("1", s1, "2", s2)}); st != 400 || code != "EntityTooSmall" {
		t.Fatalf("small parts = %d %s", st, code)
	}
	e.must(204, req{method: "DELETE", target: "/mpu/small?uploadId=" + id2})
	if st, code := e.errCode(req{method: "PUT", target: "/mpu/small?partNumber=3&uploadId=" + id2, body: "z"}); st != 404 || code != "NoSuchUpload" {
		t.Fatalf("part after abort = %d %s", st, code)
	}
	if st, code := e.errCode(req{method: "PUT", target: "/mpu/small?partNumber=0&uploadId=" + id2, body: "z"}); st != 400 || code != "InvalidArgument" {
		t.Fatalf("part 0 = %d %s", st, code)
	}
	if len(e.events) != 1 || e.events[0].Key != "big" || e.events[0].ETag != strings.Trim(wantETag, `"`) || e.events[0].Size != int64(len(p1)+len(p2)) {
		t.Fatalf("events = %+v", e.events)
	}
}

func TestAWSChunkedBody(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("chunky")
	data := "hello chunked world"
	sig := ";chunk-signature=" + strings.Repeat("0", 64)
	signed := fmt.Sprintf("%x%s\r\n%s\r\n%x%s\r\n%s\r\n0%s\r\n\r\n", 6, sig, data[:6], len(data)-6, sig, data[6:], sig)
	trailer := fmt.Sprintf("%x\r\n%s\r\n0\r\nx-amz-checksum-crc32:%s\r\n\r\n", len(data), data, checksumOf("CRC32", []byte(data)))
	badTrailer := fmt.Sprintf("%x\r\n%s\r\n0\r\nx-amz-checksum-crc32:%s\r\n\r\n", len(data), data, checksumOf("CRC32", []byte("nope")))
	tests := []struct {
		name, body, sha string
		status          int
	}{
		{"signed chunks", signed, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", 200},
		{"unsigned trailer", trailer, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", 200},
		{"bad trailer checksum", badTrailer, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", 400},
		{"truncated", "ff\r\nabc", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(req{method: "PUT", target: "/chunky/k", body: tt.body, headers: map[string]string{
				"Content-Encoding": "aws-chunked", "x-amz-content-sha256": tt.sha,
				"x-amz-decoded-content-length": fmt.Sprint(len(data)), "x-amz-trailer": "x-amz-checksum-crc32",
			}})
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body.String())
			}
			if tt.status != 200 {
				return
			}
			g := e.must(200, req{method: "GET", target: "/chunky/k"})
			if g.Body.String() != data || g.Header().Get("Content-Encoding") != "" {
				t.Fatalf("stored %q (encoding %q)", g.Body.String(), g.Header().Get("Content-Encoding"))
			}
		})
	}
}

func TestNotifications(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("events")
	e.must(200, req{method: "PUT", target: "/events?versioning", body: `<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`})
	w := e.must(200, req{method: "PUT", target: "/events/config.zip", body: "zip"})
	e.do(req{method: "PUT", target: "/events/config.zip", body: "zip", headers: map[string]string{"If-None-Match": "*"}}) // fails: no event
	if len(e.events) != 1 {
		t.Fatalf("events = %+v", e.events)
	}
	ev := e.events[0]
	want := ObjectCreated{Account: acctA, Region: "us-east-1", Bucket: "events", Key: "config.zip", VersionID: w.Header().Get("x-amz-version-id"),
		Size: 3, ETag: md5Hex([]byte("zip")), Time: ev.Time, RequesterARN: "arn:aws:iam::" + acctA + ":root",
		Reason: "PutObject", Sequencer: ev.Sequencer, RequestID: "req-1"}
	if ev != want || ev.Time.IsZero() || ev.Sequencer == "" {
		t.Fatalf("event = %+v, want %+v", ev, want)
	}

	// With EventBridge on, events say so; copies say CopyObject; sequencers grow.
	e.must(200, req{method: "PUT", target: "/events?notification", body: `<NotificationConfiguration><EventBridgeConfiguration></EventBridgeConfiguration></NotificationConfiguration>`})
	if g := e.must(200, req{method: "GET", target: "/events?notification"}); !strings.Contains(g.Body.String(), "<EventBridgeConfiguration>") {
		t.Fatalf("GetBucketNotificationConfiguration = %s", g.Body.String())
	}
	e.must(200, req{method: "PUT", target: "/events/copy.zip", headers: map[string]string{"x-amz-copy-source": "/events/config.zip"}})
	if len(e.events) != 2 || !e.events[1].EventBridge || e.events[1].Reason != "CopyObject" || e.events[1].Sequencer <= ev.Sequencer {
		t.Fatalf("after EventBridge on: %+v", e.events)
	}
	if w := e.do(req{method: "PUT", target: "/events?notification", body: `<NotificationConfiguration><TopicConfiguration><Topic>arn:aws:sns:us-east-1:111111111111:t</Topic><Event>s3:ObjectCreated:*</Event></TopicConfiguration></NotificationConfiguration>`}); w.Code != 400 || !strings.Contains(w.Body.String(), "InvalidArgument") {
		t.Fatalf("a topic destination: %d %s", w.Code, w.Body.String())
	}
	e.must(200, req{method: "PUT", target: "/events?notification", body: `<NotificationConfiguration/>`})
	if g := e.must(200, req{method: "GET", target: "/events?notification"}); strings.Contains(g.Body.String(), "EventBridge") {
		t.Fatalf("after turning it off: %s", g.Body.String())
	}
}

func TestAdminAPI(t *testing.T) {
	e := newEnv(t)
	pab := &PublicAccessBlock{BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true}
	if err := e.svc.CreateBucketFor(acctA, "", "stacker-bucket", BucketSettings{Versioning: "Enabled", SSEAlgorithm: "AES256", PublicAccessBlock: pab, Tags: map[string]string{"a": "b"}}); err != nil {
		t.Fatal(err)
	}
	checkCode := func(err error, code string) {
		t.Helper()
		var got string
		if err != nil {
			got = err.Error()
		}
		if !strings.HasPrefix(got, code) {
			t.Fatalf("error %v, want %s", err, code)
		}
	}
	checkCode(e.svc.CreateBucketFor(acctA, "", "stacker-bucket", BucketSettings{}), "BucketAlreadyOwnedByYou")
	checkCode(e.svc.CreateBucketFor(acctB, "", "stacker-bucket", BucketSettings{}), "BucketAlreadyExists")
	checkCode(e.svc.CreateBucketFor(acctB, "", "No", BucketSettings{}), "InvalidBucketName")
	if got := body(t, e.must(200, req{method: "GET", target: "/stacker-bucket?encryption"})); !strings.Contains(got, "AES256") {
		t.Fatalf("encryption = %s", got)
	}
	if got := body(t, e.must(200, req{method: "GET", target: "/stacker-bucket?versioning"})); !strings.Contains(got, "Enabled") {
		t.Fatalf("versioning = %s", got)
	}
	checkCode(e.svc.SetBucketPolicy(acctA, "stacker-bucket", "{"), "MalformedPolicy")
	checkCode(e.svc.SetBucketPolicy(acctA, "stacker-bucket", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::stacker-bucket/*"}}`), "AccessDenied")
	policy := `{"Statement":{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::` + acctB + `:role/Stacker"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::stacker-bucket/*"}}`
	checkCode(e.svc.SetBucketPolicy(acctA, "stacker-bucket", policy), "")
	checkCode(e.svc.SetBucketPolicy(acctB, "stacker-bucket", policy), "NoSuchBucket")

	e.must(200, req{method: "PUT", target: "/stacker-bucket/t.json", body: "{}"})
	data, err := e.svc.ReadObject(&testCallB, "stacker-bucket", "t.json", "")
	if err != nil || string(data) != "{}" {
		t.Fatalf("ReadObject = %q, %v", data, err)
	}
	_, err = e.svc.ReadObject(&testCallB, "stacker-bucket", "none.json", "")
	checkCode(err, "AccessDenied") // no s3:ListBucket for acctB
	_, err = e.svc.ReadObject(&testCallA, "stacker-bucket", "none.json", "")
	checkCode(err, "NoSuchKey")
	_, err = e.svc.ReadObject(&testCallA, "nobucket", "t.json", "")
	checkCode(err, "NoSuchBucket")
	checkCode(e.svc.SetBucketPolicy(acctA, "stacker-bucket", ""), "")
	_, err = e.svc.ReadObject(&testCallB, "stacker-bucket", "t.json", "")
	checkCode(err, "AccessDenied")

	// Settings updates replace: dropping encryption and the block, tags.
	checkCode(e.svc.UpdateBucketSettings(acctA, "stacker-bucket", BucketSettings{SSEAlgorithm: "ROT13"}), "MalformedXML")
	checkCode(e.svc.UpdateBucketSettings(acctA, "stacker-bucket", BucketSettings{}), "")
	if st, _ := e.errCode(req{method: "GET", target: "/stacker-bucket?encryption"}); st != 404 {
		t.Fatalf("encryption after update = %d", st)
	}
	if got := body(t, e.must(200, req{method: "GET", target: "/stacker-bucket?versioning"})); !strings.Contains(got, "Enabled") {
		t.Fatalf("versioning lost on update: %s", got)
	}
	checkCode(e.svc.DeleteBucketFor(acctA, "stacker-bucket"), "BucketNotEmpty")
	e.must(204, req{method: "DELETE", target: "/stacker-bucket/t.json"})
	checkCode(e.svc.DeleteBucketFor(acctA, "stacker-bucket"), "BucketNotEmpty") // delete marker + version remain
	var lv listVersionsResult
	_ = xml.Unmarshal(e.must(200, req{method: "GET", target: "/stacker-bucket?versions"}).Body.Bytes(), &lv)
	for _, v := range lv.Versions {
		e.must(204, req{method: "DELETE", target: "/stacker-bucket/t.json?versionId=" + v.VersionId})
	}
	for _, v := range lv.DeleteMarkers {
		e.must(204, req{method: "DELETE", target: "/stacker-bucket/t.json?versionId=" + v.VersionId})
	}
	checkCode(e.svc.DeleteBucketFor(acctA, "stacker-bucket"), "")
	checkCode(e.svc.DeleteBucketFor(acctA, "stacker-bucket"), "NoSuchBucket")
	_ = http.StatusOK
}
