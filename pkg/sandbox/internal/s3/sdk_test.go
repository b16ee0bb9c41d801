//lint:file-ignore SA1019 feature/s3/manager is deprecated upstream but is what deployed tools still use for multipart uploads; the sandbox must serve it.

package s3_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

func client(sb *sandbox.Sandbox, account string) *s3.Client {
	return s3.NewFromConfig(sb.AWSConfig(account), func(o *s3.Options) { o.UsePathStyle = true })
}

// hostRecorder remembers the Host of every request it sends.
type hostRecorder struct {
	next  http.RoundTripper
	mu    sync.Mutex
	hosts []string
}

func (h *hostRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.hosts = append(h.hosts, r.URL.Host)
	h.mu.Unlock()
	return h.next.RoundTrip(r)
}

// virtualHostClient addresses buckets as <bucket>.s3.sandbox.test and dials the
// sandbox's listener whatever the host name.
func virtualHostClient(t *testing.T, sb *sandbox.Sandbox, account string) (*s3.Client, *hostRecorder) {
	t.Helper()
	u, err := url.Parse(sb.URL())
	if err != nil {
		t.Fatal(err)
	}
	var d net.Dialer
	rec := &hostRecorder{next: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, u.Host)
	}}}
	hc := &http.Client{Transport: rec}
	return s3.NewFromConfig(sb.AWSConfig(account), func(o *s3.Options) {
		o.BaseEndpoint = aws.String("http://s3.sandbox.test:" + u.Port())
		o.UsePathStyle = false
		o.HTTPClient = hc
	}), rec
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err != nil {
		return "non-API error: " + err.Error()
	}
	return ""
}

func mustCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := apiCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, out *s3.GetObjectOutput, err error) string {
	t.Helper()
	ok(t, err)
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	ok(t, err)
	return string(b)
}

func TestSDKObjects(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	vc, rec := virtualHostClient(t, sb, "master")
	clients := map[string]*s3.Client{"path": client(sb, "master"), "virtual": vc}
	t.Cleanup(func() {
		if len(rec.hosts) == 0 || !strings.HasPrefix(rec.hosts[0], "sdk-virtual.s3.sandbox.test:") {
			t.Errorf("virtual-host client sent to %v", rec.hosts)
		}
	})
	for style, c := range clients {
		t.Run(style, func(t *testing.T) {
			bucket := "sdk-" + style
			_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
			ok(t, err)
			_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
			var owned *types.BucketAlreadyOwnedByYou
			if !errors.As(err, &owned) {
				t.Fatalf("second CreateBucket = %v, want BucketAlreadyOwnedByYou", err)
			}
			_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
			ok(t, err)
			put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("dir/a b+c.txt"),
				Body: strings.NewReader("hello"), ContentType: aws.String("text/plain"), Metadata: map[string]string{"team": "infra"}})
			ok(t, err)
			if want := fmt.Sprintf(`"%x"`, md5.Sum([]byte("hello"))); aws.ToString(put.ETag) != want {
				t.Errorf("ETag = %s, want %s", aws.ToString(put.ETag), want)
			}
			// Flexible checksums: sent, verified and echoed, then validated by the SDK on read.
			sum, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("summed"),
				Body: strings.NewReader("checked"), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
			ok(t, err)
			if sum.ChecksumCRC32C == nil {
				t.Errorf("PutObject echoed no checksum")
			}
			gs, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("summed"), ChecksumMode: types.ChecksumModeEnabled})
			if body := read(t, gs, err); body != "checked" || gs.ChecksumCRC32C == nil {
				t.Errorf("GetObject with checksum = %q, %v", body, gs.ChecksumCRC32C)
			}
			_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("summed")})
			ok(t, err)
			got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("dir/a b+c.txt")})
			if body := read(t, got, err); body != "hello" || got.Metadata["team"] != "infra" || aws.ToString(got.ContentType) != "text/plain" {
				t.Fatalf("GetObject = %q %v %s", body, got.Metadata, aws.ToString(got.ContentType))
			}
			head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("dir/a b+c.txt")})
			ok(t, err)
			if aws.ToInt64(head.ContentLength) != 5 {
				t.Errorf("HeadObject length = %d", aws.ToInt64(head.ContentLength))
			}
			_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("missing")})
			var nf *types.NotFound
			if !errors.As(err, &nf) {
				t.Fatalf("HeadObject(missing) = %v, want NotFound", err)
			}
			_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("missing")})
			var nsk *types.NoSuchKey
			if !errors.As(err, &nsk) {
				t.Fatalf("GetObject(missing) = %v, want NoSuchKey", err)
			}
			_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("no-such-bucket-x"), Key: aws.String("k")})
			mustCode(t, err, "NoSuchBucket")
			rng, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("dir/a b+c.txt"), Range: aws.String("bytes=1-2")})
			if body := read(t, rng, err); body != "el" {
				t.Errorf("range = %q", body)
			}
			_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
			mustCode(t, err, "BucketNotEmpty")
			_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("dir/a b+c.txt")})
			ok(t, err)
			_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)})
			ok(t, err)
		})
	}
}

func TestSDKListPagination(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	c := client(sb, "master")
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("pages")})
	ok(t, err)
	var want []string
	for i := range 25 {
		k := fmt.Sprintf("obj/%02d", i)
		want = append(want, k)
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("pages"), Key: aws.String(k), Body: strings.NewReader(k)})
		ok(t, err)
	}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("pages"), Prefix: aws.String("obj/"), MaxKeys: aws.Int32(10)})
	var got []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		ok(t, err)
		pages++
		for _, o := range out.Contents {
			got = append(got, aws.ToString(o.Key))
		}
	}
	if pages != 3 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%d pages: %v", pages, got)
	}
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("pages"), Delimiter: aws.String("/")})
	ok(t, err)
	if len(out.CommonPrefixes) != 1 || aws.ToString(out.CommonPrefixes[0].Prefix) != "obj/" || len(out.Contents) != 0 {
		t.Fatalf("delimiter listing = %+v", out)
	}
	lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	ok(t, err)
	if len(lb.Buckets) != 1 || aws.ToString(lb.Buckets[0].Name) != "pages" {
		t.Fatalf("ListBuckets = %+v", lb.Buckets)
	}
}

func TestSDKMultipartUploadManager(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	c := client(sb, "master")
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("big")})
	ok(t, err)
	data := make([]byte, 12<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	var mu sync.Mutex
	var events []sandbox.ObjectCreated
	cancel := sb.SubscribeObjectCreated(func(ev sandbox.ObjectCreated) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	})
	defer cancel()
	up := manager.NewUploader(c, func(u *manager.Uploader) { u.PartSize = 5 << 20 })
	res, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: aws.String("big"), Key: aws.String("blob.bin"), Body: bytes.NewReader(data),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32})
	ok(t, err)
	if !strings.HasSuffix(strings.Trim(aws.ToString(res.ETag), `"`), "-3") || res.UploadID == "" {
		t.Fatalf("upload result ETag %s upload %q", aws.ToString(res.ETag), res.UploadID)
	}
	got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("big"), Key: aws.String("blob.bin")})
	if body := read(t, got, err); body != string(data) {
		t.Fatalf("downloaded %d bytes, differ from the %d uploaded", len(body), len(data))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 1 || events[0].Key != "blob.bin" || events[0].Size != int64(len(data)) {
		t.Fatalf("events = %+v", events)
	}
	// The download manager reads it back in ranges.
	dl := manager.NewDownloader(c, func(d *manager.Downloader) { d.PartSize = 5 << 20 })
	buf := manager.NewWriteAtBuffer(nil)
	n, err := dl.Download(ctx, buf, &s3.GetObjectInput{Bucket: aws.String("big"), Key: aws.String("blob.bin")})
	ok(t, err)
	if n != int64(len(data)) || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("ranged download differs (%d bytes)", n)
	}
}

func TestSDKConditionalWritesAndVersions(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	c := client(sb, "master")
	b := aws.String("versioned")
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b})
	ok(t, err)
	_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	ok(t, err)
	gv, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b})
	ok(t, err)
	if gv.Status != types.BucketVersioningStatusEnabled {
		t.Fatalf("versioning = %q", gv.Status)
	}
	first, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("lock"), Body: strings.NewReader("v1"), IfNoneMatch: aws.String("*")})
	ok(t, err)
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("lock"), Body: strings.NewReader("v2"), IfNoneMatch: aws.String("*")})
	mustCode(t, err, "PreconditionFailed")
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != 412 {
		t.Fatalf("status of %v is not 412", err)
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("lock"), Body: strings.NewReader("v2"), IfMatch: aws.String(`"nope"`)})
	mustCode(t, err, "PreconditionFailed")
	second, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("lock"), Body: strings.NewReader("v2"), IfMatch: first.ETag})
	ok(t, err)
	if aws.ToString(first.VersionId) == "" || aws.ToString(first.VersionId) == aws.ToString(second.VersionId) {
		t.Fatalf("version ids %q %q", aws.ToString(first.VersionId), aws.ToString(second.VersionId))
	}
	old, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("lock"), VersionId: first.VersionId})
	if body := read(t, old, err); body != "v1" {
		t.Fatalf("old version = %q", body)
	}
	del, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("lock")})
	ok(t, err)
	if !aws.ToBool(del.DeleteMarker) {
		t.Fatalf("no delete marker")
	}
	lv, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: b})
	ok(t, err)
	if len(lv.Versions) != 2 || len(lv.DeleteMarkers) != 1 || !aws.ToBool(lv.DeleteMarkers[0].IsLatest) {
		t.Fatalf("versions = %+v markers = %+v", lv.Versions, lv.DeleteMarkers)
	}
	_, err = c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: b, Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("lock"), VersionId: first.VersionId}, {Key: aws.String("lock"), VersionId: second.VersionId},
		{Key: aws.String("lock"), VersionId: lv.DeleteMarkers[0].VersionId}}}})
	ok(t, err)
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b})
	ok(t, err)
}

func TestSDKBucketSettings(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	c := client(sb, "master")
	b := aws.String("settings")
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b})
	ok(t, err)
	_, err = c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b})
	mustCode(t, err, "ServerSideEncryptionConfigurationNotFoundError")
	_, err = c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: b, ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{
		Rules: []types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAes256}}}}})
	ok(t, err)
	enc, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b})
	ok(t, err)
	if enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != types.ServerSideEncryptionAes256 {
		t.Fatalf("encryption = %+v", enc.ServerSideEncryptionConfiguration)
	}
	put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("k"), Body: strings.NewReader("x")})
	ok(t, err)
	if put.ServerSideEncryption != types.ServerSideEncryptionAes256 {
		t.Fatalf("object encryption = %q", put.ServerSideEncryption)
	}
	_, err = c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
	mustCode(t, err, "NoSuchPublicAccessBlockConfiguration")
	_, err = c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: b, PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{
		BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}})
	ok(t, err)
	pab, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
	ok(t, err)
	if !aws.ToBool(pab.PublicAccessBlockConfiguration.BlockPublicPolicy) || aws.ToBool(pab.PublicAccessBlockConfiguration.BlockPublicAcls) {
		t.Fatalf("public access block = %+v", pab.PublicAccessBlockConfiguration)
	}
	_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::settings/*"}]}`)})
	mustCode(t, err, "AccessDenied")
	_, err = c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
	mustCode(t, err, "NoSuchBucketPolicy")
	_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(`{"Statement":[`)})
	mustCode(t, err, "MalformedPolicy")
	loc, err := c.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: b})
	ok(t, err)
	if loc.LocationConstraint != "" {
		t.Fatalf("location = %q", loc.LocationConstraint)
	}
	_, err = c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: b, Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}}})
	ok(t, err)
	tags, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b})
	ok(t, err)
	if len(tags.TagSet) != 1 {
		t.Fatalf("tags = %+v", tags.TagSet)
	}
}

func TestSDKCrossAccountRead(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	master, prod := client(sb, "master"), client(sb, "prod")
	acct, _ := sb.Account("prod")
	b := aws.String("stacker-templates")
	_, err := master.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b})
	ok(t, err)
	_, err = master.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("vpc.json"), Body: strings.NewReader("{}")})
	ok(t, err)

	_, err = prod.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("vpc.json")})
	mustCode(t, err, "AccessDenied")
	_, err = prod.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("x"), Body: strings.NewReader("x")})
	mustCode(t, err, "AccessDenied")
	_, err = prod.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b})
	mustCode(t, err, "AccessDenied")

	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::stacker-templates/*"}]}`, acct.ID)
	_, err = master.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(policy)})
	ok(t, err)
	got, err := prod.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("vpc.json")})
	if body := read(t, got, err); body != "{}" {
		t.Fatalf("cross-account read = %q", body)
	}
	// Still only what the policy grants.
	_, err = prod.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("x"), Body: strings.NewReader("x")})
	mustCode(t, err, "AccessDenied")
	_, err = client(sb, "stage").GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("vpc.json")})
	mustCode(t, err, "AccessDenied")

	// DeleteBucketPolicy removes the grant: no policy left, and the cross-account read is denied again.
	_, err = prod.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: b})
	mustCode(t, err, "AccessDenied")
	_, err = master.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: b})
	ok(t, err)
	_, err = master.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
	mustCode(t, err, "NoSuchBucketPolicy")
	_, err = prod.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("vpc.json")})
	mustCode(t, err, "AccessDenied")
	// Deleting a policy that is not there succeeds, as on AWS (204).
	_, err = master.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: b})
	ok(t, err)
}

func TestSDKTLSOnlyPolicyDeniesPlainHTTP(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	c := client(sb, "master")
	b := aws.String("tls-only")
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b})
	ok(t, err)
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("k"), Body: strings.NewReader("x")})
	ok(t, err)
	_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::tls-only/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`)})
	ok(t, err)
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("k")})
	mustCode(t, err, "AccessDenied")
	// Other actions are untouched.
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("k2"), Body: strings.NewReader("x")})
	ok(t, err)
}

// roleClient creates the role name in account, trusting the account's root,
// lets grant give it permissions, and returns an S3 client for a session of
// it, with the role's ARN.
func roleClient(t *testing.T, sb *sandbox.Sandbox, account, name string, grant func(*iam.Client) error) (*s3.Client, string) {
	t.Helper()
	acct, _ := sb.Account(account)
	iamc := iam.NewFromConfig(sb.AWSConfig(account))
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sts:AssumeRole"}]}`, acct.ID)
	role, err := iamc.CreateRole(t.Context(), &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	ok(t, err)
	ok(t, grant(iamc))
	creds := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(sb.AWSConfig(account)), aws.ToString(role.Role.Arn))
	return s3.NewFromConfig(sb.ConfigWith(creds), func(o *s3.Options) { o.UsePathStyle = true }), aws.ToString(role.Role.Arn)
}

func TestSDKCrossAccountRoleSession(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	master := client(sb, "master")
	b := aws.String("role-templates")
	_, err := master.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b})
	ok(t, err)
	_, err = master.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("t.yaml"), Body: strings.NewReader("Resources: {}")})
	ok(t, err)

	// A Stacker role in prod that may read any S3 object by its identity policy.
	iamc := iam.NewFromConfig(sb.AWSConfig("prod"))
	session, roleARN := roleClient(t, sb, "prod", "Stacker", func(iamc *iam.Client) error {
		_, err := iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("Stacker"), PolicyName: aws.String("read"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)})
		return err
	})

	_, err = session.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("t.yaml")})
	mustCode(t, err, "AccessDenied")
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"%s"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::role-templates/*"}]}`, roleARN)
	_, err = master.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(policy)})
	ok(t, err)
	got, err := session.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("t.yaml")})
	if body := read(t, got, err); body != "Resources: {}" {
		t.Fatalf("role session read = %q", body)
	}
	// The bucket policy alone is not enough without the identity Allow.
	_, err = iamc.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("Stacker"), PolicyName: aws.String("read")})
	ok(t, err)
	_, err = session.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("t.yaml")})
	mustCode(t, err, "AccessDenied")
}

// TestSDKOwnerRootCannotBeLockedOut: a policy that denies everyone plain
// HTTP (or everything) still lets the bucket owner's root user read, replace
// and delete it, as S3 does; it denies the root everything else, and other
// principals of the owner's account stay locked out of the policy too.
func TestSDKOwnerRootCannotBeLockedOut(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	root := client(sb, "master")
	b := aws.String("locked")
	_, err := root.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b})
	ok(t, err)
	_, err = root.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("k"), Body: strings.NewReader("x")})
	ok(t, err)
	// An administrator role of the owner's account.
	admin, _ := roleClient(t, sb, "master", "Admin", func(iamc *iam.Client) error {
		_, err := iamc.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("Admin"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")})
		return err
	})

	denyAll := func(cond string) *string {
		return aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::locked","arn:aws:s3:::locked/*"]` + cond + `}]}`)
	}
	for _, tt := range []struct{ name, cond string }{
		{"plain HTTP denied", `,"Condition":{"Bool":{"aws:SecureTransport":"false"}}`},
		{"everything denied", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := root.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: denyAll(tt.cond)})
			ok(t, err)
			_, err = root.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("k")})
			mustCode(t, err, "AccessDenied")
			_, err = admin.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
			mustCode(t, err, "AccessDenied")
			_, err = admin.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: b})
			mustCode(t, err, "AccessDenied")

			_, err = root.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
			ok(t, err)
			_, err = root.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: denyAll(tt.cond)})
			ok(t, err)
			_, err = root.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: b})
			ok(t, err)
			got, err := root.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("k")})
			if body := read(t, got, err); body != "x" {
				t.Fatalf("read after the policy is gone = %q", body)
			}
		})
	}
}
