// Package faults injects failures into the local AWS sandbox: throttling and
// server errors on a share of calls, added latency, and CloudFormation stacks
// that fail by name. Reliability tests use it to prove that clients retry and
// give up the way they do against AWS.
//
// Rules are keyed by API: "service:Action" (e.g. "cloudformation:DescribeStacks"),
// "service:*" or "*". The most specific key that has a rule wins. Service names
// are SigV4 signing names: sts, iam, s3, cloudformation, ssm, events, logs,
// lambda.
//
// A fault fires before the call (the call has no effect, as AWS throttles) or
// after it (the call takes effect and its response is lost: the client sees
// the fault and retries a call that already acted, which only a request
// token such as CloudFormation's ClientRequestToken makes safe).
package faults

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind is what an injected fault does to a call.
type Kind int

const (
	// None lets the call through (possibly delayed).
	None Kind = iota
	// Throttle answers with the service's throttling error (Throttling,
	// ThrottlingException, SlowDown).
	Throttle
	// ServerError answers with a 500 carrying the service's own code (S3
	// InternalError, SSM InternalServerError, EventBridge InternalException,
	// IAM ServiceFailure, other Query services InternalFailure), which the
	// SDKs retry.
	ServerError
)

func (k Kind) String() string {
	switch k {
	case Throttle:
		return "throttle"
	case ServerError:
		return "server-error"
	default:
		return "none"
	}
}

// Decision is what the injector decided for one call.
type Decision struct {
	Fault Kind
	// After says the call is served first and its response then replaced
	// by the fault.
	After bool
	Delay time.Duration
	// Hold, when not nil, is closed when the call may go on (see Hold).
	Hold <-chan struct{}
}

// Injector holds fault rules. The zero value is not usable; call New.
// An Injector is safe for concurrent use.
type Injector struct {
	mu              sync.Mutex
	rnd             *rand.Rand
	throttle        map[string]float64
	errs            map[string]float64
	throttleAfter   map[string]float64
	errsAfter       map[string]float64
	latency         map[string]time.Duration
	holds           map[string]chan struct{}
	stacks          map[string]string
	kills           map[string][]time.Duration // Lambda function name -> pending kills
	lambdaThrottles map[string]int             // Lambda function name -> invocations still to throttle
}

// New returns an injector with no rules. seed 0 draws from a random source;
// any other seed makes the sequence of decisions repeatable.
func New(seed int64) *Injector {
	var src rand.Source
	if seed == 0 {
		src = rand.NewPCG(rand.Uint64(), rand.Uint64())
	} else {
		src = rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15)
	}
	return &Injector{
		rnd:             rand.New(src),
		throttle:        map[string]float64{},
		errs:            map[string]float64{},
		throttleAfter:   map[string]float64{},
		errsAfter:       map[string]float64{},
		latency:         map[string]time.Duration{},
		holds:           map[string]chan struct{}{},
		stacks:          map[string]string{},
		kills:           map[string][]time.Duration{},
		lambdaThrottles: map[string]int{},
	}
}

// Throttle makes share (0..1) of the calls matching api fail with a throttling
// error. share 0 removes the rule.
func (f *Injector) Throttle(api string, share float64) error {
	return f.setShare(f.throttle, api, share)
}

// ServerErrors makes share (0..1) of the calls matching api fail with a 5xx.
// share 0 removes the rule.
func (f *Injector) ServerErrors(api string, share float64) error {
	return f.setShare(f.errs, api, share)
}

// ThrottleAfter makes share (0..1) of the calls matching api take effect and
// then answer with a throttling error. share 0 removes the rule.
func (f *Injector) ThrottleAfter(api string, share float64) error {
	return f.setShare(f.throttleAfter, api, share)
}

// ServerErrorsAfter makes share (0..1) of the calls matching api take effect
// and then answer with a 5xx, as when a response is lost on its way back.
// share 0 removes the rule.
func (f *Injector) ServerErrorsAfter(api string, share float64) error {
	return f.setShare(f.errsAfter, api, share)
}

// Latency delays every call matching api by d. d 0 removes the rule.
func (f *Injector) Latency(api string, d time.Duration) error {
	if err := checkAPI(api); err != nil {
		return err
	}
	if d < 0 {
		return fmt.Errorf("latency for %s: %s is negative", api, d)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if d == 0 {
		delete(f.latency, api)
	} else {
		f.latency[api] = d
	}
	return nil
}

// Hold makes the calls matching api wait, before they take effect, until
// release is called (or their client gives up), so that a test can keep an
// operation in flight while it acts elsewhere, whatever the timing. release
// lets the held calls and later ones through; calling it again does nothing.
func (f *Injector) Hold(api string) (release func(), err error) {
	if err := checkAPI(api); err != nil {
		return nil, err
	}
	ch := make(chan struct{})
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.holds[api]; ok {
		return nil, fmt.Errorf("hold %s: already held", api)
	}
	f.holds[api] = ch
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		// Reset may have released it already.
		if f.holds[api] == ch {
			delete(f.holds, api)
			close(ch)
		}
	}, nil
}

// FailStack makes the next operations on the CloudFormation stack with this
// name fail with reason (the resource status reason CloudFormation reports).
func (f *Injector) FailStack(name, reason string) {
	if reason == "" {
		reason = "Resource creation failed (injected by the sandbox)"
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stacks[name] = reason
}

// ClearStackFailure removes a FailStack rule.
func (f *Injector) ClearStackFailure(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.stacks, name)
}

// StackFailure reports whether operations on stackName must fail, and why.
func (f *Injector) StackFailure(stackName string) (reason string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reason, ok = f.stacks[stackName]
	return reason, ok
}

// Reset removes every rule.
func (f *Injector) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.throttle)
	clear(f.errs)
	clear(f.throttleAfter)
	clear(f.errsAfter)
	clear(f.latency)
	for _, ch := range f.holds {
		close(ch)
	}
	clear(f.holds)
	clear(f.stacks)
	clear(f.kills)
	clear(f.lambdaThrottles)
}

// Decide draws the fault for one call to service:action: throttling, then
// server errors, before the call, then the same after it. Only rules that
// match draw, so a seed gives the same sequence for the same rules.
func (f *Injector) Decide(service, action string) Decision {
	f.mu.Lock()
	defer f.mu.Unlock()
	var d Decision
	if lat, ok := lookup(f.latency, service, action); ok {
		d.Delay = lat
	}
	if ch, ok := lookup(f.holds, service, action); ok {
		d.Hold = ch
	}
	for _, r := range []struct {
		shares map[string]float64
		kind   Kind
		after  bool
	}{
		{f.throttle, Throttle, false},
		{f.errs, ServerError, false},
		{f.throttleAfter, Throttle, true},
		{f.errsAfter, ServerError, true},
	} {
		if share, ok := lookup(r.shares, service, action); ok && f.rnd.Float64() < share {
			d.Fault, d.After = r.kind, r.after
			return d
		}
	}
	return d
}

func lookup[V any](m map[string]V, service, action string) (V, bool) {
	for _, k := range []string{service + ":" + action, service + ":*", "*"} {
		if v, ok := m[k]; ok {
			return v, true
		}
	}
	var zero V
	return zero, false
}

func (f *Injector) setShare(m map[string]float64, api string, share float64) error {
	if err := checkAPI(api); err != nil {
		return err
	}
	if share < 0 || share > 1 || share != share {
		return fmt.Errorf("share for %s: %v is not between 0 and 1", api, share)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if share == 0 {
		delete(m, api)
	} else {
		m[api] = share
	}
	return nil
}

func checkAPI(api string) error {
	if api == "*" {
		return nil
	}
	svc, action, ok := strings.Cut(api, ":")
	if !ok || svc == "" || action == "" || strings.ContainsAny(api, " =,") {
		return fmt.Errorf("API %q: want service:Action, service:* or *", api)
	}
	return nil
}

// ParseShare parses the flag form "API=share", where share is a fraction
// ("0.25") or a percentage ("25%"), e.g. "cloudformation:DescribeStacks=0.5".
func ParseShare(spec string) (api string, share float64, err error) {
	api, v, ok := strings.Cut(spec, "=")
	if !ok {
		return "", 0, fmt.Errorf("parse %q: want API=share, e.g. cloudformation:DescribeStacks=0.5", spec)
	}
	if pct, isPct := strings.CutSuffix(v, "%"); isPct {
		share, err = strconv.ParseFloat(pct, 64)
		share /= 100
	} else {
		share, err = strconv.ParseFloat(v, 64)
	}
	if err != nil || share < 0 || share > 1 {
		return "", 0, fmt.Errorf("parse %q: share %q is not a fraction 0..1 or a percentage", spec, v)
	}
	if err := checkAPI(api); err != nil {
		return "", 0, fmt.Errorf("parse %q: %w", spec, err)
	}
	return api, share, nil
}

// ParseLatency parses the flag form "API=duration", e.g. "s3:*=200ms".
func ParseLatency(spec string) (api string, d time.Duration, err error) {
	api, v, ok := strings.Cut(spec, "=")
	if !ok {
		return "", 0, fmt.Errorf("parse %q: want API=duration, e.g. s3:*=200ms", spec)
	}
	d, err = time.ParseDuration(v)
	if err != nil || d < 0 {
		return "", 0, fmt.Errorf("parse %q: %q is not a duration like 200ms", spec, v)
	}
	if err := checkAPI(api); err != nil {
		return "", 0, fmt.Errorf("parse %q: %w", spec, err)
	}
	return api, d, nil
}

// ParseStackFailure parses the flag form "NAME" or "NAME=reason".
func ParseStackFailure(spec string) (name, reason string, err error) {
	name, reason, _ = strings.Cut(spec, "=")
	if strings.TrimSpace(name) == "" {
		return "", "", fmt.Errorf("parse %q: want a stack name, optionally NAME=reason", spec)
	}
	return name, reason, nil
}

// Flags are fault rules in the forms the `stackerless sandbox` flags take
// (--throttle, --server-errors, --throttle-after, --server-errors-after,
// --latency, --fail-stack), so that the command and the tests apply them the
// same way.
type Flags struct {
	Throttle          []string // API=share
	ServerErrors      []string // API=share
	ThrottleAfter     []string // API=share
	ServerErrorsAfter []string // API=share
	Latency           []string // API=duration
	FailStacks        []string // NAME or NAME=reason
	ThrottleLambda    []string // FUNCTION=N
}

// Apply adds every rule to f. The first bad rule stops it with an error that
// names its flag; the rules before it stay applied.
func (fl Flags) Apply(f *Injector) error {
	for _, shares := range []struct {
		flag  string
		specs []string
		set   func(string, float64) error
	}{
		{"--throttle", fl.Throttle, f.Throttle},
		{"--server-errors", fl.ServerErrors, f.ServerErrors},
		{"--throttle-after", fl.ThrottleAfter, f.ThrottleAfter},
		{"--server-errors-after", fl.ServerErrorsAfter, f.ServerErrorsAfter},
	} {
		for _, spec := range shares.specs {
			api, share, err := ParseShare(spec)
			if err == nil {
				err = shares.set(api, share)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", shares.flag, err)
			}
		}
	}
	for _, spec := range fl.Latency {
		api, d, err := ParseLatency(spec)
		if err == nil {
			err = f.Latency(api, d)
		}
		if err != nil {
			return fmt.Errorf("--latency: %w", err)
		}
	}
	for _, spec := range fl.FailStacks {
		name, reason, err := ParseStackFailure(spec)
		if err != nil {
			return fmt.Errorf("--fail-stack: %w", err)
		}
		f.FailStack(name, reason)
	}
	for _, spec := range fl.ThrottleLambda {
		name, count, ok := strings.Cut(spec, "=")
		n, err := strconv.Atoi(count)
		if !ok || name == "" || err != nil || n < 1 {
			return fmt.Errorf("--throttle-lambda %q: want FUNCTION=N, N a positive count of invocations", spec)
		}
		f.ThrottleLambda(name, n)
	}
	return nil
}
