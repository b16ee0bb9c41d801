package logs_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func noRetry(o *cloudwatchlogs.Options) { o.RetryMaxAttempts = 1 }

func TestLogGroupsSDK(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	c := cloudwatchlogs.NewFromConfig(sb.AWSConfig("master"), noRetry)
	for _, name := range []string{"/aws/lambda/b", "/aws/lambda/a", "/app/one", "/aws/lambda/c", "/aws/lambda/d"} {
		if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name)}); err != nil {
			t.Fatalf("CreateLogGroup %s: %v", name, err)
		}
	}
	_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/app/one")})
	var exists *types.ResourceAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Errorf("second CreateLogGroup: %v, want ResourceAlreadyExistsException", err)
	}
	if _, err := c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("/aws/lambda/a"), RetentionInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}

	// Pages of two, by prefix, in name order.
	var names []string
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(c, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/"), Limit: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, g := range out.LogGroups {
			names = append(names, aws.ToString(g.LogGroupName))
			if aws.ToString(g.LogGroupName) == "/aws/lambda/a" {
				if aws.ToInt32(g.RetentionInDays) != 7 || aws.ToString(g.Arn) != "arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/a:*" ||
					aws.ToString(g.LogGroupArn) != "arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/a" || aws.ToInt64(g.CreationTime) == 0 {
					t.Errorf("group a = %+v", g)
				}
			} else if g.RetentionInDays != nil {
				t.Errorf("group %s has retention %d without a policy", aws.ToString(g.LogGroupName), *g.RetentionInDays)
			}
		}
	}
	if got := strings.Join(names, ","); got != "/aws/lambda/a,/aws/lambda/b,/aws/lambda/c,/aws/lambda/d" || pages != 2 {
		t.Errorf("groups %s in %d pages", got, pages)
	}
	// Accounts do not see each other's groups.
	other, err := cloudwatchlogs.NewFromConfig(sb.AWSConfig("prod"), noRetry).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	if err != nil || len(other.LogGroups) != 0 {
		t.Errorf("prod sees %v, %v", other, err)
	}
	if _, err := c.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/app/one")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/app/one")})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) || !strings.Contains(err.Error(), "The specified log group does not exist.") {
		t.Errorf("DeleteLogGroup of a deleted group: %v", err)
	}
}

func TestLogsBadInput(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	c := cloudwatchlogs.NewFromConfig(sb.AWSConfig("master"), noRetry)
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{"bad group name", func() error {
			_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("a b")})
			return err
		}, "InvalidParameterException", "Member must satisfy regular expression pattern"},
		{"retention not in the set", func() error {
			_, err := c.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(2)})
			return err
		}, "InvalidParameterException", "Value '2' at 'retentionInDays' failed to satisfy constraint"},
		{"limit over 50", func() error {
			_, err := c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(51)})
			return err
		}, "InvalidParameterException", "Member must have value between 1 and 50"},
		{"a token the service did not give", func() error {
			_, err := c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{NextToken: aws.String("made-up")})
			return err
		}, "InvalidParameterException", "The specified nextToken is invalid."},
		{"stream of a missing group", func() error {
			_, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("nope"), LogStreamName: aws.String("s")})
			return err
		}, "ResourceNotFoundException", "The specified log group does not exist."},
		{"events of a missing stream", func() error {
			_, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")})
			return err
		}, "ResourceNotFoundException", "The specified log stream does not exist."},
		{"unknown member", func() error {
			_, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("h")},
				func(o *cloudwatchlogs.Options) {
					o.APIOptions = append(o.APIOptions, sandboxtest.ReplaceBody(`{"logGroupName":"h","LogGroupName":"h"}`))
				})
			return err
		}, "ValidationException", `Unknown parameter in input: "LogGroupName", must be one of: `},
		{"JSON filter patterns", func() error {
			_, err := c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("g"), FilterPattern: aws.String(`{ $.a = 1 }`)})
			return err
		}, "InvalidParameterException", "supports only term patterns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if apiCode(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %v, want %s containing %q", err, tt.code, tt.msg)
			}
		})
	}
}

func TestLogEventsSDK(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	c := cloudwatchlogs.NewFromConfig(sb.AWSConfig("master"), noRetry)
	group := aws.String("/aws/lambda/fn")
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: group}); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).UnixMilli()
	put := func(streamName string, msgs ...string) {
		t.Helper()
		if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: group, LogStreamName: aws.String(streamName)}); err != nil {
			t.Fatal(err)
		}
		var evs []types.InputLogEvent
		for i, m := range msgs {
			evs = append(evs, types.InputLogEvent{Timestamp: aws.Int64(base + int64(i)*10), Message: aws.String(m)})
		}
		if _, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: group, LogStreamName: aws.String(streamName), LogEvents: evs}); err != nil {
			t.Fatal(err)
		}
	}
	var a, b []string
	for i := range 5 {
		a = append(a, fmt.Sprintf("a%d START RequestId: r%d", i, i))
		b = append(b, fmt.Sprintf("b%d REPORT RequestId: r%d Duration: 1.00 ms", i, i))
	}
	put("2026/01/01/[$LATEST]aaaa", a...)
	put("2026/01/01/[$LATEST]bbbb", b...)

	// The tail by default, the head on request, and forward tokens to the end.
	tail, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: group, LogStreamName: aws.String("2026/01/01/[$LATEST]aaaa"), Limit: aws.Int32(2)})
	if err != nil || messages(tail.Events) != "a3 START RequestId: r3|a4 START RequestId: r4" {
		t.Fatalf("tail = %v, %v", messages(tail.Events), err)
	}
	var got []string
	tok := (*string)(nil)
	for range 10 {
		out, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: group, LogStreamName: aws.String("2026/01/01/[$LATEST]aaaa"),
			Limit: aws.Int32(2), StartFromHead: aws.Bool(true), NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			got = append(got, aws.ToString(e.Message)[:2])
		}
		if tok != nil && aws.ToString(out.NextForwardToken) == aws.ToString(tok) {
			break // the same token back means the end, as on AWS
		}
		tok = out.NextForwardToken
	}
	if strings.Join(got, ",") != "a0,a1,a2,a3,a4" {
		t.Errorf("paged from head: %v", got)
	}

	// Filtering across streams, by time then stream, with a term pattern and pages.
	var filtered []string
	fp := cloudwatchlogs.NewFilterLogEventsPaginator(c, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: group, FilterPattern: aws.String(`?REPORT ?"START RequestId: r1"`), Limit: aws.Int32(4)})
	for fp.HasMorePages() {
		out, err := fp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			filtered = append(filtered, aws.ToString(e.Message)[:2]+"@"+aws.ToString(e.LogStreamName)[20:])
			if aws.ToString(e.EventId) == "" || aws.ToInt64(e.IngestionTime) == 0 {
				t.Errorf("event %+v lacks id or ingestion time", e)
			}
		}
	}
	if got := strings.Join(filtered, ","); got != "b0@bbbb,a1@aaaa,b1@bbbb,b2@bbbb,b3@bbbb,b4@bbbb" {
		t.Errorf("filtered = %s", got)
	}
	out, err := c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: group, FilterPattern: aws.String(`RequestId -START`),
		StartTime: aws.Int64(base + 10), EndTime: aws.Int64(base + 30)})
	if err != nil || messages(out.Events) != "b1 REPORT RequestId: r1 Duration: 1.00 ms|b2 REPORT RequestId: r2 Duration: 1.00 ms" {
		t.Errorf("time-bounded filter = %s, %v", messages(out.Events), err)
	}
	streams, err := c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: group, OrderBy: types.OrderByLastEventTime, Descending: aws.Bool(true)})
	if err != nil || len(streams.LogStreams) != 2 || aws.ToInt64(streams.LogStreams[0].LastEventTimestamp) != base+40 {
		t.Errorf("DescribeLogStreams = %+v, %v", streams, err)
	}
}

func messages[E types.OutputLogEvent | types.FilteredLogEvent](evs []E) string {
	var out []string
	for _, e := range evs {
		switch e := any(e).(type) {
		case types.OutputLogEvent:
			out = append(out, aws.ToString(e.Message))
		case types.FilteredLogEvent:
			out = append(out, aws.ToString(e.Message))
		}
	}
	return strings.Join(out, "|")
}
