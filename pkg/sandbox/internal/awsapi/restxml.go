package awsapi

import (
	"encoding/xml"
	"net/http"
	"sort"
)

// WriteXML writes a REST/XML success body (S3) with the given status.
// v must marshal to the operation's root element (e.g. ListBucketResult).
func WriteXML(w http.ResponseWriter, call *Call, status int, v any) {
	data, err := xml.Marshal(v)
	if err != nil {
		WriteRESTError(w, call, err)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-amz-request-id", requestID(call))
	w.WriteHeader(status)
	_, _ = w.Write(append([]byte(xml.Header), data...))
}

// WriteRESTError writes err as S3's <Error> document. HEAD requests get the
// status code only, as S3 sends no body for them.
func WriteRESTError(w http.ResponseWriter, call *Call, err error) {
	e := AsError(err)
	if e.Code == "InternalFailure" {
		e.Code = "InternalError"
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-amz-request-id", requestID(call))
	w.WriteHeader(e.Status)
	if call != nil && call.Action == "HeadObject" || call != nil && call.Action == "HeadBucket" {
		return
	}
	type field struct {
		XMLName xml.Name
		Value   string `xml:",chardata"`
	}
	body := struct {
		XMLName   xml.Name `xml:"Error"`
		Code      string
		Message   string
		Fields    []field
		RequestID string `xml:"RequestId"`
	}{Code: e.Code, Message: e.Message, RequestID: requestID(call)}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		body.Fields = append(body.Fields, field{XMLName: xml.Name{Local: k}, Value: e.Fields[k]})
	}
	data, _ := xml.Marshal(body)
	_, _ = w.Write(append([]byte(xml.Header), data...))
}
