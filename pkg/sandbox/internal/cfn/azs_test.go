package cfn

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// TestGetAZsByRegion: a stack sees its region's zones, six in us-east-1 as on
// AWS and three elsewhere; a VPC blueprint's first two are a and b.
func TestGetAZsByRegion(t *testing.T) {
	e := newEnv(t, 20*time.Millisecond)
	tpl := `{"Resources":{"H":{"Type":"AWS::CloudFormation::WaitConditionHandle"}},"Outputs":{` +
		`"All":{"Value":{"Fn::Join":[",",{"Fn::GetAZs":""}]}},` +
		`"FirstTwo":{"Value":{"Fn::Join":[",",[{"Fn::Select":[0,{"Fn::GetAZs":""}]},{"Fn::Select":[1,{"Fn::GetAZs":""}]}]]}}}}`
	for _, tc := range []struct{ region, all, firstTwo string }{
		{"us-east-1", "us-east-1a,us-east-1b,us-east-1c,us-east-1d,us-east-1e,us-east-1f", "us-east-1a,us-east-1b"},
		{"eu-west-1", "eu-west-1a,eu-west-1b,eu-west-1c", "eu-west-1a,eu-west-1b"},
	} {
		t.Run(tc.region, func(t *testing.T) {
			c := e.client(acctA)
			opt := func(o *cloudformation.Options) { o.Region = tc.region }
			if _, err := c.CreateStack(context.Background(), &cloudformation.CreateStackInput{StackName: aws.String("azs"), TemplateBody: aws.String(tpl)}, opt); err != nil {
				t.Fatal(err)
			}
			var st types.Stack
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				out, err := c.DescribeStacks(context.Background(), &cloudformation.DescribeStacksInput{StackName: aws.String("azs")}, opt)
				if err != nil {
					t.Fatal(err)
				}
				if st = out.Stacks[0]; st.StackStatus == types.StackStatusCreateComplete {
					break
				}
			}
			outs := outputs(st)
			if outs["All"] != tc.all || outs["FirstTwo"] != tc.firstTwo {
				t.Errorf("%s: outputs %v", st.StackStatus, outs)
			}
		})
	}
}
