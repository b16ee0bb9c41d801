package s3

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

const (
	// maxObjectBody caps one PutObject/UploadPart body held in memory.
	maxObjectBody = 1 << 30
	// maxConfigBody caps XML/JSON configuration bodies.
	maxConfigBody = 1 << 20
)

// checksumAlgorithms are the flexible checksums S3 accepts, by header suffix.
var checksumAlgorithms = []string{"CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"}

// crc64NVME is the bit-reversed NVMe polynomial, as hash/crc64 wants it.
const crc64NVME = 0x9a6c9329ac4bc9b5

func newChecksum(alg string) hash.Hash {
	switch alg {
	case "CRC32":
		return crc32.NewIEEE()
	case "CRC32C":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case "CRC64NVME":
		return crc64.New(crc64.MakeTable(crc64NVME))
	case "SHA1":
		return sha1.New()
	case "SHA256":
		return sha256.New()
	}
	return nil
}

// checksumXML is the Checksum<Algorithm> element of a response that carries a
// flexible checksum; it is embedded in the result structs.
type checksumXML struct {
	CRC32     string `xml:"ChecksumCRC32,omitempty"`
	CRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	CRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	SHA1      string `xml:"ChecksumSHA1,omitempty"`
	SHA256    string `xml:"ChecksumSHA256,omitempty"`
}

// checksumElement puts sum in the element of its algorithm (none for "").
func checksumElement(alg, sum string) checksumXML {
	var x checksumXML
	switch alg {
	case "CRC32":
		x.CRC32 = sum
	case "CRC32C":
		x.CRC32C = sum
	case "CRC64NVME":
		x.CRC64NVME = sum
	case "SHA1":
		x.SHA1 = sum
	case "SHA256":
		x.SHA256 = sum
	}
	return x
}

func checksumOf(alg string, data []byte) string {
	h := newChecksum(alg)
	if h == nil {
		return ""
	}
	h.Write(data)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func checksumHeader(alg string) string { return "x-amz-checksum-" + strings.ToLower(alg) }

// payload is a decoded request body with what its headers and trailers claimed.
type payload struct {
	data     []byte
	trailers http.Header
}

// readBody reads and decodes a request body (aws-chunked framing included) up to limit bytes.
func readBody(r *http.Request, limit int64) (*payload, error) {
	if r.Body == nil {
		return &payload{}, nil
	}
	if r.ContentLength > limit {
		return nil, entityTooLarge(limit)
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, awsapi.Errorf(http.StatusBadRequest, "IncompleteBody", "read request body: %v", err)
	}
	if int64(len(raw)) > limit {
		return nil, entityTooLarge(limit)
	}
	p := &payload{data: raw}
	if isChunked(r) {
		data, trailers, err := decodeChunked(raw)
		if err != nil {
			return nil, awsapi.Errorf(http.StatusBadRequest, "IncompleteBody", "decode aws-chunked body: %v", err)
		}
		if dl := r.Header.Get("x-amz-decoded-content-length"); dl != "" {
			n, err := strconv.ParseInt(dl, 10, 64)
			if err != nil || n != int64(len(data)) {
				return nil, awsapi.Errorf(http.StatusBadRequest, "IncompleteBody",
					"You did not provide the number of bytes specified by the Content-Length HTTP header")
			}
		}
		p.data, p.trailers = data, trailers
	}
	return p, nil
}

func entityTooLarge(limit int64) error {
	e := awsapi.Errorf(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
	e.Fields = map[string]string{"MaxSizeAllowed": strconv.FormatInt(limit, 10)}
	return e
}

func isChunked(r *http.Request) bool {
	if strings.HasPrefix(r.Header.Get("x-amz-content-sha256"), "STREAMING-") {
		return true
	}
	for _, ce := range strings.Split(r.Header.Get("Content-Encoding"), ",") {
		if strings.TrimSpace(ce) == "aws-chunked" {
			return true
		}
	}
	return false
}

// storedContentEncoding is Content-Encoding without the aws-chunked transport coding.
func storedContentEncoding(v string) string {
	var out []string
	for _, ce := range strings.Split(v, ",") {
		if ce = strings.TrimSpace(ce); ce != "" && ce != "aws-chunked" {
			out = append(out, ce)
		}
	}
	return strings.Join(out, ",")
}

// decodeChunked undoes aws-chunked framing: "<hex size>[;ext]\r\n<data>\r\n"
// repeated, a zero-size chunk, then optional "name:value" trailer lines.
// Chunk signatures were checked by the sandbox's authentication before the
// body reached S3.
func decodeChunked(raw []byte) ([]byte, http.Header, error) {
	br := bufio.NewReader(bytes.NewReader(raw))
	var out bytes.Buffer
	for {
		line, err := readLine(br)
		if err != nil {
			return nil, nil, fmt.Errorf("read chunk header: %w", err)
		}
		sizeHex, _, _ := strings.Cut(line, ";")
		size, err := strconv.ParseInt(strings.TrimSpace(sizeHex), 16, 64)
		if err != nil || size < 0 || size > int64(len(raw)) {
			return nil, nil, fmt.Errorf("bad chunk size %q", sizeHex)
		}
		if size == 0 {
			break
		}
		if _, err := io.CopyN(&out, br, size); err != nil {
			return nil, nil, fmt.Errorf("read chunk: %w", err)
		}
		if l, err := readLine(br); err != nil || l != "" {
			return nil, nil, errors.New("chunk not terminated by CRLF")
		}
	}
	trailers := http.Header{}
	for {
		line, err := readLine(br)
		if err == io.EOF || line == "" {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read trailer: %w", err)
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, nil, fmt.Errorf("bad trailer %q", line)
		}
		trailers.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	return out.Bytes(), trailers, nil
}

func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		if err == io.EOF && line != "" {
			return strings.TrimRight(line, "\r"), nil
		}
		return "", err
	}
	return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), nil
}

// checkIntegrity verifies Content-MD5 and any flexible checksum (header or
// trailer) against the body; it returns the checksum algorithm and value to store.
func checkIntegrity(r *http.Request, p *payload) (alg, value string, err error) {
	if cm := r.Header.Get("Content-MD5"); cm != "" {
		want, derr := base64.StdEncoding.DecodeString(cm)
		if derr != nil || len(want) != md5.Size {
			return "", "", awsapi.Errorf(http.StatusBadRequest, "InvalidDigest", "The Content-MD5 you specified was invalid.")
		}
		got := md5.Sum(p.data)
		if !bytes.Equal(want, got[:]) {
			return "", "", awsapi.Errorf(http.StatusBadRequest, "BadDigest", "The Content-MD5 you specified did not match what we received.")
		}
	}
	for _, a := range checksumAlgorithms {
		h := checksumHeader(a)
		v := r.Header.Get(h)
		if v == "" && p.trailers != nil {
			v = p.trailers.Get(h)
		}
		if v == "" {
			continue
		}
		if got := checksumOf(a, p.data); got != v {
			return "", "", awsapi.Errorf(http.StatusBadRequest, "BadDigest",
				"The %s you specified did not match the calculated checksum.", a)
		}
		return a, v, nil
	}
	// An algorithm named without a value (trailer missing): compute it so reads can report it.
	if a := strings.ToUpper(r.Header.Get("x-amz-sdk-checksum-algorithm")); newChecksum(a) != nil {
		return a, checksumOf(a, p.data), nil
	}
	return "", "", nil
}

func md5Hex(data []byte) string {
	sum := md5.Sum(data)
	return fmt.Sprintf("%x", sum[:])
}

// compositeChecksum is S3's checksum of checksums for multipart objects: the
// algorithm over the concatenated raw part checksums, suffixed "-<parts>".
func compositeChecksum(alg string, partSums []string) string {
	h := newChecksum(alg)
	if h == nil {
		return ""
	}
	for _, s := range partSums {
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return ""
		}
		h.Write(raw)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(partSums))
}
