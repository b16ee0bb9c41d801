package logs

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// ServeHTTP serves one authenticated JSON 1.1 request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	awsapi.ServeJSONActions(Descriptor, w, r, s, handlers)
}

type handler = awsapi.JSONAction[*Service]

var handlers = map[string]handler{
	"CreateLogGroup":        awsapi.Decoded((*Service).createLogGroup),
	"DeleteLogGroup":        awsapi.Decoded((*Service).deleteLogGroup),
	"PutRetentionPolicy":    awsapi.Decoded((*Service).putRetentionPolicy),
	"DeleteRetentionPolicy": awsapi.Decoded((*Service).deleteRetentionPolicy),
	"DescribeLogGroups":     awsapi.Decoded((*Service).describeLogGroups),
	"CreateLogStream":       awsapi.Decoded((*Service).createLogStream),
	"DescribeLogStreams":    awsapi.Decoded((*Service).describeLogStreams),
	"PutLogEvents":          awsapi.Decoded((*Service).putLogEvents),
	"GetLogEvents":          awsapi.Decoded((*Service).getLogEvents),
	"FilterLogEvents":       awsapi.Decoded((*Service).filterLogEvents),
}

func (s *Service) authorize(call *awsapi.Call, action, arn string) error {
	if s.authz == nil {
		return nil
	}
	return s.authz.Authorize(call, "logs:"+action, awsapi.Resource{ARN: arn, Account: call.Caller.Account}, nil)
}

// groupFor authorizes logs:<action> on arn and finds one of the caller's
// log groups. s.mu must be held.
func (s *Service) groupFor(call *awsapi.Call, action, arn, name string) (*group, error) {
	if err := s.authorize(call, action, arn); err != nil {
		return nil, err
	}
	return s.groupLocked(call, name)
}

// streamFor authorizes logs:<action> on arn and finds a stream of one of the
// caller's log groups. s.mu must be held.
func (s *Service) streamFor(call *awsapi.Call, action, arn, groupName, streamName string) (*group, *stream, error) {
	if err := s.authorize(call, action, arn); err != nil {
		return nil, nil, err
	}
	return s.streamLocked(call, groupName, streamName)
}

// groupLocked finds one of the caller's log groups. s.mu must be held.
func (s *Service) groupLocked(call *awsapi.Call, name string) (*group, error) {
	g := s.groups[groupKey{call.Caller.Account, call.Region, name}]
	if g == nil {
		return nil, groupNotFound()
	}
	return g, nil
}

// streamLocked finds a stream of one of the caller's log groups. s.mu must be held.
func (s *Service) streamLocked(call *awsapi.Call, groupName, streamName string) (*group, *stream, error) {
	g, err := s.groupLocked(call, groupName)
	if err != nil {
		return nil, nil, err
	}
	st := g.streams[streamName]
	if st == nil {
		return nil, nil, streamNotFound()
	}
	return g, st, nil
}

// validateNames checks a log group and stream name pair.
func validateNames(groupName, streamName string) error {
	if err := validateGroupName(groupName); err != nil {
		return err
	}
	return validateStreamName(streamName)
}

type groupInput struct {
	LogGroupName       string            `json:"logGroupName"`
	KmsKeyID           string            `json:"kmsKeyId"`
	Tags               map[string]string `json:"tags"`
	LogGroupClass      string            `json:"logGroupClass"`
	RetentionInDays    *int              `json:"retentionInDays"`
	LogGroupIdentifier string            `json:"logGroupIdentifier"`
}

// groupName resolves logGroupName or logGroupIdentifier (a name or an ARN of
// the caller's account).
func (in *groupInput) groupName() (string, error) {
	switch {
	case in.LogGroupName != "" && in.LogGroupIdentifier != "":
		return "", invalidParam("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case in.LogGroupIdentifier != "":
		id := strings.TrimSuffix(in.LogGroupIdentifier, ":*")
		if strings.HasPrefix(id, "arn:") {
			_, name, ok := strings.Cut(id, ":log-group:")
			if !ok {
				return "", invalidParam("Invalid log group identifier: %s", in.LogGroupIdentifier)
			}
			return name, nil
		}
		return id, nil
	}
	return in.LogGroupName, validateGroupName(in.LogGroupName)
}

func (s *Service) createLogGroup(call *awsapi.Call, in *groupInput) (any, error) {
	if err := validateGroupName(in.LogGroupName); err != nil {
		return nil, err
	}
	if err := s.authorize(call, "CreateLogGroup", GroupARN(call.Caller.Account, call.Region, in.LogGroupName)); err != nil {
		return nil, err
	}
	return struct{}{}, s.CreateGroupFor(call.Caller.Account, call.Region, in.LogGroupName, GroupSettings{KMSKeyID: in.KmsKeyID, Class: in.LogGroupClass, Tags: in.Tags})
}

func (s *Service) deleteLogGroup(call *awsapi.Call, in *groupInput) (any, error) {
	if err := validateGroupName(in.LogGroupName); err != nil {
		return nil, err
	}
	if err := s.authorize(call, "DeleteLogGroup", GroupARN(call.Caller.Account, call.Region, in.LogGroupName)); err != nil {
		return nil, err
	}
	return struct{}{}, s.DeleteGroupFor(call.Caller.Account, call.Region, in.LogGroupName)
}

func (s *Service) putRetentionPolicy(call *awsapi.Call, in *groupInput) (any, error) {
	return s.setRetention(call, in, "PutRetentionPolicy")
}

func (s *Service) deleteRetentionPolicy(call *awsapi.Call, in *groupInput) (any, error) {
	return s.setRetention(call, in, "DeleteRetentionPolicy")
}

func (s *Service) setRetention(call *awsapi.Call, in *groupInput, action string) (any, error) {
	if err := validateGroupName(in.LogGroupName); err != nil {
		return nil, err
	}
	days := 0
	if action == "PutRetentionPolicy" {
		if in.RetentionInDays == nil {
			return nil, invalidParam("1 validation error detected: Value null at 'retentionInDays' failed to satisfy constraint: Member must not be null")
		}
		days = *in.RetentionInDays
		if err := validateRetention(days); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.groupFor(call, action, GroupARN(call.Caller.Account, call.Region, in.LogGroupName), in.LogGroupName)
	if err != nil {
		return nil, err
	}
	g.retention = days
	return struct{}{}, nil
}

type describeGroupsInput struct {
	LogGroupNamePrefix    string `json:"logGroupNamePrefix"`
	LogGroupNamePattern   string `json:"logGroupNamePattern"`
	NextToken             string `json:"nextToken"`
	Limit                 *int   `json:"limit"`
	LogGroupClass         string `json:"logGroupClass"`
	IncludeLinkedAccounts bool   `json:"includeLinkedAccounts"`
}

type groupOut struct {
	LogGroupName      string `json:"logGroupName"`
	CreationTime      int64  `json:"creationTime"`
	RetentionInDays   int    `json:"retentionInDays,omitempty"`
	MetricFilterCount int    `json:"metricFilterCount"`
	Arn               string `json:"arn"`
	LogGroupArn       string `json:"logGroupArn"`
	StoredBytes       int64  `json:"storedBytes"`
	KmsKeyID          string `json:"kmsKeyId,omitempty"`
	LogGroupClass     string `json:"logGroupClass"`
}

func (s *Service) describeLogGroups(call *awsapi.Call, in *describeGroupsInput) (any, error) {
	limit, err := pageLimit(in.Limit, 50, 50)
	if err != nil {
		return nil, err
	}
	if in.LogGroupNamePrefix != "" && in.LogGroupNamePattern != "" {
		return nil, invalidParam("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	if err := s.authorize(call, "DescribeLogGroups", GroupARN(call.Caller.Account, call.Region, "*")); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for k, g := range s.groups {
		if k.account != call.Caller.Account || k.region != call.Region {
			continue
		}
		if !strings.HasPrefix(g.name, in.LogGroupNamePrefix) || !strings.Contains(strings.ToLower(g.name), strings.ToLower(in.LogGroupNamePattern)) {
			continue
		}
		if in.LogGroupClass != "" && g.class != in.LogGroupClass {
			continue
		}
		names = append(names, k.name)
	}
	slices.Sort(names)
	page, next, ok := awsapi.Paginate(names, limit, in.NextToken, "DescribeLogGroups")
	if !ok {
		return nil, invalidParam("The specified nextToken is invalid.")
	}
	out := struct {
		LogGroups []groupOut `json:"logGroups"`
		NextToken string     `json:"nextToken,omitempty"`
	}{LogGroups: []groupOut{}, NextToken: next}
	for _, name := range page {
		g := s.groups[groupKey{call.Caller.Account, call.Region, name}]
		out.LogGroups = append(out.LogGroups, groupOut{LogGroupName: g.name, CreationTime: g.created.UnixMilli(), RetentionInDays: g.retention,
			Arn: g.arn + ":*", LogGroupArn: g.arn, StoredBytes: g.storedBytes(), KmsKeyID: g.kmsKeyID, LogGroupClass: g.class})
	}
	return out, nil
}

func (g *group) storedBytes() int64 {
	var n int64
	for _, st := range g.streams {
		for _, e := range st.events {
			n += int64(len(e.message)) + 26 // AWS counts an overhead per event
		}
	}
	return n
}

// pageLimit checks an optional limit against 1..max.
func pageLimit(limit *int, def, max int) (int, error) {
	if limit == nil {
		return def, nil
	}
	if *limit < 1 || *limit > max {
		return 0, invalidParam("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and %d", *limit, max)
	}
	return *limit, nil
}

type streamInput struct {
	groupInput
	LogStreamName       string `json:"logStreamName"`
	LogStreamNamePrefix string `json:"logStreamNamePrefix"`
	OrderBy             string `json:"orderBy"`
	Descending          bool   `json:"descending"`
	NextToken           string `json:"nextToken"`
	Limit               *int   `json:"limit"`
}

func (s *Service) createLogStream(call *awsapi.Call, in *streamInput) (any, error) {
	if err := validateNames(in.LogGroupName, in.LogStreamName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.groupFor(call, "CreateLogStream", StreamARN(call.Caller.Account, call.Region, in.LogGroupName, in.LogStreamName), in.LogGroupName)
	if err != nil {
		return nil, err
	}
	if g.streams[in.LogStreamName] != nil {
		return nil, awsapi.Errorf(http.StatusBadRequest, "ResourceAlreadyExistsException", "The specified log stream already exists")
	}
	g.streams[in.LogStreamName] = &stream{name: in.LogStreamName, created: s.now()}
	return struct{}{}, nil
}

type streamOut struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp int64  `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  int64  `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   int64  `json:"lastIngestionTime,omitempty"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

func (s *Service) describeLogStreams(call *awsapi.Call, in *streamInput) (any, error) {
	name, err := in.groupName()
	if err != nil {
		return nil, err
	}
	limit, err := pageLimit(in.Limit, 50, 50)
	if err != nil {
		return nil, err
	}
	switch in.OrderBy {
	case "", "LogStreamName":
	case "LastEventTime":
		if in.LogStreamNamePrefix != "" {
			return nil, invalidParam("Cannot order by LastEventTime with a logStreamNamePrefix.")
		}
	default:
		return nil, invalidParam("1 validation error detected: Value '%s' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LastEventTime, LogStreamName]", in.OrderBy)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.groupFor(call, "DescribeLogStreams", StreamARN(call.Caller.Account, call.Region, name, "*"), name)
	if err != nil {
		return nil, err
	}
	var list []*stream
	for _, st := range g.streams {
		if strings.HasPrefix(st.name, in.LogStreamNamePrefix) {
			list = append(list, st)
		}
	}
	slices.SortFunc(list, func(a, b *stream) int {
		if in.OrderBy == "LastEventTime" {
			if c := a.lastEvent() - b.lastEvent(); c != 0 {
				return int(c)
			}
		}
		return strings.Compare(a.name, b.name)
	})
	if in.Descending {
		slices.Reverse(list)
	}
	start := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(in.NextToken, "s/"))
		if err != nil || !strings.HasPrefix(in.NextToken, "s/") || n < 0 {
			return nil, invalidParam("The specified nextToken is invalid.")
		}
		start = min(n, len(list))
	}
	end := min(start+limit, len(list))
	out := struct {
		LogStreams []streamOut `json:"logStreams"`
		NextToken  string      `json:"nextToken,omitempty"`
	}{LogStreams: []streamOut{}}
	for _, st := range list[start:end] {
		o := streamOut{LogStreamName: st.name, CreationTime: st.created.UnixMilli(), Arn: StreamARN(call.Caller.Account, call.Region, g.name, st.name)}
		if n := len(st.events); n > 0 {
			o.FirstEventTimestamp, o.LastEventTimestamp = st.events[0].timestamp, st.events[n-1].timestamp
			o.LastIngestionTime = st.lastIngest.UnixMilli()
		}
		out.LogStreams = append(out.LogStreams, o)
	}
	if end < len(list) {
		out.NextToken = "s/" + strconv.Itoa(end)
	}
	return out, nil
}

func (st *stream) lastEvent() int64 {
	if len(st.events) == 0 {
		return 0
	}
	return st.events[len(st.events)-1].timestamp
}

type putEventsInput struct {
	LogGroupName  string `json:"logGroupName"`
	LogStreamName string `json:"logStreamName"`
	LogEvents     []struct {
		Timestamp *int64  `json:"timestamp"`
		Message   *string `json:"message"`
	} `json:"logEvents"`
	SequenceToken string `json:"sequenceToken"`
}

// Limits of PutLogEvents.
const (
	maxBatchEvents = 10_000
	maxBatchBytes  = 1_048_576
	eventOverhead  = 26
)

func (s *Service) putLogEvents(call *awsapi.Call, in *putEventsInput) (any, error) {
	if err := validateNames(in.LogGroupName, in.LogStreamName); err != nil {
		return nil, err
	}
	if len(in.LogEvents) < 1 || len(in.LogEvents) > maxBatchEvents {
		return nil, invalidParam("1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length between 1 and %d", maxBatchEvents)
	}
	size := 0
	events := make([]Event, 0, len(in.LogEvents))
	var prev int64
	for i, e := range in.LogEvents {
		if e.Timestamp == nil || e.Message == nil {
			return nil, invalidParam("1 validation error detected: Value null at 'logEvents.%d.member.%s' failed to satisfy constraint: Member must not be null", i+1, map[bool]string{true: "timestamp", false: "message"}[e.Timestamp == nil])
		}
		if *e.Timestamp < prev {
			return nil, invalidParam("Log events in a single PutLogEvents request must be in chronological order.")
		}
		prev = *e.Timestamp
		size += len(*e.Message) + eventOverhead
		events = append(events, Event{Time: time.UnixMilli(*e.Timestamp), Message: *e.Message})
	}
	if size > maxBatchBytes {
		return nil, invalidParam("Upload too large: %d bytes exceeds limit of %d", size, maxBatchBytes)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, st, err := s.streamFor(call, "PutLogEvents", StreamARN(call.Caller.Account, call.Region, in.LogGroupName, in.LogStreamName), in.LogGroupName, in.LogStreamName)
	if err != nil {
		return nil, err
	}
	// Events more than 14 days old or 2 hours ahead are rejected, not stored.
	now := s.now()
	var keep []Event
	rejected := map[string]int{}
	for i, e := range events {
		switch {
		case e.Time.Before(now.Add(-14 * 24 * time.Hour)):
			rejected["tooOldLogEventEndIndex"] = i + 1
		case e.Time.After(now.Add(2 * time.Hour)):
			if _, ok := rejected["tooNewLogEventStartIndex"]; !ok {
				rejected["tooNewLogEventStartIndex"] = i
			}
		default:
			keep = append(keep, e)
		}
	}
	s.appendLocked(st, keep)
	out := map[string]any{"nextSequenceToken": strconv.FormatInt(s.nextID, 10)}
	if len(rejected) > 0 {
		out["rejectedLogEventsInfo"] = rejected
	}
	return out, nil
}
