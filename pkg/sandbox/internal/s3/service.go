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
	// Authorizer decides every operation.
	Authorizer awsapi.Authorizer
	// Notify, if set, is called after every object creation (PutObject,
	// CompleteMultipartUpload, CopyObject), outside the service's lock.
	Notify func(ObjectCreated)
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
}

// Service is the S3 REST API; it implements http.Handler.
type Service struct {
	authz  awsapi.Authorizer
	notify func(ObjectCreated)

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct{}

// New returns an empty S3 service.
func New(opts Options) *Service {
	return &Service{authz: opts.Authorizer, notify: opts.Notify, buckets: map[string]*bucket{}}
}

// ServeHTTP serves one authenticated S3 request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := awsapi.CallFrom(r.Context())
	awsapi.WriteRESTError(w, call, awsapi.Errorf(http.StatusNotImplemented, "NotImplemented", "not implemented"))
}

// CreateBucketFor creates a bucket owned by account (CloudFormation AWS::S3::Bucket).
func (s *Service) CreateBucketFor(account, region, name string, settings BucketSettings) error {
	return nil
}

// UpdateBucketSettings replaces a bucket's settings.
func (s *Service) UpdateBucketSettings(account, name string, settings BucketSettings) error {
	return nil
}

// DeleteBucketFor deletes an empty bucket.
func (s *Service) DeleteBucketFor(account, name string) error { return nil }

// SetBucketPolicy sets (or with "" deletes) a bucket's policy.
func (s *Service) SetBucketPolicy(account, name, policy string) error { return nil }

// ReadObject returns an object's content, authorized as call.Caller for s3:GetObject.
func (s *Service) ReadObject(call *awsapi.Call, bucket, key, versionID string) ([]byte, error) {
	return nil, nil
}
