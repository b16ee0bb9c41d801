package template

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// yamlValue decodes a YAML value (short tags allowed) for intrinsic tests.
func yamlValue(t *testing.T, s string) any {
	t.Helper()
	res, err := decodeYAML([]byte("V: " + s + "\n"))
	if err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return res.tree.(map[string]any)["V"]
}

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		name, expr string
		want       any
		wantErr    string
	}{
		// Ref
		{"ref param", "!Ref Name", "web", ""},
		{"ref list param", "!Ref List", []any{"a", "b", "c"}, ""},
		{"ref resource", "!Ref Bucket", "Bucket-phys", ""},
		{"ref resource error", "!Ref Missing", nil, "no resource Missing"},
		{"ref account", "!Ref AWS::AccountId", "111111111111", ""},
		{"ref region", "!Ref AWS::Region", "us-east-1", ""},
		{"ref stack name", "!Ref AWS::StackName", "st", ""},
		{"ref stack id", "!Ref AWS::StackId", "arn:aws:cloudformation:us-east-1:111111111111:stack/st/id", ""},
		{"ref partition", "!Ref AWS::Partition", "aws", ""},
		{"ref url suffix", "!Ref AWS::URLSuffix", "amazonaws.com", ""},
		{"ref notification arns", "!Ref AWS::NotificationARNs", []any{"arn:aws:sns:us-east-1:111111111111:t"}, ""},
		{"novalue in map", "{a: 1, b: !Ref 'AWS::NoValue'}", map[string]any{"a": json.Number("1")}, ""},
		{"novalue in list", "[a, !Ref AWS::NoValue, b]", []any{"a", "b"}, ""},
		{"novalue top", "!Ref AWS::NoValue", nil, ""},
		{"ref non-string", "{Ref: [a]}", nil, "Every Ref object must have a single String value."},
		// GetAtt
		{"getatt", "!GetAtt Role.Arn", "Role.Arn", ""},
		{"getatt list", "!GetAtt [Role, Arn]", "Role.Arn", ""},
		{"getatt computed attribute", "{'Fn::GetAtt': [Role, !Ref Name]}", "Role.web", ""},
		{"getatt list value", "!GetAtt Res.List", []any{"x", "y"}, ""},
		{"getatt bad", "{'Fn::GetAtt': [Role]}", nil, "every Fn::GetAtt object requires two non-empty parameters"},
		// Sub
		{"sub", "!Sub '${Name}-${AWS::Region}-${Bucket}-${Role.Arn}'", "web-us-east-1-Bucket-phys-Role.Arn", ""},
		{"sub literal", "!Sub '${!Literal}-${Name}'", "${Literal}-web", ""},
		{"sub no vars", "!Sub 'plain $ {x}'", "plain $ {x}", ""},
		{"sub list form", "!Sub ['${A}/${Name}', {A: !GetAtt B.Arn}]", "B.Arn/web", ""},
		{"sub number var", "!Sub ['n=${N}', {N: 5}]", "n=5", ""},
		{"sub list param", "!Sub '${List}'", nil, "does not resolve to a string"},
		{"sub bad form", "{'Fn::Sub': [a]}", nil, "Fn::Sub intrinsic functions don't specify expected arguments"},
		{"sub bad var", "!Sub '${}'", nil, "variable names in Fn::Sub syntax"},
		// Join
		{"join", "!Join ['-', [a, !Ref Name, 3]]", "a-web-3", ""},
		{"join list param", "!Join [',', !Ref List]", "a,b,c", ""},
		{"join drops novalue", "!Join [',', [a, !Ref AWS::NoValue, b]]", "a,b", ""},
		{"join bad", "!Join [',']", nil, "every Fn::Join object requires two parameters"},
		{"join nested list", "!Join [',', [[a]]]", nil, "every Fn::Join object requires two parameters"},
		// Select
		{"select", "!Select [1, [a, b, c]]", "b", ""},
		{"select string index", "!Select ['2', !Ref List]", "c", ""},
		{"select out of range", "!Select [3, [a, b, c]]", nil, "Template error: Fn::Select cannot select nonexistent value at index 3"},
		{"select negative", "!Select [-1, [a]]", nil, "Fn::Select cannot select nonexistent value at index -1"},
		{"select bad index", "!Select [x, [a]]", nil, "Fn::Select requires an integer index"},
		{"select bad", "!Select [1]", nil, "every Fn::Select object requires two parameters"},
		// Split
		{"split", "!Split [',', 'a,b,,c']", []any{"a", "b", "", "c"}, ""},
		{"split select", "!Select [1, !Split ['/', !Sub '${Name}/x']]", "x", ""},
		{"split bad", "!Split [',', [a]]", nil, "every Fn::Split object requires two parameters"},
		// If
		{"if true", "!If [Yes, a, b]", "a", ""},
		{"if false", "!If [No, a, b]", "b", ""},
		{"if novalue", "{k: !If [No, a, !Ref 'AWS::NoValue'], j: 1}", map[string]any{"j": json.Number("1")}, ""},
		{"if only evaluates branch", "!If [Yes, a, !Ref Missing]", "a", ""},
		{"if unknown", "!If [Maybe, a, b]", nil, "Template error: unresolved condition dependency Maybe in Fn::If"},
		{"if bad", "!If [Yes, a]", nil, "Fn::If requires a list argument with three elements"},
		// Equals, And, Or, Not
		{"equals", "!Equals [!Ref Env, prod]", true, ""},
		{"equals number string", "!Equals [3, '3']", true, ""},
		{"not equals", "!Equals [a, b]", false, ""},
		{"equals bad", "!Equals [a]", nil, "every Fn::Equals object requires a list of 2 string parameters."},
		{"and", "!And [!Equals [a, a], !Condition Yes]", true, ""},
		{"and false", "!And [!Condition Yes, !Condition No]", false, ""},
		{"or", "!Or [!Condition No, !Equals [a, a]]", true, ""},
		{"or false", "!Or [!Condition No, !Equals [a, b]]", false, ""},
		{"not", "!Not [!Condition No]", true, ""},
		{"and too few", "!And [!Condition Yes]", nil, "every Fn::And object requires a list of at least 2 and at most 10"},
		{"not bad", "!Not [a, b]", nil, "every Fn::Not object requires a list of 1 boolean parameter."},
		// FindInMap
		{"findinmap", "!FindInMap [M, !Ref AWS::Region, Ami]", "ami-1", ""},
		{"findinmap list", "!FindInMap [M, us-east-1, List]", []any{"p", "q"}, ""},
		{"findinmap no map", "!FindInMap [X, us-east-1, Ami]", nil, "Mapping named 'X' is not present"},
		{"findinmap no key", "!FindInMap [M, eu-west-1, Ami]", nil, "Template error: Unable to get mapping for M::eu-west-1::Ami"},
		{"findinmap no second key", "!FindInMap [M, us-east-1, Nope]", nil, "Unable to get mapping for M::us-east-1::Nope"},
		// GetAZs
		{"getazs current", "!GetAZs ''", []any{"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"}, ""},
		{"getazs region", "!GetAZs eu-west-1", []any{"eu-west-1a", "eu-west-1b", "eu-west-1c"}, ""},
		{"getazs ref region", "!GetAZs {Ref: AWS::Region}", []any{"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"}, ""},
		// ImportValue, Base64
		{"import", "!ImportValue known", "imported", ""},
		{"import sub", "!ImportValue {'Fn::Sub': 'kn${Name}'}", nil, "No export named knweb found."},
		{"import missing", "!ImportValue nope", nil, "No export named nope found."},
		{"base64", "!Base64 {'Fn::Sub': 'hi ${Name}'}", "aGkgd2Vi", ""},
		{"base64 list", "!Base64 [a]", nil, "every Fn::Base64 object must contain a string"},
		// Cidr
		{"cidr", "!Cidr [10.0.0.0/16, 3, 8]", []any{"10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"}, ""},
		{"cidr unaligned block", "!Cidr ['192.168.1.77/24', 2, 6]", []any{"192.168.1.0/26", "192.168.1.64/26"}, ""},
		{"cidr small", "!Cidr [10.0.0.0/24, 4, 2]", []any{"10.0.0.0/30", "10.0.0.4/30", "10.0.0.8/30", "10.0.0.12/30"}, ""},
		{"cidr ipv6", "!Cidr ['2001:db8::/56', 2, 64]", []any{"2001:db8::/64", "2001:db8:0:1::/64"}, ""},
		{"cidr too many", "!Cidr [10.0.0.0/24, 5, 6]", nil, "cannot hold 5 subnets"},
		{"cidr bits too large", "!Cidr [10.0.0.0/24, 1, 9]", nil, "too large"},
		{"cidr bad block", "!Cidr [10.0.0/24, 1, 8]", nil, "invalid IP block"},
		{"cidr bad count", "!Cidr [10.0.0.0/16, 0, 8]", nil, "Fn::Cidr requires three parameters"},
		// Length, unknown
		{"length", "{'Fn::Length': [a, b]}", json.Number("2"), ""},
		{"unknown function", "{'Fn::Nope': x}", nil, "Encountered unsupported function: Fn::Nope"},
		{"plain values", "{a: [1, true, null, x]}", map[string]any{"a": []any{json.Number("1"), true, nil, "x"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolve(yamlValue(t, tc.expr), testEnv())
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("Resolve = %#v, want error %q", got, tc.wantErr)
				}
				if tc.name != "ref resource error" {
					wantValidation(t, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvalConditions(t *testing.T) {
	tpl := mustParse(t, `
Parameters:
  Env: {Type: String}
  Zones: {Type: CommaDelimitedList, Default: 'a,b'}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsNotProd: !Not [!Condition IsProd]
  InUsEast1: !Equals [!Ref 'AWS::Region', us-east-1]
  ProdInUsEast1: !And [!Condition IsProd, !Condition InUsEast1]
  Either: !Or [!Condition IsNotProd, !Equals [!Select [1, !Ref Zones], b]]
  FromMap: !Equals [!FindInMap [M, !Ref Env, Big], 'true']
Mappings:
  M:
    prod: {Big: 'true'}
    dev: {Big: 'false'}
Resources:
  R: {Type: AWS::SQS::Queue, Condition: ProdInUsEast1}
`)
	for _, tc := range []struct {
		env, region string
		want        map[string]bool
	}{
		{"prod", "us-east-1", map[string]bool{"IsProd": true, "IsNotProd": false, "InUsEast1": true, "ProdInUsEast1": true, "Either": true, "FromMap": true}},
		{"dev", "eu-west-1", map[string]bool{"IsProd": false, "IsNotProd": true, "InUsEast1": false, "ProdInUsEast1": false, "Either": true, "FromMap": false}},
	} {
		t.Run(tc.env, func(t *testing.T) {
			params, err := tpl.BindParameters([]ParamInput{{Key: "Env", Value: tc.env}}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			env := &Env{Params: params, Region: tc.region}
			got, err := tpl.EvalConditions(env)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !cmp.Equal(env.Conditions, got) {
				t.Errorf("env.Conditions not filled: %v", env.Conditions)
			}
		})
	}

	bad := mustParse(t, "Conditions:\n  C: !Join [',', [a]]\n"+minimal)
	_, err := bad.EvalConditions(&Env{})
	wantValidation(t, err, "requires a list of conditions")
}

func TestResolveOutputsErrors(t *testing.T) {
	tpl := mustParse(t, minimal+"Outputs:\n  O:\n    Value: {a: b}\n")
	_, err := tpl.ResolveOutputs(testEnv())
	wantValidation(t, err, "The Value of output O must resolve to a String")

	tpl = mustParse(t, minimal+"Outputs:\n  O:\n    Value: !Ref R\n    Description: !Sub '${AWS::Region} topic'\n    Export: {Name: !Join [':', [!Ref 'AWS::StackName', T]]}\n")
	outs, err := tpl.ResolveOutputs(testEnv())
	if err != nil {
		t.Fatal(err)
	}
	want := []Output{{Key: "O", Value: "R-phys", Description: "us-east-1 topic", ExportName: "st:T"}}
	if diff := cmp.Diff(want, outs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
