package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// awsDocChunks is the chunked upload of S3's SigV4 documentation ("Example:
// PUT Object", 65,536 + 1,024 bytes of 'a'), with its published signatures.
func awsDocChunks(sigs [3]string) []byte {
	return []byte(fmt.Sprintf("10000;chunk-signature=%s\r\n%s\r\n400;chunk-signature=%s\r\n%s\r\n0;chunk-signature=%s\r\n\r\n",
		sigs[0], strings.Repeat("a", 65536), sigs[1], strings.Repeat("a", 1024), sigs[2]))
}

func TestVerifyChunksAWSExample(t *testing.T) {
	si := &sigInfo{accessKey: "AKIAIOSFODNN7EXAMPLE", region: "us-east-1", service: "s3",
		signature: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
		amzDate:   time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)}
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	good := [3]string{"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
		"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
		"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"}
	if err := verifyChunks(t.Context(), awsDocChunks(good), si, secret, false); err != nil {
		t.Fatalf("AWS's example refused: %v", err)
	}
}

// TestVerifyChunksRefuses: every way of breaking the chain is refused.
func TestVerifyChunksRefuses(t *testing.T) {
	si := &sigInfo{accessKey: "AKIAIOSFODNN7EXAMPLE", region: "us-east-1", service: "s3",
		signature: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
		amzDate:   time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)}
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	s1, s2, s3 := "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
		"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
		"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
	zero := strings.Repeat("0", 64)
	good := string(awsDocChunks([3]string{s1, s2, s3}))
	tests := []struct {
		name, body, kind string
	}{
		{"all-zero signatures", string(awsDocChunks([3]string{zero, zero, zero})), "signature"},
		{"zero final signature", string(awsDocChunks([3]string{s1, s2, zero})), "signature"},
		{"signatures out of order", string(awsDocChunks([3]string{s2, s1, s3})), "signature"},
		{"tampered data", strings.Replace(good, "aaaa\r\n400", "aaab\r\n400", 1), "signature"},
		{"chunk without signature", strings.Replace(good, "400;chunk-signature="+s2, "400", 1), "signature"},
		{"final chunk missing", good[:strings.Index(good, "0;chunk-signature="+s3)], "badChunk"},
		{"size that does not match the data", strings.Replace(good, "400;", "401;", 1), "signature"},
		{"bad size", strings.Replace(good, "400;", "zz;", 1), "badChunk"},
		{"data after the final chunk", good + "x", "badChunk"},
		{"other seed", good, "signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := *si
			if tt.name == "other seed" {
				s.signature = zero
			}
			err := verifyChunks(t.Context(), []byte(tt.body), &s, secret, false)
			ae, ok := err.(*authErr)
			if !ok || ae.kind != tt.kind {
				t.Fatalf("verifyChunks = %v, want a %s error", err, tt.kind)
			}
		})
	}
}

// FuzzVerifyChunks: any body gets an answer, never a panic; a body that
// verifies carries the signed data.
func FuzzVerifyChunks(f *testing.F) {
	si := &sigInfo{accessKey: "AKIAIOSFODNN7EXAMPLE", region: "us-east-1", service: "s3",
		signature: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
		amzDate:   time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)}
	good := awsDocChunks([3]string{"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
		"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
		"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"})
	f.Add(good, false)
	f.Add([]byte("5;chunk-signature=00\r\nhello\r\n0;chunk-signature=00\r\nx-amz-checksum-crc32:NhCmhg==\r\nx-amz-trailer-signature:00\r\n\r\n"), true)
	f.Fuzz(func(t *testing.T, body []byte, trailer bool) {
		err := verifyChunks(context.Background(), body, si, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", trailer)
		if err == nil && bytes.Count(body, []byte("a")) < 65536+1024 {
			t.Fatalf("verified a body without the signed data: %q", body)
		}
	})
}
