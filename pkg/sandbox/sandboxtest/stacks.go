package sandboxtest

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// WaitStack polls DescribeStacks until the stack (a name or an ID) is in no
// *_IN_PROGRESS status, and returns it; it fails the test after a minute.
func WaitStack(t testing.TB, client *cloudformation.Client, stack string) types.Stack {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := client.DescribeStacks(t.Context(), &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
		if err != nil {
			t.Fatalf("DescribeStacks %s: %v", stack, err)
		}
		st := out.Stacks[0]
		if !strings.HasSuffix(string(st.StackStatus), "_IN_PROGRESS") {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("stack %s still %s after a minute", stack, st.StackStatus)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
