package awsapi

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Form reads the parameters of a Query-protocol request (form-encoded body).
type Form url.Values

// Get returns the value of key, or "".
func (f Form) Get(key string) string { return url.Values(f).Get(key) }

// Has reports whether key was sent (possibly empty).
func (f Form) Has(key string) bool { return url.Values(f).Has(key) }

// List returns the values of a Query list: prefix.member.1, prefix.member.2, ...
// in index order.
func (f Form) List(prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		k := prefix + ".member." + strconv.Itoa(i)
		if !f.Has(k) {
			return out
		}
		out = append(out, f.Get(k))
	}
}

// Structs returns the members of a Query list of structures:
// prefix.member.N.Field=value becomes one map per N, in index order.
func (f Form) Structs(prefix string) []map[string]string {
	byIndex := map[int]map[string]string{}
	p := prefix + ".member."
	for k, v := range f {
		if !strings.HasPrefix(k, p) || len(v) == 0 {
			continue
		}
		idx, field, ok := strings.Cut(k[len(p):], ".")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(idx)
		if err != nil || n < 1 {
			continue
		}
		if byIndex[n] == nil {
			byIndex[n] = map[string]string{}
		}
		byIndex[n][field] = v[0]
	}
	idxs := make([]int, 0, len(byIndex))
	for n := range byIndex {
		idxs = append(idxs, n)
	}
	sort.Ints(idxs)
	out := make([]map[string]string, 0, len(idxs))
	for _, n := range idxs {
		out = append(out, byIndex[n])
	}
	return out
}

// WriteQueryResult writes a Query-protocol success response:
// <{action}Response xmlns=ns><{action}Result>result</{action}Result><ResponseMetadata>...
// result is marshalled with encoding/xml as the content of the Result element; nil
// writes an empty response without a Result element (as AWS does for e.g. DeleteStack).
func WriteQueryResult(w http.ResponseWriter, call *Call, namespace string, result any) {
	var b strings.Builder
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	resp := xml.StartElement{Name: xml.Name{Local: call.Action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: namespace}}}
	_ = enc.EncodeToken(resp)
	if result != nil {
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: call.Action + "Result"}}); err != nil {
			WriteQueryError(w, call, namespace, err)
			return
		}
	}
	_ = enc.EncodeElement(struct {
		RequestID string `xml:"RequestId"`
	}{call.RequestID}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}})
	_ = enc.EncodeToken(resp.End())
	_ = enc.Flush()
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", call.RequestID)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(b.String()))
}

type queryErrorBody struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	Error   struct {
		Type    string
		Code    string
		Message string
	}
	RequestID string `xml:"RequestId"`
}

// WriteQueryError writes err as a Query-protocol <ErrorResponse>.
func WriteQueryError(w http.ResponseWriter, call *Call, namespace string, err error) {
	e := AsError(err)
	var body queryErrorBody
	body.Xmlns = namespace
	body.Error.Type = "Sender"
	if e.Receiver {
		body.Error.Type = "Receiver"
	}
	body.Error.Code = e.Code
	body.Error.Message = e.Message
	body.RequestID = requestID(call)
	out, _ := xml.Marshal(body)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", body.RequestID)
	w.WriteHeader(e.Status)
	_, _ = w.Write(append([]byte(xml.Header), out...))
}

func requestID(call *Call) string {
	if call == nil {
		return ""
	}
	return call.RequestID
}

// QueryHandler answers one Query action.
type QueryHandler func(call *Call, form Form) (any, error)

// ServeQuery answers a Query-protocol request: it reads the form (the body,
// at most maxBody bytes, then the URL), requires an authenticated caller,
// finds the action's handler with lookup, and writes its result or error.
// version is the API version AWS names when an action is unknown.
func ServeQuery(w http.ResponseWriter, r *http.Request, namespace, version string, maxBody int64, lookup func(action string) (QueryHandler, bool)) {
	call := CallFrom(r.Context())
	if call == nil {
		call = &Call{}
	}
	form, err := readForm(r, maxBody)
	if err != nil {
		WriteQueryError(w, call, namespace, err)
		return
	}
	if call.Action == "" {
		call.Action = form.Get("Action")
	}
	if call.Caller == nil {
		WriteQueryError(w, call, namespace, Errorf(http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token"))
		return
	}
	handle, ok := lookup(call.Action)
	if !ok {
		WriteQueryError(w, call, namespace, Errorf(http.StatusBadRequest, "InvalidAction", "Could not find operation %s for version %s", call.Action, version))
		return
	}
	result, err := handle(call, form)
	if err != nil {
		WriteQueryError(w, call, namespace, err)
		return
	}
	WriteQueryResult(w, call, namespace, result)
}

// readForm reads Query parameters from the form body and the URL; the body wins.
func readForm(r *http.Request, maxBody int64) (Form, error) {
	values := url.Values{}
	if r.Body != nil {
		data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			return nil, Errorf(http.StatusBadRequest, "MalformedQueryString", "read request body: %v", err)
		}
		if int64(len(data)) > maxBody {
			return nil, Errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Request body must be less than %d bytes", maxBody)
		}
		if values, err = url.ParseQuery(string(data)); err != nil {
			return nil, Errorf(http.StatusBadRequest, "MalformedQueryString", "The request body is not a valid form: %v", err)
		}
	}
	for k, v := range r.URL.Query() {
		if _, ok := values[k]; !ok {
			values[k] = v
		}
	}
	return Form(values), nil
}
