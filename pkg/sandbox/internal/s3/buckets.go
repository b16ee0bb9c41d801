package s3

import (
	"crypto/sha256"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

const xmlns = "http://s3.amazonaws.com/doc/2006-03-01/"

// owner is the Owner element; S3 identifies accounts by a 64-hex canonical ID.
type owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName,omitempty"`
}

func ownerOf(account string) owner {
	sum := sha256.Sum256([]byte("s3-canonical-user:" + account))
	return owner{ID: fmt.Sprintf("%x", sum[:]), DisplayName: account}
}

func timeXML(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// decodeXML reads a configuration body into v; empty or malformed bodies are MalformedXML.
func decodeXML(r *http.Request, v any, optional bool) error {
	p, err := readBody(r, maxConfigBody)
	if err != nil {
		return err
	}
	if _, _, err := checkIntegrity(r, p); err != nil {
		return err
	}
	if len(strings.TrimSpace(string(p.data))) == 0 {
		if optional {
			return nil
		}
		return malformedXML()
	}
	if err := xml.Unmarshal(p.data, v); err != nil {
		return malformedXML()
	}
	return nil
}

// validBucketName applies S3's general-purpose bucket naming rules.
func validBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	first, last := name[0], name[len(name)-1]
	if first == '.' || first == '-' || last == '.' || last == '-' {
		return false
	}
	if strings.Contains(name, "..") || net.ParseIP(name) != nil {
		return false
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, sfx := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3"} {
		if strings.HasSuffix(name, sfx) {
			return false
		}
	}
	return true
}

func invalidBucketName(name string) error {
	e := awsapi.Errorf(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.")
	e.Fields = map[string]string{"BucketName": name}
	return e
}

// validRegions are the regions a LocationConstraint may name.
var validRegions = map[string]bool{}

func init() {
	for _, r := range strings.Fields(`us-east-1 us-east-2 us-west-1 us-west-2 af-south-1 ap-east-1 ap-south-1
		ap-south-2 ap-southeast-1 ap-southeast-2 ap-southeast-3 ap-southeast-4 ap-southeast-5 ap-southeast-7
		ap-northeast-1 ap-northeast-2 ap-northeast-3 ca-central-1 ca-west-1 eu-central-1 eu-central-2
		eu-west-1 eu-west-2 eu-west-3 eu-south-1 eu-south-2 eu-north-1 il-central-1 me-south-1 me-central-1
		mx-central-1 sa-east-1 EU`) {
		validRegions[r] = true
	}
}

// insertBucket adds a bucket under global-name rules.
func (s *Service) insertBucket(account, region, name string, now time.Time, settings *BucketSettings) error {
	if !validBucketName(name) {
		return invalidBucketName(name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.buckets[name]; b != nil {
		if b.owner == account {
			e := awsapi.Errorf(http.StatusConflict, "BucketAlreadyOwnedByYou",
				"Your previous request to create the named bucket succeeded and you already own it.")
			e.Fields = map[string]string{"BucketName": name}
			return e
		}
		e := awsapi.Errorf(http.StatusConflict, "BucketAlreadyExists",
			"The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.")
		e.Fields = map[string]string{"BucketName": name}
		return e
	}
	b := &bucket{name: name, owner: account, region: region, created: now,
		objects: map[string][]*object{}, uploads: map[string]*upload{}}
	if settings != nil {
		if err := b.apply(*settings); err != nil {
			return err
		}
	}
	s.buckets[name] = b
	return nil
}

func createBucket(c *reqCtx) error {
	name := c.req.bucket
	if err := c.s.authorizeARN(c.call, "s3:CreateBucket", awsapi.Resource{ARN: "arn:aws:s3:::" + name, Account: c.call.Caller.Account}, nil); err != nil {
		return err
	}
	var cfg struct {
		LocationConstraint string `xml:"LocationConstraint"`
	}
	if err := decodeXML(c.r, &cfg, true); err != nil {
		return err
	}
	region := cfg.LocationConstraint
	switch {
	case region == "" && c.call.Region != "" && c.call.Region != "us-east-1":
		return awsapi.Errorf(http.StatusBadRequest, "IllegalLocationConstraintException",
			"The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.")
	case region == "":
		region = "us-east-1"
	case region == "us-east-1" || !validRegions[region]:
		return invalidArgument("LocationConstraint", region, "The specified location-constraint is not valid")
	case region == "EU":
		region = "eu-west-1"
	}
	if c.call.Region != "" && c.call.Region != "us-east-1" && c.call.Region != region {
		return awsapi.Errorf(http.StatusBadRequest, "IllegalLocationConstraintException",
			"The %s location constraint is incompatible for the region specific endpoint this request was sent to.", region)
	}
	if err := c.s.insertBucket(c.call.Caller.Account, region, name, c.now(), nil); err != nil {
		return err
	}
	c.w.Header().Set("Location", "/"+name)
	c.w.Header().Set("x-amz-request-id", c.call.RequestID)
	c.w.WriteHeader(http.StatusOK)
	return nil
}

func listBuckets(c *reqCtx) error {
	acct := c.call.Caller.Account
	if err := c.s.authorizeARN(c.call, "s3:ListAllMyBuckets", awsapi.Resource{ARN: "arn:aws:s3:::*", Account: acct}, nil); err != nil {
		return err
	}
	type bucketXML struct {
		Name         string
		CreationDate string
		BucketRegion string
	}
	out := struct {
		XMLName xml.Name    `xml:"ListAllMyBucketsResult"`
		Xmlns   string      `xml:"xmlns,attr"`
		Owner   owner       `xml:"Owner"`
		Buckets []bucketXML `xml:"Buckets>Bucket"`
		Prefix  string      `xml:"Prefix,omitempty"`
	}{Xmlns: xmlns, Owner: ownerOf(acct), Prefix: c.req.query.Get("prefix")}
	c.s.mu.Lock()
	for _, b := range c.s.buckets {
		if b.owner == acct && strings.HasPrefix(b.name, out.Prefix) {
			out.Buckets = append(out.Buckets, bucketXML{Name: b.name, CreationDate: timeXML(b.created), BucketRegion: b.region})
		}
	}
	c.s.mu.Unlock()
	sort.Slice(out.Buckets, func(i, j int) bool { return out.Buckets[i].Name < out.Buckets[j].Name })
	awsapi.WriteXML(c.w, c.call, http.StatusOK, out)
	return nil
}

func headBucket(c *reqCtx) error {
	v, err := c.bucketFor("s3:ListBucket", "", nil)
	if err != nil {
		return err
	}
	c.w.Header().Set("x-amz-bucket-region", v.region)
	c.w.Header().Set("x-amz-request-id", c.call.RequestID)
	c.w.WriteHeader(http.StatusOK)
	return nil
}

func noContent(c *reqCtx) {
	c.w.Header().Set("x-amz-request-id", c.call.RequestID)
	c.w.WriteHeader(http.StatusNoContent)
}

func okEmpty(c *reqCtx) {
	c.w.Header().Set("x-amz-request-id", c.call.RequestID)
	c.w.WriteHeader(http.StatusOK)
}

func bucketNotEmpty(name string) error {
	e := awsapi.Errorf(http.StatusConflict, "BucketNotEmpty", "The bucket you tried to delete is not empty")
	e.Fields = map[string]string{"BucketName": name}
	return e
}

func deleteBucket(c *reqCtx) error {
	if _, err := c.bucketFor("s3:DeleteBucket", "", nil); err != nil {
		return err
	}
	if err := c.s.removeBucket(c.req.bucket, ""); err != nil {
		return err
	}
	noContent(c)
	return nil
}

// removeBucket deletes an empty bucket; a non-empty account must own it.
func (s *Service) removeBucket(name, account string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[name]
	if b == nil || account != "" && b.owner != account {
		return noSuchBucket(name)
	}
	if !b.empty() {
		return bucketNotEmpty(name)
	}
	delete(s.buckets, name)
	return nil
}

func getBucketLocation(c *reqCtx) error {
	v, err := c.bucketFor("s3:GetBucketLocation", "", nil)
	if err != nil {
		return err
	}
	loc := v.region
	if loc == "us-east-1" {
		loc = "" // S3 reports the classic region as an empty constraint.
	}
	awsapi.WriteXML(c.w, c.call, http.StatusOK, struct {
		XMLName xml.Name `xml:"LocationConstraint"`
		Xmlns   string   `xml:"xmlns,attr"`
		Value   string   `xml:",chardata"`
	}{Xmlns: xmlns, Value: loc})
	return nil
}

type versioningXML struct {
	XMLName   xml.Name `xml:"VersioningConfiguration"`
	Xmlns     string   `xml:"xmlns,attr,omitempty"`
	Status    string   `xml:"Status,omitempty"`
	MfaDelete string   `xml:"MfaDelete,omitempty"`
}

func putBucketVersioning(c *reqCtx) error {
	if _, err := c.bucketFor("s3:PutBucketVersioning", "", nil); err != nil {
		return err
	}
	var cfg versioningXML
	if err := decodeXML(c.r, &cfg, false); err != nil {
		return err
	}
	if cfg.Status != "Enabled" && cfg.Status != "Suspended" {
		return malformedXML()
	}
	if cfg.MfaDelete == "Enabled" {
		return invalidArgument("MfaDelete", cfg.MfaDelete, "MFA Delete requires the x-amz-mfa header and root credentials with MFA")
	}
	if err := c.s.withBucket(c.req.bucket, func(b *bucket) error {
		b.versioning = cfg.Status
		return nil
	}); err != nil {
		return err
	}
	okEmpty(c)
	return nil
}

func getBucketVersioning(c *reqCtx) error {
	v, err := c.bucketFor("s3:GetBucketVersioning", "", nil)
	if err != nil {
		return err
	}
	awsapi.WriteXML(c.w, c.call, http.StatusOK, versioningXML{Xmlns: xmlns, Status: v.versioning})
	return nil
}

// policyBucket looks up the bucket of a bucket policy call and authorizes
// it. The root user of the bucket's account may always get, put and delete
// the policy, even one that denies it, so that an owner can never lock
// itself out (S3's rule).
func (c *reqCtx) policyBucket(action string) (bucketView, error) {
	v, err := c.s.view(c.req.bucket)
	if err != nil {
		return v, err
	}
	if caller := c.call.Caller; caller != nil && caller.Root && caller.Account == v.owner {
		return v, nil
	}
	return v, c.s.authorize(c.call, action, v, "", nil)
}

func putBucketPolicy(c *reqCtx) error {
	v, err := c.policyBucket("s3:PutBucketPolicy")
	if err != nil {
		return err
	}
	p, err := readBody(c.r, maxConfigBody)
	if err != nil {
		return err
	}
	if _, _, err := checkIntegrity(c.r, p); err != nil {
		return err
	}
	policy := string(p.data)
	if err := validatePolicy(v.name, policy); err != nil {
		return err
	}
	if v.pab != nil && v.pab.BlockPublicPolicy && policyIsPublic(policy) {
		return publicPolicyBlocked(c.call.Caller.ARN, v.name)
	}
	if err := c.s.withBucket(c.req.bucket, func(b *bucket) error {
		b.policy = policy
		return nil
	}); err != nil {
		return err
	}
	noContent(c)
	return nil
}

func publicPolicyBlocked(callerARN, name string) error {
	if callerARN == "" {
		return awsapi.AccessDenied("Access Denied: public policies are prevented by the BlockPublicPolicy setting in S3 Block Public Access")
	}
	return awsapi.AccessDenied("User: %s is not authorized to perform: s3:PutBucketPolicy on resource: \"arn:aws:s3:::%s\" because public policies are prevented by the BlockPublicPolicy setting in S3 Block Public Access.", callerARN, name)
}

func getBucketPolicy(c *reqCtx) error {
	v, err := c.policyBucket("s3:GetBucketPolicy")
	if err != nil {
		return err
	}
	if v.policy == "" {
		e := awsapi.Errorf(http.StatusNotFound, "NoSuchBucketPolicy", "The bucket policy does not exist")
		e.Fields = map[string]string{"BucketName": v.name}
		return e
	}
	c.w.Header().Set("Content-Type", "application/json")
	c.w.Header().Set("x-amz-request-id", c.call.RequestID)
	c.w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(c.w, v.policy)
	return nil
}

func deleteBucketPolicy(c *reqCtx) error {
	if _, err := c.policyBucket("s3:DeleteBucketPolicy"); err != nil {
		return err
	}
	if err := c.s.withBucket(c.req.bucket, func(b *bucket) error {
		b.policy = ""
		return nil
	}); err != nil {
		return err
	}
	noContent(c)
	return nil
}

type encryptionXML struct {
	XMLName xml.Name `xml:"ServerSideEncryptionConfiguration"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	Rules   []struct {
		Default *struct {
			SSEAlgorithm   string `xml:"SSEAlgorithm"`
			KMSMasterKeyID string `xml:"KMSMasterKeyID,omitempty"`
		} `xml:"ApplyServerSideEncryptionByDefault"`
		BucketKeyEnabled *bool `xml:"BucketKeyEnabled"`
	} `xml:"Rule"`
}

func validSSE(alg, kmsKey string) error {
	switch alg {
	case "AES256":
		if kmsKey != "" {
			return invalidArgument("ApplyServerSideEncryptionByDefault", kmsKey,
				"a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse")
		}
	case "aws:kms", "aws:kms:dsse":
	default:
		return malformedXML()
	}
	return nil
}

func putBucketEncryption(c *reqCtx) error {
	if _, err := c.bucketFor("s3:PutEncryptionConfiguration", "", nil); err != nil {
		return err
	}
	var cfg encryptionXML
	if err := decodeXML(c.r, &cfg, false); err != nil {
		return err
	}
	if len(cfg.Rules) != 1 || cfg.Rules[0].Default == nil {
		return malformedXML()
	}
	d := cfg.Rules[0].Default
	if err := validSSE(d.SSEAlgorithm, d.KMSMasterKeyID); err != nil {
		return err
	}
	if err := c.s.withBucket(c.req.bucket, func(b *bucket) error {
		b.sseAlg, b.kmsKeyID = d.SSEAlgorithm, d.KMSMasterKeyID
		b.bucketKey = cfg.Rules[0].BucketKeyEnabled != nil && *cfg.Rules[0].BucketKeyEnabled
		return nil
	}); err != nil {
		return err
	}
	okEmpty(c)
	return nil
}

func getBucketEncryption(c *reqCtx) error {
	if _, err := c.bucketFor("s3:GetEncryptionConfiguration", "", nil); err != nil {
		return err
	}
	var alg, key string
	var bucketKey bool
	if err := c.s.withBucket(c.req.bucket, func(b *bucket) error {
		alg, key, bucketKey = b.sseAlg, b.kmsKeyID, b.bucketKey
		return nil
	}); err != nil {
		return err
	}
	if alg == "" {
		e := awsapi.Errorf(http.StatusNotFound, "ServerSideEncryptionConfigurationNotFoundError",
			"The server side encryption configuration was not found")
		e.Fields = map[string]string{"BucketName": c.req.bucket}
		return e
	}
	type def struct {
		SSEAlgorithm   string `xml:"SSEAlgorithm"`
		KMSMasterKeyID string `xml:"KMSMasterKeyID,omitempty"`
	}
	awsapi.WriteXML(c.w, c.call, http.StatusOK, struct {
		XMLName xml.Name `xml:"ServerSideEncryptionConfiguration"`
		Xmlns   string   `xml:"xmlns,attr"`
		Rule    struct {
			Default          def  `xml:"ApplyServerSideEncryptionByDefault"`
			BucketKeyEnabled bool `xml:"BucketKeyEnabled"`
		} `xml:"Rule"`
	}{Xmlns: xmlns, Rule: struct {
		Default          def  `xml:"ApplyServerSideEncryptionByDefault"`
		BucketKeyEnabled bool `xml:"BucketKeyEnabled"`
	}{def{alg, key}, bucketKey}})
	return nil
}

func deleteBucketEncryption(c *reqCtx) error {
	if _, err := c.bucketFor("s3:PutEncryptionConfiguration", "", nil); err != nil {
		return err
	}
	if err := c.s.withBucket(c.req.bucket, func(b *bucket) error {
		b.sseAlg, b.kmsKeyID, b.bucketKey = "", "", false
		return nil
	}); err != nil {
		return err
	}
	noContent(c)
	return nil
}

type pabXML struct {
	XMLName               xml.Name `xml:"PublicAccessBlockConfiguration"`
	Xmlns                 string   `xml:"xmlns,attr,omitempty"`
	BlockPublicAcls       bool     `xml:"BlockPublicAcls"`
	IgnorePublicAcls      bool     `xml:"IgnorePublicAcls"`
	BlockPublicPolicy     bool     `xml:"BlockPublicPolicy"`
	RestrictPublicBuckets bool     `xml:"RestrictPublicBuckets"`
}

func putPublicAccessBlock(c *reqCtx) error {
	if _, err := c.bucketFor("s3:PutBucketPublicAccessBlock", "", nil); err != nil {
		return err
	}
	var cfg pabXML
	if err := decodeXML(c.r, &cfg, false); err != nil {
		return err
	}
	if err := c.s.withBucket(c.req.bucket, func(b *bucket) error {
		b.pab = &PublicAccessBlock{cfg.BlockPublicAcls, cfg.IgnorePublicAcls, cfg.BlockPublicPolicy, cfg.RestrictPublicBuckets}
		return nil
	}); err != nil {
		return err
	}
	okEmpty(c)
	return nil
}

func getPublicAccessBlock(c *reqCtx) error {
	v, err := c.bucketFor("s3:GetBucketPublicAccessBlock", "", nil)
	if err != nil {
		return err
	}
	if v.pab == nil {
		e := awsapi.Errorf(http.StatusNotFound, "NoSuchPublicAccessBlockConfiguration",
			"The public access block configuration was not found")
		e.Fields = map[string]string{"BucketName": v.name}
		return e
	}
	p := v.pab
	awsapi.WriteXML(c.w, c.call, http.StatusOK, pabXML{Xmlns: xmlns, BlockPublicAcls: p.BlockPublicAcls,
		IgnorePublicAcls: p.IgnorePublicAcls, BlockPublicPolicy: p.BlockPublicPolicy, RestrictPublicBuckets: p.RestrictPublicBuckets})
	return nil
}

func deletePublicAccessBlock(c *reqCtx) error {
	if _, err := c.bucketFor("s3:PutBucketPublicAccessBlock", "", nil); err != nil {
		return err
	}
	if err := c.s.withBucket(c.req.bucket, func(b *bucket) error {
		b.pab = nil
		return nil
	}); err != nil {
		return err
	}
	noContent(c)
	return nil
}

type tagXML struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type taggingXML struct {
	XMLName xml.Name `xml:"Tagging"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	Tags    []tagXML `xml:"TagSet>Tag"`
}

func validTags(tags []tagXML) error {
	if len(tags) > 50 {
		return awsapi.Errorf(http.StatusBadRequest, "InvalidTag", "Object tags cannot be greater than 50")
	}
	seen := map[string]bool{}
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
			return awsapi.Errorf(http.StatusBadRequest, "InvalidTag", "The TagKey you have provided is invalid")
		}
		if seen[t.Key] {
			return awsapi.Errorf(http.StatusBadRequest, "InvalidTag", "Cannot provide multiple Tags with the same key")
		}
		if strings.HasPrefix(t.Key, "aws:") {
			return awsapi.Errorf(http.StatusBadRequest, "InvalidTag", "System tags cannot be added/updated by requester")
		}
		seen[t.Key] = true
	}
	return nil
}

func putBucketTagging(c *reqCtx) error {
	if _, err := c.bucketFor("s3:PutBucketTagging", "", nil); err != nil {
		return err
	}
	var cfg taggingXML
	if err := decodeXML(c.r, &cfg, false); err != nil {
		return err
	}
	if err := validTags(cfg.Tags); err != nil {
		return err
	}
	if err := c.s.withBucket(c.req.bucket, func(b *bucket) error {
		b.tags = map[string]string{}
		for _, t := range cfg.Tags {
			b.tags[t.Key] = t.Value
		}
		return nil
	}); err != nil {
		return err
	}
	noContent(c)
	return nil
}

func getBucketTagging(c *reqCtx) error {
	if _, err := c.bucketFor("s3:GetBucketTagging", "", nil); err != nil {
		return err
	}
	out := taggingXML{Xmlns: xmlns}
	if err := c.s.withBucket(c.req.bucket, func(b *bucket) error {
		for k, v := range b.tags {
			out.Tags = append(out.Tags, tagXML{k, v})
		}
		return nil
	}); err != nil {
		return err
	}
	if len(out.Tags) == 0 {
		e := awsapi.Errorf(http.StatusNotFound, "NoSuchTagSet", "The TagSet does not exist")
		e.Fields = map[string]string{"BucketName": c.req.bucket}
		return e
	}
	sort.Slice(out.Tags, func(i, j int) bool { return out.Tags[i].Key < out.Tags[j].Key })
	awsapi.WriteXML(c.w, c.call, http.StatusOK, out)
	return nil
}

func deleteBucketTagging(c *reqCtx) error {
	if _, err := c.bucketFor("s3:PutBucketTagging", "", nil); err != nil {
		return err
	}
	if err := c.s.withBucket(c.req.bucket, func(b *bucket) error {
		b.tags = nil
		return nil
	}); err != nil {
		return err
	}
	noContent(c)
	return nil
}
