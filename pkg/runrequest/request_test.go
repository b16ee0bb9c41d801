package runrequest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stackerless/stackerless/pkg/runrequest"
)

// awsEvent is S3's documented "Object Created" event, as EventBridge
// delivers it to a rule's target.
const awsEvent = `{
  "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": "Object Created", "source": "aws.s3",
  "account": "111122223333", "time": "2021-11-12T00:00:00Z", "region": "ca-central-1",
  "resources": ["arn:aws:s3:::config-bucket"],
  "detail": {"version": "0", "bucket": {"name": "config-bucket"},
    "object": {"key": "teams/net/stacker.zip", "size": 5, "etag": "b1946ac92492d2347c6235b4d2611184",
      "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e", "sequencer": "617f08299329d189"},
    "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012", "source-ip-address": "1.2.3.4", "reason": "PutObject"},
  "replay-name": "a field EventBridge may add"
}`

func TestParseShapes(t *testing.T) {
	tests := []struct {
		name, input string
		want        runrequest.Request
	}{
		{"upload event", awsEvent, runrequest.Request{
			Trigger: runrequest.Upload, Action: "build", EventID: "17793124-05d4-b198-2fde-7ededc63b103",
			Config: runrequest.Object{Bucket: "config-bucket", Key: "teams/net/stacker.zip", VersionID: "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"},
		}},
		{"schedule build", `{"schedule":"nightly","action":"build","config":"s3://config-bucket/teams/stacker.yaml"}`, runrequest.Request{
			Trigger: runrequest.Schedule, Schedule: "nightly", Action: "build",
			Config: runrequest.Object{Bucket: "config-bucket", Key: "teams/stacker.yaml"},
		}},
		{"schedule diff", `{"action":"diff","schedule":"drift","config":"s3://config-bucket/stacker.yaml"}`, runrequest.Request{
			Trigger: runrequest.Schedule, Schedule: "drift", Action: "diff",
			Config: runrequest.Object{Bucket: "config-bucket", Key: "stacker.yaml"},
		}},
		{"console minimal", `{"action":"destroy","config":"s3://config-bucket/stacker.yaml"}`, runrequest.Request{
			Trigger: runrequest.Console, Action: "destroy",
			Config: runrequest.Object{Bucket: "config-bucket", Key: "stacker.yaml"},
		}},
		{"console full", `{"action":"diff","config":"s3://my.configs-1/a b/stacker.yaml?versionId=3%2Fx.y",
			"stacks":["vpc","app"],"environment":{"namespace":"prod","empty":""}}`, runrequest.Request{
			Trigger: runrequest.Console, Action: "diff", Stacks: []string{"vpc", "app"},
			Environment: map[string]string{"namespace": "prod", "empty": ""},
			Config:      runrequest.Object{Bucket: "my.configs-1", Key: "a b/stacker.yaml", VersionID: "3/x.y"},
		}},
		{"console empty lists", `{"action":"build","config":"s3://abc/k","stacks":[],"environment":{}}`, runrequest.Request{
			Trigger: runrequest.Console, Action: "build", Stacks: []string{}, Environment: map[string]string{},
			Config: runrequest.Object{Bucket: "abc", Key: "k"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := runrequest.Parse([]byte(tt.input))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	event := func(from, to string) string {
		if !strings.Contains(awsEvent, from) {
			t.Fatalf("the event has no %q", from)
		}
		return strings.Replace(awsEvent, from, to, 1)
	}
	tests := []struct{ name, input, want string }{
		{"not JSON", `action=build`, `the input is not a JSON object: prepare takes an S3 "Object Created" event`},
		{"JSON list", `[{"action":"build"}]`, `the input is not a JSON object`},
		{"JSON null", `null`, `the input is not a JSON object`},
		{"empty object", `{}`, `the input is an empty object: prepare takes`},
		{"unknown shape", `{"bucket":"b","key":"k"}`, `the input has none of the fields prepare knows (bucket, key): prepare takes`},

		{"other S3 event", event(`"Object Created"`, `"Object Deleted"`), `the event is "Object Deleted" from "aws.s3"; prepare takes only "Object Created" from "aws.s3"`},
		{"other source", event(`"aws.s3"`, `"aws.ec2"`), `the event is "Object Created" from "aws.ec2"`},
		{"event without bucket", event(`"bucket": {"name": "config-bucket"},`, ``), `the S3 event has no detail.bucket.name`},
		{"event without key", event(`"key": "teams/net/stacker.zip",`, ``), `the S3 event from bucket config-bucket has no detail.object.key`},
		{"unversioned bucket", event(`"version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",`, ``),
			`the S3 event for s3://config-bucket/teams/net/stacker.zip has no detail.object.version-id: the config bucket must be versioned`},
		{"event key not a string", event(`"key": "teams/net/stacker.zip"`, `"key": 7`),
			`the input looks like an EventBridge event but does not parse as S3's: detail.object.key is a JSON number, not a string`},
		{"event detail not an object", event(`"detail": {`, `"detail": "x", "d": {`),
			`does not parse as S3's: detail is a JSON string, not an object`},

		{"schedule destroys", `{"schedule":"n","action":"destroy","config":"s3://abc/k"}`,
			`a schedule's input: action "destroy" is refused: a schedule may only build or diff; destroy from the console or the CLI`},
		{"schedule with stacks", `{"schedule":"n","action":"build","config":"s3://abc/k","stacks":["a"]}`,
			`a schedule's input has no field "stacks" (it takes action, config, schedule)`},
		{"schedule unnamed", `{"schedule":" ","action":"build","config":"s3://abc/k"}`, `a schedule's input: field "schedule" must name the schedule`},
		{"schedule name not a string", `{"schedule":1,"action":"build","config":"s3://abc/k"}`, `a schedule's input: field "schedule" is a JSON number, not a string`},
		{"schedule without action", `{"schedule":"n","config":"s3://abc/k"}`, `a schedule's input needs "action": one of build, diff`},

		{"console unknown field", `{"action":"build","config":"s3://abc/k","stack":["vpc"]}`,
			`an input has no field "stack" (it takes action, config, environment, stacks): prepare takes`},
		{"console without action", `{"config":"s3://abc/k"}`, `an input needs "action": one of build, diff, destroy`},
		{"console bad action", `{"action":"deploy","config":"s3://abc/k"}`, `an input: action "deploy" is not one of build, diff, destroy`},
		{"action case", `{"action":"Build","config":"s3://abc/k"}`, `an input: action "Build" is not one of build, diff, destroy`},
		{"action not a string", `{"action":["build"],"config":"s3://abc/k"}`, `an input: field "action" is a JSON array, not a string`},
		{"console without config", `{"action":"build"}`, `an input needs "config": the config's S3 URI, s3://bucket/key`},
		{"config not S3", `{"action":"build","config":"https://abc.s3.amazonaws.com/k"}`, `field "config": "https://abc.s3.amazonaws.com/k" is not an S3 URI: write s3://bucket/key`},
		{"config without key", `{"action":"build","config":"s3://abc"}`, `field "config": "s3://abc": no object key after bucket abc: name the config file, s3://abc/path/stacker.yaml`},
		{"config folder", `{"action":"build","config":"s3://abc/teams/"}`, `no object key after bucket abc`},
		{"bucket upper case", `{"action":"build","config":"s3://Configs/k"}`, `bucket name "Configs" may hold only lower-case letters, digits, dots and hyphens`},
		{"bucket too short", `{"action":"build","config":"s3://ab/k"}`, `bucket name "ab" must be 3 to 63 characters long`},
		{"bucket edge", `{"action":"build","config":"s3://-abc/k"}`, `bucket name "-abc" must begin and end with a letter or digit`},
		{"key too long", `{"action":"build","config":"s3://abc/` + strings.Repeat("k", 1025) + `"}`, `the key is 1025 bytes long, and S3 keys are at most 1024`},
		{"other query", `{"action":"build","config":"s3://abc/k?version=1"}`, `the only query an S3 URI takes here is ?versionId=<version>`},
		{"empty version", `{"action":"build","config":"s3://abc/k?versionId="}`, `the only query an S3 URI takes here is ?versionId=<version>`},
		{"stacks not a list", `{"action":"build","config":"s3://abc/k","stacks":"vpc"}`, `an input: field "stacks" must be a list of stack or target names`},
		{"stacks of numbers", `{"action":"build","config":"s3://abc/k","stacks":[1]}`, `an input: field "stacks" must be a list of stack or target names`},
		{"empty stack name", `{"action":"build","config":"s3://abc/k","stacks":["vpc",""]}`, `an input: field "stacks": item 1 is empty: name a stack or target of the config`},
		{"environment a list", `{"action":"build","config":"s3://abc/k","environment":["a=b"]}`,
			`an input: field "environment" must be an object of names to strings, as the CLI's -e NAME=VALUE`},
		{"environment null", `{"action":"build","config":"s3://abc/k","environment":null}`, `field "environment" must be an object of names to strings`},
		{"environment number", `{"action":"build","config":"s3://abc/k","environment":{"count":3}}`,
			`an input: field "environment" value of "count" is 3, not a string: quote it, as every value from the command line is a string`},
		{"environment name with =", `{"action":"build","config":"s3://abc/k","environment":{"a=b":"c"}}`,
			`field "environment" has the name "a=b": a name must be non-empty and hold no "="`},
		{"environment empty name", `{"action":"build","config":"s3://abc/k","environment":{"":"c"}}`, `has the name "": a name must be non-empty`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := runrequest.Parse([]byte(tt.input))
			var re *runrequest.Error
			if !errors.As(err, &re) {
				t.Fatalf("Parse = %+v, %v; want a *runrequest.Error", got, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n%s\nwant it to contain:\n%s", err, tt.want)
			}
		})
	}
}

func TestObjectString(t *testing.T) {
	o := runrequest.Object{Bucket: "abc", Key: "a b/k.yaml"}
	if got := o.String(); got != "s3://abc/a b/k.yaml" {
		t.Errorf("String = %q", got)
	}
	o.VersionID = "3/x+y"
	back, err := runrequest.ParseURI(o.String())
	if err != nil || back != o {
		t.Errorf("ParseURI(%q) = %+v, %v; want %+v", o.String(), back, err, o)
	}
}

func TestEnvPairs(t *testing.T) {
	r := runrequest.Request{Environment: map[string]string{"b": "2=3", "a": ""}}
	if got := r.EnvPairs(); !cmp.Equal(got, []string{"a=", "b=2=3"}) {
		t.Errorf("EnvPairs = %q", got)
	}
}
