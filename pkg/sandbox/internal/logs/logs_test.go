package logs

import (
	"strings"
	"testing"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

func TestRetentionHidesExpiredEvents(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	s := New(nil, func() time.Time { return now })
	call := &awsapi.Call{Caller: &awsapi.Caller{Account: "111111111111"}, Region: "us-east-1"}
	if err := s.CreateGroupFor("111111111111", "us-east-1", "/aws/lambda/fn", GroupSettings{RetentionInDays: 1}); err != nil {
		t.Fatal(err)
	}
	err := s.PutEventsFor("111111111111", "us-east-1", "/aws/lambda/fn", "st",
		Event{Time: now.Add(-49 * time.Hour), Message: "two days old"},
		Event{Time: now.Add(-time.Hour), Message: "recent"})
	if err != nil {
		t.Fatal(err)
	}
	read := func() string {
		t.Helper()
		out, err := s.filterLogEvents(call, &filterInput{groupInput: groupInput{LogGroupName: "/aws/lambda/fn"}})
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, e := range out.(filterOutput).Events {
			msgs = append(msgs, e.Message)
		}
		return strings.Join(msgs, ",")
	}
	if got := read(); got != "recent" {
		t.Errorf("with 1-day retention: %q", got)
	}
	if err := s.UpdateGroupFor("111111111111", "us-east-1", "/aws/lambda/fn", GroupSettings{RetentionInDays: 3}); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "two days old,recent" {
		t.Errorf("with 3-day retention: %q", got)
	}
	if err := s.PutEventsFor("111111111111", "us-east-1", "/missing", "st", Event{Time: now}); err == nil {
		t.Error("events for a missing group were accepted")
	}
	if err := s.CreateGroupFor("111111111111", "us-east-1", "bad name", GroupSettings{}); err == nil {
		t.Error("a bad group name was accepted")
	}
	if err := s.CreateGroupFor("111111111111", "us-east-1", "g", GroupSettings{RetentionInDays: 2}); err == nil {
		t.Error("a retention outside AWS's set was accepted")
	}
}

func TestFilterPatterns(t *testing.T) {
	tests := []struct {
		pattern string
		match   []string
		miss    []string
	}{
		{"", []string{"anything", ""}, nil},
		{"ERROR", []string{"an ERROR here"}, []string{"an error here"}},
		{"ERROR timeout", []string{"ERROR: timeout"}, []string{"ERROR only", "timeout only"}},
		{`"Task timed out"`, []string{"x Task timed out after 1.00 seconds"}, []string{"Task  timed out"}},
		{"?ERROR ?WARN", []string{"WARN x", "ERROR y"}, []string{"INFO z"}},
		{"RequestId -START", []string{"REPORT RequestId: 1"}, []string{"START RequestId: 1"}},
	}
	for _, tt := range tests {
		match, err := compilePattern(tt.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tt.pattern, err)
		}
		for _, m := range tt.match {
			if !match(m) {
				t.Errorf("%q does not match %q", tt.pattern, m)
			}
		}
		for _, m := range tt.miss {
			if match(m) {
				t.Errorf("%q matches %q", tt.pattern, m)
			}
		}
	}
	for _, bad := range []string{`{ $.level = "x" }`, `[ip, user]`, `"unterminated`} {
		if _, err := compilePattern(bad); err == nil {
			t.Errorf("pattern %q accepted", bad)
		}
	}
}
