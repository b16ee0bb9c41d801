package s3_test

import (
	"crypto/sha256"
	"encoding/base64"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// The results that carry a flexible checksum put it in the element of its
// algorithm: CopyObject, ListParts and CompleteMultipartUpload.
func TestSDKChecksumElements(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	c := client(sb, "master")
	bucket := aws.String("sums")
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket})
	ok(t, err)
	const data = "summed twice"

	sha := sha256.Sum256([]byte(data))
	wantSHA := base64.StdEncoding.EncodeToString(sha[:])
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("src"), Body: strings.NewReader(data),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
	ok(t, err)
	cp, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: bucket, Key: aws.String("dst"), CopySource: aws.String("sums/src")})
	ok(t, err)
	if r := cp.CopyObjectResult; r == nil || aws.ToString(r.ChecksumSHA256) != wantSHA || r.ChecksumCRC32 != nil {
		t.Errorf("CopyObjectResult = %+v, want ChecksumSHA256 %s alone", r, wantSHA)
	}

	crc := make([]byte, 4)
	n := crc32.Checksum([]byte(data), crc32.MakeTable(crc32.Castagnoli))
	crc[0], crc[1], crc[2], crc[3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	wantPart := base64.StdEncoding.EncodeToString(crc)
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: bucket, Key: aws.String("multi"),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
	ok(t, err)
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: bucket, Key: aws.String("multi"), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader(data), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c})
	ok(t, err)
	parts, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: bucket, Key: aws.String("multi"), UploadId: up.UploadId})
	ok(t, err)
	if len(parts.Parts) != 1 || aws.ToString(parts.Parts[0].ChecksumCRC32C) != wantPart || parts.Parts[0].ChecksumSHA256 != nil {
		t.Fatalf("ListParts = %+v, want one part with ChecksumCRC32C %s alone", parts.Parts, wantPart)
	}
	done, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: bucket, Key: aws.String("multi"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{
			{PartNumber: aws.Int32(1), ETag: parts.Parts[0].ETag, ChecksumCRC32C: aws.String(wantPart)}}}})
	ok(t, err)
	// A composite checksum: the checksum of the parts' checksums, and their count.
	if got := aws.ToString(done.ChecksumCRC32C); !strings.HasSuffix(got, "-1") || done.ChecksumSHA256 != nil {
		t.Errorf("CompleteMultipartUpload checksums CRC32C %q SHA256 %v, want a composite CRC32C alone", got, done.ChecksumSHA256)
	}
}
