package lambda

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// Payload limits of Invoke.
const (
	maxSyncPayload  = 6_291_456
	maxAsyncPayload = 262_144
	maxLogTail      = 4096
	maxClientCtx    = 3583
)

// InvokeInput is one Invoke request.
type InvokeInput struct {
	FunctionName, Qualifier string
	Payload                 []byte
	// InvocationType is RequestResponse (the default), Event or DryRun.
	InvocationType string
	// LogType Tail returns the end of the invocation's log.
	LogType string
	// ClientContext is base64-encoded JSON, as the X-Amz-Client-Context header carries it.
	ClientContext string
	// RequestID names the invocation (default: a new one).
	RequestID string
	// SourceKeys are condition keys of the caller (aws:SourceArn,
	// aws:SourceAccount for service principals).
	SourceKeys map[string]string
}

// InvokeResult is what Invoke answers.
type InvokeResult struct {
	// StatusCode is 200 (RequestResponse), 202 (Event) or 204 (DryRun).
	StatusCode int
	Payload    []byte
	// FunctionError is "Unhandled" when the function failed.
	FunctionError   string
	LogResult       string // base64 of the log's last 4 KB, for LogType Tail
	ExecutedVersion string
	RequestID       string
}

// invocation is one event on its way through an instance.
type invocation struct {
	id, invokedARN, traceID, clientContext string
	payload                                []byte
	timeout                                time.Duration
	deadline                               time.Time
	delivered, done                        chan struct{}
	once                                   sync.Once
	resp                                   []byte
	fnErr                                  *fnError
	tail                                   bytes.Buffer
}

func (s *Service) serveInvoke(w http.ResponseWriter, call *awsapi.Call, q *request) {
	h := q.r.Header
	res, err := s.Invoke(call, InvokeInput{
		FunctionName: q.labels["FunctionName"], Qualifier: q.query("Qualifier"), Payload: q.body,
		InvocationType: h.Get("X-Amz-Invocation-Type"), LogType: h.Get("X-Amz-Log-Type"), ClientContext: h.Get("X-Amz-Client-Context"),
		RequestID: strings.ToLower(call.RequestID),
	})
	if err != nil {
		awsapi.WriteRESTJSONError(w, call, err)
		return
	}
	wh := w.Header()
	wh.Set("x-amzn-RequestId", res.RequestID)
	if res.ExecutedVersion != "" {
		wh.Set("X-Amz-Executed-Version", res.ExecutedVersion)
	}
	if res.FunctionError != "" {
		wh.Set("X-Amz-Function-Error", res.FunctionError)
	}
	if res.LogResult != "" {
		wh.Set("X-Amz-Log-Result", res.LogResult)
	}
	if res.StatusCode == http.StatusOK {
		wh.Set("Content-Type", "application/json")
	}
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(res.Payload)
}

// Invoke runs a function for a caller, authorized by the caller's identity
// policies and the function's resource policy.
func (s *Service) Invoke(call *awsapi.Call, in InvokeInput) (InvokeResult, error) {
	typ := in.InvocationType
	switch typ {
	case "":
		typ = "RequestResponse"
	case "RequestResponse", "Event", "DryRun":
	default:
		return InvokeResult{}, validation("1 validation error detected: Value '%s' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]", typ)
	}
	if in.LogType != "" && in.LogType != "None" && in.LogType != "Tail" {
		return InvokeResult{}, validation("1 validation error detected: Value '%s' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]", in.LogType)
	}
	limit := maxSyncPayload
	if typ == "Event" {
		limit = maxAsyncPayload
	}
	if len(in.Payload) > limit {
		return InvokeResult{}, awsapi.Errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", "Request must be smaller than %d bytes for the InvokeFunction operation", limit)
	}
	payload := in.Payload
	if len(bytes.TrimSpace(payload)) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		var v any
		err := json.Unmarshal(payload, &v)
		return InvokeResult{}, awsapi.Errorf(http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json: Could not parse payload into json: %v", err)
	}
	clientCtx, err := decodeClientContext(in.ClientContext)
	if err != nil {
		return InvokeResult{}, err
	}
	id := in.RequestID
	if id == "" {
		id = newUUID()
	}

	s.mu.Lock()
	f, v, invoked, err := s.invokeTarget(call, in)
	var timeout time.Duration
	if err == nil {
		timeout = time.Duration(v.cfg.timeout) * time.Second
	}
	s.mu.Unlock()
	if err != nil {
		return InvokeResult{}, err
	}
	if ff := s.opts.Faults; ff != nil && typ == "RequestResponse" && ff.LambdaThrottle(f.name) {
		return InvokeResult{}, throttled("ReservedFunctionConcurrentInvocationLimitExceeded")
	}
	inv := func() *invocation {
		return &invocation{id: id, invokedARN: invoked, traceID: traceID(s.now()), clientContext: clientCtx, payload: payload,
			timeout: timeout, delivered: make(chan struct{}), done: make(chan struct{})}
	}
	res := InvokeResult{RequestID: id, ExecutedVersion: v.number}
	switch typ {
	case "DryRun":
		res.StatusCode, res.ExecutedVersion = http.StatusNoContent, ""
		return res, nil
	case "Event":
		if err := s.goAsync(f, v, inv); err != nil {
			return InvokeResult{}, err
		}
		res.StatusCode, res.ExecutedVersion = http.StatusAccepted, ""
		return res, nil
	}
	one := inv()
	if err := s.invokeOnce(f, v, one); err != nil {
		return InvokeResult{}, err
	}
	res.StatusCode, res.Payload = http.StatusOK, one.resp
	if one.fnErr != nil {
		res.FunctionError, res.Payload = "Unhandled", one.fnErr.payload()
	}
	if in.LogType == "Tail" {
		tail := one.tail.Bytes()
		res.LogResult = base64.StdEncoding.EncodeToString(tail[max(len(tail)-maxLogTail, 0):])
	}
	return res, nil
}

// invokeTarget resolves and authorizes the function an Invoke names, and
// checks it can run. s.mu must be held.
func (s *Service) invokeTarget(call *awsapi.Call, in InvokeInput) (*function, *version, string, error) {
	r, err := parseRef(call, in.FunctionName, in.Qualifier, 170)
	if err != nil {
		return nil, nil, "", err
	}
	f := s.functions[r.key()]
	if s.opts.Authorizer != nil {
		policy := ""
		if f != nil {
			policy = f.policyDocument(r.qualifier)
		}
		if err := s.opts.Authorizer.Authorize(call, "lambda:InvokeFunction", awsapi.Resource{ARN: r.arn(), Account: r.account, Policy: policy}, in.SourceKeys); err != nil {
			return nil, nil, "", err
		}
	}
	if f == nil {
		return nil, nil, "", functionNotFound(r)
	}
	v, err := f.resolve(r)
	if err != nil {
		return nil, nil, "", err
	}
	if s.now().Before(v.activeAt) {
		return nil, nil, "", conflict("The operation cannot be performed at this time. The function is currently in the following state: Pending")
	}
	if !slices.Contains(runnable, v.cfg.runtime) {
		return nil, nil, "", awsapi.Errorf(http.StatusBadGateway, "InvalidRuntimeException",
			"The runtime parameter of %s is not supported by the sandbox, which runs only OS-only runtimes (%s) whose bootstrap is the function's own executable.", v.cfg.runtime, strings.Join(runnable, ", "))
	}
	return f, v, r.arn(), nil
}

func decodeClientContext(b64 string) (string, error) {
	if b64 == "" {
		return "", nil
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b64) > maxClientCtx || !json.Valid(raw) {
		return "", awsapi.Errorf(http.StatusBadRequest, "InvalidRequestContentException", "Client context must be a valid Base64-encoded JSON object of at most %d bytes.", maxClientCtx)
	}
	return string(raw), nil
}

// traceID is an X-Ray trace header for an unsampled request.
func traceID(now time.Time) string {
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", now.Unix(), randomHex(24), randomHex(16))
}

// goAsync queues an Event invocation: it is retried twice after function
// errors, and until it runs while throttled, as Lambda's queue does.
func (s *Service) goAsync(f *function, v *version, inv func() *invocation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return shuttingDown()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for attempt := 0; ; {
			one := inv()
			err := s.invokeOnce(f, v, one)
			switch {
			case err == nil && one.fnErr == nil:
				return
			case err == nil:
				if attempt++; attempt == 3 {
					return
				}
			case awsapi.AsError(err).Code != "TooManyRequestsException":
				return // the function is gone, or the sandbox closing
			}
			// Throttling does not use up a retry.
			t := time.NewTimer(s.opts.AsyncRetryDelay * time.Duration(max(attempt, 1)))
			select {
			case <-t.C:
			case <-s.closing():
				t.Stop()
				return
			}
		}
	}()
	return nil
}

func shuttingDown() error {
	return awsapi.Errorf(http.StatusServiceUnavailable, "ServiceException", "The sandbox is shutting down.")
}

// closing is closed when the service closes.
func (s *Service) closing() <-chan struct{} { return s.closeCh }

// invokeOnce runs one invocation on a warm or new instance. Its outcome is
// left in inv; the error is a throttle or a shutdown.
func (s *Service) invokeOnce(f *function, v *version, inv *invocation) error {
	in, cold, err := s.acquire(f, v)
	if err != nil {
		return err
	}
	if cold {
		fe := in.start(inv.id)
		s.wg.Done() // acquire's count for the start
		if fe != nil {
			in.failStart(inv, fe)
			s.abandon(in)
			return nil
		}
	}
	if !in.run(inv) {
		// The warm instance had died while idle (its last invocation
		// crashed it): Lambda starts the event on a fresh one.
		s.release(in)
		return s.invokeOnce(f, v, inv)
	}
	s.release(in)
	return nil
}

// failStart reports an instance that could not start as the invocation's outcome.
func (in *instance) failStart(inv *invocation, fe *fnError) {
	in.mu.Lock()
	in.current = inv
	in.mu.Unlock()
	now := in.s.now()
	in.emit(startLine(in.cfg.logFormat, inv.id, in.ver.number, now))
	in.emit(fe.Message)
	in.emit(fe.Type)
	in.finish(inv, nil, fe)
	in.report(inv, 0, "error\tError Type: "+fe.Type, false)
}

// run hands the invocation to the runtime and waits for its outcome, the
// timeout, or the process's end. It reports false, having done nothing, when
// a warm instance turns out to have died since its last invocation.
func (in *instance) run(inv *invocation) bool {
	cold := in.cold
	in.cold = false
	initTimer := time.NewTimer(initTimeout)
	defer initTimer.Stop()
	select {
	case in.next <- inv:
	case <-in.exited:
		if !cold {
			return false
		}
		in.failInit(inv, exitError(inv.id, in.exitMsg))
		return true
	case fe := <-in.initErr:
		in.killAndWait()
		in.failInit(inv, fe)
		return true
	case <-initTimer.C:
		in.killAndWait()
		in.failInit(inv, timeoutError(inv.id, initTimeout))
		return true
	}
	<-inv.delivered
	start := time.Now()
	var killC <-chan time.Time
	if ff := in.s.opts.Faults; ff != nil {
		if d, ok := ff.LambdaKill(in.fn.name); ok {
			t := time.NewTimer(d)
			defer t.Stop()
			killC = t.C
		}
	}
	timer := time.NewTimer(time.Until(inv.deadline))
	defer timer.Stop()
	status := ""
	for waiting := true; waiting; {
		select {
		case <-inv.done:
			waiting = false
		case <-in.exited:
			// A result posted just before the process ended still counts.
			select {
			case <-inv.done:
			default:
				in.finish(inv, nil, exitError(inv.id, in.exitMsg))
				status = "error\tError Type: Runtime.ExitError"
			}
			waiting = false
		case <-timer.C:
			elapsed := time.Since(start)
			in.notePeak()
			in.killAndWait()
			in.finish(inv, nil, timeoutError(inv.id, elapsed))
			in.emit(fmt.Sprintf("%s %s Task timed out after %.2f seconds", in.s.now().UTC().Format("2006-01-02T15:04:05.000Z"), inv.id, elapsed.Seconds()))
			status = "timeout"
			waiting = false
		case <-killC:
			killC = nil
			in.notePeak()
			in.kill() // the process's end is reported like a crash
		}
	}
	if inv.fnErr != nil && inv.fnErr.Type == "Runtime.ExitError" {
		in.emit(inv.fnErr.Message)
		in.emit(inv.fnErr.Type)
	}
	in.report(inv, time.Since(start), status, cold)
	return true
}

// failInit reports an init phase that ended before the runtime took the
// event; what the runtime printed comes before the invocation's START.
func (in *instance) failInit(inv *invocation, fe *fnError) {
	in.notePeak()
	in.logMu.Lock()
	in.drainLocked()
	in.flushLocked()
	in.logMu.Unlock()
	in.failStart(inv, fe)
}

func (in *instance) notePeak() {
	if in.cmd != nil && in.cmd.Process != nil {
		in.logMu.Lock()
		in.peakMB = max(in.peakMB, peakMemoryMB(in.cmd.Process.Pid))
		in.logMu.Unlock()
	}
}

// report collects the invocation's output and writes END and REPORT.
func (in *instance) report(inv *invocation, d time.Duration, status string, cold bool) {
	in.logMu.Lock()
	defer in.logMu.Unlock()
	in.drainLocked()
	if !in.alive() {
		in.flushLocked()
	}
	ms := float64(d.Microseconds()) / 1000
	initMS := float64(in.initDuration.Microseconds()) / 1000
	billed := ms
	if cold {
		billed += initMS
	}
	in.emitLocked(endLine(in.cfg.logFormat, inv.id, in.s.now()))
	in.emitLocked(reportLine(in.cfg.logFormat, reportFields{
		id: inv.id, ms: ms, billed: int(math.Ceil(billed)), memory: in.cfg.memory, used: in.peakMB,
		initMS: initMS, cold: cold, status: status,
	}, in.s.now()))
	in.mu.Lock()
	if in.current == inv {
		in.current = nil
	}
	in.mu.Unlock()
}

func exitError(id, exitMsg string) *fnError {
	msg := "Runtime exited with error: " + exitMsg
	if exitMsg == "exit status 0" {
		msg = "Runtime exited without providing a reason"
	}
	return &fnError{Type: "Runtime.ExitError", Message: "RequestId: " + id + " Error: " + msg}
}

func timeoutError(id string, d time.Duration) *fnError {
	return &fnError{Type: "Sandbox.Timedout", Message: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", id, d.Seconds())}
}

// Pool.

// acquire takes a warm instance of the version or makes a new one (cold),
// within the function's reserved or the account's concurrency.
func (s *Service) acquire(f *function, v *version) (*instance, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false, shuttingDown()
	}
	if f.deleted {
		return nil, false, notFound("Function not found: %s", v.arn())
	}
	if f.reserved != nil {
		if f.busy >= *f.reserved {
			return nil, false, throttled("ReservedFunctionConcurrentInvocationLimitExceeded")
		}
	} else if s.unreservedBusy(f.account, f.region) >= s.opts.AccountConcurrency-s.reservedTotal(f.account, f.region) {
		return nil, false, throttled("ConcurrentInvocationLimitExceeded")
	}
	soon := s.now().Add(5 * time.Minute)
	for i := len(f.instances) - 1; i >= 0; i-- {
		in := f.instances[i]
		if in.busy || in.retired || in.ver != v || in.gen != v.generation || !in.alive() {
			continue
		}
		if !in.credsExpire.IsZero() && in.credsExpire.Before(soon) {
			in.retire() // its role session is about to expire
			continue
		}
		if in.idleTimer != nil {
			in.idleTimer.Stop()
		}
		in.busy = true
		f.busy++
		return in, false, nil
	}
	in := newInstance(s, v)
	s.wg.Add(1) // held while the instance starts; see start
	in.c.acquire()
	in.busy = true
	f.instances = append(f.instances, in)
	f.busy++
	return in, true, nil
}

func throttled(reason string) error {
	return &awsapi.Error{Status: http.StatusTooManyRequests, Code: "TooManyRequestsException", Message: "Rate Exceeded.", Fields: map[string]string{"Reason": reason}}
}

// unreservedBusy counts the busy instances of the account's functions that
// share the unreserved pool. s.mu must be held.
func (s *Service) unreservedBusy(account, region string) int {
	n := 0
	for k, f := range s.functions {
		if k.account == account && k.region == region && f.reserved == nil {
			n += f.busy
		}
	}
	return n
}

func (s *Service) reservedTotal(account, region string) int {
	n := 0
	for k, f := range s.functions {
		if k.account == account && k.region == region && f.reserved != nil {
			n += *f.reserved
		}
	}
	return n
}

// release returns an instance after an invocation: warm for the next one,
// or gone if it died, was retired or belongs to an old generation.
func (s *Service) release(in *instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in.busy = false
	in.fn.busy--
	if s.closed || in.retired || in.fn.deleted || in.gen != in.ver.generation || !in.alive() {
		s.dropLocked(in)
		return
	}
	in.idleTimer = time.AfterFunc(s.opts.IdleTimeout, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !in.busy {
			s.dropLocked(in)
		}
	})
}

// abandon drops an instance that never started.
func (s *Service) abandon(in *instance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in.busy = false
	in.fn.busy--
	s.dropLocked(in)
	in.closeLog()
	in.c.release()
}

// dropLocked removes an instance from its function and kills it. s.mu must be held.
func (s *Service) dropLocked(in *instance) {
	f := in.fn
	if i := slices.Index(f.instances, in); i >= 0 {
		f.instances = slices.Delete(f.instances, i, i+1)
	}
	if in.idleTimer != nil {
		in.idleTimer.Stop()
	}
	in.kill()
}

// retireIdle retires the instances of a function's old generations. s.mu must be held.
func (s *Service) retireIdle(f *function) {
	for _, in := range slices.Clone(f.instances) {
		if in.gen != in.ver.generation {
			in.retire()
		}
	}
}
