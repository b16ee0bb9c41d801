package awsapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// CheckQuery refuses a Query request parameter the action does not take,
// with the message the AWS CLI gives for one. Actions the SDK client does
// not have are left to the service.
func (d *Descriptor) CheckQuery(action string, form url.Values) error {
	for key := range form {
		if key == "Action" || key == "Version" || strings.HasPrefix(key, "X-Amz-") {
			continue // the operation, and SigV4's query parameters on presigned URLs
		}
		// Lists and structures are flattened: Parameters.member.1.ParameterKey.
		top, _, _ := strings.Cut(key, ".")
		if err := d.checkParam(action, top, "ValidationError"); err != nil {
			return err
		}
	}
	return nil
}

// CheckJSON does the same for the top-level members of a JSON body. A body
// that is not a JSON object is left to the service to refuse.
func (d *Descriptor) CheckJSON(action string, body []byte) error {
	var members map[string]json.RawMessage
	if json.Unmarshal(body, &members) != nil {
		return nil
	}
	for name := range members {
		if err := d.checkParam(action, name, "ValidationException"); err != nil {
			return err
		}
	}
	return nil
}

func (d *Descriptor) checkParam(action, name, code string) error {
	if d.Client == nil {
		return nil
	}
	fields, ok := inputFields(reflect.TypeOf(d.Client), d.LowerCamel)[action]
	if !ok {
		return nil
	}
	if _, found := slices.BinarySearch(fields, name); !found {
		return Errorf(http.StatusBadRequest, code, "Unknown parameter in input: %q, must be one of: %s", name, strings.Join(fields, ", "))
	}
	return nil
}

// clientInputs caches inputFields per SDK client type and case.
var clientInputs sync.Map // inputsKey -> map[string][]string

type inputsKey struct {
	client     reflect.Type
	lowerCamel bool
}

var contextType = reflect.TypeOf((*context.Context)(nil)).Elem()

// inputFields maps each operation method of an SDK client,
// Op(ctx, *OpInput, ...), to the exported fields of OpInput, sorted (first
// letters lower-cased with lowerCamel). The SDK's field names are the member
// names the Query and JSON protocols use, so the lists are the real API's
// and follow SDK upgrades.
func inputFields(client reflect.Type, lowerCamel bool) map[string][]string {
	key := inputsKey{client, lowerCamel}
	if ops, ok := clientInputs.Load(key); ok {
		return ops.(map[string][]string)
	}
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
		if lowerCamel {
			fields = lowerFirst(fields)
		}
		ops[m.Name] = fields
	}
	clientInputs.Store(key, ops)
	return ops
}

// lowerFirst returns names with their first letter lower-cased, sorted.
func lowerFirst(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToLower(n[:1]) + n[1:]
	}
	slices.Sort(out)
	return out
}
