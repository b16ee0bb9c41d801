package sandbox_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// A Query list member with an index that is not a positive integer is refused
// as AWS's Query protocol refuses it, rather than silently dropped (which would
// create the stack without the parameter).
func TestMalformedListIndex(t *testing.T) {
	sb := sandboxtest.Start(t)
	const tpl = `{"Parameters":{"Env":{"Type":"String","Default":"dev"}},"Resources":{"Q":{"Type":"AWS::SQS::Queue"}}}`
	form := func(extra string) string {
		return "Action=CreateStack&Version=2010-05-15&StackName=s&TemplateBody=" + url.QueryEscape(tpl) + extra
	}
	for _, tc := range []struct{ name, extra, want string }{
		{"negative", "&Parameters.member.-1.ParameterKey=Env&Parameters.member.-1.ParameterValue=prod", "-1 is not a valid index"},
		{"zero", "&Tags.member.0.Key=team&Tags.member.0.Value=a", "0 is not a valid index"},
		{"not a number", "&Capabilities.member.x=CAPABILITY_IAM", "x is not a valid index"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cloudformation.NewFromConfig(sb.AWSConfig("master"), cfnNoRetry, func(o *cloudformation.Options) {
				o.APIOptions = append(o.APIOptions, sandboxtest.ReplaceBody(form(tc.extra)))
			})
			_, err := c.CreateStack(t.Context(), &cloudformation.CreateStackInput{StackName: aws.String("s")})
			if apiCode(err) != "MalformedInput" || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CreateStack: %v, want MalformedInput %q", err, tc.want)
			}
		})
	}
	plain := cloudformation.NewFromConfig(sb.AWSConfig("master"), cfnNoRetry)
	if _, err := plain.DescribeStacks(t.Context(), &cloudformation.DescribeStacksInput{StackName: aws.String("s")}); apiCode(err) != "ValidationError" {
		t.Fatalf("a refused CreateStack left a stack: %v", err)
	}
	// Well-formed indexes still work.
	c := cloudformation.NewFromConfig(sb.AWSConfig("master"), cfnNoRetry, func(o *cloudformation.Options) {
		o.APIOptions = append(o.APIOptions, sandboxtest.ReplaceBody(form("&Parameters.member.1.ParameterKey=Env&Parameters.member.1.ParameterValue=prod")))
	})
	if _, err := c.CreateStack(t.Context(), &cloudformation.CreateStackInput{StackName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	out, err := plain.DescribeStacks(t.Context(), &cloudformation.DescribeStacksInput{StackName: aws.String("s")})
	if err != nil || len(out.Stacks[0].Parameters) != 1 || aws.ToString(out.Stacks[0].Parameters[0].ParameterValue) != "prod" {
		t.Fatalf("stack parameters: %+v %v", out, err)
	}
}
