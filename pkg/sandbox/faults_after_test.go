package sandbox_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// firstAttemptLost is a transport that lifts a fault rule once the first
// attempt has been answered: the SDK's retry then goes through.
type firstAttemptLost struct {
	base     http.RoundTripper
	mu       sync.Mutex
	attempts int
	lift     func()
}

func (f *firstAttemptLost) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := f.base.RoundTrip(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts++
	if f.attempts == 1 {
		f.lift()
	}
	return resp, err
}

// lostResponseClient is a CloudFormation client whose first call's response
// is lost after the call took effect (a 500 the SDK retries), and whose
// retries go through.
func lostResponseClient(t *testing.T, sb *sandbox.Sandbox, api string) (*cloudformation.Client, *firstAttemptLost) {
	t.Helper()
	if err := sb.Faults().ServerErrorsAfter(api, 1); err != nil {
		t.Fatal(err)
	}
	tr := &firstAttemptLost{base: http.DefaultTransport, lift: func() { _ = sb.Faults().ServerErrorsAfter(api, 0) }}
	cfg := sb.AWSConfig("master")
	cfg.HTTPClient = &http.Client{Transport: tr}
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			o.RateLimiter = ratelimit.None
		})
	}
	return cloudformation.NewFromConfig(cfg), tr
}

// stackStatusEvents counts the stack-level events of a stack per status.
func stackStatusEvents(t *testing.T, c *cloudformation.Client, name string) map[types.ResourceStatus]int {
	t.Helper()
	n := map[types.ResourceStatus]int{}
	p := cloudformation.NewDescribeStackEventsPaginator(c, &cloudformation.DescribeStackEventsInput{StackName: aws.String(name)})
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range out.StackEvents {
			if aws.ToString(ev.LogicalResourceId) == name {
				n[ev.ResourceStatus]++
			}
		}
	}
	return n
}

const afterTemplate = `{"Resources":{"H":{"Type":"AWS::CloudFormation::WaitConditionHandle"}},"Outputs":{"V":{"Value":"%s"}}}`

// TestFaultAfterCreateStack: the first CreateStack takes effect and its
// response is lost; the SDK retries it with the same ClientRequestToken and
// gets the same stack, created once. Without a token the retry is refused.
func TestFaultAfterCreateStack(t *testing.T) {
	sb := sandboxtest.Start(t, func(o *sandbox.Options) { o.StackDuration = 20 * time.Millisecond })
	ctx := t.Context()
	plain := cloudformation.NewFromConfig(sb.AWSConfig("master"), cfnNoRetry)
	body := aws.String(strings.ReplaceAll(afterTemplate, "%s", "one"))

	t.Run("with a token", func(t *testing.T) {
		c, tr := lostResponseClient(t, sb, "cloudformation:CreateStack")
		out, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("lost"), TemplateBody: body,
			ClientRequestToken: aws.String("create-1")})
		if err != nil {
			t.Fatalf("CreateStack retried with its token: %v", err)
		}
		if tr.attempts != 2 {
			t.Errorf("%d attempts, want 2 (the lost one and its retry)", tr.attempts)
		}
		st := settled(t, plain, "lost")
		if aws.ToString(out.StackId) != aws.ToString(st.StackId) || st.StackStatus != types.StackStatusCreateComplete {
			t.Errorf("retry answered %s; the stack is %s %s", aws.ToString(out.StackId), aws.ToString(st.StackId), st.StackStatus)
		}
		if n := stackStatusEvents(t, plain, "lost"); n[types.ResourceStatusCreateInProgress] != 1 || n[types.ResourceStatusCreateComplete] != 1 {
			t.Errorf("stack events %v, want one creation", n)
		}
	})
	t.Run("without a token", func(t *testing.T) {
		c, tr := lostResponseClient(t, sb, "cloudformation:CreateStack")
		_, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("lost-untokened"), TemplateBody: body})
		if apiCode(err) != "AlreadyExistsException" || tr.attempts != 2 {
			t.Errorf("retry without a token after %d attempts: %v, want AlreadyExistsException (the lost call created the stack)", tr.attempts, err)
		}
		settled(t, plain, "lost-untokened")
	})
}

// TestFaultAfterExecuteChangeSet: the first ExecuteChangeSet takes effect and
// its response is lost; the SDK's retry with the same ClientRequestToken
// succeeds and the stack is updated once. Without a token the retry finds
// the change set already executing.
func TestFaultAfterExecuteChangeSet(t *testing.T) {
	sb := sandboxtest.Start(t, func(o *sandbox.Options) { o.StackDuration = 20 * time.Millisecond })
	ctx := t.Context()
	plain := cloudformation.NewFromConfig(sb.AWSConfig("master"), cfnNoRetry)
	for i, tc := range []struct {
		name, token, wantCode string
	}{
		{name: "with a token", token: "execute-1"},
		{name: "without a token", wantCode: "InvalidChangeSetStatus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stack := "exec-" + string(rune('a'+i))
			if _, err := plain.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(stack),
				TemplateBody: aws.String(strings.ReplaceAll(afterTemplate, "%s", "old"))}); err != nil {
				t.Fatal(err)
			}
			settled(t, plain, stack)
			cs, err := plain.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String(stack), ChangeSetName: aws.String("cs"),
				TemplateBody: aws.String(strings.ReplaceAll(afterTemplate, "%s", "new"))})
			if err != nil {
				t.Fatal(err)
			}
			waiter := cloudformation.NewChangeSetCreateCompleteWaiter(plain, func(o *cloudformation.ChangeSetCreateCompleteWaiterOptions) {
				o.MinDelay, o.MaxDelay = 10*time.Millisecond, 20*time.Millisecond
			})
			if err := waiter.Wait(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: cs.Id}, 10*time.Second); err != nil {
				t.Fatal(err)
			}

			c, tr := lostResponseClient(t, sb, "cloudformation:ExecuteChangeSet")
			in := &cloudformation.ExecuteChangeSetInput{StackName: aws.String(stack), ChangeSetName: aws.String("cs")}
			if tc.token != "" {
				in.ClientRequestToken = aws.String(tc.token)
			}
			_, err = c.ExecuteChangeSet(ctx, in)
			if apiCode(err) != tc.wantCode || (tc.wantCode == "" && err != nil) {
				t.Errorf("ExecuteChangeSet after a lost response: %v, want code %q", err, tc.wantCode)
			}
			if tr.attempts != 2 {
				t.Errorf("%d attempts, want 2 (the lost one and its retry)", tr.attempts)
			}
			st := settled(t, plain, stack)
			if st.StackStatus != types.StackStatusUpdateComplete || aws.ToString(st.Outputs[0].OutputValue) != "new" {
				t.Errorf("stack %s with output %s, want the change set executed", st.StackStatus, aws.ToString(st.Outputs[0].OutputValue))
			}
			if n := stackStatusEvents(t, plain, stack); n[types.ResourceStatusUpdateInProgress] != 1 || n[types.ResourceStatusUpdateComplete] != 1 {
				t.Errorf("stack events %v, want one update", n)
			}
		})
	}
}
