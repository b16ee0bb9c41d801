package cfn

import (
	"context"
	"encoding/json"
	"sort"
	"strings"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

func init() {
	providers["AWS::StepFunctions::StateMachine"] = withBackend(stateMachineProvider, func(s *Service) bool { return s.opts.StepFunctions != nil })
}

// stateMachineProvider creates state machines through the sandbox's Step
// Functions API as the stack's actor, so its checks (definition, role trust,
// iam:PassRole) fail the resource with Step Functions' own message.
var stateMachineProvider = &provider{
	replace: map[string]string{"StateMachineName": "Always", "StateMachineType": "Always"},
	attrs:   []string{"Arn", "Name", "StateMachineRevisionId"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		def, err := stateMachineDefinition(c, props)
		if err != nil {
			return err
		}
		name := propString(props, "StateMachineName")
		if name == "" {
			name = physicalName(c.st.name, r.logicalID, 80, false)
		}
		in := map[string]any{"name": name, "definition": def, "roleArn": propString(props, "RoleArn")}
		if t := propString(props, "StateMachineType"); t != "" {
			in["type"] = t
		}
		addStateMachineSettings(in, props)
		if tags := propList(props, "Tags"); len(tags) > 0 {
			in["tags"] = tags
		}
		out, err := c.stepFunctions(c.actorCall(), "CreateStateMachine", in)
		if err != nil {
			return serviceError("Sfn", err)
		}
		arn := scalarString(out["stateMachineArn"])
		r.physicalID = arn
		r.attrs = map[string]any{"Arn": arn, "Name": name}
		return c.describeStateMachine(r)
	},
	update: func(c *pctx, r *resource, old, props map[string]any) error {
		def, err := stateMachineDefinition(c, props)
		if err != nil {
			return err
		}
		in := map[string]any{"stateMachineArn": r.physicalID, "definition": def, "roleArn": propString(props, "RoleArn")}
		addStateMachineSettings(in, props)
		if _, ok := in["loggingConfiguration"]; !ok {
			in["loggingConfiguration"] = map[string]any{"level": "OFF"}
		}
		if _, ok := in["tracingConfiguration"]; !ok {
			in["tracingConfiguration"] = map[string]any{"enabled": false}
		}
		if _, err := c.stepFunctions(c.actorCall(), "UpdateStateMachine", in); err != nil {
			return serviceError("Sfn", err)
		}
		return c.describeStateMachine(r)
	},
	delete: func(c *pctx, r *resource) error {
		_, err := c.stepFunctions(c.actorCall(), "DeleteStateMachine", map[string]any{"stateMachineArn": r.physicalID})
		if err != nil && !isCode(err, "StateMachineDoesNotExist") {
			return serviceError("Sfn", err)
		}
		return nil
	},
}

// stepFunctions performs a Step Functions action as the stack's actor. Resource
// actions run detached from the request that started the stack operation, so
// only the service's closing ends them early.
func (c *pctx) stepFunctions(call *awsapi.Call, action string, input any) (map[string]any, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return c.s.opts.StepFunctions.Do(ctx, call, action, input)
}

// actorCall is the call the resource's API actions are made with: the
// stack's actor, at the current time.
func (c *pctx) actorCall() *awsapi.Call {
	call := *c.call
	call.Time = c.s.now()
	call.Region = c.region
	return &call
}

func (c *pctx) describeStateMachine(r *resource) error {
	out, err := c.stepFunctions(c.actorCall(), "DescribeStateMachine", map[string]any{"stateMachineArn": r.physicalID})
	if err != nil {
		return serviceError("Sfn", err)
	}
	r.attrs["StateMachineRevisionId"] = scalarString(out["revisionId"])
	return nil
}

// addStateMachineSettings copies LoggingConfiguration and
// TracingConfiguration into an API input (the API reads their members
// whatever the case of their first letter).
func addStateMachineSettings(in, props map[string]any) {
	if lc := propMap(props, "LoggingConfiguration"); lc != nil {
		in["loggingConfiguration"] = lc
	}
	if tc := propMap(props, "TracingConfiguration"); tc != nil {
		in["tracingConfiguration"] = map[string]any{"enabled": propBool(tc, "Enabled")}
	}
}

// stateMachineDefinition is the definition text from exactly one of
// Definition, DefinitionString and DefinitionS3Location, with
// DefinitionSubstitutions applied.
func stateMachineDefinition(c *pctx, props map[string]any) (string, error) {
	var def string
	given := 0
	if v, ok := props["Definition"]; ok && v != nil {
		given++
		data, err := json.Marshal(v)
		if err != nil {
			return "", reasonf("Property Definition is not a JSON object: %v", err)
		}
		def = string(data)
	}
	if v := propString(props, "DefinitionString"); v != "" {
		given++
		def = v
	}
	if loc := propMap(props, "DefinitionS3Location"); loc != nil {
		given++
		if c.s.opts.S3 == nil {
			return "", errNoBackend
		}
		data, err := c.s.opts.S3.ReadObject(c.actorCall(), propString(loc, "Bucket"), propString(loc, "Key"), propString(loc, "Version"))
		if err != nil {
			return "", serviceError("S3", err)
		}
		def = string(data)
	}
	if given != 1 {
		return "", reasonf("Properties validation failed for resource: exactly one of Definition, DefinitionString or DefinitionS3Location must be specified")
	}
	subs := propMap(props, "DefinitionSubstitutions")
	keys := make([]string, 0, len(subs))
	for k := range subs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		def = strings.ReplaceAll(def, "${"+k+"}", scalarString(subs[k]))
	}
	return def, nil
}
