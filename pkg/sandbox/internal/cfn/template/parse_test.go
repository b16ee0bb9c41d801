package template

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const minimal = "Resources:\n  R:\n    Type: AWS::SNS::Topic\n"

func TestShortTags(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       any
	}{
		{"Ref", "!Ref X", map[string]any{"Ref": "X"}},
		{"GetAtt dotted", "!GetAtt Role.Arn", map[string]any{"Fn::GetAtt": []any{"Role", "Arn"}}},
		{"GetAtt dotted attribute", "!GetAtt Stack.Outputs.Id", map[string]any{"Fn::GetAtt": []any{"Stack", "Outputs.Id"}}},
		{"GetAtt list", "!GetAtt [Role, Arn]", map[string]any{"Fn::GetAtt": []any{"Role", "Arn"}}},
		{"Sub string", "!Sub 'a-${X}'", map[string]any{"Fn::Sub": "a-${X}"}},
		{"Sub list", "!Sub ['${A}', {A: !Ref B}]", map[string]any{"Fn::Sub": []any{"${A}", map[string]any{"A": map[string]any{"Ref": "B"}}}}},
		{"nested", "!Select [0, !GetAZs '']", map[string]any{"Fn::Select": []any{json.Number("0"), map[string]any{"Fn::GetAZs": ""}}}},
		{"GetAZs empty", "!GetAZs", map[string]any{"Fn::GetAZs": ""}},
		{"Base64 of block mapping", "!Base64\n  Fn::Join: ['', [a, b]]", map[string]any{"Fn::Base64": map[string]any{"Fn::Join": []any{"", []any{"a", "b"}}}}},
		{"Condition", "!Condition IsProd", map[string]any{"Condition": "IsProd"}},
		{"If", "!If [C, a, !Ref AWS::NoValue]", map[string]any{"Fn::If": []any{"C", "a", map[string]any{"Ref": "AWS::NoValue"}}}},
		{"logic", "!And [!Equals [a, b], !Or [!Not [!Condition C], !Condition D]]", map[string]any{"Fn::And": []any{
			map[string]any{"Fn::Equals": []any{"a", "b"}},
			map[string]any{"Fn::Or": []any{map[string]any{"Fn::Not": []any{map[string]any{"Condition": "C"}}}, map[string]any{"Condition": "D"}}},
		}}},
		{"FindInMap", "!FindInMap [M, !Ref AWS::Region, Ami]", map[string]any{"Fn::FindInMap": []any{"M", map[string]any{"Ref": "AWS::Region"}, "Ami"}}},
		{"ImportValue Sub", "!ImportValue {'Fn::Sub': '${Env}-vpc'}", map[string]any{"Fn::ImportValue": map[string]any{"Fn::Sub": "${Env}-vpc"}}},
		{"Cidr", "!Cidr [10.0.0.0/16, 2, 8]", map[string]any{"Fn::Cidr": []any{"10.0.0.0/16", json.Number("2"), json.Number("8")}}},
		{"Split Join", "!Join [',', !Split ['|', 'a|b']]", map[string]any{"Fn::Join": []any{",", map[string]any{"Fn::Split": []any{"|", "a|b"}}}}},
		{"date stays string", "2010-09-09", "2010-09-09"},
		{"number keeps form", "1.10", json.Number("1.10")},
		{"explicit str", "!!str 123", "123"},
		{"anchor alias", "{a: &x [1, 2], b: *x}", map[string]any{"a": []any{json.Number("1"), json.Number("2")}, "b": []any{json.Number("1"), json.Number("2")}}},
		{"merge key", "{base: &b {k: v, z: 1}, m: {<<: *b, z: 2}}", map[string]any{"base": map[string]any{"k": "v", "z": json.Number("1")}, "m": map[string]any{"k": "v", "z": json.Number("2")}}},
		{"literal block", "|\n  line1\n  line2\n", "line1\nline2\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := decodeYAML([]byte("V: " + tc.yaml + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, res.tree.(map[string]any)["V"]); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"yaml syntax", "Resources:\n  R:\n    Type: x\n   bad: [\n", "Template format error: YAML not well-formed. (line "},
		{"yaml bad indent", "A:\n  b: c\n d: e\n", "Template format error: YAML not well-formed. (line 3, column 2)"},
		{"json syntax", "{\"Resources\": x}", "Template format error: JSON not well-formed. (line 1, column 15)"},
		{"json second line", "{\n  \"Resources\": {,}\n}", "Template format error: JSON not well-formed. (line 2, column"},
		{"json trailing", "{\"Resources\": {}} x", "Template format error: JSON not well-formed."},
		{"unknown tag", "Resources: !Foo x\n", "Template format error: YAML not well-formed. (line 1, column 12)"},
		{"two documents", minimal + "---\n" + minimal, "YAML not well-formed. (line 5"},
		{"not a map", "- a\n- b\n", "Template format error: unsupported structure."},
		{"empty", "", "Template format error: unsupported structure."},
		{"no resources", "Description: x\n", "Template format error: At least one Resources member must be defined."},
		{"empty resources", "Resources: {}\n", "Template format error: At least one Resources member must be defined."},
		{"unknown section", minimal + "Resource: {}\n", "Template format error: Invalid template property or properties [Resource]"},
		{"bad version", "AWSTemplateFormatVersion: '2011-01-01'\n" + minimal, "is not a valid template version"},
		{"no type", "Resources:\n  R:\n    Properties: {}\n", "Every Resources object must contain a Type member."},
		{"bad resource key", "Resources:\n  R:\n    Type: AWS::SQS::Queue\n    Propertes: {}\n", "Invalid template resource property 'Propertes'"},
		{"bad logical id", "Resources:\n  my-r:\n    Type: AWS::SQS::Queue\n", "Resource name my-r is non alphanumeric."},
		{"unresolved ref", "Resources:\n  R:\n    Type: AWS::SQS::Queue\n    Properties: {A: !Ref Nope}\n", "Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template"},
		{"unresolved sub", "Resources:\n  R:\n    Type: AWS::SQS::Queue\n    Properties: {A: !Sub '${Nope}-${AWS::Region}'}\n", "Unresolved resource dependencies [Nope] in the Resources block"},
		{"unresolved depends on", "Resources:\n  R:\n    Type: AWS::SQS::Queue\n    DependsOn: [Nope]\n", "Unresolved resource dependencies [Nope] in the Resources block"},
		{"getatt undefined", "Resources:\n  R:\n    Type: AWS::SQS::Queue\n    Properties: {A: !GetAtt Nope.Arn}\n", "Template error: instance of Fn::GetAtt references undefined resource Nope"},
		{"bad sub var", "Resources:\n  R:\n    Type: AWS::SQS::Queue\n    Properties: {A: !Sub '${a b}'}\n", "variable names in Fn::Sub syntax must contain only alphanumeric characters"},
		{"unresolved output ref", minimal + "Outputs:\n  O:\n    Value: !Ref Nope\n", "Unresolved resource dependencies [Nope] in the Outputs block of the template"},
		{"output without value", minimal + "Outputs:\n  O:\n    Description: x\n", "Template format error: Every Outputs member must contain a Value object"},
		{"bad param type", "Parameters:\n  P:\n    Type: Strin\n" + minimal, "Template format error: Unrecognized parameter type: Strin"},
		{"bad ssm param type", "Parameters:\n  P:\n    Type: AWS::SSM::Parameter::Value<Foo>\n" + minimal, "Unrecognized parameter type: AWS::SSM::Parameter::Value<Foo>"},
		{"param without type", "Parameters:\n  P:\n    Default: x\n" + minimal, "Every Parameters object must contain a Type member."},
		{"cycle", "Resources:\n  A:\n    Type: AWS::SQS::Queue\n    Properties: {B: !Ref B}\n  B:\n    Type: AWS::SQS::Queue\n    DependsOn: A\n  C:\n    Type: AWS::SQS::Queue\n    DependsOn: A\n", "Circular dependency between resources: [A, B]"},
		{"self cycle", "Resources:\n  A:\n    Type: AWS::SQS::Queue\n    Properties: {B: !GetAtt A.Arn}\n", "Circular dependency between resources: [A]"},
		{"unknown if condition", "Resources:\n  A:\n    Type: AWS::SQS::Queue\n    Properties: {B: !If [Nope, a, b]}\n", "Template error: unresolved condition dependency Nope in Fn::If"},
		{"unknown resource condition", "Resources:\n  A:\n    Type: AWS::SQS::Queue\n    Condition: Nope\n", "Unresolved dependencies [Nope]"},
		{"condition refs resource", "Conditions:\n  C: !Equals [!Ref A, x]\nResources:\n  A:\n    Type: AWS::SQS::Queue\n", "Unresolved dependencies [A]. Cannot reference resources in the Conditions block of the template"},
		{"condition cycle", "Conditions:\n  C: !Not [!Condition D]\n  D: !Not [!Condition C]\n" + minimal, "Circular dependency between conditions"},
		{"deep nesting", "V: " + strings.Repeat("[", 1000) + "\n", "YAML not well-formed"},
		{"deep json", "{\"a\":" + strings.Repeat("[", 1000), "JSON not well-formed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := Parse([]byte(tc.body))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", tpl)
			}
			wantValidation(t, err, tc.want)
		})
	}
}

func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		prev := "*a" + string(rune('0'+i-1))
		if i > 9 {
			prev = "*a" + string(rune('a'+i-10))
		}
		name := string(rune('0' + i))
		if i > 9 {
			name = string(rune('a' + i - 10))
		}
		b.WriteString("a" + name + ": &a" + name + " [" + strings.Repeat(prev+", ", 9) + prev + "]\n")
	}
	_, err := Parse([]byte(b.String() + minimal))
	wantValidation(t, err, "YAML not well-formed")
}

func TestParseDetails(t *testing.T) {
	tpl := mustParse(t, `
Transform: AWS::Serverless-2016-10-31
Parameters:
  Zeta: {Type: String}
  Alpha:
    Type: Number
    MinValue: '1'
    MaxValue: 10
    NoEcho: 'true'
  Subnets: {Type: 'List<AWS::EC2::Subnet::Id>', Default: [subnet-1, subnet-2]}
  Latest: {Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>'}
Resources:
  R:
    Type: AWS::Serverless::Function
    DependsOn: Q
    Condition: C
    Properties: {Handler: x}
  Q:
    Type: AWS::SNS::Topic
Conditions:
  C: !Equals [a, a]
`)
	var got []string
	for _, p := range tpl.Parameters {
		got = append(got, p.Name)
	}
	if diff := cmp.Diff([]string{"Zeta", "Alpha", "Subnets", "Latest"}, got); diff != "" {
		t.Errorf("parameter order (-want +got):\n%s", diff)
	}
	a := tpl.Parameters[1]
	if !a.NoEcho || *a.MinValue != 1 || *a.MaxValue != 10 {
		t.Errorf("Alpha = %+v", a)
	}
	if *tpl.Parameters[2].Default != "subnet-1,subnet-2" {
		t.Errorf("list default = %q", *tpl.Parameters[2].Default)
	}
	if diff := cmp.Diff([]string{"AWS::Serverless-2016-10-31"}, tpl.Transform); diff != "" {
		t.Errorf("transform (-want +got):\n%s", diff)
	}
	r := tpl.Resources["R"]
	if r.Condition != "C" || !cmp.Equal(r.DependsOn, []string{"Q"}) {
		t.Errorf("resource = %+v", r)
	}
	s := tpl.Summary()
	if !cmp.Equal(s.Capabilities, []string{"CAPABILITY_AUTO_EXPAND"}) || !cmp.Equal(s.DeclaredTransforms, []string{"AWS::Serverless-2016-10-31"}) {
		t.Errorf("summary = %+v", s)
	}
	if !strings.Contains(s.CapabilitiesReason, "AWS::Serverless-2016-10-31") {
		t.Errorf("reason = %q", s.CapabilitiesReason)
	}

	// JSON keeps declaration order too.
	j := mustParse(t, `{"Parameters": {"B": {"Type": "String"}, "A": {"Type": "String"}}, "Resources": {"R": {"Type": "AWS::SNS::Topic"}}}`)
	if j.Parameters[0].Name != "B" || j.Parameters[1].Name != "A" {
		t.Errorf("JSON parameter order = %s, %s", j.Parameters[0].Name, j.Parameters[1].Name)
	}
}

func TestRequiredCapabilities(t *testing.T) {
	for _, tc := range []struct {
		name, resources string
		want            []string
		reason          string
	}{
		{"none", "R: {Type: AWS::S3::Bucket}", nil, ""},
		{"role", "R: {Type: AWS::IAM::Role, Properties: {AssumeRolePolicyDocument: {}}}", []string{"CAPABILITY_IAM"}, "[AWS::IAM::Role]"},
		{"named role", "R: {Type: AWS::IAM::Role, Properties: {RoleName: x}}", []string{"CAPABILITY_NAMED_IAM"}, "[AWS::IAM::Role]"},
		{"policy and user", "P: {Type: AWS::IAM::Policy}\n  U: {Type: AWS::IAM::User}", []string{"CAPABILITY_IAM"}, "[AWS::IAM::Policy, AWS::IAM::User]"},
		{"named managed policy", "P: {Type: AWS::IAM::ManagedPolicy, Properties: {ManagedPolicyName: p}}", []string{"CAPABILITY_NAMED_IAM"}, ""},
		{"named instance profile", "P: {Type: AWS::IAM::InstanceProfile, Properties: {InstanceProfileName: p}}", []string{"CAPABILITY_NAMED_IAM"}, ""},
		{"access key", "K: {Type: AWS::IAM::AccessKey}", []string{"CAPABILITY_IAM"}, ""},
		{"nested stack", "S: {Type: AWS::CloudFormation::Stack}", []string{"CAPABILITY_AUTO_EXPAND"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl := mustParse(t, "Resources:\n  "+tc.resources+"\n")
			if diff := cmp.Diff(tc.want, tpl.RequiredCapabilities()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if r := tpl.Summary().CapabilitiesReason; !strings.Contains(r, tc.reason) {
				t.Errorf("reason = %q, want %q", r, tc.reason)
			}
		})
	}
}

func TestCreationOrderDeterministic(t *testing.T) {
	tpl := mustParse(t, `
Resources:
  C: {Type: AWS::SQS::Queue, Properties: {A: !Sub '${B.Arn}'}}
  B: {Type: AWS::SQS::Queue}
  A: {Type: AWS::SQS::Queue, Properties: {V: !If [Cond, !Ref D, x]}}
  D: {Type: AWS::SQS::Queue, Condition: Cond}
Conditions:
  Cond: !Equals [a, b]
`)
	for i := 0; i < 5; i++ {
		order, err := tpl.CreationOrder()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"B", "C", "D", "A"}, order); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
	}
	deps, err := tpl.Dependencies()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]string{"A": {"D"}, "B": {}, "C": {"B"}, "D": {}}, deps); diff != "" {
		t.Errorf("dependencies (-want +got):\n%s", diff)
	}
}
