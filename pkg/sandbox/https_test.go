package sandbox_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// TestHTTPSListener: the sandbox also serves HTTPS with its own CA; requests
// over it have aws:SecureTransport true, so TLS-only bucket policies hold,
// and plain HTTP stays.
func TestHTTPSListener(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	if !strings.HasPrefix(sb.HTTPSURL(), "https://127.0.0.1:") || sb.HTTPSURL() == strings.Replace(sb.URL(), "http", "https", 1) {
		t.Fatalf("HTTPSURL %q beside URL %q", sb.HTTPSURL(), sb.URL())
	}
	id, err := sts.NewFromConfig(sb.HTTPSConfig("prod"), noRetry).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != "222222222222" {
		t.Fatalf("GetCallerIdentity over HTTPS: %v, %v", id, err)
	}

	plain := s3.NewFromConfig(sb.AWSConfig("master"), func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	secure := s3.NewFromConfig(sb.HTTPSConfig("master"), func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	b := aws.String("tls-only")
	if _, err := secure.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	// CDK's and the product's buckets deny every request made without TLS.
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::tls-only","arn:aws:s3:::tls-only/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	if _, err := secure.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	if _, err := secure.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("k"), Body: strings.NewReader("over TLS")}); err != nil {
		t.Fatalf("PutObject over HTTPS: %v", err)
	}
	if _, err := plain.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("k"), Body: strings.NewReader("plain")}); apiCode(err) != "AccessDenied" {
		t.Fatalf("PutObject over plain HTTP: %v, want AccessDenied", err)
	}
	out, err := secure.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("k")})
	if err != nil {
		t.Fatalf("GetObject over HTTPS: %v", err)
	}
	defer out.Body.Close()
	var got bytes.Buffer
	if _, err := got.ReadFrom(out.Body); err != nil || got.String() != "over TLS" {
		t.Fatalf("GetObject over HTTPS = %q, %v", got.String(), err)
	}
}

// TestHTTPSCertificate: the listener's certificate verifies for the names
// clients use (127.0.0.1, localhost, S3 virtual hosts) against the CA alone,
// has what strict verifiers (Node, OpenSSL) require, and nothing else trusts it.
func TestHTTPSCertificate(t *testing.T) {
	sb := sandboxtest.Start(t)
	u, _ := url.Parse(sb.HTTPSURL())
	block := sb.CACertPEM()
	if onDisk, err := os.ReadFile(sb.CAFile()); err != nil || !bytes.Equal(onDisk, block) {
		t.Fatalf("CAFile %s does not hold CACertPEM: %v", sb.CAFile(), err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(block) {
		t.Fatal("CACertPEM is not a PEM certificate")
	}
	for _, name := range []string{"127.0.0.1", "localhost", "my-bucket.localhost", "my-bucket.s3.localhost", "s3.localhost"} {
		t.Run(name, func(t *testing.T) {
			conn, err := tls.Dial("tcp", u.Host, &tls.Config{RootCAs: pool, ServerName: name})
			if err != nil {
				t.Fatalf("TLS to %s: %v", name, err)
			}
			defer conn.Close()
			leaf := conn.ConnectionState().PeerCertificates[0]
			if leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 || len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || leaf.IsCA {
				t.Errorf("leaf key usage %v, ext %v, CA %v", leaf.KeyUsage, leaf.ExtKeyUsage, leaf.IsCA)
			}
			if len(leaf.AuthorityKeyId) == 0 {
				t.Error("leaf without an authority key ID")
			}
		})
	}
	t.Run("not other names", func(t *testing.T) {
		if _, err := tls.Dial("tcp", u.Host, &tls.Config{RootCAs: pool, ServerName: "example.com"}); err == nil {
			t.Fatal("certificate valid for example.com")
		}
	})
	t.Run("not without the CA", func(t *testing.T) {
		_, err := tls.Dial("tcp", u.Host, &tls.Config{ServerName: "localhost"})
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Fatalf("TLS without the CA: %v, want an unknown authority", err)
		}
	})
	t.Run("virtual-host S3 over HTTPS", func(t *testing.T) {
		var d net.Dialer
		tr := &http.Transport{TLSClientConfig: sb.TLSClientConfig(), DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, u.Host) // *.localhost may not resolve here
		}}
		cfg := sb.HTTPSConfig("master")
		cfg.HTTPClient = &http.Client{Transport: tr}
		c := s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.BaseEndpoint = aws.String("https://localhost:" + u.Port())
			o.UsePathStyle = false
		})
		if _, err := c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("vhost")}); err != nil {
			t.Fatalf("CreateBucket at vhost.localhost: %v", err)
		}
		if _, err := c.HeadBucket(t.Context(), &s3.HeadBucketInput{Bucket: aws.String("vhost")}); err != nil {
			t.Fatalf("HeadBucket at vhost.localhost: %v", err)
		}
	})
	t.Run("node", func(t *testing.T) {
		node, err := exec.LookPath("node")
		if err != nil {
			t.Skip("node not installed")
		}
		// Node (and the CDK CLI) verify with OpenSSL against NODE_EXTRA_CA_CERTS.
		script := `require('https').get(process.argv[1], r => { console.log(r.statusCode); r.resume() }).on('error', e => { console.log(e.code); process.exit(1) })`
		for _, host := range []string{"127.0.0.1", "localhost"} {
			cmd := exec.CommandContext(t.Context(), node, "-e", script, "https://"+host+":"+u.Port()+"/")
			cmd.Env = append(os.Environ(), sandboxtest.CAEnv(sb)...)
			out, err := cmd.CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "403" {
				t.Errorf("node https.get %s: %v: %s", host, err, out)
			}
		}
		// Without the CA Node refuses the certificate.
		out, _ := exec.CommandContext(t.Context(), node, "-e", script, sb.HTTPSURL()+"/").CombinedOutput()
		if strings.TrimSpace(string(out)) != "UNABLE_TO_VERIFY_LEAF_SIGNATURE" {
			t.Errorf("node without the CA: %s", out)
		}
	})
}

// TestCADir: a CA kept under Options.CADir is made once and reused, with a
// private key only its owner reads.
func TestCADir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	first := sandboxtest.Start(t, func(o *sandbox.Options) { o.CADir = dir })
	if first.CAFile() != filepath.Join(dir, "ca.pem") {
		t.Fatalf("CAFile = %s", first.CAFile())
	}
	info, err := os.Stat(filepath.Join(dir, "ca-key.pem"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("CA key: %v, mode %v", err, info)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(first.CAFile()); err != nil {
		t.Fatalf("Close removed the kept CA: %v", err)
	}
	second := sandboxtest.Start(t, func(o *sandbox.Options) { o.CADir = dir })
	if !bytes.Equal(first.CACertPEM(), second.CACertPEM()) {
		t.Fatal("a second start made a new CA instead of reusing the kept one")
	}
	if _, err := sts.NewFromConfig(second.HTTPSConfig("master"), noRetry).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("HTTPS with the kept CA: %v", err)
	}
	// A temporary CA goes with its sandbox.
	temp := sandboxtest.Start(t)
	if err := temp.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(temp.CAFile()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary CA file after Close: %v", err)
	}

	t.Run("broken CA directory", func(t *testing.T) {
		for name, files := range map[string]map[string]string{
			"certificate without key": {"ca.pem": string(first.CACertPEM())},
			"not PEM":                 {"ca.pem": "x", "ca-key.pem": "y"},
		} {
			d := t.TempDir()
			for f, content := range files {
				if err := os.WriteFile(filepath.Join(d, f), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			o := sandbox.DefaultOptions()
			o.Listen, o.CADir = "127.0.0.1:0", d
			if sb, err := sandbox.Start(t.Context(), o); err == nil {
				_ = sb.Close()
				t.Errorf("%s: Start succeeded", name)
			}
		}
	})
}
