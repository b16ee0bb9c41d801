package sandbox_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// TestLastUpdatedTimeAndTagsAsAWS: a stack never updated has no
// LastUpdatedTime; an update sets it when it starts, and finishing does not
// move it; an update that rolls back leaves the previous tags in place. A
// deployer that tells its own update from someone else's by these relies on
// them being as on AWS.
func TestLastUpdatedTimeAndTagsAsAWS(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	c := cloudformation.NewFromConfig(sb.AWSConfig("master"), cfnNoRetry)
	body := func(n string) *string {
		return aws.String(`{"Resources":{"H` + n + `":{"Type":"AWS::CloudFormation::WaitConditionHandle"}}}`)
	}
	tags := func(v string) []types.Tag {
		return []types.Tag{{Key: aws.String("sandbox:duration"), Value: aws.String("100ms")}, {Key: aws.String("mark"), Value: aws.String(v)}}
	}
	if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("lu"), TemplateBody: body("1"), Tags: tags("one")}); err != nil {
		t.Fatal(err)
	}
	created := settled(t, c, "lu")
	if created.LastUpdatedTime != nil {
		t.Fatalf("a stack never updated has LastUpdatedTime %v", created.LastUpdatedTime)
	}

	before := time.Now().Add(-time.Millisecond)
	if _, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("lu"), TemplateBody: body("2"), Tags: tags("two")}); err != nil {
		t.Fatal(err)
	}
	after := time.Now().Add(time.Millisecond)
	out, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("lu")})
	if err != nil {
		t.Fatal(err)
	}
	started := aws.ToTime(out.Stacks[0].LastUpdatedTime)
	if started.Before(before) || started.After(after) {
		t.Fatalf("LastUpdatedTime %v during the update, want the time it started, between %v and %v", started, before, after)
	}
	updated := settled(t, c, "lu")
	if updated.StackStatus != types.StackStatusUpdateComplete || !aws.ToTime(updated.LastUpdatedTime).Equal(started) {
		t.Fatalf("after the update: %s, LastUpdatedTime %v, want UPDATE_COMPLETE and %v", updated.StackStatus, updated.LastUpdatedTime, started)
	}

	sb.Faults().FailStack("lu", "")
	defer sb.Faults().ClearStackFailure("lu")
	if _, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("lu"), TemplateBody: body("3"), Tags: tags("three")}); err != nil {
		t.Fatal(err)
	}
	rolled := settled(t, c, "lu")
	if rolled.StackStatus != types.StackStatusUpdateRollbackComplete {
		t.Fatalf("status %s, want UPDATE_ROLLBACK_COMPLETE", rolled.StackStatus)
	}
	for _, tag := range rolled.Tags {
		if aws.ToString(tag.Key) == "mark" && aws.ToString(tag.Value) != "two" {
			t.Errorf("after the rollback the tag is %q, want the previous %q", aws.ToString(tag.Value), "two")
		}
	}
	if !aws.ToTime(rolled.LastUpdatedTime).After(started) {
		t.Errorf("LastUpdatedTime %v after the rolled-back update, want the time that update started", rolled.LastUpdatedTime)
	}
}
