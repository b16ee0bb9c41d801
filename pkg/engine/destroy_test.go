package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/stackerless/stackerless/pkg/engine"
)

// CloudFormation accepts deleting a stack whose export another stack
// imports, then puts it back as it was with the reason: the step fails with
// that reason (and does not ask to delete again and again).
func TestDestroyRefusedForExportInUse(t *testing.T) {
	w := newWorld(t)
	c := cfnClient(w, "master")
	config := oneStack("exp", "producer", "exporter.yaml", "")
	_, rec := w.build(config, engine.Options{})
	rec.expect(t, "producer: complete (creating new stack)")
	importer := `{"Resources":{"H":{"Type":"AWS::CloudFormation::WaitConditionHandle"}},"Outputs":{"Got":{"Value":{"Fn::ImportValue":"engine-shared"}}}}`
	if _, err := c.CreateStack(t.Context(), &cloudformation.CreateStackInput{StackName: aws.String("importer"), TemplateBody: aws.String(importer)}); err != nil {
		t.Fatal(err)
	}
	waiter := cloudformation.NewStackCreateCompleteWaiter(c, func(o *cloudformation.StackCreateCompleteWaiterOptions) { o.MinDelay = 10 * time.Millisecond })
	if err := waiter.Wait(t.Context(), &cloudformation.DescribeStacksInput{StackName: aws.String("importer")}, 10*time.Second); err != nil {
		t.Fatal(err)
	}

	p, run := w.plan(config, engine.Destroy)
	e, rec := newEngine(p)
	finish(t, e, run)
	s := run.Stack("producer")
	if s.State != engine.Failed || !strings.Contains(s.Reason, "Export engine-shared cannot be deleted as it is in use by importer") {
		t.Errorf("producer: %s", s)
	}
	rec.expect(t, "producer: submitted (submitted for destruction)")
	if count(rec.lines, "producer: submitted (submitted for destruction)") != 1 {
		t.Errorf("deletion requested more than once: %v", rec.lines)
	}
	if st := describe(t, c, "exp-producer"); st.StackStatus != cfntypes.StackStatusCreateComplete {
		t.Errorf("producer is %s, want CREATE_COMPLETE", st.StackStatus)
	}
}
