// Package events is the sandbox's EventBridge: PutEvents over JSON 1.1, with
// every accepted entry recorded for tests to read.
package events

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// Entry is one accepted event.
type Entry struct {
	EventID      string
	Account      string
	Region       string
	EventBusName string
	Source       string
	DetailType   string
	Detail       string
	Resources    []string
	Time         time.Time
}

// Service is the EventBridge API; it implements http.Handler.
type Service struct {
	authz awsapi.Authorizer
	now   func() time.Time

	mu      sync.Mutex
	entries []Entry
}

// New returns an event bus recorder authorizing calls with authz.
func New(authz awsapi.Authorizer) *Service {
	return &Service{authz: authz, now: time.Now}
}

// Entries returns the accepted events in arrival order.
func (s *Service) Entries() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Entry(nil), s.entries...)
}

type putEventsInput struct {
	Entries []struct {
		Source       string
		DetailType   string
		Detail       string
		Resources    []string
		EventBusName string
		Time         *float64
	}
}

type resultEntry struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:",omitempty"`
	ErrorMessage string `json:",omitempty"`
}

// ServeHTTP serves one authenticated JSON 1.1 request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := awsapi.CallFrom(r.Context())
	if call == nil || call.Caller == nil {
		awsapi.WriteJSONError(w, call, awsapi.Errorf(http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"))
		return
	}
	if call.Action != "PutEvents" {
		awsapi.WriteJSONError(w, call, awsapi.Errorf(http.StatusBadRequest, "UnknownOperationException", "The sandbox's EventBridge does not support the operation %s.", call.Action))
		return
	}
	var in putEventsInput
	if err := awsapi.DecodeJSON(r, &in); err != nil {
		awsapi.WriteJSONError(w, call, err)
		return
	}
	out, err := s.putEvents(call, in)
	if err != nil {
		awsapi.WriteJSONError(w, call, err)
		return
	}
	awsapi.WriteJSON(w, call, out)
}

func (s *Service) putEvents(call *awsapi.Call, in putEventsInput) (any, error) {
	if len(in.Entries) < 1 || len(in.Entries) > 10 {
		return nil, awsapi.Errorf(http.StatusBadRequest, "ValidationException", "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1")
	}
	buses := map[string]bool{}
	for _, e := range in.Entries {
		buses[busName(e.EventBusName)] = true
	}
	for bus := range buses {
		arn := fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", call.Region, call.Caller.Account, bus)
		if strings.HasPrefix(bus, "arn:") {
			arn = bus
		}
		if s.authz != nil {
			if err := s.authz.Authorize(call, "events:PutEvents", awsapi.Resource{ARN: arn, Account: call.Caller.Account}, nil); err != nil {
				return nil, err
			}
		}
	}
	results := make([]resultEntry, 0, len(in.Entries))
	failed := 0
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range in.Entries {
		code, msg := validate(e.Source, e.DetailType, e.Detail)
		if code != "" {
			failed++
			results = append(results, resultEntry{ErrorCode: code, ErrorMessage: msg})
			continue
		}
		t := s.now().UTC()
		if e.Time != nil {
			t = time.UnixMilli(int64(*e.Time * 1000)).UTC()
		}
		entry := Entry{
			EventID: newEventID(), Account: call.Caller.Account, Region: call.Region, EventBusName: busName(e.EventBusName),
			Source: e.Source, DetailType: e.DetailType, Detail: e.Detail, Resources: e.Resources, Time: t,
		}
		s.entries = append(s.entries, entry)
		results = append(results, resultEntry{EventID: entry.EventID})
	}
	return map[string]any{"FailedEntryCount": failed, "Entries": results}, nil
}

func busName(name string) string {
	if name == "" {
		return "default"
	}
	return name
}

// validate checks one entry as EventBridge does, per entry rather than for the call.
func validate(source, detailType, detail string) (code, msg string) {
	switch {
	case source == "":
		return "InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."
	case detailType == "":
		return "InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."
	case detail == "":
		return "InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(detail), &obj); err != nil {
		return "MalformedDetail", "Detail is malformed."
	}
	return "", ""
}

func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
