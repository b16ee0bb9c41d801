package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// S3's x-amz-content-sha256 values that are not a digest of the body.
const (
	unsignedPayload          = "UNSIGNED-PAYLOAD"
	streamingSigned          = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// maxChunkLine bounds a chunk header or trailer line.
const maxChunkLine = 4096

var errChunkSignature = &authErr{kind: "signature", msg: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}

// verifyChunks checks the signatures of an aws-chunked body sent with
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER), as S3 does: each chunk's
// signature chains from the previous one, starting at the request's (seed)
// signature; the final zero-length chunk is signed too, and with -TRAILER so
// are the trailing headers. Decoding the body is left to S3.
func verifyChunks(ctx context.Context, raw []byte, si *sigInfo, secret string, trailer bool) error {
	prev, err := hex.DecodeString(si.signature)
	if err != nil {
		return errChunkSignature
	}
	signer := v4.NewStreamSigner(aws.Credentials{AccessKeyID: si.accessKey, SecretAccessKey: secret}, si.service, si.region, prev)
	br := bufio.NewReader(bytes.NewReader(raw))
	for {
		line, err := chunkLine(br)
		if err == io.EOF {
			return badChunk("body ends before the final chunk")
		}
		if err != nil {
			return err
		}
		sizeHex, ext, _ := strings.Cut(line, ";")
		size, err := strconv.ParseInt(sizeHex, 16, 64)
		if err != nil || size < 0 || size > int64(len(raw)) {
			return badChunk("bad chunk size " + strconv.Quote(sizeHex))
		}
		got, ok := strings.CutPrefix(ext, "chunk-signature=")
		if !ok {
			return errChunkSignature
		}
		data := make([]byte, size)
		if _, err := io.ReadFull(br, data); err != nil {
			return badChunk("chunk shorter than its size")
		}
		if size > 0 {
			if end, err := chunkLine(br); err != nil || end != "" {
				return badChunk("chunk not terminated by CRLF")
			}
		}
		want, err := signer.GetSignature(ctx, nil, data, si.amzDate)
		if err != nil {
			return &authErr{kind: "signature", msg: "sign chunk: " + err.Error()}
		}
		if !hmac.Equal([]byte(hex.EncodeToString(want)), []byte(got)) {
			return errChunkSignature
		}
		prev = want
		if size == 0 {
			break
		}
	}
	if trailer {
		return verifyTrailer(br, si, secret, prev)
	}
	if rest, _ := io.ReadAll(br); strings.TrimSpace(string(rest)) != "" {
		return badChunk("data after the final chunk")
	}
	return nil
}

// verifyTrailer checks the trailing headers after the final chunk against
// x-amz-trailer-signature, chained from the final chunk's signature.
func verifyTrailer(br *bufio.Reader, si *sigInfo, secret string, prev []byte) error {
	var canonical strings.Builder
	got := ""
	for {
		// The blank line that ends the trailers may be missing at the very end.
		line, err := chunkLine(br)
		if err == io.EOF || (err == nil && line == "") {
			break
		}
		if err != nil {
			return err
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return badChunk("bad trailer " + strconv.Quote(line))
		}
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
		if name == "x-amz-trailer-signature" {
			got = value
			continue
		}
		canonical.WriteString(name + ":" + value + "\n")
	}
	if got == "" {
		return errChunkSignature
	}
	sum := sha256.Sum256([]byte(canonical.String()))
	date := si.amzDate.UTC().Format(amzDateFormat)
	scope := date[:8] + "/" + si.region + "/" + si.service + "/aws4_request"
	toSign := strings.Join([]string{"AWS4-HMAC-SHA256-TRAILER", date, scope, hex.EncodeToString(prev), hex.EncodeToString(sum[:])}, "\n")
	want := hmacSHA256(signingKey(secret, date[:8], si.region, si.service), toSign)
	if !hmac.Equal([]byte(hex.EncodeToString(want)), []byte(got)) {
		return errChunkSignature
	}
	return nil
}

// signingKey derives SigV4's signing key for a day, region and service.
func signingKey(secret, day, region, service string) []byte {
	key := []byte("AWS4" + secret)
	for _, part := range []string{day, region, service, "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	return key
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// chunkLine reads one CRLF-terminated line of chunk framing; io.EOF when
// the body has ended.
func chunkLine(br *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		part, err := br.ReadSlice('\n')
		b.Write(part)
		if b.Len() > maxChunkLine {
			return "", badChunk("chunk header too long")
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if b.Len() == 0 {
				return "", io.EOF
			}
			return strings.TrimSuffix(b.String(), "\r"), nil
		}
		return strings.TrimSuffix(strings.TrimSuffix(b.String(), "\n"), "\r"), nil
	}
}

func badChunk(msg string) error {
	return &authErr{kind: "badChunk", msg: "decode aws-chunked body: " + msg}
}
