package sandbox_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/faults"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// TestFaultFlagsTakeEffect applies rules in the `stackerless sandbox` flag
// forms (--throttle, --server-errors, --throttle-after, --server-errors-after,
// --latency, --fail-stack) to a running sandbox, as the command does, and
// checks each through the SDK.
func TestFaultFlagsTakeEffect(t *testing.T) {
	sb := sandboxtest.Start(t, func(o *sandbox.Options) {
		o.Seed = 3
		o.StackDuration = 20 * time.Millisecond
	})
	fl := faults.Flags{
		Throttle:          []string{"sts:GetCallerIdentity=100%"},
		ServerErrors:      []string{"events:*=1"},
		ThrottleAfter:     []string{"iam:CreateRole=1"},
		ServerErrorsAfter: []string{"ssm:PutParameter=100%"},
		Latency:           []string{"cloudformation:ListExports=150ms"},
		FailStacks:        []string{"boom=kaboom"},
	}
	if err := fl.Apply(sb.Faults()); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	cfg := sb.AWSConfig("master")
	twoAttempts := func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 2
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			o.RateLimiter = ratelimit.None
		})
	}
	retried := func(t *testing.T, err error, code string) {
		t.Helper()
		if got := apiCode(err); got != code {
			t.Fatalf("error %v, want %s", err, code)
		}
		var maxErr *retry.MaxAttemptsError
		if !errors.As(err, &maxErr) {
			t.Errorf("%v was not retried: the SDK does not see it as retryable", err)
		}
	}

	t.Run("throttle", func(t *testing.T) {
		c := sts.NewFromConfig(cfg, func(o *sts.Options) { o.Retryer = twoAttempts() })
		_, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		retried(t, err, "Throttling")
		// Only the API named is throttled.
		if _, err := c.GetSessionToken(ctx, &sts.GetSessionTokenInput{}); err != nil {
			t.Errorf("GetSessionToken: %v", err)
		}
	})
	t.Run("server errors", func(t *testing.T) {
		c := eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.Retryer = twoAttempts() })
		_, err := c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			Source: aws.String("app"), DetailType: aws.String("t"), Detail: aws.String("{}")}}})
		// EventBridge's own code for a 500, which the SDK retries.
		retried(t, err, "InternalException")
		if n := len(sb.Events()); n != 0 {
			t.Errorf("%d events recorded through an injected 5xx", n)
		}
	})
	// The -after forms: the call acts, then its answer is replaced.
	t.Run("server errors after", func(t *testing.T) {
		c := ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.Retryer = twoAttempts() })
		_, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/after"), Value: aws.String("v"), Type: ssmtypes.ParameterTypeString})
		retried(t, err, "InternalServerError")
		got, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/after")})
		if err != nil || aws.ToString(got.Parameter.Value) != "v" {
			t.Errorf("the parameter the lost call put: %v %v", got, err)
		}
	})
	t.Run("throttle after", func(t *testing.T) {
		c := iam.NewFromConfig(cfg, func(o *iam.Options) { o.Retryer = twoAttempts() })
		_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("After"),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}`)})
		retried(t, err, "Throttling")
		if _, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("After")}); err != nil {
			t.Errorf("the role the lost call created: %v", err)
		}
	})
	t.Run("latency", func(t *testing.T) {
		c := cloudformation.NewFromConfig(cfg, cfnNoRetry)
		start := time.Now()
		if _, err := c.ListExports(ctx, &cloudformation.ListExportsInput{}); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Errorf("ListExports took %s, want >= 150ms", d)
		}
	})
	t.Run("fail stack", func(t *testing.T) {
		c := cloudformation.NewFromConfig(cfg, cfnNoRetry)
		body := aws.String(`{"Resources":{"H":{"Type":"AWS::CloudFormation::WaitConditionHandle"}}}`)
		for _, name := range []string{"boom", "fine"} {
			if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: body}); err != nil {
				t.Fatal(err)
			}
		}
		if st := settled(t, c, "fine"); st.StackStatus != types.StackStatusCreateComplete {
			t.Errorf("fine: %s", st.StackStatus)
		}
		if st := settled(t, c, "boom"); st.StackStatus != types.StackStatusRollbackComplete {
			t.Errorf("boom: %s", st.StackStatus)
		}
		out, err := c.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String("boom")})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, ev := range out.StackEvents {
			if ev.ResourceStatus == types.ResourceStatusCreateFailed && strings.Contains(aws.ToString(ev.ResourceStatusReason), "kaboom") {
				found = true
			}
		}
		if !found {
			t.Errorf("no CREATE_FAILED event with the flag's reason")
		}
	})
}
