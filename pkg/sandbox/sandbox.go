// Package sandbox is a local, multi-account AWS: one HTTP server speaking the
// real wire protocols of the APIs stackerless uses (STS, IAM, S3,
// CloudFormation, SSM, EventBridge), so tests and demos drive the real
// aws-sdk-go-v2 clients and the AWS CLI against it.
//
// Every request must be SigV4-signed with the keys of one of the sandbox's
// accounts (or of an STS session); the access key selects the account.
//
//	sb, err := sandbox.Start(ctx, sandbox.DefaultOptions())
//	cfg := sb.AWSConfig("master")
//	client := cloudformation.NewFromConfig(cfg)
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

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
	accounts []Account
	faults   *faults.Injector
	router   *router
	backends *backends
	panics   atomic.Int64

	subMu   sync.Mutex
	subs    map[int]func(ObjectCreated)
	nextSub int

	closeOnce sync.Once
	closeErr  error
	served    chan struct{}
	stopCtx   func() bool
}

// Start starts a sandbox listening on opts.Listen. It stops when ctx is done
// or Close is called.
func Start(ctx context.Context, opts Options) (*Sandbox, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	s := &Sandbox{
		opts:   opts,
		ln:     ln,
		url:    "http://" + ln.Addr().String(),
		faults: faults.New(opts.Seed),
		subs:   map[int]func(ObjectCreated){},
		served: make(chan struct{}),
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
		ErrorLog:          nil,
	}
	go func() {
		defer close(s.served)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			opts.Logger.Error("sandbox server stopped", "error", err)
		}
	}()
	s.stopCtx = context.AfterFunc(ctx, func() { _ = s.Close() })
	opts.Logger.Info("sandbox listening", "url", s.url, "accounts", len(s.accounts))
	return s, nil
}

// URL is the endpoint, e.g. http://127.0.0.1:4566.
func (s *Sandbox) URL() string { return s.url }

// Close stops the server, waiting briefly for requests in flight.
func (s *Sandbox) Close() error {
	s.closeOnce.Do(func() {
		if s.stopCtx != nil {
			s.stopCtx()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			s.closeErr = fmt.Errorf("close sandbox: %w", err)
			_ = s.srv.Close()
		}
		<-s.served
		s.backends.close()
	})
	return s.closeErr
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
	a, ok := s.Account(name)
	if !ok {
		return s.ConfigWith(nil)
	}
	return s.ConfigWith(credentials.NewStaticCredentialsProvider(a.AccessKeyID, a.SecretAccessKey, ""))
}

// ConfigWith returns an SDK configuration for the sandbox using the given
// credentials (e.g. an STS session's).
func (s *Sandbox) ConfigWith(creds aws.CredentialsProvider) aws.Config {
	cfg := aws.Config{
		Region:       s.opts.Region,
		BaseEndpoint: aws.String(s.url),
	}
	if creds != nil {
		cfg.Credentials = aws.NewCredentialsCache(creds)
	}
	return cfg
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
