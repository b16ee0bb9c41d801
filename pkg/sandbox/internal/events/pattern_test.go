package events

import (
	"strings"
	"testing"
	"time"
)

const s3Event = `{
  "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": "Object Created", "source": "aws.s3",
  "account": "111111111111", "time": "2021-11-12T00:00:00Z", "region": "us-east-1", "resources": ["arn:aws:s3:::config"],
  "detail": {"version": "0", "bucket": {"name": "config"}, "object": {"key": "team/stacker.yaml", "size": 5, "etag": "b1946ac92492d2347c6235b4d2611184"},
    "reason": "PutObject", "requester": "111111111111", "source-ip-address": "10.0.0.1", "tags": ["a", "b"], "empty": "", "nothing": null,
    "items": [{"kind": "x", "n": 1}, {"kind": "y", "n": 2}]}
}`

func TestPatternMatching(t *testing.T) {
	event, err := decodeEvent([]byte(s3Event))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		pattern string
		want    bool
	}{
		{`{"source":["aws.s3"]}`, true},
		{`{"source":["aws.ec2"]}`, false},
		{`{"source":["aws.ec2","aws.s3"]}`, true},                         // a field's matchers are ORed
		{`{"source":["aws.s3"],"detail-type":["Object Deleted"]}`, false}, // fields are ANDed
		{`{"detail":{"bucket":{"name":["config"]}}}`, true},
		{`{"detail":{"object":{"key":[{"prefix":"team/"}]}}}`, true},
		{`{"detail":{"object":{"key":[{"prefix":"other/"}]}}}`, false},
		{`{"detail":{"object":{"key":[{"prefix":{"equals-ignore-case":"TEAM/"}}]}}}`, true},
		{`{"detail":{"object":{"key":[{"suffix":".yaml"}]}}}`, true},
		{`{"detail":{"object":{"key":[{"suffix":".yml"}]}}}`, false},
		{`{"detail":{"object":{"key":[{"suffix":{"equals-ignore-case":".YAML"}}]}}}`, true},
		{`{"detail":{"object":{"key":[{"wildcard":"team/*.yaml"}]}}}`, true},
		{`{"detail":{"object":{"key":[{"wildcard":"*/stacker.*"}]}}}`, true},
		{`{"detail":{"object":{"key":[{"wildcard":"team/*.json"}]}}}`, false},
		{`{"detail":{"object":{"key":[{"equals-ignore-case":"TEAM/STACKER.YAML"}]}}}`, true},
		{`{"detail":{"reason":[{"anything-but":"CopyObject"}]}}`, true},
		{`{"detail":{"reason":[{"anything-but":["PutObject","CopyObject"]}]}}`, false},
		{`{"detail":{"object":{"key":[{"anything-but":{"prefix":"team/"}}]}}}`, false},
		{`{"detail":{"object":{"key":[{"anything-but":{"suffix":".json"}}]}}}`, true},
		{`{"detail":{"object":{"key":[{"anything-but":{"wildcard":"*/stacker.yaml"}}]}}}`, false},
		{`{"detail":{"missing":[{"anything-but":"x"}]}}`, false}, // anything-but needs the field
		{`{"detail":{"object":{"size":[{"numeric":[">",0,"<=",5]}]}}}`, true},
		{`{"detail":{"object":{"size":[{"numeric":["<",5]}]}}}`, false},
		{`{"detail":{"object":{"size":[{"numeric":["=",5]}]}}}`, true},
		{`{"detail":{"object":{"size":[5]}}}`, true},
		{`{"detail":{"object":{"size":["5"]}}}`, false}, // a string is not the number
		{`{"detail":{"object":{"etag":[{"exists":true}]}}}`, true},
		{`{"detail":{"object":{"version-id":[{"exists":false}]}}}`, true},
		{`{"detail":{"object":{"version-id":[{"exists":true}]}}}`, false},
		{`{"detail":{"object":[{"exists":true}]}}`, false}, // exists works on leaves only
		{`{"detail":{"source-ip-address":[{"cidr":"10.0.0.0/24"}]}}`, true},
		{`{"detail":{"source-ip-address":[{"cidr":"10.1.0.0/24"}]}}`, false},
		{`{"detail":{"tags":["b"]}}`, true}, // an array matches when an element does
		{`{"detail":{"items":{"kind":["y"]}}}`, true},
		{`{"detail":{"empty":[""]}}`, true},
		{`{"detail":{"empty":[null]}}`, false}, // null and "" differ
		{`{"detail":{"nothing":[null]}}`, true},
		{`{"$or":[{"source":["aws.ec2"]},{"detail":{"reason":["PutObject"]}}]}`, true},
		{`{"$or":[{"source":["aws.ec2"]},{"detail":{"reason":["CopyObject"]}}]}`, false},
		{`{"detail":{"$or":[{"reason":["CopyObject"]},{"object":{"key":[{"suffix":".yaml"}]}}]}}`, true},
		{`{"resources":["arn:aws:s3:::config"]}`, true},
	}
	for _, tt := range tests {
		p, err := parsePattern(tt.pattern)
		if err != nil {
			t.Errorf("%s: %v", tt.pattern, err)
			continue
		}
		if got := p.matches(event); got != tt.want {
			t.Errorf("%s matched %v, want %v", tt.pattern, got, tt.want)
		}
	}
}

func TestPatternRefused(t *testing.T) {
	tests := []struct{ pattern, reason string }{
		{`not json`, "not valid JSON"},
		{`["aws.s3"]`, "Filter is not an object"},
		{`{}`, "Empty objects"},
		{`{"source":"aws.s3"}`, `"source" must be an object or an array`},
		{`{"source":[]}`, "Empty arrays"},
		{`{"source":[["a"]]}`, "Match value must be String, number, true, false, or null"},
		{`{"source":[{"prefixes":"a"}]}`, "Unrecognized match type prefixes"},
		{`{"source":[{"prefix":5}]}`, "prefix match pattern must be a string"},
		{`{"source":[{"exists":"yes"}]}`, "exists match pattern must be either true or false"},
		{`{"n":[{"numeric":[">"]}]}`, "numeric"},
		{`{"n":[{"numeric":["<",5,">",1]}]}`, "lower bound must come first"},
		{`{"n":[{"numeric":[">",6,"<",5]}]}`, "lower bound must be below"},
		{`{"n":[{"numeric":["!",5]}]}`, "Unrecognized numeric range operator"},
		{`{"n":[{"numeric":[">",6e9]}]}`, "between -5.0E9 and 5.0E9"},
		{`{"k":[{"wildcard":"a**b"}]}`, "Consecutive wildcard"},
		{`{"k":[{"anything-but":[true]}]}`, "anything but list"},
		{`{"k":[{"anything-but":["a",1]}]}`, "same type"},
		{`{"k":[{"anything-but":{"numeric":[">",1]}}]}`, "Unsupported anything-but pattern"},
		{`{"k":[{"cidr":"10.0.0.0"}]}`, "CIDR"},
		{`{"$or":[{"a":["b"]}]}`, "at least two"},
		{`{"k":[{"prefix":"a","suffix":"b"}]}`, "Match value"},
	}
	for _, tt := range tests {
		_, err := parsePattern(tt.pattern)
		if err == nil || !strings.Contains(err.Error(), "InvalidEventPatternException: Event pattern is not valid. Reason:") || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("%s: got %v, want a reason with %q", tt.pattern, err, tt.reason)
		}
	}
}

func TestInputTransformer(t *testing.T) {
	event, _ := decodeEvent([]byte(s3Event))
	r := &rule{name: "on-upload"}
	d := delivery{rule: r, ruleARN: "arn:aws:events:us-east-1:111111111111:rule/on-upload", event: event, at: time.Date(2021, 11, 12, 0, 0, 1, 0, time.UTC)}
	tests := []struct {
		name   string
		target target
		want   string
	}{
		{"whole event", target{}, ""},
		{"constant Input", target{Input: `{"mode":"build"}`}, `{"mode":"build"}`},
		{"InputPath", target{InputPath: "$.detail.object"}, `{"etag":"b1946ac92492d2347c6235b4d2611184","key":"team/stacker.yaml","size":5}`},
		{"InputPath to an array element", target{InputPath: "$.detail.tags[1]"}, `"b"`},
		{"template with JSON values and strings", target{InputTransformer: &inputTransformer{
			InputPathsMap: map[string]string{"bucket": "$.detail.bucket.name", "key": "$.detail.object.key", "size": "$.detail.object.size", "gone": "$.detail.nope"},
			InputTemplate: `{"bucket": <bucket>, "size": <size>, "missing": <gone>, "text": "s3://<bucket>/<key> (<size> bytes)", "rule": "<aws.events.rule-name>"}`}},
			`{"bucket": "config", "size": 5, "missing": null, "text": "s3://config/team/stacker.yaml (5 bytes)", "rule": "on-upload"}`},
		{"quotes in values are escaped", target{InputTransformer: &inputTransformer{
			InputPathsMap: map[string]string{"o": "$.detail.bucket"},
			InputTemplate: `{"raw": "<o>"}`}}, `{"raw": "{\"name\":\"config\"}"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d.target = tt.target
			got, err := transform(d)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if !strings.Contains(got, `"detail-type":"Object Created"`) {
					t.Fatalf("whole event = %s", got)
				}
				return
			}
			if got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	d.target = target{InputPath: "$.detail.nope"}
	if _, err := transform(d); err == nil {
		t.Fatal("an InputPath to nothing transformed")
	}
}

func TestScheduleExpressions(t *testing.T) {
	at := time.Date(2026, 3, 13, 10, 17, 30, 0, time.UTC) // a Friday
	tests := []struct {
		expr string
		next string // RFC 3339, "" when refused
	}{
		{"rate(1 minute)", "2026-03-13T10:18:30Z"},
		{"rate(5 minutes)", "2026-03-13T10:22:30Z"},
		{"rate(1 hour)", "2026-03-13T11:17:30Z"},
		{"rate(2 days)", "2026-03-15T10:17:30Z"},
		{"rate(1 minutes)", ""},
		{"rate(5 minute)", ""},
		{"rate(0 minutes)", ""},
		{"rate(5 weeks)", ""},
		{"cron(0 12 * * ? *)", "2026-03-13T12:00:00Z"},
		{"cron(15 10 ? * MON-FRI *)", "2026-03-16T10:15:00Z"},
		{"cron(0/20 * * * ? *)", "2026-03-13T10:20:00Z"},
		{"cron(0 8 1 * ? *)", "2026-04-01T08:00:00Z"},
		{"cron(0 0 ? * SUN 2027)", "2027-01-03T00:00:00Z"},
		{"cron(0 12 * * * *)", ""},  // one of day-of-month and day-of-week must be ?
		{"cron(0 12 * *)", ""},      // six fields
		{"cron(61 12 * * ? *)", ""}, // minutes 0-59
		{"cron(0 12 L * ? *)", ""},  // L is a limit of the sandbox
		{"every 5 minutes", ""},
	}
	for _, tt := range tests {
		sc, err := parseSchedule(tt.expr)
		if tt.next == "" {
			if err == nil {
				t.Errorf("%s accepted", tt.expr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.expr, err)
			continue
		}
		next, ok := sc.next(at, at, time.Minute)
		if !ok || next.Format(time.RFC3339) != tt.next {
			t.Errorf("%s: next after %s = %s (%v), want %s", tt.expr, at.Format(time.RFC3339), next.Format(time.RFC3339), ok, tt.next)
		}
	}
}
