package sandbox_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// Query parameters an action does not take are refused, with the message
// the AWS CLI gives for them; known ones, lists and structures included, pass.
func TestUnknownQueryParameters(t *testing.T) {
	sb := sandboxtest.Start(t)
	master, _ := sb.Account("master")
	for _, tt := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"unknown top-level parameter", "Action=DescribeStacks&Version=2010-05-15&Bogus=1", 400, `Unknown parameter in input: &#34;Bogus&#34;, must be one of: NextToken, StackName`},
		{"unknown member of a known list's neighbour", "Action=GetCallerIdentity&Version=2011-06-15&Foo.member.1=x", 400, "Unknown parameter in input: &#34;Foo&#34;"},
		{"known parameters", "Action=DescribeStacks&Version=2010-05-15&NextToken=", 200, "DescribeStacksResult"},
		{"flattened list of a known parameter", "Action=ListStacks&Version=2010-05-15&StackStatusFilter.member.1=CREATE_COMPLETE", 200, "ListStacksResult"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			service := "cloudformation"
			if strings.Contains(tt.body, "GetCallerIdentity") {
				service = "sts"
			}
			req := signedQueryFor(t, sb, master, service, tt.body, time.Now())
			status, body := do(t, req)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("got %d %s, want %d with %s", status, body, tt.status, tt.want)
			}
		})
	}
}

// JSON services refuse unknown members the same way.
func TestUnknownJSONParameters(t *testing.T) {
	sb := sandboxtest.Start(t)
	client := ssm.NewFromConfig(sb.AWSConfig("master"), func(o *ssm.Options) {
		o.APIOptions = append(o.APIOptions, sandboxtest.ReplaceBody(`{"Bogus":1,"Name":"/x"}`))
	})
	_, err := client.GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String("/x")})
	if got := apiCode(err); got != "ValidationException" || !strings.Contains(err.Error(), `Unknown parameter in input: "Bogus"`) {
		t.Errorf("GetParameter with an unknown member: %v", err)
	}
	if _, err := ssm.NewFromConfig(sb.AWSConfig("master")).GetParameter(t.Context(), &ssm.GetParameterInput{Name: aws.String("/x")}); apiCode(err) != "ParameterNotFound" {
		t.Errorf("GetParameter: %v", err)
	}
}

// Injected server errors carry each service's own code (all retryable 500s).
func TestFaultServerErrorCodes(t *testing.T) {
	sb := sandboxtest.Start(t)
	if err := sb.Faults().ServerErrors("*", 1); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	_, err := ssm.NewFromConfig(sb.AWSConfig("master"), func(o *ssm.Options) { o.RetryMaxAttempts = 1 }).
		GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/x")})
	if got := apiCode(err); got != "InternalServerError" {
		t.Errorf("ssm: %q (%v)", got, err)
	}
	_, err = s3.NewFromConfig(sb.AWSConfig("master"), func(o *s3.Options) { o.RetryMaxAttempts = 1 }).
		ListBuckets(ctx, &s3.ListBucketsInput{})
	if got := apiCode(err); got != "InternalError" {
		t.Errorf("s3: %q (%v)", got, err)
	}
	master, _ := sb.Account("master")
	req := signedQueryFor(t, sb, master, "cloudformation", "Action=DescribeStacks&Version=2010-05-15", time.Now())
	if status, body := do(t, req); status != http.StatusInternalServerError || !strings.Contains(body, "<Code>InternalFailure</Code>") {
		t.Errorf("cloudformation: %d %s", status, body)
	}
}
