// Package logs is the sandbox's CloudWatch Logs: log groups with retention,
// log streams and their events, per account and region, over JSON 1.1
// (CreateLogGroup, DeleteLogGroup, PutRetentionPolicy, DeleteRetentionPolicy,
// DescribeLogGroups, CreateLogStream, DescribeLogStreams, PutLogEvents,
// GetLogEvents, FilterLogEvents), and the Go methods Lambda and
// CloudFormation use to write to it.
package logs

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// RetentionDays are the values PutRetentionPolicy accepts.
var RetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// maxStreamEvents bounds what one stream keeps; the oldest events go first.
// AWS keeps everything within retention; the sandbox lives in memory.
const maxStreamEvents = 100_000

// Event is one log event as a writer gives it.
type Event struct {
	Time    time.Time
	Message string
}

// Service is the CloudWatch Logs API; it implements http.Handler.
type Service struct {
	authz awsapi.Authorizer
	now   func() time.Time

	mu     sync.Mutex
	groups map[groupKey]*group
	nextID int64
}

type groupKey struct{ account, region, name string }

type group struct {
	name      string
	arn       string // without the ":*" DescribeLogGroups appends
	created   time.Time
	retention int // days; 0 = never expire
	kmsKeyID  string
	class     string
	tags      map[string]string
	streams   map[string]*stream
}

type stream struct {
	name       string
	created    time.Time
	events     []storedEvent // by timestamp
	lastIngest time.Time
}

type storedEvent struct {
	id        int64
	timestamp int64 // ms
	ingestion int64 // ms
	message   string
}

// New returns a Logs service with no log groups, authorizing API calls with authz.
func New(authz awsapi.Authorizer, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{authz: authz, now: now, groups: map[groupKey]*group{}}
}

var groupNamePattern = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]+$`)

// validateGroupName applies CloudWatch Logs' naming rule.
func validateGroupName(name string) error {
	switch {
	case name == "":
		return invalidParam("1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null")
	case len(name) > 512:
		return invalidParam("1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: Member must have length less than or equal to 512", name)
	case !groupNamePattern.MatchString(name):
		return invalidParam("1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+", name)
	}
	return nil
}

func validateStreamName(name string) error {
	switch {
	case name == "":
		return invalidParam("1 validation error detected: Value null at 'logStreamName' failed to satisfy constraint: Member must not be null")
	case len(name) > 512:
		return invalidParam("1 validation error detected: Value '%s' at 'logStreamName' failed to satisfy constraint: Member must have length less than or equal to 512", name)
	case strings.ContainsAny(name, ":*"):
		return invalidParam("1 validation error detected: Value '%s' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*", name)
	}
	return nil
}

func validateRetention(days int) error {
	if !slices.Contains(RetentionDays, days) {
		list := make([]string, len(RetentionDays))
		for i, d := range RetentionDays {
			list[i] = fmt.Sprint(d)
		}
		return invalidParam("1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [%s]", days, strings.Join(list, ", "))
	}
	return nil
}

func invalidParam(format string, args ...any) error {
	return awsapi.Errorf(http.StatusBadRequest, "InvalidParameterException", format, args...)
}

func groupNotFound() error {
	return awsapi.Errorf(http.StatusBadRequest, "ResourceNotFoundException", "The specified log group does not exist.")
}

func streamNotFound() error {
	return awsapi.Errorf(http.StatusBadRequest, "ResourceNotFoundException", "The specified log stream does not exist.")
}

// GroupARN is a log group's ARN as IAM policies name it.
func GroupARN(account, region, name string) string {
	return "arn:aws:logs:" + region + ":" + account + ":log-group:" + name
}

// StreamARN is a log stream's ARN.
func StreamARN(account, region, group, stream string) string {
	return GroupARN(account, region, group) + ":log-stream:" + stream
}

// GroupSettings are what CloudFormation sets on a log group.
type GroupSettings struct {
	RetentionInDays int // 0 = never expire
	KMSKeyID        string
	Class           string // STANDARD (default), INFREQUENT_ACCESS, DELIVERY
	Tags            map[string]string
}

// CreateGroupFor creates a log group (as AWS::Logs::LogGroup does).
func (s *Service) CreateGroupFor(account, region, name string, set GroupSettings) error {
	if err := validateGroupName(name); err != nil {
		return err
	}
	if err := validateSettings(&set); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := groupKey{account, region, name}
	if s.groups[k] != nil {
		return awsapi.Errorf(http.StatusBadRequest, "ResourceAlreadyExistsException", "The specified log group already exists")
	}
	s.groups[k] = &group{name: name, arn: GroupARN(account, region, name), created: s.now(), retention: set.RetentionInDays,
		kmsKeyID: set.KMSKeyID, class: set.Class, tags: set.Tags, streams: map[string]*stream{}}
	return nil
}

func validateSettings(set *GroupSettings) error {
	if set.RetentionInDays != 0 {
		if err := validateRetention(set.RetentionInDays); err != nil {
			return err
		}
	}
	switch set.Class {
	case "":
		set.Class = "STANDARD"
	case "STANDARD", "INFREQUENT_ACCESS", "DELIVERY":
	default:
		return invalidParam("1 validation error detected: Value '%s' at 'logGroupClass' failed to satisfy constraint: Member must satisfy enum value set: [DELIVERY, STANDARD, INFREQUENT_ACCESS]", set.Class)
	}
	return nil
}

// UpdateGroupFor changes a log group's retention, key and tags.
func (s *Service) UpdateGroupFor(account, region, name string, set GroupSettings) error {
	if err := validateSettings(&set); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupKey{account, region, name}]
	if g == nil {
		return groupNotFound()
	}
	g.retention, g.kmsKeyID, g.tags = set.RetentionInDays, set.KMSKeyID, set.Tags
	return nil
}

// DeleteGroupFor deletes a log group and its events.
func (s *Service) DeleteGroupFor(account, region, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := groupKey{account, region, name}
	if s.groups[k] == nil {
		return groupNotFound()
	}
	delete(s.groups, k)
	return nil
}

// GroupExists reports whether the log group exists.
func (s *Service) GroupExists(account, region, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.groups[groupKey{account, region, name}] != nil
}

// PutEventsFor appends events to a stream of an existing group, creating the
// stream if needed (what Lambda does for its functions' output).
func (s *Service) PutEventsFor(account, region, groupName, streamName string, events ...Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupKey{account, region, groupName}]
	if g == nil {
		return groupNotFound()
	}
	st := g.streams[streamName]
	if st == nil {
		st = &stream{name: streamName, created: s.now()}
		g.streams[streamName] = st
	}
	s.appendLocked(st, events)
	return nil
}

// appendLocked stores events in timestamp order. s.mu must be held.
func (s *Service) appendLocked(st *stream, events []Event) {
	now := s.now()
	ingest := now.UnixMilli()
	sorted := true
	for _, e := range events {
		s.nextID++
		ts := e.Time.UnixMilli()
		if n := len(st.events); n > 0 && st.events[n-1].timestamp > ts {
			sorted = false
		}
		st.events = append(st.events, storedEvent{id: s.nextID, timestamp: ts, ingestion: ingest, message: e.Message})
	}
	if !sorted {
		slices.SortStableFunc(st.events, func(a, b storedEvent) int { return int(a.timestamp - b.timestamp) })
	}
	if over := len(st.events) - maxStreamEvents; over > 0 {
		st.events = slices.Delete(st.events, 0, over)
	}
	st.lastIngest = now
}

// expired reports whether an event is older than the group's retention.
func (g *group) expired(ev storedEvent, now time.Time) bool {
	return g.retention > 0 && ev.timestamp < now.Add(-time.Duration(g.retention)*24*time.Hour).UnixMilli()
}
