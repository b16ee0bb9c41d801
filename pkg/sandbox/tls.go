package sandbox

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Files of a CA kept under Options.CADir.
const (
	caCertFile = "ca.pem"
	caKeyFile  = "ca-key.pem"
)

const (
	caValidity     = 10 * 365 * 24 * time.Hour
	serverValidity = 397 * 24 * time.Hour // the longest browsers and Node accept
)

// certAuthority signs the HTTPS listener's certificate. Clients trust its
// certificate (AWS_CA_BUNDLE, NODE_EXTRA_CA_CERTS, SSL_CERT_FILE).
type certAuthority struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
}

// loadOrCreateCA reads the CA kept in dir, creating it there on first use.
func loadOrCreateCA(dir string, now time.Time) (*certAuthority, error) {
	certPath, keyPath := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	switch {
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		ca, err := newCA(now)
		if err != nil {
			return nil, err
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(ca.key)
		if err != nil {
			return nil, fmt.Errorf("encode CA key: %w", err)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create CA directory: %w", err)
		}
		// The key first: a certificate without its key is never left behind alone.
		if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
			return nil, fmt.Errorf("write CA key: %w", err)
		}
		if err := os.WriteFile(certPath, ca.certPEM, 0o644); err != nil {
			return nil, fmt.Errorf("write CA certificate: %w", err)
		}
		return ca, nil
	case certErr != nil:
		return nil, fmt.Errorf("read CA certificate: %w", certErr)
	case keyErr != nil:
		return nil, fmt.Errorf("read CA key: %w", keyErr)
	}
	return parseCA(certPath, certPEM, keyPEM, now)
}

func parseCA(certPath string, certPEM, keyPEM []byte, now time.Time) (*certAuthority, error) {
	certBlock, _ := pem.Decode(certPEM)
	keyBlock, _ := pem.Decode(keyPEM)
	if certBlock == nil || certBlock.Type != "CERTIFICATE" || keyBlock == nil {
		return nil, fmt.Errorf("read CA %s: not a PEM certificate and key pair", certPath)
	}
	cert, err := x509.ParseCertificate(certBlock.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read CA certificate %s: %w", certPath, err)
	}
	key, err := x509.ParsePKCS8PrivateKey(keyBlock.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read CA key beside %s: %w", certPath, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok || !cert.IsCA || !publicKeysEqual(cert.PublicKey, signer.Public()) {
		return nil, fmt.Errorf("read CA %s: the key does not belong to a CA certificate", certPath)
	}
	if now.After(cert.NotAfter) {
		return nil, fmt.Errorf("CA %s expired on %s: delete %s and %s to make a new one", certPath, cert.NotAfter.Format(time.DateOnly), caCertFile, caKeyFile)
	}
	return &certAuthority{cert: cert, key: signer, certPEM: certPEM}, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ka, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ka.Equal(b)
}

// newCA makes a CA certificate and key.
func newCA(now time.Time) (*certAuthority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{Organization: []string{"stackerless"}, CommonName: "stackerless sandbox CA " + now.UTC().Format(time.DateOnly)},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	return &certAuthority{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// serverCert issues the HTTPS listener's certificate for 127.0.0.1, ::1,
// localhost and S3's virtual-host names under it (<bucket>.localhost,
// <bucket>.s3.localhost), and for the listen host itself.
func (ca *certAuthority) serverCert(listenHost string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate server key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{Organization: []string{"stackerless"}, CommonName: "localhost"},
		DNSNames:     []string{"localhost", "*.localhost", "s3.localhost", "*.s3.localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(serverValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(listenHost); ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	} else if ip == nil && listenHost != "" && listenHost != "localhost" {
		tmpl.DNSNames = append(tmpl.DNSNames, listenHost, "*."+listenHost)
	}
	if tmpl.NotAfter.After(ca.cert.NotAfter) {
		tmpl.NotAfter = ca.cert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create server certificate: %w", err)
	}
	// The CA itself is not sent: clients trust it from their own file.
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func randomSerial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n.Add(n, big.NewInt(1))
}
