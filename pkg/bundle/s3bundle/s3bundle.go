// Package s3bundle brings a config bundle from S3 into a local directory,
// pinned to object versions, and keeps the bundle a run was prepared from so
// that every later step of the run reads exactly the same files.
//
// An upload is either an archive (.zip, .tar.gz or .tgz) holding stacker.yaml
// (or stacker.yml) at its root with its templates, .aws/config and an
// optional environment file, or a plain config file whose relative paths
// name sibling keys under the same prefix. The bundle's root plays stacker's
// working directory; the environment file is stacker.env (stacker's
// `key: value` format) or stacker.env.yaml / stacker.env.yml (YAML), next to
// the config.
package s3bundle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/stackerless/stackerless/pkg/bundle"
	"github.com/stackerless/stackerless/pkg/config"
	"github.com/stackerless/stackerless/pkg/lookup"
	"github.com/stackerless/stackerless/pkg/runrequest"
)

// ObjectGetter reads S3 objects.
type ObjectGetter interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// ObjectPutter writes S3 objects.
type ObjectPutter interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// Names of a bundle's files, relative to its root.
const (
	AWSConfig = ".aws/config"
)

// configNames and envNames are the config and environment file names a
// bundle may hold, in order of preference.
var (
	configNames = []string{"stacker.yaml", "stacker.yml"}
	envNames    = []string{"stacker.env", "stacker.env.yaml", "stacker.env.yml"}
)

// Manifest says what a bundle holds and where it came from.
type Manifest struct {
	// Source is the uploaded object, pinned to its version.
	Source runrequest.Object `json:"source"`
	// Archive says the upload was an archive; else a plain config file.
	Archive bool `json:"archive"`
	// Config, EnvFile and AWSConfig are files of the bundle, relative to its
	// root with slashes; EnvFile and AWSConfig are empty when absent.
	Config    string `json:"config"`
	EnvFile   string `json:"env_file,omitempty"`
	AWSConfig string `json:"aws_config,omitempty"`
	// Siblings are the keys a plain config's bundle was read from, each
	// pinned to the version read at prepare time.
	Siblings []runrequest.Object `json:"siblings,omitempty"`
	// SHA256 is the hash of the packed bundle, once stored.
	SHA256 string `json:"sha256,omitempty"`
}

// Error is an upload the runtime cannot use as a bundle: missing, not
// versioned, or refused by the bounds. The message says how to fix it.
type Error struct {
	Msg string
	// missing: the object does not exist (a sibling may be absent).
	missing bool
}

func (e *Error) Error() string { return e.Msg }

// Fetch reads the upload obj (the latest version when obj has none) into
// the empty directory dir within lim. env holds the run's KEY=VALUE
// overrides, which a plain config's paths may use. Problems with the upload
// are *Error or *bundle.ArchiveError; others are S3's.
func Fetch(ctx context.Context, client ObjectGetter, obj runrequest.Object, env []string, dir string, lim bundle.Limits) (*Manifest, error) {
	data, pinned, err := get(ctx, client, obj, lim.ArchiveBytes)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Source: pinned, Archive: bundle.IsArchive(obj.Key)}
	if m.Archive {
		if err := bundle.Unpack(path.Base(obj.Key), data, dir, lim); err != nil {
			return nil, err
		}
		if err := m.find(dir, obj); err != nil {
			return nil, err
		}
		return m, nil
	}
	f := &fetcher{client: client, dir: dir, overrides: env, prefix: prefixOf(obj.Key), bucket: obj.Bucket, lim: lim, m: m, total: int64(len(data)), files: 1}
	m.Config = path.Base(obj.Key)
	if err := f.write(m.Config, data); err != nil {
		return nil, err
	}
	if err := f.siblings(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

func prefixOf(key string) string {
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		return key[:i+1]
	}
	return ""
}

// find names the archive's config, environment file and profiles.
func (m *Manifest) find(dir string, obj runrequest.Object) error {
	for _, name := range configNames {
		if isFile(dir, name) {
			m.Config = name
			break
		}
	}
	if m.Config == "" {
		return &Error{Msg: fmt.Sprintf("bundle %s has no %s at its root: archive the project from inside its directory, with the config named %s",
			obj, strings.Join(configNames, " or "), configNames[0])}
	}
	for _, name := range envNames {
		if isFile(dir, name) {
			if m.EnvFile != "" {
				return &Error{Msg: fmt.Sprintf("bundle %s has both %s and %s: keep one environment file", obj, m.EnvFile, name)}
			}
			m.EnvFile = name
		}
	}
	if isFile(dir, AWSConfig) {
		m.AWSConfig = AWSConfig
	}
	return nil
}

func isFile(dir, rel string) bool {
	info, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(rel)))
	return err == nil && info.Mode().IsRegular()
}

// fetcher reads a plain config's siblings.
type fetcher struct {
	client         ObjectGetter
	dir            string
	bucket, prefix string
	lim            bundle.Limits
	overrides      []string
	m              *Manifest
	files          int
	total          int64
}

// siblings reads the environment file and profiles next to the config, then
// every file the config names: templates (from the root, then sys_path),
// stack policies and the literal file:// paths of its lookups.
func (f *fetcher) siblings(ctx context.Context) error {
	for _, name := range envNames {
		found, err := f.fetch(ctx, name)
		if err != nil {
			return err
		}
		if found {
			if f.m.EnvFile != "" {
				return &Error{Msg: fmt.Sprintf("both s3://%s/%s%s and %s%s exist: keep one environment file", f.bucket, f.prefix, f.m.EnvFile, f.prefix, name)}
			}
			f.m.EnvFile = name
		}
	}
	found, err := f.fetch(ctx, AWSConfig)
	if err != nil {
		return err
	}
	if found {
		f.m.AWSConfig = AWSConfig
	}
	env := config.Environment{}
	if f.m.EnvFile != "" {
		if env, err = config.LoadEnvironment(filepath.Join(f.dir, f.m.EnvFile)); err != nil {
			return nil // validation reports it, with the config's other errors
		}
	}
	for _, kv := range f.overrides {
		if env.Set(kv) != nil {
			return nil // validation reports it
		}
	}
	data, err := os.ReadFile(filepath.Join(f.dir, f.m.Config))
	if err != nil {
		return fmt.Errorf("read %s: %w", f.m.Config, err)
	}
	cfg, _ := config.ParseIn(f.dir, f.m.Config, data, env)
	if cfg == nil {
		return nil // validation reports why
	}
	for _, s := range cfg.Stacks {
		if s.TemplatePath != "" {
			for _, full := range cfg.TemplateSearch(s.TemplatePath) {
				found, err := f.fetchPath(ctx, full)
				if err != nil {
					return err
				}
				if found {
					break
				}
			}
		}
		if s.StackPolicyPath != "" {
			if _, err := f.fetchPath(ctx, cfg.Path(s.StackPolicyPath)); err != nil {
				return err
			}
		}
		for _, v := range s.Variables {
			for _, ref := range lookup.FileRefs(v) {
				if ref.Path == "" {
					continue
				}
				if _, err := f.fetchPath(ctx, cfg.FilePath(ref.Path)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// fetchPath reads the sibling a resolved path names, when the path is inside
// the bundle; bundle.Check refuses the others.
func (f *fetcher) fetchPath(ctx context.Context, full string) (bool, error) {
	rel, err := filepath.Rel(f.dir, full)
	if err != nil || !filepath.IsLocal(rel) {
		return false, nil
	}
	return f.fetch(ctx, filepath.ToSlash(rel))
}

// fetch reads the sibling rel (relative to the config's prefix), latest
// version, once. A missing key is not an error: validation says what the
// config lacks, with the rest.
func (f *fetcher) fetch(ctx context.Context, rel string) (bool, error) {
	if isFile(f.dir, rel) {
		return true, nil
	}
	if slices.ContainsFunc(f.m.Siblings, func(o runrequest.Object) bool { return o.Key == f.prefix+rel }) {
		return false, nil
	}
	obj := runrequest.Object{Bucket: f.bucket, Key: f.prefix + rel}
	data, pinned, err := get(ctx, f.client, obj, f.lim.ArchiveBytes)
	var e *Error
	if errors.As(err, &e) && e.missing {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	f.m.Siblings = append(f.m.Siblings, pinned)
	f.files++
	f.total += int64(len(data))
	switch {
	case f.files > f.lim.Files:
		return false, &Error{Msg: fmt.Sprintf("the config %s names more than %d files: leave out what it does not read", f.m.Source, f.lim.Files)}
	case f.total > f.lim.TotalBytes:
		return false, &Error{Msg: fmt.Sprintf("the config %s and the files it names are more than %d bytes", f.m.Source, f.lim.TotalBytes)}
	}
	return true, f.write(rel, data)
}

func (f *fetcher) write(rel string, data []byte) error {
	root, err := os.OpenRoot(f.dir)
	if err != nil {
		return fmt.Errorf("open bundle directory: %w", err)
	}
	defer root.Close()
	p := filepath.FromSlash(rel)
	if err := root.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}
	if err := root.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}
	return nil
}

// get reads one object, at most max bytes, and returns it pinned to the
// version read.
func get(ctx context.Context, client ObjectGetter, obj runrequest.Object, max int64) ([]byte, runrequest.Object, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(obj.Bucket), Key: aws.String(obj.Key)}
	if obj.VersionID != "" {
		in.VersionId = aws.String(obj.VersionID)
	}
	out, err := client.GetObject(ctx, in)
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			switch ae.ErrorCode() {
			case "NoSuchKey", "NotFound":
				return nil, obj, &Error{Msg: fmt.Sprintf("%s does not exist", obj), missing: true}
			case "NoSuchVersion":
				return nil, obj, &Error{Msg: fmt.Sprintf("%s does not exist (no such version)", obj), missing: true}
			case "NoSuchBucket":
				return nil, obj, &Error{Msg: fmt.Sprintf("%s: bucket %s does not exist", obj, obj.Bucket)}
			}
		}
		return nil, obj, fmt.Errorf("get %s: %w", obj, err)
	}
	defer out.Body.Close()
	if out.ContentLength != nil && *out.ContentLength > max {
		return nil, obj, &Error{Msg: fmt.Sprintf("%s is %d bytes, more than the %d a bundle file may be: leave out what the config does not read", obj, *out.ContentLength, max)}
	}
	data, err := io.ReadAll(io.LimitReader(out.Body, max+1))
	if err != nil {
		return nil, obj, fmt.Errorf("read %s: %w", obj, err)
	}
	if int64(len(data)) > max {
		return nil, obj, &Error{Msg: fmt.Sprintf("%s is more than the %d bytes a bundle file may be: leave out what the config does not read", obj, max)}
	}
	version := aws.ToString(out.VersionId)
	if version == "" || version == "null" {
		return nil, obj, &Error{Msg: fmt.Sprintf("%s has no version ID: bucket %s must be versioned, so that a run is pinned to what was uploaded", obj, obj.Bucket)}
	}
	pinned := obj
	pinned.VersionID = version
	return data, pinned, nil
}

// Keys under a run's prefix in the state bucket that hold its bundle.
const (
	packedName   = "bundle.tar.gz"
	manifestName = "bundle.json"
)

// Store keeps the bundle in dir under prefix in the state bucket: the
// files packed (bundle.tar.gz), then m with their hash (bundle.json). Load
// reads exactly these files back, whatever happens to the config bucket.
func Store(ctx context.Context, client ObjectPutter, bucket, prefix, dir string, m *Manifest) error {
	var buf bytes.Buffer
	if err := bundle.Pack(dir, &buf); err != nil {
		return err
	}
	sum := sha256.Sum256(buf.Bytes())
	m.SHA256 = hex.EncodeToString(sum[:])
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + packedName),
		Body: bytes.NewReader(buf.Bytes()), ContentType: aws.String("application/gzip")}); err != nil {
		return fmt.Errorf("store bundle s3://%s/%s%s: %w", bucket, prefix, packedName, err)
	}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + manifestName),
		Body: bytes.NewReader(data), ContentType: aws.String("application/json")}); err != nil {
		return fmt.Errorf("store bundle manifest s3://%s/%s%s: %w", bucket, prefix, manifestName, err)
	}
	return nil
}

// Load unpacks the bundle Store kept under prefix into the empty directory
// dir, checking its hash, and returns its manifest.
func Load(ctx context.Context, client ObjectGetter, bucket, prefix, dir string, lim bundle.Limits) (*Manifest, error) {
	data, err := getPlain(ctx, client, bucket, prefix+manifestName, 1<<20)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("read bundle manifest s3://%s/%s%s: %w", bucket, prefix, manifestName, err)
	}
	packed, err := getPlain(ctx, client, bucket, prefix+packedName, lim.ArchiveBytes)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(packed)
	if got := hex.EncodeToString(sum[:]); got != m.SHA256 {
		return nil, fmt.Errorf("bundle s3://%s/%s%s has hash %s, its manifest says %s: it changed after the run was prepared", bucket, prefix, packedName, got, m.SHA256)
	}
	if err := bundle.Unpack(packedName, packed, dir, lim); err != nil {
		return nil, err
	}
	return &m, nil
}

// getPlain reads an object of the state bucket (unversioned is fine).
func getPlain(ctx context.Context, client ObjectGetter, bucket, key string, max int64) ([]byte, error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("s3://%s/%s is more than %d bytes", bucket, key, max)
	}
	return data, nil
}
