package s3

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// request is what the URL, method and Host say about an S3 call.
type request struct {
	op     string // REST operation name, e.g. "GetObject"
	bucket string
	key    string
	query  url.Values
	err    error // set when the request cannot name an operation
}

// Operation names the S3 REST operation of r (e.g. "PutObject",
// "ListObjectsV2"), or "" when the method does not fit the resource. The core
// may use it to aim faults at S3 operations.
func Operation(r *http.Request) string { return parseRequest(r).op }

// bucketFromHost returns the bucket named by a virtual-host style Host header:
// "<bucket>.s3.<anything>", "<bucket>.s3-<region>.<anything>" or
// "<bucket>.localhost[:port]".
func bucketFromHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	if net.ParseIP(host) != nil {
		return ""
	}
	for i := 0; i+4 < len(host); i++ {
		if host[i] == '.' && strings.HasPrefix(host[i+1:], "s3") && (host[i+3] == '.' || host[i+3] == '-') && i > 0 {
			return host[:i]
		}
	}
	if b, ok := strings.CutSuffix(host, ".localhost"); ok && b != "" {
		return b
	}
	return ""
}

// parseRequest works out the operation of an S3 REST request.
func parseRequest(r *http.Request) request {
	q := r.URL.Query()
	req := request{query: q}
	path := r.URL.Path
	if b := bucketFromHost(r.Host); b != "" {
		req.bucket = b
		req.key = strings.TrimPrefix(path, "/")
	} else {
		p := strings.TrimPrefix(path, "/")
		req.bucket, req.key, _ = strings.Cut(p, "/")
	}
	has := q.Has
	m := r.Method
	switch {
	case req.bucket == "":
		if m == http.MethodGet {
			req.op = "ListBuckets"
		}
	case req.key == "":
		req.op = bucketOp(m, q)
	default:
		switch m {
		case http.MethodPut:
			switch {
			case has("partNumber") && has("uploadId"):
				req.op = "UploadPart"
				if r.Header.Get("x-amz-copy-source") != "" {
					req.op = "UploadPartCopy"
				}
			case has("tagging"):
				req.op = "PutObjectTagging"
			case has("acl"):
				req.op = "PutObjectAcl"
			case has("retention"), has("legal-hold"), has("restore"):
				req.op = "PutObjectSubresource"
			case r.Header.Get("x-amz-copy-source") != "":
				req.op = "CopyObject"
			default:
				req.op = "PutObject"
			}
		case http.MethodGet:
			switch {
			case has("uploadId"):
				req.op = "ListParts"
			case has("tagging"):
				req.op = "GetObjectTagging"
			case has("acl"):
				req.op = "GetObjectAcl"
			case has("attributes"):
				req.op = "GetObjectAttributes"
			default:
				req.op = "GetObject"
			}
		case http.MethodHead:
			req.op = "HeadObject"
		case http.MethodDelete:
			switch {
			case has("uploadId"):
				req.op = "AbortMultipartUpload"
			case has("tagging"):
				req.op = "DeleteObjectTagging"
			default:
				req.op = "DeleteObject"
			}
		case http.MethodPost:
			switch {
			case has("uploads"):
				req.op = "CreateMultipartUpload"
			case has("uploadId"):
				req.op = "CompleteMultipartUpload"
			case has("restore"):
				req.op = "RestoreObject"
			case has("select"):
				req.op = "SelectObjectContent"
			}
		}
	}
	if req.op == "" {
		e := awsapi.Errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
		e.Fields = map[string]string{"Method": m, "ResourceType": resourceType(req)}
		req.err = e
	}
	return req
}

func resourceType(req request) string {
	switch {
	case req.bucket == "":
		return "SERVICE"
	case req.key == "":
		return "BUCKET"
	}
	return "OBJECT"
}

// bucketSubresources maps a bucket sub-resource query parameter to the
// operation names for GET, PUT and DELETE.
var bucketSubresources = []struct {
	param            string
	get, put, delete string
}{
	{"versioning", "GetBucketVersioning", "PutBucketVersioning", ""},
	{"policy", "GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"},
	{"encryption", "GetBucketEncryption", "PutBucketEncryption", "DeleteBucketEncryption"},
	{"publicAccessBlock", "GetPublicAccessBlock", "PutPublicAccessBlock", "DeletePublicAccessBlock"},
	{"tagging", "GetBucketTagging", "PutBucketTagging", "DeleteBucketTagging"},
	{"location", "GetBucketLocation", "", ""},
	{"versions", "ListObjectVersions", "", ""},
	{"uploads", "ListMultipartUploads", "", ""},
	// Recognised but not implemented: named so errors say what was asked.
	{"acl", "GetBucketAcl", "PutBucketAcl", ""},
	{"cors", "GetBucketCors", "PutBucketCors", "DeleteBucketCors"},
	{"lifecycle", "GetBucketLifecycleConfiguration", "PutBucketLifecycleConfiguration", "DeleteBucketLifecycle"},
	{"notification", "GetBucketNotificationConfiguration", "PutBucketNotificationConfiguration", ""},
	{"ownershipControls", "GetBucketOwnershipControls", "PutBucketOwnershipControls", "DeleteBucketOwnershipControls"},
	{"policyStatus", "GetBucketPolicyStatus", "", ""},
	{"website", "GetBucketWebsite", "PutBucketWebsite", "DeleteBucketWebsite"},
	{"logging", "GetBucketLogging", "PutBucketLogging", ""},
	{"replication", "GetBucketReplication", "PutBucketReplication", "DeleteBucketReplication"},
	{"object-lock", "GetObjectLockConfiguration", "PutObjectLockConfiguration", ""},
	{"accelerate", "GetBucketAccelerateConfiguration", "PutBucketAccelerateConfiguration", ""},
	{"requestPayment", "GetBucketRequestPayment", "PutBucketRequestPayment", ""},
	{"analytics", "GetBucketAnalyticsConfiguration", "PutBucketAnalyticsConfiguration", "DeleteBucketAnalyticsConfiguration"},
	{"metrics", "GetBucketMetricsConfiguration", "PutBucketMetricsConfiguration", "DeleteBucketMetricsConfiguration"},
	{"inventory", "GetBucketInventoryConfiguration", "PutBucketInventoryConfiguration", "DeleteBucketInventoryConfiguration"},
	{"intelligent-tiering", "GetBucketIntelligentTieringConfiguration", "PutBucketIntelligentTieringConfiguration", "DeleteBucketIntelligentTieringConfiguration"},
}

func bucketOp(method string, q url.Values) string {
	for _, sr := range bucketSubresources {
		if !q.Has(sr.param) {
			continue
		}
		switch method {
		case http.MethodGet:
			return sr.get
		case http.MethodPut:
			return sr.put
		case http.MethodDelete:
			return sr.delete
		}
		return ""
	}
	switch method {
	case http.MethodGet:
		if q.Get("list-type") == "2" {
			return "ListObjectsV2"
		}
		return "ListObjects"
	case http.MethodPut:
		return "CreateBucket"
	case http.MethodHead:
		return "HeadBucket"
	case http.MethodDelete:
		return "DeleteBucket"
	case http.MethodPost:
		if q.Has("delete") {
			return "DeleteObjects"
		}
	}
	return ""
}
