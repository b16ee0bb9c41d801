package cfn

import (
	"errors"
	"net/url"
	"strings"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/cfn/template"
)

// templateBody returns the template a request names by TemplateBody or
// TemplateURL; ok is false when the request names neither.
func (s *Service) templateBody(call *awsapi.Call, f awsapi.Form) (body string, ok bool, err error) {
	switch {
	case f.Has("TemplateBody") && f.Has("TemplateURL"):
		return "", false, awsapi.ValidationError("Specify exactly one of TemplateBody and TemplateUrl.")
	case f.Has("TemplateBody"):
		body = f.Get("TemplateBody")
		if len(body) > template.MaxBodySize {
			return "", false, awsapi.ValidationError("1 validation error detected: Value '%s' at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to %d", body, template.MaxBodySize)
		}
		if body == "" {
			return "", false, awsapi.ValidationError("1 validation error detected: Value '' at 'templateBody' failed to satisfy constraint: Member must have length greater than or equal to 1")
		}
		return body, true, nil
	case f.Has("TemplateURL"):
		data, err := s.fetchTemplate(call, f.Get("TemplateURL"))
		if err != nil {
			return "", false, err
		}
		return string(data), true, nil
	}
	return "", false, nil
}

// fetchTemplate reads a TemplateURL from the sandbox's S3 with the caller's
// credentials, as CloudFormation does, so bucket policies apply across accounts.
func (s *Service) fetchTemplate(call *awsapi.Call, raw string) ([]byte, error) {
	bucket, key, version, err := parseTemplateURL(raw)
	if err != nil {
		return nil, err
	}
	if s.opts.S3 == nil {
		return nil, awsapi.ValidationError("S3 error: Access Denied")
	}
	data, err := s.opts.S3.ReadObject(call, bucket, key, version)
	if err != nil {
		var ae *awsapi.Error
		if errors.As(err, &ae) {
			switch ae.Code {
			case "AccessDenied":
				return nil, awsapi.ValidationError("S3 error: Access Denied")
			case "NoSuchKey":
				return nil, awsapi.ValidationError("S3 error: The specified key does not exist.")
			case "NoSuchBucket":
				return nil, awsapi.ValidationError("S3 error: The specified bucket does not exist")
			}
			return nil, awsapi.ValidationError("S3 error: %s", ae.Message)
		}
		return nil, awsapi.ValidationError("S3 error: %v", err)
	}
	if len(data) > template.MaxURLSize {
		return nil, awsapi.ValidationError("Template may not exceed %d bytes in size.", template.MaxURLSize)
	}
	return data, nil
}

// parseTemplateURL understands the S3 URL forms CloudFormation accepts (path
// style on s3.amazonaws.com or s3.<region>.amazonaws.com, virtual-host style
// <bucket>.s3[.<region>].amazonaws.com) plus the sandbox's own endpoint,
// addressed path style (http://127.0.0.1:4566/bucket/key) or virtual-host style
// on localhost (http://bucket.localhost:4566/key).
func parseTemplateURL(raw string) (bucket, key, version string, err error) {
	bad := awsapi.ValidationError("TemplateURL must be a supported URL.")
	u, perr := url.Parse(raw)
	if perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", "", "", bad
	}
	host := strings.ToLower(u.Hostname())
	path := strings.TrimPrefix(u.Path, "/")
	version = u.Query().Get("versionId")
	if b, ok := virtualHostBucket(host); ok {
		if path == "" {
			return "", "", "", bad
		}
		return b, path, version, nil
	}
	bucket, key, found := strings.Cut(path, "/")
	if !found || bucket == "" || key == "" {
		return "", "", "", bad
	}
	return bucket, key, version, nil
}

// virtualHostBucket extracts the bucket from <bucket>.s3.amazonaws.com,
// <bucket>.s3.<region>.amazonaws.com, <bucket>.s3-<region>.amazonaws.com and
// <bucket>.localhost.
func virtualHostBucket(host string) (string, bool) {
	if b, ok := strings.CutSuffix(host, ".localhost"); ok && b != "" {
		return b, true
	}
	for _, marker := range []string{".s3.", ".s3-"} {
		if i := strings.LastIndex(host, marker); i > 0 && strings.HasSuffix(host, ".amazonaws.com") {
			return host[:i], true
		}
	}
	return "", false
}
