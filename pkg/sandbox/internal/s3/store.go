package s3

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"sort"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// bucket is one bucket and its objects; guarded by Service.mu.
type bucket struct {
	name    string
	owner   string // account ID
	region  string
	created time.Time

	versioning string // "", "Enabled", "Suspended"
	policy     string
	sseAlg     string
	kmsKeyID   string
	bucketKey  bool
	pab        *PublicAccessBlock
	tags       map[string]string
	// eventBridge sends object events to EventBridge.
	eventBridge bool

	// objects holds each key's versions, oldest first; the last is current.
	objects map[string][]*object
	uploads map[string]*upload
}

// object is one version of a key (or a delete marker).
type object struct {
	key          string
	versionID    string // "null" when written while unversioned or suspended
	deleteMarker bool
	modified     time.Time

	data      []byte
	etag      string  // quoted, as in the ETag header
	parts     int     // multipart objects: number of parts
	partSizes []int64 // multipart objects: size of each part
	header    http.Header
	meta      map[string]string // x-amz-meta-* (lower-case name without prefix)
	sse       string
	kmsKeyID  string
	// checksum is the algorithm (e.g. "CRC32") and base64 value sent or computed at write.
	checksumAlg, checksum, checksumType string
}

// storedHeaders are the representation headers kept with an object and returned on reads.
var storedHeaders = []string{"Content-Type", "Content-Encoding", "Content-Disposition", "Content-Language", "Cache-Control", "Expires"}

func (b *bucket) current(key string) *object {
	vs := b.objects[key]
	if len(vs) == 0 {
		return nil
	}
	return vs[len(vs)-1]
}

func (b *bucket) version(key, id string) *object {
	for _, o := range b.objects[key] {
		if o.versionID == id {
			return o
		}
	}
	return nil
}

// newVersionID returns the version ID the next write gets.
func (b *bucket) newVersionID() string {
	if b.versioning != "Enabled" {
		return "null"
	}
	return randomID(24)
}

// add stores o as the current version of its key, replacing the "null" version
// where versioning is off or suspended.
func (b *bucket) add(o *object) {
	vs := b.objects[o.key]
	if o.versionID == "null" {
		kept := vs[:0]
		for _, v := range vs {
			if v.versionID != "null" {
				kept = append(kept, v)
			}
		}
		vs = kept
	}
	b.objects[o.key] = append(vs, o)
}

// removeVersion deletes one version permanently and reports what it was.
func (b *bucket) removeVersion(key, id string) *object {
	vs := b.objects[key]
	for i, o := range vs {
		if o.versionID == id {
			vs = append(vs[:i:i], vs[i+1:]...)
			if len(vs) == 0 {
				delete(b.objects, key)
			} else {
				b.objects[key] = vs
			}
			return o
		}
	}
	return nil
}

func (b *bucket) sortedKeys() []string {
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (b *bucket) empty() bool { return len(b.objects) == 0 }

func randomID(n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// bucketView is what authorization needs of a bucket, copied out of the lock.
type bucketView struct {
	name, owner, region, policy, versioning string
	pab                                     *PublicAccessBlock
}

func noSuchBucket(name string) error {
	e := awsapi.Errorf(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
	e.Fields = map[string]string{"BucketName": name}
	return e
}

func noSuchKey(key string) error {
	e := awsapi.Errorf(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	e.Fields = map[string]string{"Key": key}
	return e
}

func noSuchVersion(key, id string) error {
	e := awsapi.Errorf(http.StatusNotFound, "NoSuchVersion", "The specified version does not exist.")
	e.Fields = map[string]string{"Key": key, "VersionId": id}
	return e
}

func malformedXML() error {
	return awsapi.Errorf(http.StatusBadRequest, "MalformedXML",
		"The XML you provided was not well-formed or did not validate against our published schema")
}

func invalidArgument(name, value, format string, args ...any) error {
	e := awsapi.Errorf(http.StatusBadRequest, "InvalidArgument", format, args...)
	e.Fields = map[string]string{"ArgumentName": name, "ArgumentValue": value}
	return e
}

func preconditionFailed(cond string) error {
	e := awsapi.Errorf(http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	e.Fields = map[string]string{"Condition": cond}
	return e
}

// view returns a copy of what authorization needs to know about a bucket.
func (s *Service) view(name string) (bucketView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[name]
	if b == nil {
		return bucketView{}, noSuchBucket(name)
	}
	v := bucketView{name: b.name, owner: b.owner, region: b.region, policy: b.policy, versioning: b.versioning}
	if b.pab != nil {
		p := *b.pab
		v.pab = &p
	}
	return v, nil
}

// authorize asks the Authorizer whether call may perform action on the bucket
// (key "" ) or an object of it.
func (s *Service) authorize(call *awsapi.Call, action string, v bucketView, key string, extra map[string]string) error {
	arn := "arn:aws:s3:::" + v.name
	if key != "" {
		arn += "/" + key
	}
	policy := v.policy
	// RestrictPublicBuckets: a public policy grants nothing outside the owner's account.
	if v.pab != nil && v.pab.RestrictPublicBuckets && policy != "" && call.Caller != nil &&
		call.Caller.Account != v.owner && policyIsPublic(policy) {
		policy = ""
	}
	return s.authorizeARN(call, action, awsapi.Resource{ARN: arn, Account: v.owner, Policy: policy}, extra)
}

func (s *Service) authorizeARN(call *awsapi.Call, action string, res awsapi.Resource, extra map[string]string) error {
	if s.authz != nil {
		return s.authz.Authorize(call, action, res, extra)
	}
	if call.Caller != nil && (res.Account == "" || res.Account == call.Caller.Account) {
		return nil
	}
	return awsapi.AccessDenied("Access Denied")
}

// bucketFor looks up the request's bucket and authorizes action on it (key "" for
// bucket operations).
func (c *reqCtx) bucketFor(action, key string, extra map[string]string) (bucketView, error) {
	v, err := c.s.view(c.req.bucket)
	if err != nil {
		return v, err
	}
	return v, c.s.authorize(c.call, action, v, key, extra)
}

// withBucket runs f on the live bucket under the service lock.
func (s *Service) withBucket(name string, f func(*bucket) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[name]
	if b == nil {
		return noSuchBucket(name)
	}
	return f(b)
}
