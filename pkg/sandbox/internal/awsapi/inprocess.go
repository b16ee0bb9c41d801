package awsapi

import (
	"encoding/json"
	"fmt"
)

// CallJSON performs one action of a JSON service in-process, for another part
// of the sandbox (CloudFormation's resource providers): input is what the
// action's body would hold, run is the service's handler for it, and the
// call is call with the service and action set. The output is the handler's
// result as a JSON object.
func CallJSON(call *Call, service, action string, input any, run func(c *Call, body []byte) (any, error)) (map[string]any, error) {
	body, err := json.Marshal(input)
	if err != nil {
		return nil, fmt.Errorf("encode %s input: %w", action, err)
	}
	c := *call
	c.Service, c.Action = service, action
	out, err := run(&c, body)
	if err != nil {
		return nil, err
	}
	m, _ := out.(map[string]any)
	return m, nil
}
