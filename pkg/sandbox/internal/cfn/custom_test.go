package cfn

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// Custom resources (CDK's are backed by Python and Node handlers) fail with
// a reason naming the resource, its type and its ServiceToken; the stack
// rolls back. A custom resource never passes silently.
func TestCustomResourcesFailNamingThem(t *testing.T) {
	for _, typ := range []string{"Custom::S3AutoDeleteObjects", "AWS::CloudFormation::CustomResource"} {
		t.Run(typ, func(t *testing.T) {
			e := newEnv(t, 20*time.Millisecond)
			c := e.client(acctA)
			tpl := `
Resources:
  Topic: {Type: AWS::SNS::Topic}
  AutoDelete:
    Type: ` + typ + `
    Properties:
      ServiceToken: arn:aws:lambda:us-east-1:` + acctA + `:function:handler
      BucketName: b
`
			if _, err := c.CreateStack(context.Background(), &cloudformation.CreateStackInput{StackName: aws.String("app"), TemplateBody: aws.String(tpl)}); err != nil {
				t.Fatal(err)
			}
			st := waitSettled(t, c, "app")
			if st.StackStatus != types.StackStatusRollbackComplete {
				t.Fatalf("status %s, want ROLLBACK_COMPLETE", st.StackStatus)
			}
			var reason string
			for _, ev := range events(t, c, "app") {
				if aws.ToString(ev.LogicalResourceId) == "AutoDelete" && ev.ResourceStatus == types.ResourceStatusCreateFailed {
					reason = aws.ToString(ev.ResourceStatusReason)
				}
			}
			for _, want := range []string{"AutoDelete", typ, "function:handler", "does not run custom resource handlers"} {
				if !strings.Contains(reason, want) {
					t.Errorf("CREATE_FAILED reason %q lacks %q", reason, want)
				}
			}
		})
	}
}
