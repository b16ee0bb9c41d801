package logs

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// maxReadEvents is what one GetLogEvents or FilterLogEvents page holds at most
// (AWS also stops at 1 MB).
const (
	maxReadEvents = 10_000
	maxReadBytes  = 1_048_576
)

type getEventsInput struct {
	groupInput
	LogStreamName string `json:"logStreamName"`
	StartTime     *int64 `json:"startTime"`
	EndTime       *int64 `json:"endTime"`
	NextToken     string `json:"nextToken"`
	Limit         *int   `json:"limit"`
	StartFromHead *bool  `json:"startFromHead"`
	Unmask        bool   `json:"unmask"`
}

type eventOut struct {
	LogStreamName string `json:"logStreamName,omitempty"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId,omitempty"`
}

// inRange applies startTime (inclusive) and endTime (exclusive), as AWS does.
func inRange(ts int64, start, end *int64) bool {
	return (start == nil || ts >= *start) && (end == nil || ts < *end)
}

func (s *Service) getLogEvents(call *awsapi.Call, in *getEventsInput) (any, error) {
	name, err := in.groupName()
	if err != nil {
		return nil, err
	}
	if err := validateStreamName(in.LogStreamName); err != nil {
		return nil, err
	}
	limit, err := pageLimit(in.Limit, maxReadEvents, maxReadEvents)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, st, err := s.streamFor(call, "GetLogEvents", StreamARN(call.Caller.Account, call.Region, name, in.LogStreamName), name, in.LogStreamName)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var events []storedEvent
	for _, e := range st.events {
		if inRange(e.timestamp, in.StartTime, in.EndTime) && !g.expired(e, now) {
			events = append(events, e)
		}
	}
	// A page is events[from:to]. Without a token it is the head or, by
	// default, the tail; "f/N" pages forward from N, "b/N" backward to N.
	var from, to int
	fromHead := in.StartFromHead != nil && *in.StartFromHead
	switch {
	case in.NextToken == "":
		if fromHead {
			from, to = 0, min(limit, len(events))
		} else {
			from, to = max(len(events)-limit, 0), len(events)
		}
	default:
		dir, pos, ok := parseStreamToken(in.NextToken)
		if !ok {
			return nil, invalidParam("The specified nextToken is invalid.")
		}
		pos = min(pos, len(events))
		if dir == 'f' {
			from, to = pos, min(pos+limit, len(events))
		} else {
			from, to = max(pos-limit, 0), pos
		}
	}
	out := struct {
		Events            []eventOut `json:"events"`
		NextForwardToken  string     `json:"nextForwardToken"`
		NextBackwardToken string     `json:"nextBackwardToken"`
	}{Events: []eventOut{}}
	size := 0
	for i := from; i < to; i++ {
		e := events[i]
		size += len(e.message) + eventOverhead
		if size > maxReadBytes {
			to = i
			break
		}
		out.Events = append(out.Events, eventOut{Timestamp: e.timestamp, Message: e.message, IngestionTime: e.ingestion})
	}
	out.NextForwardToken = "f/" + strconv.Itoa(to)
	out.NextBackwardToken = "b/" + strconv.Itoa(from)
	return out, nil
}

func parseStreamToken(tok string) (dir byte, pos int, ok bool) {
	if len(tok) < 3 || tok[1] != '/' || tok[0] != 'f' && tok[0] != 'b' {
		return 0, 0, false
	}
	n, err := strconv.Atoi(tok[2:])
	if err != nil || n < 0 {
		return 0, 0, false
	}
	return tok[0], n, true
}

type filterInput struct {
	groupInput
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix string   `json:"logStreamNamePrefix"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	FilterPattern       string   `json:"filterPattern"`
	NextToken           string   `json:"nextToken"`
	Limit               *int     `json:"limit"`
	Interleaved         *bool    `json:"interleaved"`
	Unmask              bool     `json:"unmask"`
}

type filterOutput struct {
	Events    []eventOut `json:"events"`
	NextToken string     `json:"nextToken,omitempty"`
}

type filteredEvent struct {
	stream string
	storedEvent
}

func (s *Service) filterLogEvents(call *awsapi.Call, in *filterInput) (any, error) {
	name, err := in.groupName()
	if err != nil {
		return nil, err
	}
	limit, err := pageLimit(in.Limit, maxReadEvents, maxReadEvents)
	if err != nil {
		return nil, err
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != "" {
		return nil, invalidParam("You cannot specify both LogStreamNames and LogStreamNamePrefix.")
	}
	if len(in.LogStreamNames) > 100 {
		return nil, invalidParam("1 validation error detected: Value at 'logStreamNames' failed to satisfy constraint: Member must have length less than or equal to 100")
	}
	match, err := compilePattern(in.FilterPattern)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.groupFor(call, "FilterLogEvents", GroupARN(call.Caller.Account, call.Region, name), name)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var events []filteredEvent
	for _, st := range g.streams {
		if len(in.LogStreamNames) > 0 && !slices.Contains(in.LogStreamNames, st.name) || !strings.HasPrefix(st.name, in.LogStreamNamePrefix) {
			continue
		}
		for _, e := range st.events {
			if inRange(e.timestamp, in.StartTime, in.EndTime) && !g.expired(e, now) && match(e.message) {
				events = append(events, filteredEvent{st.name, e})
			}
		}
	}
	slices.SortFunc(events, func(a, b filteredEvent) int {
		if a.timestamp != b.timestamp {
			return int(a.timestamp - b.timestamp)
		}
		return int(a.id - b.id)
	})
	// The token names the last event returned, so a resumed filter skips what
	// it has already seen.
	start := 0
	if in.NextToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		last, perr := strconv.ParseInt(strings.TrimPrefix(string(raw), "e:"), 10, 64)
		if err != nil || perr != nil || !strings.HasPrefix(string(raw), "e:") {
			return nil, invalidParam("The specified nextToken is invalid.")
		}
		for start < len(events) && events[start].id != last {
			start++
		}
		start = min(start+1, len(events))
	}
	out := filterOutput{Events: []eventOut{}}
	end, size := start, 0
	for ; end < len(events) && end-start < limit; end++ {
		e := events[end]
		if size += len(e.message) + eventOverhead; size > maxReadBytes {
			break
		}
		out.Events = append(out.Events, eventOut{LogStreamName: e.stream, Timestamp: e.timestamp, Message: e.message, IngestionTime: e.ingestion, EventID: fmt.Sprintf("%056d", e.id)})
	}
	if end < len(events) && end > start {
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte("e:" + strconv.FormatInt(events[end-1].id, 10)))
	}
	return out, nil
}

// compilePattern compiles a CloudWatch Logs filter pattern for unstructured
// text: terms that must all appear (case-sensitive), "quoted phrases", -terms
// that must not appear, and ?terms of which at least one must appear. JSON
// ({ $.x = ... }) and space-delimited ([a, b]) patterns are refused.
func compilePattern(p string) (func(string) bool, error) {
	p = strings.TrimSpace(p)
	if p == "" {
		return func(string) bool { return true }, nil
	}
	if strings.HasPrefix(p, "{") || strings.HasPrefix(p, "[") {
		return nil, invalidParam("Invalid filter pattern: the sandbox's CloudWatch Logs supports only term patterns (terms, \"phrases\", ?any, -not), not %q", p)
	}
	var all, none, anyOf []string
	for p != "" {
		kind := byte(0)
		if p[0] == '?' || p[0] == '-' {
			kind, p = p[0], p[1:]
		}
		var term string
		if strings.HasPrefix(p, `"`) {
			end := strings.Index(p[1:], `"`)
			if end < 0 {
				return nil, invalidParam("Invalid filter pattern: unterminated quote in %q", p)
			}
			term, p = p[1:end+1], p[end+2:]
		} else {
			term, p, _ = strings.Cut(p, " ")
		}
		p = strings.TrimSpace(p)
		if term == "" {
			continue
		}
		switch kind {
		case '?':
			anyOf = append(anyOf, term)
		case '-':
			none = append(none, term)
		default:
			all = append(all, term)
		}
	}
	return func(msg string) bool {
		for _, t := range all {
			if !strings.Contains(msg, t) {
				return false
			}
		}
		for _, t := range none {
			if strings.Contains(msg, t) {
				return false
			}
		}
		if len(anyOf) == 0 {
			return true
		}
		for _, t := range anyOf {
			if strings.Contains(msg, t) {
				return true
			}
		}
		return false
	}, nil
}
