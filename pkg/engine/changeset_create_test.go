package engine_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/stackerless/stackerless/pkg/engine"
)

// A stack created through a change set (here: a REVIEW_IN_PROGRESS stack
// left by an earlier CREATE change set) still gets the termination
// protection and stack policy the config asks for, as CreateStack gives them.
func TestChangeSetCreateKeepsSettings(t *testing.T) {
	w := newWorld(t)
	c := cfnClient(w, "master")
	body := readTestdata(t, "echo.yaml")
	if _, err := c.CreateChangeSet(t.Context(), &cloudformation.CreateChangeSetInput{
		StackName: aws.String("review-app"), ChangeSetName: aws.String("left-behind"),
		ChangeSetType: cfntypes.ChangeSetTypeCreate, TemplateBody: aws.String(body),
		Parameters: []cfntypes.Parameter{{ParameterKey: aws.String("In"), ParameterValue: aws.String("x")}},
	}); err != nil {
		t.Fatal(err)
	}
	if st := describe(t, c, "review-app"); st.StackStatus != cfntypes.StackStatusReviewInProgress {
		t.Fatalf("setup: stack is %s", st.StackStatus)
	}
	_, rec := w.build(oneStack("review", "app", "echo.yaml", "    termination_protection: true\n    stack_policy_path: stack-policy.json\n    variables:\n      In: x\n"), engine.Options{})
	rec.expect(t, "app: submitted (creating new stack)", "app: complete (creating new stack)")
	st := describe(t, c, "review-app")
	if st.StackStatus != cfntypes.StackStatusCreateComplete || !aws.ToBool(st.EnableTerminationProtection) {
		t.Errorf("stack %s, termination protection %v", st.StackStatus, aws.ToBool(st.EnableTerminationProtection))
	}
	policy, err := c.GetStackPolicy(t.Context(), &cloudformation.GetStackPolicyInput{StackName: aws.String("review-app")})
	if err != nil || aws.ToString(policy.StackPolicyBody) == "" {
		t.Errorf("stack policy = %q, %v", aws.ToString(policy.StackPolicyBody), err)
	}
}
