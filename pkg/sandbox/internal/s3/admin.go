package s3

import (
	"net/http"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// apply replaces the bucket's CloudFormation-managed settings.
func (b *bucket) apply(s BucketSettings) error {
	switch s.Versioning {
	case "":
		// Versioning cannot return to "never enabled"; dropping the setting keeps the state.
	case "Enabled", "Suspended":
		b.versioning = s.Versioning
	default:
		return malformedXML()
	}
	if s.SSEAlgorithm != "" {
		if err := validSSE(s.SSEAlgorithm, s.KMSKeyID); err != nil {
			return err
		}
	}
	b.sseAlg, b.kmsKeyID = s.SSEAlgorithm, s.KMSKeyID
	if s.SSEAlgorithm == "" {
		b.kmsKeyID = ""
	}
	if s.PublicAccessBlock != nil {
		p := *s.PublicAccessBlock
		b.pab = &p
	} else {
		b.pab = nil
	}
	b.eventBridge = s.EventBridge
	b.tags = nil
	if len(s.Tags) > 0 {
		b.tags = make(map[string]string, len(s.Tags))
		for k, v := range s.Tags {
			b.tags[k] = v
		}
	}
	return nil
}

// CreateBucketFor creates a bucket owned by account (CloudFormation
// AWS::S3::Bucket). Names are global: another account's bucket is
// BucketAlreadyExists, the same account's BucketAlreadyOwnedByYou (409).
func (s *Service) CreateBucketFor(account, region, name string, settings BucketSettings) error {
	if region == "" {
		region = "us-east-1"
	}
	return s.insertBucket(account, region, name, time.Now().UTC(), &settings)
}

// UpdateBucketSettings replaces the settings of account's bucket name.
func (s *Service) UpdateBucketSettings(account, name string, settings BucketSettings) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[name]
	if b == nil || b.owner != account {
		return noSuchBucket(name)
	}
	// Validate on a copy so a bad setting changes nothing.
	tmp := *b
	if err := tmp.apply(settings); err != nil {
		return err
	}
	return b.apply(settings)
}

// DeleteBucketFor deletes account's bucket name: BucketNotEmpty (409) while it
// holds objects or versions, NoSuchBucket (404) if absent.
func (s *Service) DeleteBucketFor(account, name string) error {
	return s.removeBucket(name, account)
}

// SetBucketPolicy sets the policy of account's bucket name ("" deletes it).
// Malformed policies are MalformedPolicy (400); a public policy on a bucket
// that blocks public policies is AccessDenied (403), as PutBucketPolicy is.
func (s *Service) SetBucketPolicy(account, name, policy string) error {
	if policy != "" {
		if err := validatePolicy(name, policy); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[name]
	if b == nil || b.owner != account {
		return noSuchBucket(name)
	}
	if policy != "" && b.pab != nil && b.pab.BlockPublicPolicy && policyIsPublic(policy) {
		return publicPolicyBlocked("", name)
	}
	b.policy = policy
	return nil
}

// ReadObject returns an object's content (versionID "" for the current
// version) as call.Caller may read it: authorized for s3:GetObject (or
// s3:GetObjectVersion) with the bucket policy, so AccessDenied, NoSuchKey and
// NoSuchBucket come back as *awsapi.Error exactly as GetObject would send them.
// CloudFormation uses it for TemplateURL.
func (s *Service) ReadObject(call *awsapi.Call, bucketName, key, versionID string) ([]byte, error) {
	if call == nil || call.Caller == nil {
		return nil, awsapi.AccessDenied("Access Denied")
	}
	c := *call
	c.Action = "GetObject"
	// CloudFormation fetches TemplateURL over HTTPS on AWS, so TLS-only bucket
	// policies must not refuse it because the API call reached a plain listener.
	c.Secure = true
	rc := &reqCtx{s: s, w: discardHeaders{}, call: &c, r: &http.Request{Method: http.MethodGet}}
	o, _, err := rc.readTarget(bucketName, key, versionID)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), o.data...), nil
}

// discardHeaders is a ResponseWriter for internal reads that only need errors.
type discardHeaders struct{}

func (discardHeaders) Header() http.Header         { return http.Header{} }
func (discardHeaders) Write(b []byte) (int, error) { return len(b), nil }
func (discardHeaders) WriteHeader(int)             {}
