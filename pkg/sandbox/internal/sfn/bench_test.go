package sfn_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	sfnapi "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// BenchmarkStateTransitions runs executions of a 1,000-iteration Pass/Choice
// loop and reports state transitions per second, history included.
func BenchmarkStateTransitions(b *testing.B) {
	e := setup(b)
	const loops = 1000
	machine := e.create(b, "loop", fmt.Sprintf(`{"StartAt":"Count","States":{
	  "Count":{"Type":"Pass","Parameters":{"n.$":"States.MathAdd($.n, 1)"},"Next":"More?"},
	  "More?":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericLessThan":%d,"Next":"Count"}],"Default":"Done"},
	  "Done":{"Type":"Succeed"}}}`, loops))
	b.ResetTimer()
	for range b.N {
		x := e.wait(b, e.start(b, machine, "", `{"n":0}`))
		if x.Status != types.ExecutionStatusSucceeded {
			b.Fatalf("status %s", x.Status)
		}
	}
	b.ReportMetric(float64(2*loops+1)*float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
}

// BenchmarkUploadToFirstState measures the time from an S3 upload to the
// first state of the execution it starts (bucket -> EventBridge rule ->
// StartExecution -> the interpreter entering the start state).
func BenchmarkUploadToFirstState(b *testing.B) {
	t := b
	e := setup(t)
	ctx := b.Context()
	cfg := e.sb.AWSConfig("master")
	machine := e.create(b, "first", `{"StartAt":"First","States":{"First":{"Type":"Pass","End":true}}}`)
	iamc := iam.NewFromConfig(cfg)
	trust := `{"Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	role, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("EventsRole"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("EventsRole"), PolicyName: aws.String("start"),
		PolicyDocument: aws.String(`{"Statement":[{"Effect":"Allow","Action":"states:StartExecution","Resource":"*"}]}`)}); err != nil {
		b.Fatal(err)
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("configs")}); err != nil {
		b.Fatal(err)
	}
	if _, err := s3c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("configs"),
		NotificationConfiguration: &s3types.NotificationConfiguration{EventBridgeConfiguration: &s3types.EventBridgeConfiguration{}}}); err != nil {
		b.Fatal(err)
	}
	eb := eventbridge.NewFromConfig(cfg)
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("upload"), EventPattern: aws.String(`{"source":["aws.s3"]}`)}); err != nil {
		b.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("upload"), Targets: []ebtypes.Target{
		{Id: aws.String("t"), Arn: aws.String(machine), RoleArn: role.Role.Arn}}}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("configs"), Key: aws.String(fmt.Sprint("stacker-", i, ".yaml")), Body: strings.NewReader("x")}); err != nil {
			b.Fatal(err)
		}
		for countExecutions(b, e, machine) <= i {
			time.Sleep(time.Millisecond)
		}
		list, err := e.client.ListExecutions(ctx, &sfnapi.ListExecutionsInput{StateMachineArn: aws.String(machine), MaxResults: 1})
		if err != nil {
			b.Fatal(err)
		}
		for {
			h, err := e.client.GetExecutionHistory(ctx, &sfnapi.GetExecutionHistoryInput{ExecutionArn: list.Executions[0].ExecutionArn, MaxResults: 2})
			if err != nil {
				b.Fatal(err)
			}
			if len(h.Events) > 1 {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
}

func countExecutions(b *testing.B, e *env, machine string) int {
	n := 0
	p := sfnapi.NewListExecutionsPaginator(e.client, &sfnapi.ListExecutionsInput{StateMachineArn: aws.String(machine), MaxResults: 1000})
	for p.HasMorePages() {
		page, err := p.NextPage(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		n += len(page.Executions)
	}
	return n
}
