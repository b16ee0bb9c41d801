package cfn

import (
	"encoding/json"
	"strings"
)

func init() {
	hasEvents := func(s *Service) bool { return s.opts.Events != nil }
	providers["AWS::Events::Rule"] = withBackend(ruleProvider, hasEvents)
	providers["AWS::Events::EventBus"] = withBackend(eventBusProvider, hasEvents)
}

// eventsDo performs an EventBridge action as the stack's actor; a refusal
// reads as CloudFormation reports EventBridge's error.
func (c *pctx) eventsDo(action string, input any) (map[string]any, error) {
	out, err := c.s.opts.Events.Do(c.actorCall(), action, input)
	if err != nil {
		return nil, serviceError("EventBridge", err)
	}
	return out, nil
}

// ruleRef is a rule's physical ID: its name, or bus|name on a custom bus.
func ruleRef(bus, name string) string {
	if bus == "" || bus == "default" {
		return name
	}
	return bus + "|" + name
}

func splitRuleRef(ref string) (bus, name string) {
	if b, n, ok := strings.Cut(ref, "|"); ok {
		return b, n
	}
	return "", ref
}

// ruleInput is PutRule's input from a rule's properties.
func ruleInput(name string, props map[string]any) (map[string]any, error) {
	in := map[string]any{"Name": name}
	for _, k := range []string{"EventBusName", "ScheduleExpression", "State", "Description", "RoleArn"} {
		if v := propString(props, k); v != "" {
			in[k] = v
		}
	}
	switch p := props["EventPattern"].(type) {
	case nil:
	case string:
		in["EventPattern"] = p
	default:
		data, err := json.Marshal(p)
		if err != nil {
			return nil, reasonf("Property EventPattern is not JSON: %v", err)
		}
		in["EventPattern"] = string(data)
	}
	return in, nil
}

// putRuleTargets makes the rule's targets those of props.
func (c *pctx) putRuleTargets(bus, name string, old, props map[string]any) error {
	keep := map[string]bool{}
	targets := propList(props, "Targets")
	for _, t := range targets {
		if m, ok := t.(map[string]any); ok {
			keep[propString(m, "Id")] = true
		}
	}
	var gone []string
	for _, t := range propList(old, "Targets") {
		if m, ok := t.(map[string]any); ok && !keep[propString(m, "Id")] {
			gone = append(gone, propString(m, "Id"))
		}
	}
	if len(gone) > 0 {
		if _, err := c.eventsDo("RemoveTargets", map[string]any{"Rule": name, "EventBusName": bus, "Ids": gone}); err != nil {
			return err
		}
	}
	if len(targets) > 0 {
		if _, err := c.eventsDo("PutTargets", map[string]any{"Rule": name, "EventBusName": bus, "Targets": targets}); err != nil {
			return err
		}
	}
	return nil
}

var ruleProvider = &provider{
	replace: map[string]string{"Name": "Always", "EventBusName": "Always"},
	attrs:   []string{"Arn"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		name := propString(props, "Name")
		if name == "" {
			name = physicalName(c.st.name, r.logicalID, 64, false)
		}
		in, err := ruleInput(name, props)
		if err != nil {
			return err
		}
		out, err := c.eventsDo("PutRule", in)
		if err != nil {
			return err
		}
		bus := propString(props, "EventBusName")
		r.physicalID = ruleRef(bus, name)
		r.attrs = map[string]any{"Arn": scalarString(out["RuleArn"])}
		return c.putRuleTargets(bus, name, nil, props)
	},
	update: func(c *pctx, r *resource, old, props map[string]any) error {
		bus, name := splitRuleRef(r.physicalID)
		in, err := ruleInput(name, props)
		if err != nil {
			return err
		}
		if _, err := c.eventsDo("PutRule", in); err != nil {
			return err
		}
		return c.putRuleTargets(bus, name, old, props)
	},
	delete: func(c *pctx, r *resource) error {
		bus, name := splitRuleRef(r.physicalID)
		var ids []string
		for _, t := range propList(r.props, "Targets") {
			if m, ok := t.(map[string]any); ok {
				ids = append(ids, propString(m, "Id"))
			}
		}
		if len(ids) > 0 {
			if _, err := c.s.opts.Events.Do(c.actorCall(), "RemoveTargets", map[string]any{"Rule": name, "EventBusName": bus, "Ids": ids}); err != nil && !isCode(err, "ResourceNotFoundException") {
				return serviceError("EventBridge", err)
			}
		}
		if _, err := c.s.opts.Events.Do(c.actorCall(), "DeleteRule", map[string]any{"Name": name, "EventBusName": bus}); err != nil && !isCode(err, "ResourceNotFoundException") {
			return serviceError("EventBridge", err)
		}
		return nil
	},
}

var eventBusProvider = &provider{
	replace: map[string]string{"Name": "Always", "EventSourceName": "Always"},
	attrs:   []string{"Arn", "Name", "Policy"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		name := propString(props, "Name")
		out, err := c.eventsDo("CreateEventBus", map[string]any{"Name": name})
		if err != nil {
			return err
		}
		r.physicalID = name
		r.attrs = map[string]any{"Arn": scalarString(out["EventBusArn"]), "Name": name, "Policy": ""}
		return nil
	},
	update: func(c *pctx, r *resource, old, props map[string]any) error { return nil },
	delete: func(c *pctx, r *resource) error {
		if _, err := c.s.opts.Events.Do(c.actorCall(), "DeleteEventBus", map[string]any{"Name": r.physicalID}); err != nil && !isCode(err, "ResourceNotFoundException") {
			return serviceError("EventBridge", err)
		}
		return nil
	},
}
