package sandbox

import (
	"net/http"
	"strings"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/scheduler"
)

// Fire fires a schedule now, as if its time had come, and returns the
// deliveries it made (one per target), once they are made. arn names an
// EventBridge Scheduler schedule (arn:aws:scheduler:<region>:<account>:
// schedule/<group>/<name>) or an EventBridge rule with a ScheduleExpression
// (arn:aws:events:<region>:<account>:rule/[<bus>/]<name>). The schedule's
// own timetable is unchanged, and a disabled one fires too. A delivery that
// failed (the target's role cannot be assumed or is not allowed) is
// returned with its Err, not as Fire's error.
//
// `stackerless sandbox fire ARN` does the same for a running sandbox.
func (s *Sandbox) Fire(arn string) ([]Delivery, error) {
	if strings.HasPrefix(arn, "arn:aws:scheduler:") {
		inv, err := s.backends.scheduler.Fire(arn)
		if err != nil {
			return nil, err
		}
		return []Delivery{deliveryOf(inv)}, nil
	}
	if strings.HasPrefix(arn, "arn:aws:events:") {
		return s.backends.events.FireRule(arn)
	}
	return nil, awsapi.Errorf(http.StatusBadRequest, "ValidationException", "%s is not the ARN of a schedule or of an EventBridge rule.", arn)
}

// Redeliver delivers an event EventBridge accepted (an S3 "Object Created"
// notification, a PutEvents entry) again, with the same event ID, to the
// targets of the rules it matches, and returns those deliveries: on AWS,
// EventBridge delivers at least once, so a target may see an event twice.
func (s *Sandbox) Redeliver(eventID string) ([]Delivery, error) {
	return s.backends.events.Redeliver(eventID)
}

// ScheduleInvocations returns EventBridge Scheduler's firings so far, on
// time or by Fire, in order, as deliveries (RuleARN is the schedule's).
func (s *Sandbox) ScheduleInvocations() []Delivery {
	invs := s.backends.scheduler.Invocations()
	out := make([]Delivery, len(invs))
	for i, inv := range invs {
		out[i] = deliveryOf(inv)
	}
	return out
}

func deliveryOf(inv scheduler.Invocation) Delivery {
	return Delivery{RuleARN: inv.ScheduleARN, TargetARN: inv.TargetARN, Input: inv.Input, Result: inv.Result, Err: inv.Err, Time: inv.Time}
}

// adminService is the sandbox's own API, signed as the service "sandbox"
// with an account's credentials (JSON 1.1, X-Amz-Target "Sandbox.<Action>").
// Its one action, Fire, lets `stackerless sandbox fire` fire a schedule of
// the caller's account.
type adminService struct{ sb *Sandbox }

// adminDescriptor presents the sandbox's own API to its router.
var adminDescriptor = &awsapi.Descriptor{
	SigningName:  "sandbox",
	Title:        "own API",
	Protocol:     awsapi.ProtoJSON11,
	TargetPrefix: "Sandbox.",
	ServerError:  "InternalFailure",
}

// fireOutput is Fire's answer: one entry per delivery.
type fireOutput struct {
	Deliveries []fireDelivery
}

type fireDelivery struct {
	Target string
	Result string `json:",omitempty"`
	Error  string `json:",omitempty"`
}

var adminActions = map[string]awsapi.JSONAction[adminService]{"Fire": adminService.fire}

func (a adminService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	awsapi.ServeJSONActions(adminDescriptor, w, r, a, adminActions)
}

func (a adminService) fire(call *awsapi.Call, body []byte) (any, error) {
	var in struct{ Arn string }
	if err := awsapi.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	// The caller fires only its own account's schedules.
	if parts := strings.SplitN(in.Arn, ":", 6); len(parts) == 6 && parts[4] != call.Caller.Account {
		return nil, awsapi.AccessDenied("%s may fire only schedules of account %s, not %s", call.Caller.ARN, call.Caller.Account, in.Arn)
	}
	ds, err := a.sb.Fire(in.Arn)
	if err != nil {
		return nil, err
	}
	out := fireOutput{Deliveries: []fireDelivery{}}
	for _, d := range ds {
		fd := fireDelivery{Target: d.TargetARN, Result: d.Result}
		if d.Err != nil {
			fd.Error = d.Err.Error()
		}
		out.Deliveries = append(out.Deliveries, fd)
	}
	return out, nil
}
