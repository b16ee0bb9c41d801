// Package runrequest turns what starts a serverless run into one Request.
// Three inputs start the state machine: the EventBridge "Object Created"
// event of an upload to the config bucket, a schedule's input, and an input
// written in the console or by `stackerless submit`. Parse tells them apart,
// checks every field and names what is wrong, because its error becomes the
// failed execution's error and cause, the only thing its author sees.
package runrequest

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/stackerless/stackerless/pkg/engine"
)

// Trigger says what started a run.
type Trigger string

// The triggers, one per input shape.
const (
	// Upload is an S3 "Object Created" event from the config bucket.
	Upload Trigger = "upload"
	// Schedule is a schedule's input: build or diff the latest version.
	Schedule Trigger = "schedule"
	// Console is an input written by hand or by the CLI.
	Console Trigger = "console"
)

// Object is a config object in S3. VersionID is empty until the run is
// pinned to a version (schedule and console inputs name the latest).
type Object struct {
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	VersionID string `json:"version_id,omitempty"`
}

// String is the object's S3 URI, with ?versionId= once pinned.
func (o Object) String() string {
	s := "s3://" + o.Bucket + "/" + o.Key
	if o.VersionID != "" {
		s += "?versionId=" + url.QueryEscape(o.VersionID)
	}
	return s
}

// Request is one run to prepare, whatever asked for it.
type Request struct {
	Trigger Trigger       `json:"trigger"`
	Action  engine.Action `json:"action"`
	Config  Object        `json:"config"`
	// Schedule names the schedule that started the run (Schedule only).
	Schedule string `json:"schedule,omitempty"`
	// Stacks narrows the run as the CLI's --stacks (Console only).
	Stacks []string `json:"stacks,omitempty"`
	// Environment overrides the environment file as the CLI's -e KEY=VALUE
	// (Console only).
	Environment map[string]string `json:"environment,omitempty"`
	// EventID is the EventBridge event's id (Upload only), for the record.
	EventID string `json:"event_id,omitempty"`
}

// EnvPairs gives Environment as the CLI's -e KEY=VALUE overrides, sorted by key.
func (r *Request) EnvPairs() []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(r.Environment)) {
		out = append(out, k+"="+r.Environment[k])
	}
	return out
}

// Error is an input prepare cannot take. Its message says which field is
// wrong and what the shapes are.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func errorf(format string, a ...any) *Error { return &Error{Msg: fmt.Sprintf(format, a...)} }

// shapes is appended to errors about the input's shape.
const shapes = `prepare takes an S3 "Object Created" event from the config bucket, ` +
	`a schedule's input {"schedule":"<name>","action":"build"|"diff","config":"s3://bucket/key"}, ` +
	`or {"action":"build"|"diff"|"destroy","config":"s3://bucket/key","stacks":[...],"environment":{...}} ` +
	`(stacks and environment optional)`

// Fields of the hand-written shapes.
var (
	scheduleFields = []string{"action", "config", "schedule"}
	consoleFields  = []string{"action", "config", "environment", "stacks"}
)

// Parse reads an execution's input. An input that is none of the three
// shapes, or has a field a shape does not have, or a bad value, is an *Error.
func Parse(data []byte) (*Request, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
		return nil, errorf("the input is not a JSON object: %s", shapes)
	}
	switch {
	case has(fields, "detail-type") || has(fields, "source") || has(fields, "detail"):
		return parseEvent(fields)
	case has(fields, "schedule"):
		return parseHandWritten(Schedule, fields)
	case has(fields, "action") || has(fields, "config"):
		return parseHandWritten(Console, fields)
	}
	if len(fields) == 0 {
		return nil, errorf("the input is an empty object: %s", shapes)
	}
	return nil, errorf("the input has none of the fields prepare knows (%s): %s", strings.Join(slices.Sorted(maps.Keys(fields)), ", "), shapes)
}

func has(fields map[string]json.RawMessage, name string) bool {
	_, ok := fields[name]
	return ok
}

// s3Event is the part of S3's EventBridge event that prepare reads. Other
// fields are S3's and EventBridge's to add.
type s3Event struct {
	ID         string `json:"id"`
	Source     string `json:"source"`
	DetailType string `json:"detail-type"`
	Detail     struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key       string `json:"key"`
			VersionID string `json:"version-id"`
		} `json:"object"`
	} `json:"detail"`
}

func parseEvent(fields map[string]json.RawMessage) (*Request, error) {
	data, _ := json.Marshal(fields)
	var ev s3Event
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, errorf("the input looks like an EventBridge event but does not parse as S3's: %v", jsonProblem(err))
	}
	if ev.Source != "aws.s3" || ev.DetailType != "Object Created" {
		return nil, errorf("the event is %q from %q; prepare takes only \"Object Created\" from \"aws.s3\" (the config bucket's uploads): %s",
			ev.DetailType, ev.Source, shapes)
	}
	obj := Object{Bucket: ev.Detail.Bucket.Name, Key: ev.Detail.Object.Key, VersionID: ev.Detail.Object.VersionID}
	switch {
	case obj.Bucket == "":
		return nil, errorf("the S3 event has no detail.bucket.name")
	case obj.Key == "":
		return nil, errorf("the S3 event from bucket %s has no detail.object.key", obj.Bucket)
	case obj.VersionID == "":
		return nil, errorf("the S3 event for s3://%s/%s has no detail.object.version-id: the config bucket must be versioned, so that a run is pinned to the version that was uploaded", obj.Bucket, obj.Key)
	}
	if err := checkObject(obj); err != nil {
		return nil, errorf("the S3 event names %v", err)
	}
	return &Request{Trigger: Upload, Action: engine.Build, Config: obj, EventID: ev.ID}, nil
}

// handWritten is the union of the schedule's and the console's fields.
type handWritten struct {
	Action      string          `json:"action"`
	Config      string          `json:"config"`
	Schedule    string          `json:"schedule"`
	Stacks      []string        `json:"stacks"`
	Environment json.RawMessage `json:"environment"`
}

func parseHandWritten(trigger Trigger, fields map[string]json.RawMessage) (*Request, error) {
	allowed, what := consoleFields, "an input"
	if trigger == Schedule {
		allowed, what = scheduleFields, "a schedule's input"
	}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if !slices.Contains(allowed, name) {
			return nil, errorf("%s has no field %q (it takes %s): %s", what, name, strings.Join(allowed, ", "), shapes)
		}
	}
	var in handWritten
	for name, raw := range fields {
		var err error
		switch name {
		case "action":
			err = json.Unmarshal(raw, &in.Action)
		case "config":
			err = json.Unmarshal(raw, &in.Config)
		case "schedule":
			err = json.Unmarshal(raw, &in.Schedule)
		case "stacks":
			err = json.Unmarshal(raw, &in.Stacks)
			if err != nil {
				err = fmt.Errorf("must be a list of stack or target names")
			}
		case "environment":
			in.Environment = raw
		}
		if err != nil {
			return nil, errorf("%s: field %q %v", what, name, jsonProblem(err))
		}
	}
	req := &Request{Trigger: trigger, Schedule: in.Schedule, Stacks: in.Stacks}
	actions := []string{string(engine.Build), string(engine.Diff), string(engine.Destroy)}
	if trigger == Schedule {
		actions = actions[:2]
		if strings.TrimSpace(in.Schedule) == "" {
			return nil, errorf("a schedule's input: field \"schedule\" must name the schedule")
		}
	}
	switch {
	case !has(fields, "action"):
		return nil, errorf("%s needs \"action\": one of %s", what, strings.Join(actions, ", "))
	case !slices.Contains(actions, in.Action):
		if trigger == Schedule && in.Action == string(engine.Destroy) {
			return nil, errorf("a schedule's input: action %q is refused: a schedule may only build or diff; destroy from the console or the CLI", in.Action)
		}
		return nil, errorf("%s: action %q is not one of %s", what, in.Action, strings.Join(actions, ", "))
	case !has(fields, "config"):
		return nil, errorf("%s needs \"config\": the config's S3 URI, s3://bucket/key", what)
	}
	req.Action = engine.Action(in.Action)
	obj, err := ParseURI(in.Config)
	if err != nil {
		return nil, errorf("%s: field \"config\": %v", what, err)
	}
	req.Config = obj
	for i, s := range req.Stacks {
		if strings.TrimSpace(s) == "" {
			return nil, errorf("%s: field \"stacks\": item %d is empty: name a stack or target of the config", what, i)
		}
	}
	if in.Environment != nil {
		env, err := parseEnvironment(in.Environment)
		if err != nil {
			return nil, errorf("%s: field \"environment\" %v", what, err)
		}
		req.Environment = env
	}
	return req, nil
}

// parseEnvironment reads the -e overrides: names to strings, as on the
// command line, where every value is a string.
func parseEnvironment(raw json.RawMessage) (map[string]string, error) {
	var values map[string]json.RawMessage
	if err := json.Unmarshal(raw, &values); err != nil || values == nil {
		return nil, fmt.Errorf("must be an object of names to strings, as the CLI's -e NAME=VALUE")
	}
	env := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		if k == "" || strings.Contains(k, "=") {
			return nil, fmt.Errorf("has the name %q: a name must be non-empty and hold no \"=\"", k)
		}
		var v string
		if err := json.Unmarshal(values[k], &v); err != nil {
			return nil, fmt.Errorf("value of %q is %s, not a string: quote it, as every value from the command line is a string", k, values[k])
		}
		env[k] = v
	}
	return env, nil
}

// ParseURI reads a config's S3 URI: s3://bucket/key, optionally pinned
// with ?versionId=.
func ParseURI(s string) (Object, error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return Object{}, fmt.Errorf("%q is not an S3 URI: write s3://bucket/key", s)
	}
	var query string
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, query = rest[:i], rest[i+1:]
	}
	bucket, key, _ := strings.Cut(rest, "/")
	obj := Object{Bucket: bucket, Key: key}
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil || len(q) != 1 || len(q["versionId"]) != 1 || q.Get("versionId") == "" {
			return Object{}, fmt.Errorf("%q: the only query an S3 URI takes here is ?versionId=<version>", s)
		}
		obj.VersionID = q.Get("versionId")
	}
	if err := checkObject(obj); err != nil {
		return Object{}, fmt.Errorf("%q: %v", s, err)
	}
	return obj, nil
}

// checkObject holds bucket and key to S3's rules, so that a typo is named
// here rather than as an S3 error later.
func checkObject(o Object) error {
	if err := checkBucket(o.Bucket); err != nil {
		return err
	}
	switch {
	case o.Key == "" || strings.HasSuffix(o.Key, "/"):
		return fmt.Errorf("no object key after bucket %s: name the config file, s3://%s/path/stacker.yaml", o.Bucket, o.Bucket)
	case len(o.Key) > 1024:
		return fmt.Errorf("the key is %d bytes long, and S3 keys are at most 1024", len(o.Key))
	}
	return nil
}

func checkBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket name %q must be 3 to 63 characters long", b)
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return fmt.Errorf("bucket name %q may hold only lower-case letters, digits, dots and hyphens", b)
		}
	}
	if !isAlnum(b[0]) || !isAlnum(b[len(b)-1]) {
		return fmt.Errorf("bucket name %q must begin and end with a letter or digit", b)
	}
	return nil
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// jsonProblem says what was wrong with a value, without encoding/json's
// Go type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		where := ""
		if te.Field != "" {
			where = te.Field + " "
		}
		return fmt.Sprintf("%sis a JSON %s, not %s", where, te.Value, jsonKind(te.Type.Kind().String()))
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "slice":
		return "a list"
	case "struct", "map":
		return "an object"
	}
	return "a " + goKind
}
