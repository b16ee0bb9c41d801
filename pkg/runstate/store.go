// Package runstate keeps the serverless runtime's state in the state bucket:
// run state written with conditional writes (ETags), one run per config
// object version, the per-config lock and the freeze switch. The layout is
// docs/runtime.md's.
package runstate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3 is the part of the S3 API the store uses.
type S3 interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

var (
	// ErrConflict is a conditional write that lost: the object changed (or
	// came to exist) since it was read. S3 says 412 PreconditionFailed, or
	// 409 ConditionalRequestConflict while another conditional write of the
	// same key is under way.
	ErrConflict = errors.New("conditional write lost")
	// ErrNotFound is an object that does not exist.
	ErrNotFound = errors.New("not found")
)

// Store reads and writes the state bucket.
type Store struct {
	S3     S3
	Bucket string
}

// Object is a JSON document read from the bucket, with the ETag to write it
// back conditionally.
type Object struct {
	Body []byte
	ETag string
}

// hashKey is the lower-case hex SHA-256 of parts joined by NUL bytes.
func hashKey(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}

// get reads key; ErrNotFound when it does not exist.
func (st *Store) get(ctx context.Context, key string) (*Object, error) {
	out, err := st.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(st.Bucket), Key: aws.String(key)})
	if err != nil {
		if apiCode(err) == "NoSuchKey" {
			return nil, fmt.Errorf("read s3://%s/%s: %w", st.Bucket, key, ErrNotFound)
		}
		return nil, fmt.Errorf("read s3://%s/%s: %w", st.Bucket, key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", st.Bucket, key, err)
	}
	return &Object{Body: body, ETag: aws.ToString(out.ETag)}, nil
}

// getJSON reads key into v and returns its ETag.
func (st *Store) getJSON(ctx context.Context, key string, v any) (string, error) {
	o, err := st.get(ctx, key)
	if err != nil {
		return "", err
	}
	if err := json.Unmarshal(o.Body, v); err != nil {
		return "", fmt.Errorf("decode s3://%s/%s: %w", st.Bucket, key, err)
	}
	return o.ETag, nil
}

// Condition is a PutObject precondition.
type Condition struct {
	// IfNoneMatch "*" writes only when the key does not exist.
	IfNoneMatch string
	// IfMatch writes only over the object with this ETag.
	IfMatch string
}

// Create is the condition of a write that must create its key.
var Create = Condition{IfNoneMatch: "*"}

// Match is the condition of a write over the object read with etag.
func Match(etag string) Condition { return Condition{IfMatch: etag} }

// put writes body at key under cond and returns the new ETag. A lost
// condition is ErrConflict; If-Match on a key that is gone is ErrConflict
// too (S3 says NoSuchKey), since what was read is no longer there.
func (st *Store) put(ctx context.Context, key string, body []byte, contentType string, cond Condition) (string, error) {
	in := &s3.PutObjectInput{
		Bucket: aws.String(st.Bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String(contentType), ServerSideEncryption: s3types.ServerSideEncryptionAes256,
	}
	if cond.IfNoneMatch != "" {
		in.IfNoneMatch = aws.String(cond.IfNoneMatch)
	}
	if cond.IfMatch != "" {
		in.IfMatch = aws.String(cond.IfMatch)
	}
	out, err := st.S3.PutObject(ctx, in)
	if err != nil {
		switch code := apiCode(err); {
		case code == "PreconditionFailed" || code == "ConditionalRequestConflict",
			code == "NoSuchKey" && cond.IfMatch != "":
			return "", fmt.Errorf("write s3://%s/%s: %w (%s)", st.Bucket, key, ErrConflict, code)
		}
		return "", fmt.Errorf("write s3://%s/%s: %w", st.Bucket, key, err)
	}
	return aws.ToString(out.ETag), nil
}

// putJSON writes v as JSON at key under cond.
func (st *Store) putJSON(ctx context.Context, key string, v any, cond Condition) (string, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", key, err)
	}
	return st.put(ctx, key, body, "application/json", cond)
}

// Put writes body at key under cond (the zero Condition writes
// unconditionally) and returns the new ETag.
func (st *Store) Put(ctx context.Context, key string, body []byte, contentType string, cond Condition) (string, error) {
	return st.put(ctx, key, body, contentType, cond)
}

// Get reads key; ErrNotFound when it does not exist.
func (st *Store) Get(ctx context.Context, key string) (*Object, error) {
	return st.get(ctx, key)
}

// delete removes key; a missing key is not an error.
func (st *Store) delete(ctx context.Context, key string) error {
	_, err := st.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(st.Bucket), Key: aws.String(key)})
	if err != nil && apiCode(err) != "NoSuchKey" {
		return fmt.Errorf("delete s3://%s/%s: %w", st.Bucket, key, err)
	}
	return nil
}

// List returns the keys under prefix, in S3's (lexical) order.
func (st *Store) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	pages := s3.NewListObjectsV2Paginator(st.S3, &s3.ListObjectsV2Input{Bucket: aws.String(st.Bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", st.Bucket, prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys, nil
}

// apiCode is the AWS error code of err, "" for other errors.
func apiCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}
