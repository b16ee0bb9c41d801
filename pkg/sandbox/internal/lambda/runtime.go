package lambda

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Runtime API, as aws-lambda-go's client speaks it
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
const (
	runtimePrefix   = "/2018-06-01/runtime/"
	invocationPath  = runtimePrefix + "invocation/"
	hdrRequestID    = "Lambda-Runtime-Aws-Request-Id"
	hdrDeadline     = "Lambda-Runtime-Deadline-Ms"
	hdrFunctionARN  = "Lambda-Runtime-Invoked-Function-Arn"
	hdrTraceID      = "Lambda-Runtime-Trace-Id"
	hdrClientCtx    = "Lambda-Runtime-Client-Context"
	hdrErrorType    = "Lambda-Runtime-Function-Error-Type"
	trailerErrorBdy = "Lambda-Runtime-Function-Error-Body"
)

// maxResponse is the largest response or error a function may return.
const maxResponse = 6_291_556

// ServeHTTP serves the instance's Runtime API.
func (in *instance) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodGet && p == invocationPath+"next":
		in.handleNext(w, r)
	case r.Method == http.MethodPost && p == runtimePrefix+"init/error":
		in.handleInitError(w, r)
	case r.Method == http.MethodPost && strings.HasPrefix(p, invocationPath) && strings.HasSuffix(p, "/response"):
		in.handleResult(w, r, strings.TrimSuffix(strings.TrimPrefix(p, invocationPath), "/response"), false)
	case r.Method == http.MethodPost && strings.HasPrefix(p, invocationPath) && strings.HasSuffix(p, "/error"):
		in.handleResult(w, r, strings.TrimSuffix(strings.TrimPrefix(p, invocationPath), "/error"), true)
	default:
		runtimeError(w, http.StatusNotFound, "InvalidRequest", "No Runtime API endpoint at "+r.Method+" "+p)
	}
}

func runtimeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorType": typ, "errorMessage": msg})
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

// handleNext ends the init phase on the first call, then blocks until an
// invocation arrives and answers with its event.
func (in *instance) handleNext(w http.ResponseWriter, r *http.Request) {
	in.initOnce.Do(func() { in.initDuration = time.Since(in.spawned) })
	select {
	case inv := <-in.next:
		inv.deadline = time.Now().Add(inv.timeout)
		// Output before START belongs to what came before.
		in.logMu.Lock()
		in.drainLocked()
		in.mu.Lock()
		in.current = inv
		in.mu.Unlock()
		in.emitLocked(startLine(in.cfg.logFormat, inv.id, in.ver.number, in.s.now()))
		in.logMu.Unlock()
		close(inv.delivered)

		h := w.Header()
		h.Set(hdrRequestID, inv.id)
		h.Set(hdrDeadline, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set(hdrFunctionARN, inv.invokedARN)
		h.Set(hdrTraceID, inv.traceID)
		if inv.clientContext != "" {
			h.Set(hdrClientCtx, inv.clientContext)
		}
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.payload)
	case <-in.dead:
		runtimeError(w, http.StatusInternalServerError, "Runtime.ExitError", "The execution environment is shutting down.")
	case <-r.Context().Done():
	}
}

// handleResult takes an invocation's response or error.
func (in *instance) handleResult(w http.ResponseWriter, r *http.Request, id string, isError bool) {
	in.mu.Lock()
	inv := in.current
	in.mu.Unlock()
	if inv == nil || inv.id != id {
		runtimeError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxResponse+1))
	if err != nil {
		runtimeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	if len(body) > maxResponse {
		runtimeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Exceeded maximum allowed payload size ("+strconv.Itoa(maxResponse)+" bytes).")
		in.finish(inv, nil, &fnError{Type: "Function.ResponseSizeTooLarge", Message: "Response payload size exceeded maximum allowed payload size (" + strconv.Itoa(maxResponse) + " bytes)."})
		return
	}
	var fe *fnError
	switch {
	case isError:
		fe = &fnError{Type: r.Header.Get(hdrErrorType), body: body}
		if json.Unmarshal(body, fe) != nil || len(body) == 0 {
			fe = &fnError{Type: "Runtime.Unknown", Message: "Unknown application error occurred"}
		}
		if fe.Type == "" {
			fe.Type = "Runtime.Unknown"
		}
	case r.Trailer.Get(hdrErrorType) != "":
		// A response that failed while streaming: aws-lambda-go sends the error in trailers.
		fe = &fnError{Type: r.Trailer.Get(hdrErrorType)}
		if raw, err := base64.StdEncoding.DecodeString(r.Trailer.Get(trailerErrorBdy)); err == nil {
			fe.body = raw
		}
	}
	in.finish(inv, body, fe)
	accepted(w)
}

// finish records an invocation's outcome once. The invocation stays
// current until its END and REPORT lines are written.
func (in *instance) finish(inv *invocation, resp []byte, fe *fnError) {
	inv.once.Do(func() {
		inv.resp, inv.fnErr = resp, fe
		close(inv.done)
	})
}

func (in *instance) handleInitError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxResponse))
	fe := &fnError{Type: r.Header.Get(hdrErrorType), body: body}
	if json.Unmarshal(body, fe) != nil {
		fe = &fnError{Type: "Runtime.Unknown", Message: "Unknown application error occurred"}
	}
	if fe.Type == "" {
		fe.Type = "Runtime.Unknown"
	}
	select {
	case in.initErr <- fe:
	default:
	}
	accepted(w)
}
