package sandbox_test

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
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// kmsRole creates a role in master, trusted by master's root, with an
// inline policy (none when empty), and returns a config of its session.
func kmsRole(ctx context.Context, t *testing.T, sb *sandbox.Sandbox, name, inline string) (aws.Config, string) {
	t.Helper()
	master, _ := sb.Account("master")
	iamc := iam.NewFromConfig(sb.AWSConfig("master"))
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sts:AssumeRole"}]}`, master.ID)
	role, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	if inline != "" {
		if _, err := iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(inline)}); err != nil {
			t.Fatal(err)
		}
	}
	arn := aws.ToString(role.Role.Arn)
	creds := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(sb.AWSConfig("master")), arn, func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = name })
	return sb.ConfigWith(aws.NewCredentialsCache(creds)), arn
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestKMSKeyPolicy: a key policy must admit the caller, by name or through
// its account's root (then the IAM policies decide); IAM alone grants nothing,
// in the key's account too; ciphertexts open only with their key and context.
func TestKMSKeyPolicy(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	master, _ := sb.Account("master")
	prod, _ := sb.Account("prod")
	anyKMS := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`
	iamUser, _ := kmsRole(ctx, t, sb, "iam-user", anyKMS)
	named, namedArn := kmsRole(ctx, t, sb, "named", "")
	none, _ := kmsRole(ctx, t, sb, "none", "")

	root := kms.NewFromConfig(sb.AWSConfig("master"))
	// The default policy: the account's IAM policies decide.
	def, err := root.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("default")})
	if err != nil {
		t.Fatal(err)
	}
	// A policy that names one role and not the account.
	strict, err := root.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(fmt.Sprintf(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":%q},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}]}`, namedArn)),
		BypassPolicyLockoutSafetyCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	// Without the bypass, KMS refuses a policy that locks its caller out.
	if _, err := root.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(fmt.Sprintf(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":%q},"Action":"kms:*","Resource":"*"}]}`, namedArn))}); errCode(err) != "MalformedPolicyDocumentException" {
		t.Errorf("CreateKey locking root out: %v, want MalformedPolicyDocumentException", err)
	}
	if !strings.HasPrefix(aws.ToString(def.KeyMetadata.Arn), "arn:aws:kms:"+sb.Region()+":"+master.ID+":key/") {
		t.Fatalf("key ARN %s", aws.ToString(def.KeyMetadata.Arn))
	}
	encrypt := func(cfg aws.Config, key *string) error {
		_, err := kms.NewFromConfig(cfg).Encrypt(ctx, &kms.EncryptInput{KeyId: key, Plaintext: []byte("secret")})
		return err
	}
	for _, c := range []struct {
		name string
		cfg  aws.Config
		key  *string
		ok   bool
	}{
		{"IAM allows, key policy delegates to the account", iamUser, def.KeyMetadata.Arn, true},
		{"no IAM policy, key policy delegates to the account", none, def.KeyMetadata.Arn, false},
		{"IAM allows, key policy does not name the account", iamUser, strict.KeyMetadata.Arn, false},
		{"root, key policy does not name the account", sb.AWSConfig("master"), strict.KeyMetadata.Arn, false},
		{"named in the key policy, no IAM policy", named, strict.KeyMetadata.Arn, true},
		{"another account's root", sb.AWSConfig("prod"), def.KeyMetadata.Arn, false},
	} {
		err := encrypt(c.cfg, c.key)
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.ok && errCode(err) != "AccessDeniedException" {
			t.Errorf("%s: %v, want AccessDeniedException", c.name, err)
		}
	}

	// Round trip with an encryption context; another context does not open it.
	ec := map[string]string{"purpose": "test"}
	enc, err := root.Encrypt(ctx, &kms.EncryptInput{KeyId: def.KeyMetadata.KeyId, Plaintext: []byte("secret"), EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := root.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
	if err != nil || string(dec.Plaintext) != "secret" || aws.ToString(dec.KeyId) != aws.ToString(def.KeyMetadata.Arn) {
		t.Fatalf("Decrypt: %v %v", dec, err)
	}
	if _, err := root.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob}); errCode(err) != "InvalidCiphertextException" {
		t.Errorf("Decrypt without the context: %v", err)
	}
	// The ciphertext names its key: prod's root cannot use master's key.
	if _, err := kms.NewFromConfig(sb.AWSConfig("prod")).Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec}); errCode(err) != "AccessDeniedException" {
		t.Errorf("Decrypt from %s: %v", prod.ID, err)
	}
	dk, err := root.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: def.KeyMetadata.Arn, KeySpec: "AES_256"})
	if err != nil || len(dk.Plaintext) != 32 {
		t.Fatalf("GenerateDataKey: %v", err)
	}
	pol, err := root.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: def.KeyMetadata.KeyId})
	if err != nil || !strings.Contains(aws.ToString(pol.Policy), ":root") {
		t.Errorf("GetKeyPolicy: %v %v", pol, err)
	}
	if _, err := root.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: def.KeyMetadata.KeyId, Policy: aws.String("{")}); errCode(err) != "MalformedPolicyDocumentException" {
		t.Errorf("PutKeyPolicy malformed: %v", err)
	}
	if _, err := root.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("1234abcd-12ab-34cd-56ef-1234567890ab")}); errCode(err) != "NotFoundException" {
		t.Errorf("DescribeKey of a missing key: %v", err)
	}
}

// TestS3WithKMS: writing an object under a bucket's SSE-KMS default takes
// kms:GenerateDataKey on its key, reading it kms:Decrypt, with the
// requester's permissions; HEAD needs neither.
func TestS3WithKMS(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	master, _ := sb.Account("master")
	key, err := kms.NewFromConfig(sb.AWSConfig("master")).CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	keyArn := aws.ToString(key.KeyMetadata.Arn)
	rootS3 := s3.NewFromConfig(sb.AWSConfig("master"), func(o *s3.Options) { o.UsePathStyle = true })
	b := aws.String("kms-bucket")
	if _, err := rootS3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := rootS3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: b, ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
		Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(keyArn)}}},
	}}); err != nil {
		t.Fatal(err)
	}
	objects := `{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::kms-bucket/*"}`
	s3Only, _ := kmsRole(ctx, t, sb, "s3-only", `{"Version":"2012-10-17","Statement":[`+objects+`]}`)
	withKey, _ := kmsRole(ctx, t, sb, "with-key", fmt.Sprintf(`{"Version":"2012-10-17","Statement":[%s,{"Effect":"Allow","Action":["kms:GenerateDataKey","kms:Decrypt"],"Resource":%q}]}`, objects, keyArn))
	client := func(cfg aws.Config) *s3.Client {
		return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	}

	put, err := client(withKey).PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("k"), Body: strings.NewReader("config")})
	if err != nil {
		t.Fatalf("PutObject with the key's permissions: %v", err)
	}
	if put.ServerSideEncryption != s3types.ServerSideEncryptionAwsKms || aws.ToString(put.SSEKMSKeyId) != keyArn {
		t.Errorf("PutObject encryption %s %s", put.ServerSideEncryption, aws.ToString(put.SSEKMSKeyId))
	}
	if _, err := client(s3Only).PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("k2"), Body: strings.NewReader("x")}); errCode(err) != "AccessDenied" ||
		!strings.Contains(err.Error(), "kms:GenerateDataKey") {
		t.Errorf("PutObject without kms:GenerateDataKey: %v", err)
	}
	if _, err := client(s3Only).GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("k")}); errCode(err) != "AccessDenied" ||
		!strings.Contains(err.Error(), "kms:Decrypt") {
		t.Errorf("GetObject without kms:Decrypt: %v", err)
	}
	if _, err := client(s3Only).HeadObject(ctx, &s3.HeadObjectInput{Bucket: b, Key: aws.String("k")}); err != nil {
		t.Errorf("HeadObject without kms:Decrypt: %v", err)
	}
	for name, cfg := range map[string]aws.Config{"with the key's permissions": withKey, "root": sb.AWSConfig("master")} {
		out, err := client(cfg).GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("k")})
		if err != nil {
			t.Errorf("GetObject %s: %v", name, err)
			continue
		}
		body, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(body) != "config" {
			t.Errorf("GetObject %s = %q", name, body)
		}
	}
	// An unknown key cannot encrypt.
	if _, err := rootS3.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("k3"), Body: strings.NewReader("x"),
		ServerSideEncryption: s3types.ServerSideEncryptionAwsKms, SSEKMSKeyId: aws.String("arn:aws:kms:" + sb.Region() + ":" + master.ID + ":key/1234abcd-12ab-34cd-56ef-1234567890ab")}); errCode(err) != "KMS.NotFoundException" {
		t.Errorf("PutObject with a missing key: %v", err)
	}
}
