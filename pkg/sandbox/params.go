package sandbox

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// queryParams holds, per Query service and action, the top-level parameter
// names the API takes. They are read from aws-sdk-go-v2's input types, whose
// field names are the Query member names, so the list is the real API's and
// follows SDK upgrades.
var queryParams = sync.OnceValue(func() map[string]map[string][]string {
	return map[string]map[string][]string{
		"cloudformation": inputFields(reflect.TypeOf(&cloudformation.Client{})),
		"iam":            inputFields(reflect.TypeOf(&iam.Client{})),
		"sts":            inputFields(reflect.TypeOf(&sts.Client{})),
	}
})

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
	fields, ok := queryParams()[service][action]
	if !ok {
		return nil
	}
	for key := range form {
		if key == "Action" || key == "Version" || strings.HasPrefix(key, "X-Amz-") {
			continue // the operation, and SigV4's query parameters on presigned URLs
		}
		// Lists and structures are flattened: Parameters.member.1.ParameterKey.
		top, _, _ := strings.Cut(key, ".")
		if _, found := slices.BinarySearch(fields, top); !found {
			return awsapi.Errorf(http.StatusBadRequest, "ValidationError",
				"Unknown parameter in input: %q, must be one of: %s", top, strings.Join(fields, ", "))
		}
	}
	return nil
}
