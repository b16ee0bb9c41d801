package master_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/stackerless/stackerless/infra/master"
)

// attacks tries, against the deployed app, what its policies rule out; it
// runs after the upload subtest, so the buckets hold a config and the
// templates of a run.
func (d *deployment) attacks(ctx context.Context, t *testing.T) {
	configs, state, templates := d.outs[master.OutputConfigBucket], d.outs[master.OutputStateBucket], d.outs[master.OutputTemplateBucket]
	templateKey := d.firstKey(ctx, t, templates, master.TemplatePrefix)

	t.Run("plain HTTP", func(t *testing.T) {
		// Master's root, which may do anything else, over the sandbox's
		// plain-HTTP listener: not secure transport.
		plain := s3Client(d.sb.AWSConfig("master"))
		for _, b := range []string{configs, state, templates} {
			if _, err := plain.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("plain"), Body: strings.NewReader("x")}); !denied(err) {
				t.Errorf("PutObject to %s over HTTP: %v, want AccessDenied", b, err)
			}
		}
		for b, key := range map[string]string{configs: "stacker.yaml", templates: templateKey} {
			if _, err := plain.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(key)}); !denied(err) {
				t.Errorf("GetObject %s/%s over HTTP: %v, want AccessDenied", b, key, err)
			}
		}
	})

	t.Run("sub-account", func(t *testing.T) {
		// prod's Stacker role, reached as the seed's humans reach it (MFA,
		// master's Stacker, prod's Stacker), reads templates and nothing else.
		stacker := s3Client(d.sb.HTTPSConfigWith(d.stackerChain(t, "prod")))
		if err := read(ctx, stacker, templates, templateKey); err != nil {
			t.Errorf("prod's Stacker reading template %s: %v", templateKey, err)
		}
		if err := read(ctx, stacker, configs, "stacker.yaml"); !denied(err) {
			t.Errorf("prod's Stacker reading a config: %v, want AccessDenied", err)
		}
		if err := read(ctx, stacker, state, "freeze"); !denied(err) {
			t.Errorf("prod's Stacker reading the state bucket: %v, want AccessDenied", err)
		}
		// Another principal of prod (its root) is not on the allow-list.
		root := s3Client(d.sb.HTTPSConfig("prod"))
		if err := read(ctx, root, templates, templateKey); !denied(err) {
			t.Errorf("prod's root reading a template: %v, want AccessDenied", err)
		}
		if err := read(ctx, root, configs, "stacker.yaml"); !denied(err) {
			t.Errorf("prod's root reading a config: %v, want AccessDenied", err)
		}
	})

	t.Run("not a writer", func(t *testing.T) {
		// An administrator of the master account outside config_writers
		// may not deploy, approve or freeze; it still reads (the deny is
		// on writes only).
		admin := s3Client(d.sb.HTTPSConfigWith(d.masterRole(ctx, t, "admin",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)))
		for _, w := range []struct{ bucket, key string }{
			{configs, "stacker.yaml"}, {configs, "other/stacker.yaml"},
			{state, "runs/r-1/approvals/vpc/AROAEXAMPLE:admin.json"}, {state, "freeze"},
		} {
			if _, err := admin.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(w.bucket), Key: aws.String(w.key), Body: strings.NewReader("{}")}); !denied(err) {
				t.Errorf("admin writing %s/%s: %v, want AccessDenied", w.bucket, w.key, err)
			}
		}
		if _, err := admin.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(configs), Key: aws.String("stacker.yaml")}); !denied(err) {
			t.Errorf("admin deleting a config: %v, want AccessDenied", err)
		}
		if err := read(ctx, admin, configs, "stacker.yaml"); err != nil {
			t.Errorf("admin reading a config: %v", err)
		}
		// The writer (master's root here) may freeze and unfreeze.
		writer := d.s3
		if _, err := writer.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(state), Key: aws.String("freeze"), Body: strings.NewReader(`{"reason":"test"}`)}); err != nil {
			t.Errorf("writer freezing: %v", err)
		}
		if _, err := writer.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(state), Key: aws.String("freeze")}); err != nil {
			t.Errorf("writer unfreezing: %v", err)
		}
	})

	t.Run("config key", func(t *testing.T) {
		// A master role with S3 read but no kms:Decrypt cannot read a
		// config: it is SSE-KMS with the config key.
		reader := s3Client(d.sb.HTTPSConfigWith(d.masterRole(ctx, t, "s3-reader",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"*"}]}`)))
		err := read(ctx, reader, configs, "stacker.yaml")
		if !denied(err) || !strings.Contains(err.Error(), "kms:Decrypt") {
			t.Errorf("reading a config without kms:Decrypt: %v, want AccessDenied naming kms:Decrypt", err)
		}
		// Templates are SSE-S3: the same role reads them.
		if err := read(ctx, reader, templates, templateKey); err != nil {
			t.Errorf("reading a template: %v", err)
		}
	})
}

func s3Client(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true; o.RetryMaxAttempts = 1 })
}

func denied(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "AccessDenied"
}

func read(ctx context.Context, c *s3.Client, bucket, key string) error {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return err
	}
	defer out.Body.Close()
	_, err = io.Copy(io.Discard, out.Body)
	return err
}

// firstKey is the first key under prefix in bucket (master's root).
func (d *deployment) firstKey(ctx context.Context, t *testing.T, bucket, prefix string) string {
	t.Helper()
	out, err := d.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	if err != nil || len(out.Contents) == 0 {
		t.Fatalf("no key under %s in %s: %v", prefix, bucket, err)
	}
	return aws.ToString(out.Contents[0].Key)
}

// masterRole creates a role in master that master's root may assume, with
// an inline policy, and returns its credentials.
func (d *deployment) masterRole(ctx context.Context, t *testing.T, name, inline string) aws.CredentialsProvider {
	t.Helper()
	acct, _ := d.sb.Account("master")
	c := iam.NewFromConfig(d.cfg)
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sts:AssumeRole"}]}`, acct.ID)
	role, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("inline"), PolicyDocument: aws.String(inline)}); err != nil {
		t.Fatal(err)
	}
	return aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(d.cfg), aws.ToString(role.Role.Arn),
		func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = name }))
}

// stackerChain is a session of account's Stacker role reached as the seed's
// humans do: master's root with MFA assumes master's Stacker, which assumes
// the account's.
func (d *deployment) stackerChain(t *testing.T, account string) aws.CredentialsProvider {
	t.Helper()
	masterAcct, _ := d.sb.Account("master")
	acct, _ := d.sb.Account(account)
	first := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(d.cfg), "arn:aws:iam::"+masterAcct.ID+":role/Stacker", func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = "human"
		o.SerialNumber = aws.String("arn:aws:iam::" + masterAcct.ID + ":mfa/human")
		o.TokenProvider = func() (string, error) { return "123456", nil }
	})
	return aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(d.sb.HTTPSConfigWith(aws.NewCredentialsCache(first))),
		"arn:aws:iam::"+acct.ID+":role/Stacker", func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "human" }))
}
