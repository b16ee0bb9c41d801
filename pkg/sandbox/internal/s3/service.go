// Package s3 is the local sandbox's S3: a REST/XML service holding buckets and
// versioned objects in memory, with bucket policies, block-public-access and
// default-encryption settings, multipart uploads and conditional writes.
//
// Requests arrive authenticated (see awsapi.CallFrom); the service works out the
// REST operation itself, sets Call.Action and authorizes every operation through
// the Authorizer with the bucket owner and bucket policy as the resource.
package s3

import (
	"net/http"
	"sync"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// Options configure a Service.
type Options struct {
	// Authorizer decides every operation. Nil allows a caller everything on the
	// buckets of its own account and nothing on others (root semantics).
	Authorizer awsapi.Authorizer
	// Notify, if set, is called after every object creation (PutObject,
	// CompleteMultipartUpload, CopyObject), outside the service's lock.
	Notify func(ObjectCreated)
	// KMS, if set, decides whether the requester may use the key of an
	// SSE-KMS object: kms:GenerateDataKey to write one, kms:Decrypt to read
	// one, as S3 asks KMS with the requester's permissions. Without it SSE-KMS
	// is only recorded.
	KMS KeyUser
}

// KeyUser is what S3 needs from KMS.
type KeyUser interface {
	// Use authorizes call's caller to perform action (kms:GenerateDataKey or
	// kms:Decrypt) with the key ref, a key ARN or a key id of the bucket's
	// account and region.
	Use(call *awsapi.Call, action, ref, bucketAccount, bucketRegion string) error
}

// ObjectCreated describes an object that was just written (the "Object Created"
// event S3 sends to EventBridge).
type ObjectCreated struct {
	Account      string // bucket owner
	Region       string // bucket region
	Bucket       string
	Key          string
	VersionID    string // "null" in unversioned buckets
	Size         int64
	ETag         string // without quotes
	Time         time.Time
	RequesterARN string
	// EventBridge is true when the bucket sends its events to EventBridge
	// (NotificationConfiguration.EventBridgeConfiguration).
	EventBridge bool
	// Reason is the operation that wrote the object: PutObject, CopyObject
	// or CompleteMultipartUpload.
	Reason string
	// Sequencer orders writes; RequestID and SourceIP are the request's.
	Sequencer, RequestID, SourceIP string
}

// PublicAccessBlock is a bucket's block-public-access configuration.
type PublicAccessBlock struct {
	BlockPublicAcls       bool
	IgnorePublicAcls      bool
	BlockPublicPolicy     bool
	RestrictPublicBuckets bool
}

// BucketSettings are the bucket properties CloudFormation manages.
type BucketSettings struct {
	Versioning        string // "", "Enabled", "Suspended"
	SSEAlgorithm      string // "", "AES256", "aws:kms"
	KMSKeyID          string
	PublicAccessBlock *PublicAccessBlock
	Tags              map[string]string
	// EventBridge sends the bucket's events to EventBridge.
	EventBridge bool
}

// Service is the S3 REST API; it implements http.Handler.
type Service struct {
	authz  awsapi.Authorizer
	notify func(ObjectCreated)
	kms    KeyUser

	mu      sync.Mutex
	buckets map[string]*bucket
}

// New returns an empty S3 service.
func New(opts Options) *Service {
	return &Service{authz: opts.Authorizer, notify: opts.Notify, kms: opts.KMS, buckets: map[string]*bucket{}}
}

// ServeHTTP serves one authenticated S3 request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := awsapi.CallFrom(r.Context())
	if call == nil {
		// The core always attaches a call; without one nobody is known to authorize.
		call = &awsapi.Call{Service: "s3", Time: time.Now()}
	}
	req := parseRequest(r)
	call.Action = req.op
	if req.err != nil {
		awsapi.WriteRESTError(w, call, req.err)
		return
	}
	if call.Caller == nil {
		awsapi.WriteRESTError(w, call, awsapi.AccessDenied("Access Denied"))
		return
	}
	h := handlers[req.op]
	if h == nil {
		awsapi.WriteRESTError(w, call, awsapi.Errorf(http.StatusNotImplemented, "NotImplemented",
			"A header or query you provided implies functionality that is not implemented"))
		return
	}
	rc := &reqCtx{s: s, w: w, r: r, call: call, req: req}
	if err := h(rc); err != nil {
		awsapi.WriteRESTError(w, call, err)
	}
}

// reqCtx carries one request through its handler.
type reqCtx struct {
	s    *Service
	w    http.ResponseWriter
	r    *http.Request
	call *awsapi.Call
	req  request
}

func (c *reqCtx) now() time.Time {
	if !c.call.Time.IsZero() {
		return c.call.Time.UTC()
	}
	return time.Now().UTC()
}

type handler func(*reqCtx) error

// handlers serve the implemented operations; others are 501 NotImplemented.
var handlers = map[string]handler{
	"ListBuckets":             listBuckets,
	"CreateBucket":            createBucket,
	"HeadBucket":              headBucket,
	"DeleteBucket":            deleteBucket,
	"GetBucketLocation":       getBucketLocation,
	"PutBucketVersioning":     putBucketVersioning,
	"GetBucketVersioning":     getBucketVersioning,
	"PutBucketPolicy":         putBucketPolicy,
	"GetBucketPolicy":         getBucketPolicy,
	"DeleteBucketPolicy":      deleteBucketPolicy,
	"PutBucketEncryption":     putBucketEncryption,
	"GetBucketEncryption":     getBucketEncryption,
	"DeleteBucketEncryption":  deleteBucketEncryption,
	"PutPublicAccessBlock":    putPublicAccessBlock,
	"GetPublicAccessBlock":    getPublicAccessBlock,
	"DeletePublicAccessBlock": deletePublicAccessBlock,
	"PutBucketTagging":        putBucketTagging,
	"GetBucketTagging":        getBucketTagging,
	"DeleteBucketTagging":     deleteBucketTagging,
	"ListObjects":             listObjects,
	"ListObjectsV2":           listObjects,
	"ListObjectVersions":      listObjectVersions,
	"ListMultipartUploads":    listMultipartUploads,
	"DeleteObjects":           deleteObjects,
	"PutObject":               putObject,
	"CopyObject":              copyObject,
	"GetObject":               getObject,
	"HeadObject":              getObject,
	"DeleteObject":            deleteObject,
	"CreateMultipartUpload":   createMultipartUpload,
	"UploadPart":              uploadPart,
	"CompleteMultipartUpload": completeMultipartUpload,
	"AbortMultipartUpload":    abortMultipartUpload,
	"ListParts":               listParts,
	"UploadPartCopy":          uploadPartCopy,
}
