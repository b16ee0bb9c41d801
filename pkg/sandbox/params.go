package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// apiParams holds, per Query or JSON service and action, the top-level
// parameter names the API takes. They are read from aws-sdk-go-v2's input
// types, whose field names are the member names both protocols use, so the
// list is the real API's and follows SDK upgrades.
var apiParams = sync.OnceValue(func() map[string]map[string][]string {
	return map[string]map[string][]string{
		"cloudformation": inputFields(reflect.TypeOf(&cloudformation.Client{})),
		"iam":            inputFields(reflect.TypeOf(&iam.Client{})),
		"sts":            inputFields(reflect.TypeOf(&sts.Client{})),
		"ssm":            inputFields(reflect.TypeOf(&ssm.Client{})),
		"events":         inputFields(reflect.TypeOf(&eventbridge.Client{})),
		"states":         inputFields(reflect.TypeOf(&sfn.Client{})),
		"logs":           lowerCamel(inputFields(reflect.TypeOf(&cloudwatchlogs.Client{}))),
	}
})

// lowerCamel turns field names into the member names of services whose JSON
// members start in lower case (CloudWatch Logs: LogGroupName is logGroupName).
func lowerCamel(ops map[string][]string) map[string][]string {
	for op, fields := range ops {
		for i, f := range fields {
			fields[i] = strings.ToLower(f[:1]) + f[1:]
		}
		slices.Sort(fields)
		ops[op] = fields
	}
	return ops
}

var contextType = reflect.TypeOf((*context.Context)(nil)).Elem()

// inputFields maps each operation method of an SDK client,
// Op(ctx, *OpInput, ...), to the exported fields of OpInput.
func inputFields(client reflect.Type) map[string][]string {
	ops := map[string][]string{}
	for i := range client.NumMethod() {
		m := client.Method(i)
		// In(0) is the receiver.
		if m.Type.NumIn() < 3 || m.Type.In(1) != contextType || m.Type.In(2).Kind() != reflect.Pointer {
			continue
		}
		in := m.Type.In(2).Elem()
		if in.Kind() != reflect.Struct || in.Name() != m.Name+"Input" {
			continue
		}
		var fields []string
		for j := range in.NumField() {
			if f := in.Field(j); f.IsExported() {
				fields = append(fields, f.Name)
			}
		}
		slices.Sort(fields)
		ops[m.Name] = fields
	}
	return ops
}

// checkQueryParams refuses a parameter the action does not take, with the
// message the AWS CLI gives for one. Unknown actions are left to the service.
func checkQueryParams(service, action string, form url.Values) error {
	for key := range form {
		if key == "Action" || key == "Version" || strings.HasPrefix(key, "X-Amz-") {
			continue // the operation, and SigV4's query parameters on presigned URLs
		}
		// Lists and structures are flattened: Parameters.member.1.ParameterKey.
		top, _, _ := strings.Cut(key, ".")
		if err := checkParam(service, action, top, "ValidationError"); err != nil {
			return err
		}
	}
	return nil
}

// checkJSONParams does the same for the top-level members of a JSON 1.1
// body. A body that is not a JSON object is left to the service to refuse.
func checkJSONParams(service, action string, body []byte) error {
	var members map[string]json.RawMessage
	if json.Unmarshal(body, &members) != nil {
		return nil
	}
	for name := range members {
		if err := checkParam(service, action, name, "ValidationException"); err != nil {
			return err
		}
	}
	return nil
}

// camelMembers are the services whose JSON members start lower-case
// (stateMachineArn) where the SDK's field names start upper-case.
var camelMembers = map[string]bool{"states": true}

func checkParam(service, action, name, code string) error {
	fields, ok := apiParams()[service][action]
	if !ok {
		return nil
	}
	field := name
	if camelMembers[service] {
		field = strings.ToUpper(name[:min(1, len(name))]) + name[min(1, len(name)):]
	}
	if _, found := slices.BinarySearch(fields, field); !found || camelMembers[service] && field == name {
		if camelMembers[service] {
			fields = lowerFirst(fields)
		}
		return awsapi.Errorf(http.StatusBadRequest, code, "Unknown parameter in input: %q, must be one of: %s", name, strings.Join(fields, ", "))
	}
	return nil
}

func lowerFirst(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToLower(n[:1]) + n[1:]
	}
	return out
}
