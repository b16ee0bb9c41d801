package sandbox

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/faults"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// maxAPIBody caps request bodies of services that set no cap of their own
// (AWS's own limits for Query and JSON APIs are of this order).
const maxAPIBody = 1 << 20

// service is one AWS service the router dispatches to: its descriptor and
// its handler.
type service struct {
	*awsapi.Descriptor
	handler http.Handler
}

// services are the served services by SigV4 signing name.
type services map[string]*service

// add registers a service: its descriptor is all the router needs.
func (ss services) add(d *awsapi.Descriptor, h http.Handler) {
	ss[d.SigningName] = &service{Descriptor: d, handler: h}
}

// router authenticates, routes and dispatches every request.
type router struct {
	services services
	keys     keyring
	faults   *faults.Injector
	log      *slog.Logger
	now      func() time.Time
	// onPanic is told about recovered panics (counted for tests and the fuzzer).
	onPanic func()
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return strings.ToUpper(h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:])
}

func (rt *router) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := rt.now()
	w := &statusWriter{ResponseWriter: rw}
	call := &awsapi.Call{RequestID: newRequestID(), Time: start, Secure: r.TLS != nil, SourceIP: sourceIP(r)}
	w.Header().Set("x-amzn-RequestId", call.RequestID)
	w.Header().Set("x-amz-request-id", call.RequestID)
	proto := guessProtocol(r)
	var svc *service
	defer func() {
		if p := recover(); p != nil {
			if rt.onPanic != nil {
				rt.onPanic()
			}
			rt.log.Error("panic serving request", "request_id", call.RequestID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if w.status == 0 {
				writeError(w, r, call, proto, svc, awsapi.Errorf(http.StatusInternalServerError, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure."))
			}
		}
		attrs := []any{"request_id", call.RequestID, "method", r.Method, "service", call.Service, "action", call.Action,
			"status", w.status, "duration", rt.now().Sub(start)}
		if call.Caller != nil {
			attrs = append(attrs, "account", call.Caller.Account, "principal", call.Caller.ARN)
		}
		rt.log.Info("request", attrs...)
	}()
	svc, err := rt.serve(w, r, call, &proto)
	if err != nil {
		writeError(w, r, call, proto, svc, err)
	}
}

// serve does everything but the error writing; *proto is updated once the
// service is known so errors are written in its protocol.
func (rt *router) serve(w http.ResponseWriter, r *http.Request, call *awsapi.Call, proto *awsapi.Protocol) (*service, error) {
	si, err := parseSigV4(r)
	if err != nil {
		return nil, asAuthError(err, *proto)
	}
	svc := rt.services[si.service]
	if svc == nil {
		return nil, awsapi.Errorf(http.StatusBadRequest, "UnknownService", "The sandbox does not serve the service %q (credential scope %s/%s).", si.service, si.region, si.service)
	}
	*proto = svc.Protocol
	call.Service, call.Region = svc.SigningName, si.region

	body, err := readBody(w, r, svc, si)
	if err != nil {
		return svc, err
	}

	cred, ok := rt.keys.lookupKey(si.accessKey)
	if !ok {
		return svc, authError(&authErr{kind: "unknownKey"}, svc.Protocol)
	}
	// Session keys need their own token; long-term (root) keys take none, and
	// AWS refuses them when one is sent anyway.
	if subtle.ConstantTimeCompare([]byte(cred.Token), []byte(si.token)) != 1 {
		return svc, authError(&authErr{kind: "badToken"}, svc.Protocol)
	}
	now := rt.now()
	if !cred.Caller.Expires.IsZero() && now.After(cred.Caller.Expires) {
		return svc, authError(&authErr{kind: "expired"}, svc.Protocol)
	}
	if err := checkTime(si, now); err != nil {
		return svc, asAuthError(err, svc.Protocol)
	}
	hash, err := payloadHash(r, si, body)
	if err != nil {
		return svc, asAuthError(err, svc.Protocol)
	}
	if err := checkSignedHeaders(r, si, svc.SigningName == "s3"); err != nil {
		return svc, asAuthError(err, svc.Protocol)
	}
	if err := verifySignature(r.Context(), r, si, cred.Secret, hash); err != nil {
		return svc, asAuthError(err, svc.Protocol)
	}
	if hash == streamingSigned || hash == streamingSignedTrailer {
		if err := verifyChunks(r.Context(), body, si, cred.Secret, hash == streamingSignedTrailer); err != nil {
			return svc, asAuthError(err, svc.Protocol)
		}
	}
	caller := cred.Caller
	call.Caller = &caller
	if svc.SigningName != "s3" {
		// S3 refused unsigned x-amz-* headers above and reads its other
		// headers unsigned, as S3 does; the other services see only what was signed.
		dropUnsignedHeaders(r, si)
	}

	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	switch p := svc.Protocol; {
	case p == awsapi.ProtoQuery:
		action, form, err := queryAction(r, body)
		if err != nil {
			return svc, err
		}
		call.Action = action
		if err := svc.CheckQuery(action, form); err != nil {
			return svc, err
		}
	case p.IsJSON():
		target := r.Header.Get("X-Amz-Target")
		action, ok := strings.CutPrefix(target, svc.TargetPrefix)
		if !ok || action == "" || strings.Contains(action, ".") {
			return svc, awsapi.Errorf(http.StatusBadRequest, "UnknownOperationException", "Unknown operation %q (X-Amz-Target)", target)
		}
		call.Action = action
		if err := svc.CheckJSON(action, body); err != nil {
			return svc, err
		}
	default:
		// REST services name the operation from the method and path; S3
		// reads virtual-host buckets from Host itself.
		call.Action = svc.OperationOf(r)
	}

	if rt.faults != nil {
		d := rt.faults.Decide(svc.SigningName, call.Action)
		if d.Delay > 0 {
			t := time.NewTimer(d.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return svc, awsapi.Errorf(http.StatusServiceUnavailable, "RequestCanceled", "request canceled")
			}
		}
		if d.Hold != nil {
			select {
			case <-d.Hold:
			case <-r.Context().Done():
				return svc, awsapi.Errorf(http.StatusServiceUnavailable, "RequestCanceled", "request canceled")
			}
		}
		if d.After && d.Fault != faults.None {
			// The call takes effect; its answer is lost on the way back.
			svc.handler.ServeHTTP(lostResponse{header: http.Header{}}, r.WithContext(awsapi.WithCall(r.Context(), call)))
		}
		switch d.Fault {
		case faults.Throttle:
			return svc, svc.ThrottleError()
		case faults.ServerError:
			return svc, svc.InternalError("The request processing has failed because of an unknown error, exception or failure. (injected by the sandbox)")
		}
	}

	svc.handler.ServeHTTP(w, r.WithContext(awsapi.WithCall(r.Context(), call)))
	return svc, nil
}

// lostResponse is a response nobody receives.
type lostResponse struct{ header http.Header }

func (l lostResponse) Header() http.Header         { return l.header }
func (l lostResponse) Write(b []byte) (int, error) { return len(b), nil }
func (l lostResponse) WriteHeader(int)             {}

func asAuthError(err error, p awsapi.Protocol) error {
	var ae *authErr
	if errors.As(err, &ae) {
		return authError(ae, p)
	}
	return err
}

// readBody enforces the body cap and buffers the body when the signature
// covers it. S3 bodies the client did not sign (UNSIGNED-PAYLOAD, unsigned
// aws-chunked) stay unread behind a size limit and nil is returned.
func readBody(w http.ResponseWriter, r *http.Request, svc *service, si *sigInfo) ([]byte, error) {
	limit := int64(maxAPIBody)
	if svc.MaxBody > 0 {
		limit = svc.MaxBody
	}
	tooLarge := func() error {
		if svc.TooLarge != nil {
			return svc.TooLarge(r)
		}
		return awsapi.Errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Request body of more than %d bytes is not accepted.", limit)
	}
	if r.ContentLength > limit {
		return nil, tooLarge()
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if svc.SigningName == "s3" {
		// Signed chunks are read here too: their signatures are checked
		// before S3 sees the body.
		h := r.Header.Get("X-Amz-Content-Sha256")
		if h == unsignedPayload || h == streamingUnsignedTrailer || (si.presigned && h == "") {
			return nil, nil
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge()
		}
		return nil, awsapi.Errorf(http.StatusBadRequest, "IncompleteBody", "read request body: %v", err)
	}
	return body, nil
}

// queryAction finds the Action of a Query request, and its parameters, in
// the form body or the URL.
func queryAction(r *http.Request, body []byte) (string, url.Values, error) {
	form := r.URL.Query()
	if len(body) > 0 {
		var err error
		form, err = url.ParseQuery(string(body))
		if err != nil {
			return "", nil, awsapi.Errorf(http.StatusBadRequest, "MalformedQueryString", "The request body is not a valid form: %v", err)
		}
		if form.Get("Action") == "" {
			form.Set("Action", r.URL.Query().Get("Action"))
		}
	}
	action := form.Get("Action")
	if action == "" {
		return "", nil, awsapi.Errorf(http.StatusBadRequest, "MissingAction", "Missing Action")
	}
	if !isIdent(action) {
		return "", nil, awsapi.Errorf(http.StatusBadRequest, "InvalidAction", "Could not find operation %q", action)
	}
	return action, form, nil
}

func isIdent(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// guessProtocol picks the error protocol before the service is known.
func guessProtocol(r *http.Request) awsapi.Protocol {
	if r.Header.Get("X-Amz-Target") != "" {
		return awsapi.ProtoJSON11
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") || r.URL.Query().Has("Action") {
		return awsapi.ProtoQuery
	}
	return awsapi.ProtoRESTXML
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// writeError answers err in the service's protocol, or in the protocol the
// request looks like when no service was found.
func writeError(w http.ResponseWriter, r *http.Request, call *awsapi.Call, p awsapi.Protocol, svc *service, err error) {
	if svc != nil {
		svc.WriteError(w, r, call, err)
		return
	}
	awsapi.WriteError(w, r, call, p, "", err)
}
