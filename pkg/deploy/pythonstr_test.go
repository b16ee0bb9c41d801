package deploy

import "testing"

func TestPythonStr(t *testing.T) {
	for _, tt := range []struct {
		in   any
		want string
	}{
		{"vpc-123", "vpc-123"},
		{map[string]any{"Ref": "VPC"}, "{'Ref': 'VPC'}"},
		{map[string]any{"Fn::GetAtt": []any{"Role", "Arn"}}, "{'Fn::GetAtt': ['Role', 'Arn']}"},
		{map[string]any{"Fn::Join": []any{",", []any{map[string]any{"Ref": "A"}, "it's"}}}, `{'Fn::Join': [',', [{'Ref': 'A'}, 'it\'s']]}`},
		{map[string]any{"b": true, "a": nil, "n": 3}, "{'a': None, 'b': True, 'n': 3}"},
	} {
		if got := pythonStr(tt.in); got != tt.want {
			t.Errorf("pythonStr(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
