package cfn

import (
	"strconv"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// Schedules is what AWS::Scheduler::Schedule and AWS::Scheduler::ScheduleGroup
// need from the sandbox's EventBridge Scheduler: its API actions, performed
// as a caller.
type Schedules interface {
	Do(call *awsapi.Call, action string, input map[string]any) (map[string]any, error)
}

func init() {
	hasScheduler := func(s *Service) bool { return s.opts.Scheduler != nil }
	providers["AWS::Scheduler::Schedule"] = withBackend(scheduleProvider, hasScheduler)
	providers["AWS::Scheduler::ScheduleGroup"] = withBackend(scheduleGroupProvider, hasScheduler)
}

// schedulerDo performs a Scheduler action as the stack's actor; a refusal
// reads as CloudFormation reports Scheduler's error.
func (c *pctx) schedulerDo(action string, input map[string]any) (map[string]any, error) {
	out, err := c.s.opts.Scheduler.Do(c.actorCall(), action, input)
	if err != nil {
		return nil, serviceError("Scheduler", err)
	}
	return out, nil
}

// scheduleRef is a schedule's physical ID: its name, or group|name outside
// the default group.
func scheduleRef(group, name string) string {
	if group == "" || group == "default" {
		return name
	}
	return group + "|" + name
}

func splitScheduleRef(ref string) (group, name string) {
	if g, n, ok := strings.Cut(ref, "|"); ok {
		return g, n
	}
	return "", ref
}

// scheduleInput is CreateSchedule's and UpdateSchedule's input from a
// schedule's properties: dates from ISO 8601 to epoch seconds, numbers from
// the strings templates may give.
func scheduleInput(r *resource, name string, props map[string]any) (map[string]any, error) {
	in := map[string]any{"Name": name}
	for _, k := range []string{"GroupName", "Description", "ScheduleExpression", "ScheduleExpressionTimezone", "State", "KmsKeyArn", "ActionAfterCompletion"} {
		if v := propString(props, k); v != "" {
			in[k] = v
		}
	}
	for _, k := range []string{"StartDate", "EndDate"} {
		v := propString(props, k)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, invalidProps(r, "#/%s: %q is not an ISO 8601 date-time", k, v)
		}
		in[k] = float64(t.UnixMilli()) / 1000
	}
	if fw := propMap(props, "FlexibleTimeWindow"); fw != nil {
		w := map[string]any{"Mode": propString(fw, "Mode")}
		if m := propString(fw, "MaximumWindowInMinutes"); m != "" {
			n, err := strconv.Atoi(m)
			if err != nil {
				return nil, invalidProps(r, "#/FlexibleTimeWindow/MaximumWindowInMinutes: expected type: Number, found: String")
			}
			w["MaximumWindowInMinutes"] = n
		}
		in["FlexibleTimeWindow"] = w
	}
	if t := propMap(props, "Target"); t != nil {
		target := map[string]any{}
		for k, v := range t {
			target[k] = v
		}
		if rp := propMap(t, "RetryPolicy"); rp != nil {
			policy := map[string]any{}
			for _, k := range []string{"MaximumEventAgeInSeconds", "MaximumRetryAttempts"} {
				if v := propString(rp, k); v != "" {
					n, err := strconv.Atoi(v)
					if err != nil {
						return nil, invalidProps(r, "#/Target/RetryPolicy/%s: expected type: Number, found: String", k)
					}
					policy[k] = n
				}
			}
			target["RetryPolicy"] = policy
		}
		in["Target"] = target
	}
	return in, nil
}

var scheduleProvider = &provider{
	replace: map[string]string{"Name": "Always", "GroupName": "Always"},
	attrs:   []string{"Arn"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		name := propString(props, "Name")
		if name == "" {
			name = physicalName(c.st.name, r.logicalID, 64, false)
		}
		in, err := scheduleInput(r, name, props)
		if err != nil {
			return err
		}
		out, err := c.schedulerDo("CreateSchedule", in)
		if err != nil {
			return err
		}
		r.physicalID = scheduleRef(propString(props, "GroupName"), name)
		r.attrs = map[string]any{"Arn": scalarString(out["ScheduleArn"])}
		return nil
	},
	update: func(c *pctx, r *resource, old, props map[string]any) error {
		_, name := splitScheduleRef(r.physicalID)
		in, err := scheduleInput(r, name, props)
		if err != nil {
			return err
		}
		_, err = c.schedulerDo("UpdateSchedule", in)
		return err
	},
	delete: func(c *pctx, r *resource) error {
		group, name := splitScheduleRef(r.physicalID)
		_, err := c.s.opts.Scheduler.Do(c.actorCall(), "DeleteSchedule", map[string]any{"Name": name, "GroupName": group})
		if err != nil && !isCode(err, "ResourceNotFoundException") {
			return serviceError("Scheduler", err)
		}
		return nil
	},
}

var scheduleGroupProvider = &provider{
	replace: map[string]string{"Name": "Always"},
	attrs:   []string{"Arn", "CreationDate", "LastModificationDate", "State"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		name := propString(props, "Name")
		if name == "" {
			name = physicalName(c.st.name, r.logicalID, 64, false)
		}
		if _, err := c.schedulerDo("CreateScheduleGroup", map[string]any{"Name": name}); err != nil {
			return err
		}
		r.physicalID = name
		out, err := c.schedulerDo("GetScheduleGroup", map[string]any{"Name": name})
		if err != nil {
			return err
		}
		r.attrs = map[string]any{"Arn": scalarString(out["Arn"]), "State": scalarString(out["State"]),
			"CreationDate": scalarString(out["CreationDate"]), "LastModificationDate": scalarString(out["LastModificationDate"])}
		return nil
	},
	// Tags are the only property that changes in place; the sandbox keeps none.
	update: func(c *pctx, r *resource, old, props map[string]any) error { return nil },
	delete: func(c *pctx, r *resource) error {
		_, err := c.s.opts.Scheduler.Do(c.actorCall(), "DeleteScheduleGroup", map[string]any{"Name": r.physicalID})
		if err != nil && !isCode(err, "ResourceNotFoundException") {
			return serviceError("Scheduler", err)
		}
		return nil
	},
}
