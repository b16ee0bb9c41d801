package cfn

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// A stack's events have unique IDs and strictly decreasing timestamps, newest
// first, however fast resources complete: the CDK CLI stops reading events
// at an ID it has seen, and a resource's two CREATE_IN_PROGRESS events (the
// second "Resource creation Initiated") used to share one.
func TestEventIDsUniqueAndOrdered(t *testing.T) {
	e := newEnv(t, 0)
	c := e.client(acctA)
	tpl := "Resources:\n"
	for _, id := range []string{"A", "B", "C", "D", "E", "F"} {
		tpl += "  Topic" + id + ": {Type: AWS::SNS::Topic}\n"
	}
	createComplete(t, c, "fast", tpl)
	evs := events(t, c, "fast")
	if len(evs) < 14 {
		t.Fatalf("%d events", len(evs))
	}
	seen := map[string]bool{}
	var last time.Time
	for i, ev := range evs {
		id := aws.ToString(ev.EventId)
		if seen[id] {
			t.Errorf("event %d: duplicate EventId %s", i, id)
		}
		seen[id] = true
		if i > 0 && !ev.Timestamp.Before(last) {
			t.Errorf("event %d (%s %s) at %s, not before the next newer one at %s", i, aws.ToString(ev.LogicalResourceId), ev.ResourceStatus, ev.Timestamp, last)
		}
		last = *ev.Timestamp
	}
}
