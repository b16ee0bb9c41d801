package rawtemplate

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadParameters(t *testing.T) {
	tests := []struct {
		path      string
		params    []Parameter
		transform bool
		outputs   []string
		desc      string
	}{
		{
			path: "testdata/bucket.json",
			params: []Parameter{
				{Name: "BucketName", Type: "String"},
				{Name: "Count", Type: "Number"},
				{Name: "Subnets", Type: "CommaDelimitedList", HasDefault: true},
				{Name: "Versioning", Type: "String", HasDefault: true},
			},
			outputs: []string{"BucketArn", "BucketId"},
			desc:    "A bucket",
		},
		{
			path: "testdata/role.yaml",
			params: []Parameter{
				{Name: "Empty", Type: "String", HasDefault: true},
				{Name: "MasterAccountId", Type: "String"},
				{Name: "RoleName", Type: "String", HasDefault: true},
			},
			transform: true,
			outputs:   []string{"RoleArn"},
			desc:      "Stacker role",
		},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			tpl, err := Load(Input{Path: tc.path, Name: "stack"})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.params, tpl.Parameters); diff != "" {
				t.Errorf("parameters (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.outputs, tpl.Outputs); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
			if tpl.HasTransform != tc.transform || tpl.Description != tc.desc {
				t.Errorf("transform=%v description=%q", tpl.HasTransform, tpl.Description)
			}
			raw, _ := os.ReadFile(tc.path)
			if string(tpl.Body) != string(raw) {
				t.Error("body was not passed through unchanged")
			}
			sum := md5.Sum(raw)
			if want := hex.EncodeToString(sum[:])[:8]; tpl.Version != want {
				t.Errorf("version %q, want %q", tpl.Version, want)
			}
		})
	}
}

func TestDecodeYAMLShortForms(t *testing.T) {
	raw, err := os.ReadFile("testdata/role.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	role := doc.(map[string]any)["Resources"].(map[string]any)["Role"].(map[string]any)["Properties"].(map[string]any)
	want := map[string]any{
		"RoleName":    map[string]any{"Ref": "RoleName"},
		"Description": map[string]any{"Fn::Sub": "Assumed from ${MasterAccountId}"},
		"AssumeRolePolicyDocument": map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Effect":    "Allow",
				"Principal": map[string]any{"AWS": map[string]any{"Fn::Sub": "arn:aws:iam::${MasterAccountId}:root"}},
				"Action":    "sts:AssumeRole",
			}},
		},
		"ManagedPolicyArns": []any{map[string]any{"Fn::Join": []any{":", []any{"arn", map[string]any{"Ref": "AWS::Partition"}, "iam::aws:policy/AdministratorAccess"}}}},
		"Tags": map[string]any{
			"Owner": "platform",
			"Zone":  map[string]any{"Fn::Select": []any{uint64(0), map[string]any{"Fn::GetAZs": ""}}},
		},
	}
	if diff := cmp.Diff(want, role, numbersAsFloat); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	out := doc.(map[string]any)["Outputs"].(map[string]any)["RoleArn"].(map[string]any)
	if diff := cmp.Diff(map[string]any{
		"Value":     map[string]any{"Fn::GetAtt": []any{"Role", "Arn"}},
		"Condition": map[string]any{"Condition": "Always"},
	}, out); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
}

func TestJinja(t *testing.T) {
	in := Input{
		Path: "testdata/queue.j2",
		Name: "queues",
		Context: Context{
			Namespace:          "acme",
			NamespaceDelimiter: "-",
			Environment:        map[string]any{"region": "eu-west-1"},
		},
		Mappings:  map[string]map[string]map[string]any{"AmiMap": {"us-east-1": {"NAT": "ami-123"}}},
		Variables: map[string]any{"Queues": []any{"jobs", "acme-mail"}, "WithTopic": true, "Env": "prod", "Unset": nil},
	}
	tpl, err := Load(in)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Decode(tpl.Body)
	if err != nil {
		t.Fatalf("%v\n%s", err, tpl.Body)
	}
	res := doc.(map[string]any)["Resources"].(map[string]any)
	for _, tc := range []struct{ id, name string }{{"Queue0", "acme-jobs"}, {"Queue1", "acme-mail"}} {
		props := res[tc.id].(map[string]any)["Properties"].(map[string]any)
		if props["QueueName"] != tc.name {
			t.Errorf("%s QueueName = %v, want %s", tc.id, props["QueueName"], tc.name)
		}
		tags := props["Tags"].([]any)
		if tags[0].(map[string]any)["Value"] != "eu-west-1" || tags[1].(map[string]any)["Value"] != "ami-123" {
			t.Errorf("%s tags = %v", tc.id, tags)
		}
	}
	if _, ok := res["Topic"]; !ok {
		t.Error("Topic missing: variables.WithTopic not seen")
	}
	if got := doc.(map[string]any)["Description"]; got != "acme queues for queues" {
		t.Errorf("Description = %v", got)
	}
	sum := md5.Sum(tpl.Body)
	if tpl.Version != hex.EncodeToString(sum[:])[:8] {
		t.Error("version is not the md5 of the rendered body")
	}
	if strings.Contains(string(tpl.Body), "{%") {
		t.Error("body not rendered")
	}

	// Without WithTopic the template renders differently, so its key changes.
	in.Variables = map[string]any{"Queues": []any{"jobs"}}
	tpl2, err := Load(in)
	if err != nil {
		t.Fatal(err)
	}
	if tpl2.Version == tpl.Version || strings.Contains(string(tpl2.Body), "Topic") {
		t.Errorf("re-render with other variables: version %s (was %s)\n%s", tpl2.Version, tpl.Version, tpl2.Body)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want string
	}{
		{"missing file", Input{Path: "testdata/nope.yaml"}, "could not find template testdata/nope.yaml"},
		{"broken yaml", Input{Path: "testdata/broken.yaml"}, "parse template testdata/broken.yaml"},
		{"include refused", Input{Path: "testdata/include.j2"}, "not supported in .j2 templates"},
		{"bad jinja", Input{Path: "x.j2", Body: []byte("{% if %}")}, "parse Jinja2 template x.j2"},
		{"not a mapping", Input{Path: "x.yaml", Body: []byte("- a\n- b\n")}, "not a mapping"},
		{"parameters not a mapping", Input{Path: "x.json", Body: []byte(`{"Parameters": [1]}`)}, "Parameters is not a mapping"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParameterValues(t *testing.T) {
	tpl, err := Load(Input{Path: "testdata/bucket.json", Name: "bucket"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		vars     map[string]any
		previous []string
		want     []ParamValue
		dropped  []string
		missing  []string
		errText  string
	}{
		{
			name: "conversions and dropped",
			vars: map[string]any{
				"BucketName": "b", "Versioning": true, "Subnets": []any{"a", "b", 3},
				"Count": 2, "Zeta": "x", "Alpha": 1,
			},
			want: []ParamValue{
				{Key: "BucketName", Value: "b"}, {Key: "Count", Value: "2"},
				{Key: "Subnets", Value: "a,b,3"}, {Key: "Versioning", Value: "true"},
			},
			dropped: []string{"Alpha", "Zeta"},
		},
		{
			name: "floats and false",
			vars: map[string]any{"BucketName": "b", "Count": 1.5, "Versioning": false},
			want: []ParamValue{{Key: "BucketName", Value: "b"}, {Key: "Count", Value: "1.5"}, {Key: "Versioning", Value: "false"}},
		},
		{
			name:    "missing required, sorted",
			vars:    map[string]any{"Versioning": "true", "BucketName": nil},
			missing: []string{"BucketName", "Count"},
		},
		{
			name:     "previous values fill gaps",
			vars:     map[string]any{"Count": "3"},
			previous: []string{"BucketName", "Versioning"},
			want: []ParamValue{
				{Key: "BucketName", UsePreviousValue: true}, {Key: "Count", Value: "3"},
				{Key: "Versioning", UsePreviousValue: true},
			},
		},
		{
			name:    "map value",
			vars:    map[string]any{"BucketName": map[string]any{"a": 1}, "Count": 1},
			errText: "variable BucketName: a map cannot be",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, dropped, err := tpl.ParameterValues(tc.vars, tc.previous)
			if tc.missing != nil || tc.errText != "" {
				var me *MissingParametersError
				switch {
				case tc.missing != nil && !errors.As(err, &me):
					t.Fatalf("err = %v, want MissingParametersError", err)
				case tc.missing != nil:
					if diff := cmp.Diff(tc.missing, me.Names); diff != "" {
						t.Errorf("missing (-want +got):\n%s", diff)
					}
					if want := "Missing required cloudformation parameters: " + strings.Join(tc.missing, ", "); err.Error() != want {
						t.Errorf("message %q, want %q", err, want)
					}
				case err == nil || !strings.Contains(err.Error(), tc.errText):
					t.Fatalf("err = %v, want %q", err, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("params (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.dropped, dropped); diff != "" {
				t.Errorf("dropped (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKeyAndSize(t *testing.T) {
	tpl := &Template{Name: "vpc", Version: "0123abcd"}
	if got, want := tpl.Key("acme-vpc"), "stack_templates/acme-vpc/vpc-0123abcd.json"; got != want {
		t.Errorf("Key = %q, want %q", got, want)
	}
	if err := CheckInlineSize("vpc", make([]byte, MaxInlineBodySize)); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	err := CheckInlineSize("vpc", make([]byte, MaxInlineBodySize+1))
	if err == nil || !strings.Contains(err.Error(), "stacker_bucket") {
		t.Errorf("over the limit: %v", err)
	}
}

// numbersAsFloat compares integers of any Go type by value, so tests do not
// depend on which integer type the YAML parser picks.
var numbersAsFloat = cmp.FilterValues(func(a, b any) bool {
	_, x := toFloat(a)
	_, y := toFloat(b)
	return x && y
}, cmp.Comparer(func(a, b any) bool {
	x, _ := toFloat(a)
	y, _ := toFloat(b)
	return x == y
}))

func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}
