// Package sandbox is a local, multi-account AWS: one HTTP server speaking the
// real wire protocols of the APIs stackerless uses (STS, IAM, S3,
// CloudFormation, SSM, EventBridge, EventBridge Scheduler, Step Functions,
// Lambda, CloudWatch Logs), so tests and
// demos drive the real aws-sdk-go-v2 clients and the AWS CLI against it. Its
// Lambda runs functions' real bootstrap binaries.
//
// Every request must be SigV4-signed with the keys of one of the sandbox's
// accounts (or of an STS session); the access key selects the account.
// The sandbox serves plain HTTP (URL) and HTTPS (HTTPSURL) with a certificate
// of its own CA (CAFile), so that policies requiring TLS hold.
//
//	sb, err := sandbox.Start(ctx, sandbox.DefaultOptions())
//	cfg := sb.AWSConfig("master")
//	client := cloudformation.NewFromConfig(cfg)
package sandbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/middleware"

	"github.com/stackerless/stackerless/pkg/reqbody"
	"github.com/stackerless/stackerless/pkg/sandbox/faults"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/events"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/s3"
)

// Account is one account of a running sandbox with its root credentials.
type Account struct {
	Name            string
	ID              string
	AccessKeyID     string
	SecretAccessKey string
}

// ObjectCreated is an S3 "Object Created" notification (the local stand-in
// for S3 -> EventBridge): bucket owner, region, bucket, key, version ID
// ("null" in unversioned buckets), size, ETag without quotes, time and
// requester.
type ObjectCreated = s3.ObjectCreated

// Sandbox is a running local AWS.
type Sandbox struct {
	opts     Options
	ln       net.Listener
	srv      *http.Server
	url      string
	httpsURL string
	ca       *certAuthority
	caFile   string
	tempDir  string // holds caFile when the CA is made for this run only
	accounts []Account
	faults   *faults.Injector
	router   *router
	backends *backends
	panics   atomic.Int64

	subMu   sync.Mutex
	subs    map[int]func(ObjectCreated)
	nextSub int

	// fresh holds connections that have not sent a request yet: Shutdown
	// waits five seconds before it counts them idle, so Close closes them.
	freshMu sync.Mutex
	fresh   map[net.Conn]bool

	closeOnce sync.Once
	closeErr  error
	serving   sync.WaitGroup
	stopCtx   func() bool
}

// Start starts a sandbox serving plain HTTP on opts.Listen and HTTPS on
// opts.HTTPSListen. It stops when ctx is done or Close is called.
func Start(ctx context.Context, opts Options) (*Sandbox, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	s := &Sandbox{
		opts:   opts,
		faults: faults.New(opts.Seed),
		subs:   map[int]func(ObjectCreated){},
	}
	tlsLn, err := s.listen()
	if err != nil {
		s.removeTemp()
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	s.backends = newBackends(s)
	for _, a := range opts.Accounts {
		akid, secret := s.backends.rootKeys(a.ID)
		s.accounts = append(s.accounts, Account{Name: a.Name, ID: a.ID, AccessKeyID: akid, SecretAccessKey: secret})
	}
	s.router = &router{
		services: s.backends.services,
		keys:     s.backends.keys,
		faults:   s.faults,
		log:      opts.Logger,
		now:      opts.Now,
		onPanic:  func() { s.panics.Add(1) },
	}
	s.srv = &http.Server{
		Handler:           s.router,
		ReadHeaderTimeout: 30 * time.Second,
		// Failed TLS handshakes (a client without the CA) are the client's story.
		ErrorLog:  slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug),
		ConnState: s.trackFresh,
	}
	// One server on both listeners: requests that came over TLS carry r.TLS.
	for _, ln := range []net.Listener{s.ln, tlsLn} {
		s.serving.Add(1)
		go func() {
			defer s.serving.Done()
			if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				opts.Logger.Error("sandbox server stopped", "error", err)
			}
		}()
	}
	s.stopCtx = context.AfterFunc(ctx, func() { _ = s.Close() })
	opts.Logger.Info("sandbox listening", "url", s.url, "https_url", s.httpsURL, "ca_file", s.caFile, "accounts", len(s.accounts))
	return s, nil
}

// listen opens the plain HTTP listener and the TLS one, with the CA.
func (s *Sandbox) listen() (net.Listener, error) {
	now := s.opts.Now()
	if s.opts.CADir != "" {
		ca, err := loadOrCreateCA(s.opts.CADir, now)
		if err != nil {
			return nil, err
		}
		s.ca, s.caFile = ca, filepath.Join(s.opts.CADir, caCertFile)
	} else {
		ca, err := newCA(now)
		if err != nil {
			return nil, err
		}
		if s.tempDir, err = os.MkdirTemp("", "stackerless-sandbox-ca-"); err != nil {
			return nil, fmt.Errorf("write CA certificate: %w", err)
		}
		s.ca, s.caFile = ca, filepath.Join(s.tempDir, caCertFile)
		if err := os.WriteFile(s.caFile, ca.certPEM, 0o644); err != nil {
			return nil, fmt.Errorf("write CA certificate: %w", err)
		}
	}
	host, _, err := net.SplitHostPort(s.opts.HTTPSListen)
	if err != nil {
		return nil, fmt.Errorf("HTTPS listen address %q: %w", s.opts.HTTPSListen, err)
	}
	cert, err := s.ca.serverCert(host, now)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return nil, err
	}
	tlsLn, err := net.Listen("tcp", s.opts.HTTPSListen)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	s.ln, s.url, s.httpsURL = ln, "http://"+ln.Addr().String(), "https://"+tlsLn.Addr().String()
	return tls.NewListener(tlsLn, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), nil
}

func (s *Sandbox) removeTemp() {
	if s.tempDir != "" {
		_ = os.RemoveAll(s.tempDir)
	}
}

// URL is the plain HTTP endpoint, e.g. http://127.0.0.1:4566.
func (s *Sandbox) URL() string { return s.url }

// HTTPSURL is the HTTPS endpoint, e.g. https://127.0.0.1:4567. Its
// certificate is signed by the sandbox's CA (CAFile, CACertPEM) and names
// 127.0.0.1, localhost and S3's virtual hosts <bucket>.localhost and
// <bucket>.s3.localhost.
func (s *Sandbox) HTTPSURL() string { return s.httpsURL }

// CAFile is a PEM file holding the CA certificate that clients of HTTPSURL
// trust: AWS_CA_BUNDLE for the AWS CLI and SDKs, NODE_EXTRA_CA_CERTS for
// Node and the CDK CLI, SSL_CERT_FILE for OpenSSL-based tools. Without
// Options.CADir it lives in a temporary directory removed by Close.
func (s *Sandbox) CAFile() string { return s.caFile }

// CACertPEM is the CA certificate of CAFile.
func (s *Sandbox) CACertPEM() []byte { return append([]byte(nil), s.ca.certPEM...) }

// TLSClientConfig returns a TLS configuration that trusts the sandbox's CA
// (and nothing else), for HTTP clients of HTTPSURL.
func (s *Sandbox) TLSClientConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(s.ca.cert)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// Close stops the server, waiting briefly for requests in flight.
func (s *Sandbox) Close() error {
	s.closeOnce.Do(func() {
		if s.stopCtx != nil {
			s.stopCtx()
		}
		// Lambda instances go first, so invocations in flight end now.
		s.backends.lambda.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// A client that dialled for a request another connection then served
		// keeps a connection that never sends one: it is not in flight.
		go func() {
			for ctx.Err() == nil {
				s.closeFresh()
				time.Sleep(50 * time.Millisecond)
			}
		}()
		if err := s.srv.Shutdown(ctx); err != nil {
			s.closeErr = fmt.Errorf("close sandbox: %w", err)
			_ = s.srv.Close()
		}
		s.serving.Wait()
		s.backends.close()
		s.removeTemp()
	})
	return s.closeErr
}

func (s *Sandbox) trackFresh(c net.Conn, state http.ConnState) {
	s.freshMu.Lock()
	defer s.freshMu.Unlock()
	if state == http.StateNew {
		if s.fresh == nil {
			s.fresh = map[net.Conn]bool{}
		}
		s.fresh[c] = true
	} else {
		delete(s.fresh, c)
	}
}

// closeFresh closes the connections that never sent a request.
func (s *Sandbox) closeFresh() {
	s.freshMu.Lock()
	defer s.freshMu.Unlock()
	for c := range s.fresh {
		_ = c.Close()
		delete(s.fresh, c)
	}
}

// Accounts returns the accounts in the order they were configured.
func (s *Sandbox) Accounts() []Account { return append([]Account(nil), s.accounts...) }

// Account returns the account with this name.
func (s *Sandbox) Account(name string) (Account, bool) {
	for _, a := range s.accounts {
		if a.Name == name {
			return a, true
		}
	}
	return Account{}, false
}

// Region is the region AWSConfig uses.
func (s *Sandbox) Region() string { return s.opts.Region }

// AWSConfig returns an SDK configuration that signs with the named account's
// root credentials and sends every service to the sandbox. S3 clients address
// buckets path-style because the endpoint host is an IP address. An unknown
// name yields a configuration without credentials, so calls fail with the SDK's
// credentials error.
func (s *Sandbox) AWSConfig(name string) aws.Config {
	return s.ConfigWith(s.rootCredentials(name))
}

// ConfigWith returns an SDK configuration for the sandbox using the given
// credentials (e.g. an STS session's).
func (s *Sandbox) ConfigWith(creds aws.CredentialsProvider) aws.Config {
	cfg := aws.Config{
		Region:       s.opts.Region,
		BaseEndpoint: aws.String(s.url),
		// Reading large responses must not race the SDK's request body.
		APIOptions: []func(*middleware.Stack) error{reqbody.HideWriteTo},
	}
	if creds != nil {
		cfg.Credentials = aws.NewCredentialsCache(creds)
	}
	return cfg
}

// HTTPSConfig is AWSConfig over HTTPSURL, with an HTTP client that trusts
// the sandbox's CA: requests have aws:SecureTransport true.
func (s *Sandbox) HTTPSConfig(name string) aws.Config {
	return s.HTTPSConfigWith(s.rootCredentials(name))
}

// HTTPSConfigWith is ConfigWith over HTTPSURL.
func (s *Sandbox) HTTPSConfigWith(creds aws.CredentialsProvider) aws.Config {
	cfg := s.ConfigWith(creds)
	cfg.BaseEndpoint = aws.String(s.httpsURL)
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.TLSClientConfig = s.TLSClientConfig()
	})
	return cfg
}

// rootCredentials are the named account's root keys; nil for an unknown name.
func (s *Sandbox) rootCredentials(name string) aws.CredentialsProvider {
	a, ok := s.Account(name)
	if !ok {
		return nil
	}
	return credentials.NewStaticCredentialsProvider(a.AccessKeyID, a.SecretAccessKey, "")
}

// Faults is the fault injector consulted for every request.
func (s *Sandbox) Faults() *faults.Injector { return s.faults }

// StackDuration is how long stack operations take.
func (s *Sandbox) StackDuration() time.Duration { return s.opts.StackDuration }

// SubscribeObjectCreated calls fn after every object creation in any bucket,
// until cancel is called. fn must not block for long.
func (s *Sandbox) SubscribeObjectCreated(fn func(ObjectCreated)) (cancel func()) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	id := s.nextSub
	s.nextSub++
	s.subs[id] = fn
	return func() {
		s.subMu.Lock()
		defer s.subMu.Unlock()
		delete(s.subs, id)
	}
}

func (s *Sandbox) publishObjectCreated(ev ObjectCreated) {
	s.subMu.Lock()
	fns := make([]func(ObjectCreated), 0, len(s.subs))
	for _, fn := range s.subs {
		fns = append(fns, fn)
	}
	s.subMu.Unlock()
	for _, fn := range fns {
		fn(ev)
	}
}

// Panics is the number of handler panics recovered so far (each answered with
// a 500 InternalFailure). Tests and fuzzers assert it stays zero.
func (s *Sandbox) Panics() int64 { return s.panics.Load() }

// Event is one entry accepted by EventBridge PutEvents.
type Event = events.Entry

// Events returns the EventBridge entries accepted so far, in arrival order.
func (s *Sandbox) Events() []Event { return s.backends.events.Entries() }

// Delivery is one attempt of EventBridge to deliver an event to a rule's
// target: the rule, the target, the input it computed, and the result (an
// execution ARN) or why it failed.
type Delivery = events.Delivery

// Deliveries returns EventBridge's delivery attempts so far, in order. Those
// of PutEvents are made before it answers; those of an S3 write's event just
// after the write is answered.
func (s *Sandbox) Deliveries() []Delivery { return s.backends.events.Deliveries() }
