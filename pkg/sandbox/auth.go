package sandbox

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

const (
	amzDateFormat  = "20060102T150405Z"
	maxClockSkew   = 15 * time.Minute
	maxPresignTime = 7 * 24 * time.Hour
	emptySHA256    = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// credential is what the core needs to check a signature: the secret, the
// session token that must accompany session keys, and who the key belongs to.
type credential struct {
	Secret string
	Token  string
	Caller awsapi.Caller
}

// keyring resolves access key IDs (root keys and STS session keys).
type keyring interface {
	lookupKey(akid string) (credential, bool)
}

// sigInfo is the SigV4 material of one request, from the Authorization
// header or from the query string (presigned URLs).
type sigInfo struct {
	presigned     bool
	accessKey     string
	date          string // yyyymmdd of the credential scope
	region        string
	service       string
	signedHeaders []string
	signature     string
	amzDate       time.Time
	expires       time.Duration // presigned only
	token         string
}

// authErr is an authentication failure; the code depends on the protocol, so
// it is kept symbolic until the router knows which protocol to answer in.
type authErr struct {
	kind string // missing, unknownKey, badToken, signature, expired, skew, presignExpired, malformed, hashMismatch, badContentSHA, badChunk
	msg  string
}

func (e *authErr) Error() string { return e.kind + ": " + e.msg }

// parseSigV4 extracts the signature material; ok=false means the request is unsigned.
func parseSigV4(r *http.Request) (*sigInfo, error) {
	q := r.URL.Query()
	if h := r.Header.Get("Authorization"); h != "" {
		return parseAuthHeader(h, r.Header)
	}
	if q.Get("X-Amz-Algorithm") != "" || q.Get("X-Amz-Signature") != "" {
		return parsePresigned(q)
	}
	return nil, &authErr{kind: "missing", msg: "Request is missing Authentication Token"}
}

func parseAuthHeader(h string, hdr http.Header) (*sigInfo, error) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if alg != "AWS4-HMAC-SHA256" {
		return nil, &authErr{kind: "malformed", msg: "Unsupported Authorization Type: only AWS4-HMAC-SHA256 is supported"}
	}
	si := &sigInfo{}
	var cred, signed string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			si.signature = v
		}
	}
	if cred == "" || signed == "" || si.signature == "" {
		return nil, &authErr{kind: "malformed", msg: "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters"}
	}
	if err := si.setScope(cred); err != nil {
		return nil, err
	}
	si.signedHeaders = strings.Split(signed, ";")
	date := hdr.Get("X-Amz-Date")
	if date == "" {
		return nil, &authErr{kind: "malformed", msg: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header"}
	}
	t, err := time.Parse(amzDateFormat, date)
	if err != nil {
		return nil, &authErr{kind: "malformed", msg: "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""}
	}
	si.amzDate = t
	si.token = hdr.Get("X-Amz-Security-Token")
	return si, nil
}

func parsePresigned(q url.Values) (*sigInfo, error) {
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
		return nil, &authErr{kind: "malformed", msg: "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\""}
	}
	si := &sigInfo{presigned: true, signature: q.Get("X-Amz-Signature"), token: q.Get("X-Amz-Security-Token")}
	if si.signature == "" || q.Get("X-Amz-SignedHeaders") == "" || q.Get("X-Amz-Date") == "" {
		return nil, &authErr{kind: "malformed", msg: "Query-string authentication requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."}
	}
	if err := si.setScope(q.Get("X-Amz-Credential")); err != nil {
		return nil, err
	}
	si.signedHeaders = strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	t, err := time.Parse(amzDateFormat, q.Get("X-Amz-Date"))
	if err != nil {
		return nil, &authErr{kind: "malformed", msg: "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""}
	}
	si.amzDate = t
	si.expires = maxPresignTime
	if e := q.Get("X-Amz-Expires"); e != "" {
		n, err := strconv.Atoi(e)
		if err != nil || n < 0 {
			return nil, &authErr{kind: "malformed", msg: "X-Amz-Expires should be a number"}
		}
		if time.Duration(n)*time.Second > maxPresignTime {
			return nil, &authErr{kind: "malformed", msg: "X-Amz-Expires must be less than a week (in seconds) that is 604800"}
		}
		si.expires = time.Duration(n) * time.Second
	}
	return si, nil
}

// setScope parses AKID/yyyymmdd/region/service/aws4_request.
func (si *sigInfo) setScope(cred string) error {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[0] == "" || parts[3] == "" {
		return &authErr{kind: "malformed", msg: "Credential should be scoped to a valid region, e.g. AKID/20240101/us-east-1/sts/aws4_request"}
	}
	si.accessKey, si.date, si.region, si.service = parts[0], parts[1], parts[2], parts[3]
	return nil
}

// signedSet is the set of lower-case header names the client signed.
func (si *sigInfo) signedSet() map[string]bool {
	set := make(map[string]bool, len(si.signedHeaders))
	for _, h := range si.signedHeaders {
		set[strings.ToLower(strings.TrimSpace(h))] = true
	}
	return set
}

// checkSignedHeaders enforces what a signature must cover: the host
// everywhere, so a signature cannot be replayed against another endpoint;
// and in S3 every x-amz-* header but x-amz-content-sha256, which S3 answers
// with an AccessDenied that names the headers.
func checkSignedHeaders(r *http.Request, si *sigInfo, s3 bool) error {
	signed := si.signedSet()
	if !s3 {
		if !signed["host"] {
			return &authErr{kind: "malformed", msg: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."}
		}
		return nil
	}
	var unsigned []string
	if !signed["host"] {
		unsigned = append(unsigned, "host")
	}
	for name := range r.Header {
		name = strings.ToLower(name)
		if strings.HasPrefix(name, "x-amz-") && name != "x-amz-content-sha256" && !signed[name] {
			unsigned = append(unsigned, name)
		}
	}
	if len(unsigned) == 0 {
		return nil
	}
	sort.Strings(unsigned)
	e := awsapi.AccessDenied("There were headers present in the request which were not signed")
	e.Fields = map[string]string{"HeadersNotSigned": strings.Join(unsigned, ", ")}
	return e
}

// transportHeaders carry nothing a handler acts on, so they may travel
// unsigned (the SDKs never sign some of them).
var transportHeaders = map[string]bool{
	"authorization": true, "content-length": true, "transfer-encoding": true, "connection": true,
	"expect": true, "user-agent": true, "x-amzn-trace-id": true, "accept": true, "accept-encoding": true,
}

// dropUnsignedHeaders removes every header the signature does not cover
// (transport headers aside), so that handlers act only on what the caller
// signed: an unsigned X-Amz-Target must not pick the operation.
func dropUnsignedHeaders(r *http.Request, si *sigInfo) {
	signed := si.signedSet()
	for name := range r.Header {
		if l := strings.ToLower(name); !signed[l] && !transportHeaders[l] {
			delete(r.Header, name)
		}
	}
}

// badContentSHA is S3's answer to an x-amz-content-sha256 it does not know.
var badContentSHA = &authErr{kind: "badContentSHA", msg: "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, " +
	"STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value."}

// payloadHash returns the hash the client signed. body is the full body when the
// core buffered it (nil for streamed S3 bodies whose hash is not a digest).
func payloadHash(r *http.Request, si *sigInfo, body []byte) (string, error) {
	h := r.Header.Get("X-Amz-Content-Sha256")
	if si.presigned && h == "" {
		h = r.URL.Query().Get("X-Amz-Content-Sha256")
	}
	switch {
	case h == "":
		if si.presigned && si.service == "s3" {
			return "UNSIGNED-PAYLOAD", nil
		}
		sum := sha256.Sum256(body)
		return hex.EncodeToString(sum[:]), nil
	case h == unsignedPayload || strings.HasPrefix(h, "STREAMING-"):
		if si.service != "s3" {
			return "", &authErr{kind: "signature", msg: "x-amz-content-sha256 must be a SHA-256 digest for this service"}
		}
		switch h {
		case unsignedPayload, streamingSigned, streamingSignedTrailer, streamingUnsignedTrailer:
			return h, nil
		}
		return "", badContentSHA
	default:
		if _, err := hex.DecodeString(h); (err != nil || len(h) != sha256.Size*2) && si.service == "s3" {
			return "", badContentSHA
		}
		sum := sha256.Sum256(body)
		if !strings.EqualFold(h, hex.EncodeToString(sum[:])) {
			return "", &authErr{kind: "hashMismatch", msg: "The provided 'x-amz-content-sha256' header does not match what was computed."}
		}
		return strings.ToLower(h), nil
	}
}

// verifySignature recomputes the signature with aws-sdk-go-v2's signer over a
// copy of the request holding exactly the headers the client signed.
func verifySignature(ctx context.Context, r *http.Request, si *sigInfo, secret, hash string) error {
	clone := &http.Request{
		Method: r.Method,
		URL: &url.URL{
			Scheme:  "http",
			Host:    r.Host,
			Path:    r.URL.Path,
			RawPath: r.URL.RawPath,
		},
		Host:   r.Host,
		Header: http.Header{},
	}
	if clone.URL.Path == "" {
		clone.URL.Path = "/"
	}
	creds := aws.Credentials{AccessKeyID: si.accessKey, SecretAccessKey: secret}
	for _, name := range si.signedHeaders {
		name = strings.ToLower(strings.TrimSpace(name))
		switch name {
		case "host":
			continue
		case "content-length":
			// The SDK signer signs Content-Length from the request's length field.
			clone.ContentLength = r.ContentLength
			continue
		case "authorization", "user-agent", "x-amzn-trace-id", "expect", "transfer-encoding":
			// The SDK signer never signs these, so it cannot reproduce a signature over them.
			return &authErr{kind: "signature", msg: "The request signature we calculated does not match the signature you provided. Header " + name + " cannot be signed."}
		case "x-amz-security-token":
			creds.SessionToken = si.token
		}
		vals := r.Header.Values(name)
		if len(vals) == 0 {
			continue
		}
		clone.Header[textproto.CanonicalMIMEHeaderKey(name)] = vals
	}
	service, region := si.service, si.region
	signer := v4.NewSigner(func(o *v4.SignerOptions) {
		o.DisableURIPathEscaping = service == "s3"
		o.DisableHeaderHoisting = true
	})
	var got string
	if si.presigned {
		q := r.URL.Query()
		q.Del("X-Amz-Signature")
		creds.SessionToken = si.token // presigned tokens travel in the query
		clone.URL.RawQuery = q.Encode()
		signed, _, err := signer.PresignHTTP(ctx, creds, clone, hash, service, region, si.amzDate)
		if err != nil {
			return &authErr{kind: "signature", msg: "sign: " + err.Error()}
		}
		u, err := url.Parse(signed)
		if err != nil {
			return &authErr{kind: "signature", msg: "sign: " + err.Error()}
		}
		got = u.Query().Get("X-Amz-Signature")
	} else {
		clone.URL.RawQuery = r.URL.RawQuery
		if err := signer.SignHTTP(ctx, creds, clone, hash, service, region, si.amzDate); err != nil {
			return &authErr{kind: "signature", msg: "sign: " + err.Error()}
		}
		_, sig, _ := strings.Cut(clone.Header.Get("Authorization"), "Signature=")
		got = sig
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(si.signature)) != 1 {
		return &authErr{kind: "signature", msg: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
	}
	return nil
}

// checkTime applies AWS's clock rules: 15 minutes of skew for header auth, the
// X-Amz-Expires window for presigned URLs.
func checkTime(si *sigInfo, now time.Time) error {
	if si.presigned {
		if now.Before(si.amzDate.Add(-maxClockSkew)) {
			return &authErr{kind: "presignExpired", msg: "Request is not valid yet"}
		}
		if now.After(si.amzDate.Add(si.expires)) {
			return &authErr{kind: "presignExpired", msg: "Request has expired"}
		}
		return nil
	}
	skew := now.Sub(si.amzDate)
	if skew > maxClockSkew || skew < -maxClockSkew {
		f := func(t time.Time) string { return t.UTC().Format(amzDateFormat) }
		msg := "Signature expired: " + f(si.amzDate) + " is now earlier than " + f(now.Add(-maxClockSkew)) + " (" + f(now) + " - 15 min.)"
		if skew < 0 {
			msg = "Signature not yet current: " + f(si.amzDate) + " is still later than " + f(now.Add(maxClockSkew)) + " (" + f(now) + " + 15 min.)"
		}
		return &authErr{kind: "skew", msg: msg}
	}
	return nil
}

// authError maps an authentication failure to the code each protocol uses.
func authError(err *authErr, p awsapi.Protocol) *awsapi.Error {
	type codes struct{ query, json, rest string }
	var c codes
	msg := err.msg
	status := http.StatusForbidden
	switch err.kind {
	case "missing":
		c = codes{"MissingAuthenticationToken", "MissingAuthenticationTokenException", "AccessDenied"}
		if p == awsapi.ProtoRESTXML {
			msg = "Access Denied"
		}
	case "unknownKey":
		c = codes{"InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId"}
		msg = "The security token included in the request is invalid."
		if p == awsapi.ProtoRESTXML {
			msg = "The AWS Access Key Id you provided does not exist in our records."
		}
	case "badToken":
		c = codes{"InvalidClientTokenId", "UnrecognizedClientException", "InvalidToken"}
		msg = "The security token included in the request is invalid."
		if p == awsapi.ProtoRESTXML {
			status = http.StatusBadRequest
			msg = "The provided token is malformed or otherwise invalid."
		}
	case "expired":
		c = codes{"ExpiredToken", "ExpiredTokenException", "ExpiredToken"}
		msg = "The security token included in the request is expired"
		if p == awsapi.ProtoRESTXML {
			status = http.StatusBadRequest
			msg = "The provided token has expired."
		}
	case "skew":
		c = codes{"SignatureDoesNotMatch", "InvalidSignatureException", "RequestTimeTooSkewed"}
		if p == awsapi.ProtoRESTXML {
			msg = "The difference between the request time and the current time is too large."
		}
	case "presignExpired":
		c = codes{"SignatureDoesNotMatch", "InvalidSignatureException", "AccessDenied"}
	case "badContentSHA":
		c = codes{"SignatureDoesNotMatch", "InvalidSignatureException", "InvalidArgument"}
		status = http.StatusBadRequest
	case "badChunk":
		c = codes{"IncompleteSignature", "IncompleteSignatureException", "IncompleteBody"}
		status = http.StatusBadRequest
	case "hashMismatch":
		c = codes{"SignatureDoesNotMatch", "InvalidSignatureException", "XAmzContentSHA256Mismatch"}
		if p == awsapi.ProtoRESTXML {
			status = http.StatusBadRequest
		}
	case "malformed":
		c = codes{"IncompleteSignature", "IncompleteSignatureException", "AuthorizationHeaderMalformed"}
		status = http.StatusBadRequest
	default: // signature
		c = codes{"SignatureDoesNotMatch", "InvalidSignatureException", "SignatureDoesNotMatch"}
		if p == awsapi.ProtoRESTXML {
			msg = strings.Replace(msg, "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.", "Check your key and signing method.", 1)
		}
	}
	code := c.query
	switch p {
	case awsapi.ProtoJSON10, awsapi.ProtoJSON11, awsapi.ProtoRESTJSON:
		code = c.json
	case awsapi.ProtoRESTXML:
		code = c.rest
	}
	return &awsapi.Error{Status: status, Code: code, Message: msg}
}
