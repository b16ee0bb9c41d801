// Package kms is the sandbox's KMS: symmetric keys per account and region
// with key policies, the JSON 1.1 API (CreateKey, DescribeKey,
// GetKeyPolicy, PutKeyPolicy, ScheduleKeyDeletion, Encrypt, Decrypt,
// GenerateDataKey), what AWS::KMS::Key needs, and the check S3 makes
// before it writes or reads an SSE-KMS object (Use).
//
// A key policy decides as on AWS: it must admit the caller, either by
// naming the principal or by naming its account (arn:aws:iam::ACCOUNT:root),
// which hands the decision to that account's IAM policies; an IAM policy
// alone, in the key's own account too, grants nothing.
package kms

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/policy"
)

// Service is the KMS API; it implements http.Handler.
type Service struct {
	authz awsapi.Authorizer
	now   func() time.Time

	mu   sync.Mutex
	keys map[string]*key // by ARN
}

type key struct {
	id, arn, account, region string
	description              string
	policy                   string
	rotation                 bool
	created                  time.Time
	// deletion is when a key scheduled for deletion goes; zero otherwise.
	deletion time.Time
	material []byte
}

func (k *key) state() string {
	if !k.deletion.IsZero() {
		return "PendingDeletion"
	}
	return "Enabled"
}

// New returns an empty KMS authorizing every call with authz.
func New(authz awsapi.Authorizer, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{authz: authz, now: now, keys: map[string]*key{}}
}

// ServeHTTP serves one authenticated JSON 1.1 request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	awsapi.ServeJSONActions(Descriptor, w, r, s, handlers)
}

type handler = awsapi.JSONAction[*Service]

var handlers = map[string]handler{
	"CreateKey":           awsapi.Decoded((*Service).createKey),
	"DescribeKey":         awsapi.Decoded((*Service).describeKey),
	"GetKeyPolicy":        awsapi.Decoded((*Service).getKeyPolicy),
	"PutKeyPolicy":        awsapi.Decoded((*Service).putKeyPolicy),
	"ScheduleKeyDeletion": awsapi.Decoded((*Service).scheduleKeyDeletion),
	"Encrypt":             awsapi.Decoded((*Service).encrypt),
	"Decrypt":             awsapi.Decoded((*Service).decrypt),
	"GenerateDataKey":     awsapi.Decoded((*Service).generateDataKey),
}

func notFound(ref string) error {
	return awsapi.Errorf(http.StatusBadRequest, "NotFoundException", "Key '%s' does not exist", ref)
}

func invalidState(k *key) error {
	return awsapi.Errorf(http.StatusBadRequest, "KMSInvalidStateException", "%s is pending deletion.", k.arn)
}

func malformedPolicy(msg string) error {
	return awsapi.Errorf(http.StatusBadRequest, "MalformedPolicyDocumentException", "%s", msg)
}

// DefaultPolicy is the key policy KMS gives a key created without one: the
// account's IAM policies decide.
func DefaultPolicy(account string) string {
	return `{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow",` +
		`"Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":"kms:*","Resource":"*"}]}`
}

func checkPolicy(doc string) error {
	if len(doc) > 32768 {
		return malformedPolicy("Policy exceeds the maximum length of 32768 characters")
	}
	if _, err := policy.Parse(doc, policy.Resource); err != nil {
		return malformedPolicy(err.Error())
	}
	return nil
}

// CreateKeyFor creates a symmetric key in account and region (the
// CloudFormation resource's create); an empty policy is DefaultPolicy.
func (s *Service) CreateKeyFor(account, region, description, keyPolicy string, rotation bool) (id, arn string, err error) {
	if keyPolicy == "" {
		keyPolicy = DefaultPolicy(account)
	}
	if err := checkPolicy(keyPolicy); err != nil {
		return "", "", err
	}
	material := make([]byte, 32)
	_, _ = rand.Read(material)
	u := make([]byte, 16)
	_, _ = rand.Read(u)
	h := hex.EncodeToString(u)
	id = h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	arn = fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", region, account, id)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[arn] = &key{id: id, arn: arn, account: account, region: region, description: description,
		policy: keyPolicy, rotation: rotation, created: s.now(), material: material}
	return id, arn, nil
}

// UpdateKeyFor replaces a key's description, policy and rotation.
func (s *Service) UpdateKeyFor(arn, description, keyPolicy string, rotation bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys[arn]
	if k == nil {
		return notFound(arn)
	}
	if keyPolicy == "" {
		keyPolicy = DefaultPolicy(k.account)
	}
	if err := checkPolicy(keyPolicy); err != nil {
		return err
	}
	k.description, k.policy, k.rotation = description, keyPolicy, rotation
	return nil
}

// ScheduleDeletionFor schedules a key's deletion after days (7-30), as
// CloudFormation does when the resource goes. Its ciphertexts no longer
// decrypt.
func (s *Service) ScheduleDeletionFor(arn string, days int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys[arn]
	if k == nil {
		return notFound(arn)
	}
	if k.deletion.IsZero() {
		k.deletion = s.now().AddDate(0, 0, days)
	}
	return nil
}

// find resolves a key id, key ARN or alias of the caller's region in
// account (aliases are not modelled: NotFound). s.mu must be held.
func (s *Service) find(account, region, ref string) (*key, error) {
	switch {
	case strings.HasPrefix(ref, "arn:"):
		if k := s.keys[ref]; k != nil {
			return k, nil
		}
	case ref != "" && !strings.HasPrefix(ref, "alias/"):
		if k := s.keys[fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", region, account, ref)]; k != nil {
			return k, nil
		}
	}
	return nil, notFound(ref)
}

// authorize checks action on k for call: the key policy must admit the
// caller (awsapi.Resource.PolicyRequired).
func (s *Service) authorize(call *awsapi.Call, action string, k *key) error {
	if s.authz == nil {
		if call.Caller.Account != k.account {
			return awsapi.AccessDenied("User: %s is not authorized to perform: %s on resource: %s", call.Caller.ARN, action, k.arn)
		}
		return nil
	}
	return s.authz.Authorize(call, action, awsapi.Resource{ARN: k.arn, Account: k.account, Policy: k.policy, PolicyRequired: true}, nil)
}

// AuthorizeKey authorizes call's caller to perform action on the key arn
// through its key policy (CloudFormation's handler acts as the caller).
func (s *Service) AuthorizeKey(call *awsapi.Call, action, arn string) error {
	s.mu.Lock()
	k := s.keys[arn]
	s.mu.Unlock()
	if k == nil {
		return notFound(arn)
	}
	return s.authorize(call, action, k)
}

// CheckLockout is KMS's policy lockout safety check: a new key policy
// (empty: the default) for a key of account and region must let call's
// caller change it again (kms:PutKeyPolicy), unless the request bypasses
// the check.
func (s *Service) CheckLockout(call *awsapi.Call, account, region, keyPolicy string) error {
	if s.authz == nil || call == nil || call.Caller == nil {
		return nil
	}
	if keyPolicy == "" {
		keyPolicy = DefaultPolicy(account)
	}
	res := awsapi.Resource{ARN: fmt.Sprintf("arn:aws:kms:%s:%s:key/new", region, account), Account: account, Policy: keyPolicy, PolicyRequired: true}
	if err := s.authz.Authorize(call, "kms:PutKeyPolicy", res, nil); err != nil {
		return malformedPolicy("The new key policy will not allow you to update the key policy in the future.")
	}
	return nil
}

// lookup finds ref for call and authorizes action on it; a key pending
// deletion is in an invalid state.
func (s *Service) lookup(call *awsapi.Call, action, ref string) (*key, error) {
	s.mu.Lock()
	k, err := s.find(call.Caller.Account, call.Region, ref)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := s.authorize(call, action, k); err != nil {
		return nil, err
	}
	if action != "kms:DescribeKey" && action != "kms:GetKeyPolicy" && k.state() != "Enabled" {
		return nil, invalidState(k)
	}
	return k, nil
}

// Use is S3's check before it encrypts (kms:GenerateDataKey) or decrypts
// (kms:Decrypt) an object with the key ref (an ARN, or a key id of the
// bucket's account and region) for call's caller, as S3 calls KMS with the
// requester's permissions. The account's AWS managed key aws/s3 admits
// its own account's principals, as its key policy does.
func (s *Service) Use(call *awsapi.Call, action, ref, bucketAccount, bucketRegion string) error {
	if ref == "" || strings.HasSuffix(ref, "alias/aws/s3") {
		if parts := strings.Split(ref, ":"); len(parts) == 6 {
			bucketAccount = parts[4]
		}
		if call.Caller.Account != bucketAccount {
			return awsapi.AccessDenied("User: %s is not authorized to perform: %s on the AWS managed key aws/s3 of account %s", call.Caller.ARN, action, bucketAccount)
		}
		return nil
	}
	s.mu.Lock()
	k, err := s.find(bucketAccount, bucketRegion, ref)
	s.mu.Unlock()
	if err != nil {
		return awsapi.Errorf(http.StatusBadRequest, "KMS.NotFoundException", "Invalid keyId %s", ref)
	}
	if err := s.authorize(call, action, k); err != nil {
		e := awsapi.AsError(err)
		return awsapi.AccessDenied("%s", e.Message)
	}
	if k.state() != "Enabled" {
		return awsapi.Errorf(http.StatusBadRequest, "KMS.KMSInvalidStateException", "%s is pending deletion.", k.arn)
	}
	return nil
}

type keyMetadata struct {
	AWSAccountId    string
	Arn             string
	KeyId           string
	CreationDate    float64
	Description     string
	Enabled         bool
	KeyManager      string
	KeyState        string
	KeySpec         string
	KeyUsage        string
	Origin          string
	DeletionDate    float64 `json:",omitempty"`
	MultiRegion     bool
	EncryptionAlgos []string `json:"EncryptionAlgorithms"`
}

func (s *Service) metadata(k *key) keyMetadata {
	m := keyMetadata{AWSAccountId: k.account, Arn: k.arn, KeyId: k.id, CreationDate: float64(k.created.Unix()),
		Description: k.description, Enabled: k.state() == "Enabled", KeyManager: "CUSTOMER", KeyState: k.state(),
		KeySpec: "SYMMETRIC_DEFAULT", KeyUsage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS", EncryptionAlgos: []string{"SYMMETRIC_DEFAULT"}}
	if !k.deletion.IsZero() {
		m.DeletionDate = float64(k.deletion.Unix())
	}
	return m
}

type createKeyInput struct {
	Description                    string
	Policy                         string
	KeySpec, KeyUsage, Origin      string
	BypassPolicyLockoutSafetyCheck bool
	MultiRegion                    bool
}

func (s *Service) createKey(call *awsapi.Call, in *createKeyInput) (any, error) {
	if s.authz != nil {
		if err := s.authz.Authorize(call, "kms:CreateKey", awsapi.Resource{ARN: "*"}, nil); err != nil {
			return nil, err
		}
	}
	if (in.KeySpec != "" && in.KeySpec != "SYMMETRIC_DEFAULT") || (in.KeyUsage != "" && in.KeyUsage != "ENCRYPT_DECRYPT") || (in.Origin != "" && in.Origin != "AWS_KMS") {
		return nil, awsapi.Errorf(http.StatusBadRequest, "UnsupportedOperationException", "The sandbox's KMS has symmetric ENCRYPT_DECRYPT keys of origin AWS_KMS only")
	}
	if !in.BypassPolicyLockoutSafetyCheck {
		if err := s.CheckLockout(call, call.Caller.Account, call.Region, in.Policy); err != nil {
			return nil, err
		}
	}
	_, arn, err := s.CreateKeyFor(call.Caller.Account, call.Region, in.Description, in.Policy, false)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]any{"KeyMetadata": s.metadata(s.keys[arn])}, nil
}

type keyIDInput struct {
	KeyId      string
	PolicyName string
}

func (s *Service) describeKey(call *awsapi.Call, in *keyIDInput) (any, error) {
	k, err := s.lookup(call, "kms:DescribeKey", in.KeyId)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]any{"KeyMetadata": s.metadata(k)}, nil
}

func (s *Service) getKeyPolicy(call *awsapi.Call, in *keyIDInput) (any, error) {
	k, err := s.lookup(call, "kms:GetKeyPolicy", in.KeyId)
	if err != nil {
		return nil, err
	}
	if in.PolicyName != "" && in.PolicyName != "default" {
		return nil, awsapi.Errorf(http.StatusBadRequest, "NotFoundException", "No such policy exists")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]any{"Policy": k.policy, "PolicyName": "default"}, nil
}

type putKeyPolicyInput struct {
	KeyId, PolicyName, Policy      string
	BypassPolicyLockoutSafetyCheck bool
}

func (s *Service) putKeyPolicy(call *awsapi.Call, in *putKeyPolicyInput) (any, error) {
	k, err := s.lookup(call, "kms:PutKeyPolicy", in.KeyId)
	if err != nil {
		return nil, err
	}
	if err := checkPolicy(in.Policy); err != nil {
		return nil, err
	}
	if !in.BypassPolicyLockoutSafetyCheck {
		if err := s.CheckLockout(call, k.account, k.region, in.Policy); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k.policy = in.Policy
	return struct{}{}, nil
}

type scheduleInput struct {
	KeyId               string
	PendingWindowInDays int
}

func (s *Service) scheduleKeyDeletion(call *awsapi.Call, in *scheduleInput) (any, error) {
	k, err := s.lookup(call, "kms:ScheduleKeyDeletion", in.KeyId)
	if err != nil {
		return nil, err
	}
	days := in.PendingWindowInDays
	if days == 0 {
		days = 30
	}
	if days < 7 || days > 30 {
		return nil, awsapi.Errorf(http.StatusBadRequest, "ValidationException", "PendingWindowInDays must be between 7 and 30")
	}
	if err := s.ScheduleDeletionFor(k.arn, days); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]any{"KeyId": k.arn, "DeletionDate": float64(k.deletion.Unix()), "KeyState": k.state(), "PendingWindowInDays": days}, nil
}

type encryptInput struct {
	KeyId             string
	Plaintext         []byte
	EncryptionContext map[string]string
}

func (s *Service) encrypt(call *awsapi.Call, in *encryptInput) (any, error) {
	k, err := s.lookup(call, "kms:Encrypt", in.KeyId)
	if err != nil {
		return nil, err
	}
	if len(in.Plaintext) == 0 || len(in.Plaintext) > 4096 {
		return nil, awsapi.Errorf(http.StatusBadRequest, "ValidationException", "Plaintext must be 1 to 4096 bytes")
	}
	return map[string]any{"CiphertextBlob": seal(k, in.Plaintext, in.EncryptionContext), "KeyId": k.arn, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
}

type generateDataKeyInput struct {
	KeyId             string
	KeySpec           string
	NumberOfBytes     int
	EncryptionContext map[string]string
}

func (s *Service) generateDataKey(call *awsapi.Call, in *generateDataKeyInput) (any, error) {
	k, err := s.lookup(call, "kms:GenerateDataKey", in.KeyId)
	if err != nil {
		return nil, err
	}
	n := in.NumberOfBytes
	switch {
	case in.KeySpec == "AES_256" && n == 0:
		n = 32
	case in.KeySpec == "AES_128" && n == 0:
		n = 16
	case in.KeySpec != "" && n != 0, in.KeySpec == "" && (n < 1 || n > 1024):
		return nil, awsapi.Errorf(http.StatusBadRequest, "ValidationException", "Specify either KeySpec (AES_128 or AES_256) or NumberOfBytes (1-1024)")
	}
	plain := make([]byte, n)
	_, _ = rand.Read(plain)
	return map[string]any{"CiphertextBlob": seal(k, plain, in.EncryptionContext), "Plaintext": plain, "KeyId": k.arn}, nil
}

type decryptInput struct {
	CiphertextBlob    []byte
	KeyId             string
	EncryptionContext map[string]string
}

func (s *Service) decrypt(call *awsapi.Call, in *decryptInput) (any, error) {
	arn, ok := blobKey(in.CiphertextBlob)
	if !ok {
		return nil, invalidCiphertext()
	}
	if in.KeyId != "" && in.KeyId != arn && !strings.HasSuffix(arn, "/"+in.KeyId) {
		return nil, awsapi.Errorf(http.StatusBadRequest, "IncorrectKeyException", "The key ID in the request does not identify a KMS key that can perform this operation.")
	}
	// The ciphertext names its key, which may be another account's.
	k, err := s.lookup(call, "kms:Decrypt", arn)
	if err != nil {
		return nil, err
	}
	plain, err := open(k, in.CiphertextBlob, in.EncryptionContext)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Plaintext": plain, "KeyId": k.arn, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}, nil
}

func invalidCiphertext() error {
	return awsapi.Errorf(http.StatusBadRequest, "InvalidCiphertextException", "")
}

// A ciphertext blob: a version byte, the key ARN's length (2 bytes) and
// ARN, a nonce, and AES-GCM over the plaintext with the encryption context
// as additional data, so that a blob only opens with its key and context.
const blobVersion = 1

func seal(k *key, plain []byte, encCtx map[string]string) []byte {
	aead := gcm(k.material)
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := []byte{blobVersion}
	out = binary.BigEndian.AppendUint16(out, uint16(len(k.arn)))
	out = append(out, k.arn...)
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plain, contextAAD(encCtx))
}

func blobKey(blob []byte) (string, bool) {
	if len(blob) < 3 || blob[0] != blobVersion {
		return "", false
	}
	n := int(binary.BigEndian.Uint16(blob[1:3]))
	if len(blob) < 3+n {
		return "", false
	}
	return string(blob[3 : 3+n]), true
}

func open(k *key, blob []byte, encCtx map[string]string) ([]byte, error) {
	aead := gcm(k.material)
	rest := blob[3+len(k.arn):]
	if len(rest) < aead.NonceSize() {
		return nil, invalidCiphertext()
	}
	plain, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], contextAAD(encCtx))
	if err != nil {
		return nil, invalidCiphertext()
	}
	return plain, nil
}

func gcm(material []byte) cipher.AEAD {
	block, err := aes.NewCipher(material)
	if err != nil {
		panic(errors.New("kms: key material is not 32 bytes")) // unreachable: CreateKeyFor makes 32
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// contextAAD is the encryption context in a canonical order.
func contextAAD(encCtx map[string]string) []byte {
	keys := make([]string, 0, len(encCtx))
	for k := range encCtx {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b []byte
	for _, k := range keys {
		b = binary.BigEndian.AppendUint32(b, uint32(len(k)))
		b = append(b, k...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(encCtx[k])))
		b = append(b, encCtx[k]...)
	}
	return b
}
