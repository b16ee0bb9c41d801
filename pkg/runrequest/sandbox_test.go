package runrequest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stackerless/stackerless/pkg/runrequest"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// TestParseSandboxEvent parses the event the sandbox's S3 sends through
// EventBridge for an upload to a versioned bucket: pinned to the version
// written.
func TestParseSandboxEvent(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	cfg := sb.AWSConfig("master")
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := aws.String("configs")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: bucket,
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: bucket,
		NotificationConfiguration: &s3types.NotificationConfiguration{EventBridgeConfiguration: &s3types.EventBridgeConfiguration{}}}); err != nil {
		t.Fatal(err)
	}
	eb := eventbridge.NewFromConfig(cfg)
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("uploads"),
		EventPattern: aws.String(`{"source":["aws.s3"],"detail-type":["Object Created"]}`)}); err != nil {
		t.Fatal(err)
	}
	// The target need not exist: the delivery records the input it was given.
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("uploads"), Targets: []ebtypes.Target{{Id: aws.String("x"),
		Arn: aws.String("arn:aws:states:us-east-1:111111111111:stateMachine:none"), RoleArn: aws.String("arn:aws:iam::111111111111:role/none")}}}); err != nil {
		t.Fatal(err)
	}
	put, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("team a/stacker.yaml"), Body: strings.NewReader("namespace: x\n")})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(sb.Deliveries()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no delivery of the upload's event after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	d := sb.Deliveries()[0]
	req, err := runrequest.Parse([]byte(d.Input))
	if err != nil {
		t.Fatalf("Parse(%s): %v", d.Input, err)
	}
	want := runrequest.Object{Bucket: "configs", Key: "team a/stacker.yaml", VersionID: aws.ToString(put.VersionId)}
	if req.Trigger != runrequest.Upload || req.Action != "build" || req.Config != want || req.EventID != d.EventID {
		t.Errorf("request %+v from %s; want an upload of %v, event %s", req, d.Input, want, d.EventID)
	}
}
