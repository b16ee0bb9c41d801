package s3

import (
	"net/http/httptest"
	"testing"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		method, target, host string
		headers              map[string]string
		op, bucket, key      string
	}{
		{"GET", "/", "", nil, "ListBuckets", "", ""},
		{"PUT", "/b1", "", nil, "CreateBucket", "b1", ""},
		{"PUT", "/b1/", "", nil, "CreateBucket", "b1", ""},
		{"HEAD", "/b1", "", nil, "HeadBucket", "b1", ""},
		{"DELETE", "/b1", "", nil, "DeleteBucket", "b1", ""},
		{"GET", "/b1?location", "", nil, "GetBucketLocation", "b1", ""},
		{"GET", "/b1?list-type=2&prefix=a", "", nil, "ListObjectsV2", "b1", ""},
		{"GET", "/b1", "", nil, "ListObjects", "b1", ""},
		{"GET", "/b1?versions", "", nil, "ListObjectVersions", "b1", ""},
		{"PUT", "/b1?policy", "", nil, "PutBucketPolicy", "b1", ""},
		{"GET", "/b1?policy", "", nil, "GetBucketPolicy", "b1", ""},
		{"DELETE", "/b1?policy", "", nil, "DeleteBucketPolicy", "b1", ""},
		{"PUT", "/b1?versioning", "", nil, "PutBucketVersioning", "b1", ""},
		{"PUT", "/b1?encryption", "", nil, "PutBucketEncryption", "b1", ""},
		{"DELETE", "/b1?publicAccessBlock", "", nil, "DeletePublicAccessBlock", "b1", ""},
		{"PUT", "/b1?tagging", "", nil, "PutBucketTagging", "b1", ""},
		{"POST", "/b1?delete", "", nil, "DeleteObjects", "b1", ""},
		{"PUT", "/b1/a/b.txt", "", nil, "PutObject", "b1", "a/b.txt"},
		{"PUT", "/b1/k", "", map[string]string{"x-amz-copy-source": "/b2/k"}, "CopyObject", "b1", "k"},
		{"GET", "/b1/k?versionId=x", "", nil, "GetObject", "b1", "k"},
		{"HEAD", "/b1/k", "", nil, "HeadObject", "b1", "k"},
		{"DELETE", "/b1/k", "", nil, "DeleteObject", "b1", "k"},
		{"POST", "/b1/k?uploads", "", nil, "CreateMultipartUpload", "b1", "k"},
		{"PUT", "/b1/k?partNumber=1&uploadId=u", "", nil, "UploadPart", "b1", "k"},
		{"PUT", "/b1/k?partNumber=1&uploadId=u", "", map[string]string{"x-amz-copy-source": "b/k"}, "UploadPartCopy", "b1", "k"},
		{"POST", "/b1/k?uploadId=u", "", nil, "CompleteMultipartUpload", "b1", "k"},
		{"DELETE", "/b1/k?uploadId=u", "", nil, "AbortMultipartUpload", "b1", "k"},
		{"GET", "/b1/k?uploadId=u", "", nil, "ListParts", "b1", "k"},
		{"GET", "/k/x", "b1.s3.sandbox.test:4566", nil, "GetObject", "b1", "k/x"},
		{"GET", "/", "b1.s3.us-east-1.amazonaws.com", nil, "ListObjects", "b1", ""},
		{"PUT", "/", "my.dotted.bucket.localhost:4566", nil, "CreateBucket", "my.dotted.bucket", ""},
		{"GET", "/b1/k", "s3.us-east-1.amazonaws.com", nil, "GetObject", "b1", "k"},
		{"GET", "/b1/k", "localhost:4566", nil, "GetObject", "b1", "k"},
		{"GET", "/k", "b1.s3-us-west-2.amazonaws.com", nil, "GetObject", "b1", "k"},
		{"GET", "/b1/k", "127.0.0.1", nil, "GetObject", "b1", "k"},
		{"GET", "/b1/k", "s3", nil, "GetObject", "b1", "k"},
		{"GET", "/k", "my.bucket.s3.amazonaws.com", nil, "GetObject", "my.bucket", "k"},
		{"GET", "/b1/k", "s3.amazonaws.com", nil, "GetObject", "b1", "k"},
		{"GET", "/b1/k", "[::1]:4566", nil, "GetObject", "b1", "k"},
		{"GET", "/b1/a%2Fb%20c", "", nil, "GetObject", "b1", "a/b c"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.host+tt.target, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, nil)
			if tt.host != "" {
				r.Host = tt.host
			}
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			got := parseRequest(r)
			if got.err != nil {
				t.Fatalf("error %v", got.err)
			}
			if got.op != tt.op || got.bucket != tt.bucket || got.key != tt.key {
				t.Errorf("got (%q, %q, %q), want (%q, %q, %q)", got.op, got.bucket, got.key, tt.op, tt.bucket, tt.key)
			}
		})
	}
}

func TestParseRequestRejectsUnknownMethods(t *testing.T) {
	for _, target := range []string{"/", "/b1", "/b1/k"} {
		t.Run(target, func(t *testing.T) {
			r := httptest.NewRequest("PATCH", target, nil)
			if got := parseRequest(r); got.err == nil {
				t.Fatalf("PATCH %s parsed as %q", target, got.op)
			}
		})
	}
}
