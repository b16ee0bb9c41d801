package awsapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	smithy "github.com/aws/smithy-go"
	"github.com/aws/smithy-go/traits"
)

// RESTOperation is one operation of a REST-JSON service (Lambda, Scheduler)
// as aws-sdk-go-v2's schemas describe it: its method and URI template, its
// default success status, and which input members travel in the JSON body.
// Reading these from the SDK keeps the routes the real API's.
type RESTOperation struct {
	// Name is the operation, e.g. "Invoke".
	Name string
	// Method and Status are the HTTP method and default success status.
	Method string
	Status int
	// segments of the URI path; "{Label}" and "{Label+}" (greedy) capture labels.
	segments []string
	// literalQuery are query parameters the URI template fixes (e.g. "?x-id=Foo").
	literalQuery url.Values
	// bodyMembers are the input members sent as JSON body members, sorted;
	// nil when one member is the whole payload (a blob, e.g. Invoke's).
	bodyMembers []string
	payload     bool
}

// RESTOp pairs an operation schema with its input structure schema
// (e.g. lambda's schemas.Invoke and schemas.InvocationRequest).
type RESTOp struct {
	Operation, Input *smithy.Schema
}

// RESTJSON routes and decodes the requests of one REST-JSON service.
type RESTJSON struct {
	// malformed is the service's error code for a body that is not JSON of
	// the operation's shape (Lambda: InvalidRequestContentException).
	malformed string
	ops       []*RESTOperation
}

// NewRESTJSON builds the routes of a REST-JSON service from the SDK's
// schemas. malformedCode is the code answering unparseable bodies. It panics
// if an operation schema has no HTTP binding: the pairs are constants.
func NewRESTJSON(malformedCode string, ops ...RESTOp) *RESTJSON {
	s := &RESTJSON{malformed: malformedCode}
	for _, p := range ops {
		h, ok := smithy.SchemaTrait[*traits.HTTP](p.Operation)
		if !ok {
			panic("awsapi: operation " + p.Operation.ID().Name + " has no HTTP binding")
		}
		path, query, _ := strings.Cut(h.URI, "?")
		op := &RESTOperation{Name: p.Operation.ID().Name, Method: h.Method, Status: h.Code, segments: splitPath(path)}
		if query != "" {
			op.literalQuery, _ = url.ParseQuery(query)
		}
		for name, m := range p.Input.Members() {
			if _, ok := smithy.SchemaDirectTrait[*traits.HTTPPayload](m); ok {
				op.payload = true
				continue
			}
			if bound(m) {
				continue
			}
			if jn, ok := smithy.SchemaTrait[*traits.JSONName](m); ok {
				name = jn.Name
			}
			op.bodyMembers = append(op.bodyMembers, name)
		}
		if op.payload {
			op.bodyMembers = nil
		}
		slices.Sort(op.bodyMembers)
		s.ops = append(s.ops, op)
	}
	s.sortOps()
	return s
}

// RESTRoute describes a REST-JSON operation by hand, for services whose SDK
// has no schemas (Scheduler): name, method, URI template (labels as
// "{Name}"), success status and the members its JSON body takes.
type RESTRoute struct {
	Name, Method, URI string
	Status            int
	Body              []string
}

// NewRESTJSONRoutes builds the routes of a REST-JSON service from routes.
func NewRESTJSONRoutes(malformedCode string, routes ...RESTRoute) *RESTJSON {
	s := &RESTJSON{malformed: malformedCode}
	for _, rt := range routes {
		op := &RESTOperation{Name: rt.Name, Method: rt.Method, Status: rt.Status, segments: splitPath(rt.URI),
			bodyMembers: slices.Sorted(slices.Values(rt.Body))}
		s.ops = append(s.ops, op)
	}
	s.sortOps()
	return s
}

func (s *RESTJSON) sortOps() {
	// Literal segments before labels, so /functions/{Name}/policy wins over
	// a greedy label; fixed query parameters before none.
	sort.SliceStable(s.ops, func(i, j int) bool {
		a, b := s.ops[i], s.ops[j]
		if la, lb := literals(a.segments), literals(b.segments); la != lb {
			return la > lb
		}
		return len(a.literalQuery) > len(b.literalQuery)
	})
}

// bound reports whether an input member travels outside the body.
func bound(m *smithy.Schema) bool {
	if _, ok := smithy.SchemaDirectTrait[*traits.HTTPLabel](m); ok {
		return true
	}
	if _, ok := smithy.SchemaDirectTrait[*traits.HTTPQuery](m); ok {
		return true
	}
	if _, ok := smithy.SchemaDirectTrait[*traits.HTTPHeader](m); ok {
		return true
	}
	if _, ok := smithy.SchemaDirectTrait[*traits.HTTPQueryParams](m); ok {
		return true
	}
	_, ok := smithy.SchemaDirectTrait[*traits.HTTPPrefixHeaders](m)
	return ok
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func literals(segs []string) int {
	n := 0
	for _, s := range segs {
		if !strings.HasPrefix(s, "{") {
			n++
		}
	}
	return n
}

// Operation names the operation a request is for, or "" when none matches.
func (s *RESTJSON) Operation(r *http.Request) string {
	op, _, _ := s.Match(r)
	if op == nil {
		return ""
	}
	return op.Name
}

// Match finds the operation of a request and its path labels (unescaped).
// An unmatched request gets a 404 UnknownOperationException.
func (s *RESTJSON) Match(r *http.Request) (*RESTOperation, map[string]string, error) {
	segs := splitPath(r.URL.EscapedPath())
	q := r.URL.Query()
	for _, op := range s.ops {
		if op.Method != r.Method {
			continue
		}
		labels, ok := matchSegments(op.segments, segs)
		if !ok {
			continue
		}
		if !hasQuery(q, op.literalQuery) {
			continue
		}
		return op, labels, nil
	}
	return nil, nil, Errorf(http.StatusNotFound, "UnknownOperationException", "No operation of this service is served at %s %s.", r.Method, r.URL.Path)
}

func matchSegments(tmpl, segs []string) (map[string]string, bool) {
	labels := map[string]string{}
	for i, t := range tmpl {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "+}") {
			if i >= len(segs) {
				return nil, false
			}
			v, err := url.PathUnescape(strings.Join(segs[i:], "/"))
			if err != nil {
				return nil, false
			}
			labels[t[1:len(t)-2]] = v
			return labels, true
		}
		if i >= len(segs) {
			return nil, false
		}
		if strings.HasPrefix(t, "{") {
			v, err := url.PathUnescape(segs[i])
			if err != nil || v == "" {
				return nil, false
			}
			labels[t[1:len(t)-1]] = v
			continue
		}
		if t != segs[i] {
			return nil, false
		}
	}
	return labels, len(tmpl) == len(segs)
}

func hasQuery(q, want url.Values) bool {
	for k, vs := range want {
		if !q.Has(k) || len(vs) > 0 && vs[0] != "" && q.Get(k) != vs[0] {
			return false
		}
	}
	return true
}

// RESTRequest is an authenticated REST-JSON request matched to its
// operation: the call (Action set), the operation, its path labels and body.
type RESTRequest struct {
	Call   *Call
	Op     *RESTOperation
	Labels map[string]string
	Body   []byte
}

// Read opens a REST-JSON request: it needs the router's authenticated
// call, matches the operation (setting call.Action) and reads the body. When
// one of those fails it writes the error and returns false.
func (s *RESTJSON) Read(w http.ResponseWriter, r *http.Request) (*RESTRequest, bool) {
	call := CallFrom(r.Context())
	if call == nil || call.Caller == nil {
		WriteRESTJSONError(w, call, Errorf(http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"))
		return nil, false
	}
	op, labels, err := s.Match(r)
	if err != nil {
		WriteRESTJSONError(w, call, err)
		return nil, false
	}
	call.Action = op.Name
	body, err := io.ReadAll(r.Body)
	if err != nil {
		WriteRESTJSONError(w, call, Errorf(http.StatusBadRequest, s.malformed, "read request body: %v", err))
		return nil, false
	}
	return &RESTRequest{Call: call, Op: op, Labels: labels, Body: body}, true
}

// Decode reads an operation's JSON body into v. Members the operation does
// not take are refused with the AWS CLI's message for them, as the sandbox's
// other JSON services do; a body that is not a JSON object of the right
// shape gets the service's malformed-request code. An empty body is {}.
func (s *RESTJSON) Decode(op *RESTOperation, body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return Errorf(http.StatusBadRequest, s.malformed, "Could not parse request body into json: %v", err)
	}
	if !op.payload {
		for name := range members {
			if _, found := slices.BinarySearch(op.bodyMembers, name); !found {
				return Errorf(http.StatusBadRequest, "ValidationException", "Unknown parameter in input: %q, must be one of: %s", name, strings.Join(op.bodyMembers, ", "))
			}
		}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return Errorf(http.StatusBadRequest, s.malformed, "Could not parse request body into json: %s", jsonProblem(err))
	}
	return nil
}

// jsonProblem words a decoding error without Go type names.
func jsonProblem(err error) string {
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		return fmt.Sprintf("Cannot deserialize value of type %s for field %q", te.Value, te.Field)
	}
	return err.Error()
}

// WriteRESTJSON writes a REST-JSON success: status and, unless v is nil, v
// as the JSON body.
func WriteRESTJSON(w http.ResponseWriter, call *Call, status int, v any) {
	w.Header().Set("x-amzn-RequestId", requestID(call))
	if v == nil {
		w.WriteHeader(status)
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		WriteRESTJSONError(w, call, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// WriteRESTJSONError writes err as REST-JSON services do (Lambda's shape):
// the code in X-Amzn-ErrorType, and a body {"Type": "User"|"Service",
// "message": ...} plus the error's extra Fields (e.g. TooManyRequests' Reason).
func WriteRESTJSONError(w http.ResponseWriter, call *Call, err error) {
	e := AsError(err)
	switch e.Code {
	case "AccessDenied":
		e = &Error{Status: http.StatusForbidden, Code: "AccessDeniedException", Message: e.Message}
	case "InternalFailure":
		e = &Error{Status: e.Status, Code: "ServiceException", Message: e.Message, Receiver: true}
	}
	body := map[string]string{"message": e.Message, "Type": "User"}
	if e.Status >= 500 {
		body["Type"] = "Service"
	}
	for k, v := range e.Fields {
		body[k] = v
	}
	data, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.Header().Set("x-amzn-RequestId", requestID(call))
	w.WriteHeader(e.Status)
	_, _ = w.Write(data)
}
