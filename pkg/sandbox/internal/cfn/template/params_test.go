package template

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

const paramsTemplate = `
Parameters:
  Name:
    Type: String
    MinLength: 2
    MaxLength: 5
    AllowedPattern: '[a-z]+'
  Size:
    Type: Number
    Default: 2
    MinValue: 1
    MaxValue: 10
  Ports:
    Type: List<Number>
    Default: '80,443'
  Tier:
    Type: String
    Default: web
    AllowedValues: [web, db]
  Zones:
    Type: CommaDelimitedList
    Default: 'a,b'
    AllowedValues: [a, b, c]
  Vpc:
    Type: AWS::EC2::VPC::Id
    Default: vpc-1
  Subnets:
    Type: List<AWS::EC2::Subnet::Id>
    Default: 'subnet-1,subnet-2'
  Env:
    Type: String
    Default: dev
    AllowedPattern: 'dev|prod'
    ConstraintDescription: must be dev or prod
  Secret:
    Type: String
    NoEcho: true
    Default: s3cr3t
  SsmName:
    Type: AWS::SSM::Parameter::Name
    Default: /plain/name
  Ami:
    Type: AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>
    Default: /ami/latest
  SsmList:
    Type: AWS::SSM::Parameter::Value<List<String>>
    Default: /list
Resources:
  R: {Type: AWS::SQS::Queue}
`

func fakeSSM(name string) (string, error) {
	switch name {
	case "/ami/latest":
		return "ami-123", nil
	case "/list":
		return "x,y", nil
	case "/secure":
		// The resolver's own ValidationError (CloudFormation refusing a SecureString) keeps its wording.
		return "", awsapi.ValidationError("Parameters [/secure] referenced by template have types not supported by CloudFormation.")
	}
	return "", errors.New("ParameterNotFound")
}

func TestBindParameters(t *testing.T) {
	tpl := mustParse(t, paramsTemplate)
	prev := map[string]string{"Name": "old", "Tier": "db"}
	for _, tc := range []struct {
		name    string
		in      []ParamInput
		check   map[string]any // expected Raw values
		wantErr string
	}{
		{"defaults", []ParamInput{{Key: "Name", Value: "abc"}}, map[string]any{
			"Name": "abc", "Size": "2", "Ports": []string{"80", "443"}, "Tier": "web", "Zones": []string{"a", "b"},
			"Vpc": "vpc-1", "Subnets": []string{"subnet-1", "subnet-2"}, "SsmName": "/plain/name",
			"Ami": "ami-123", "SsmList": []string{"x", "y"},
		}, ""},
		{"use previous", []ParamInput{{Key: "Name", UsePreviousValue: true}, {Key: "Tier", UsePreviousValue: true}}, map[string]any{"Name": "old", "Tier": "db"}, ""},
		{"use previous without previous", []ParamInput{{Key: "Name", Value: "abc"}, {Key: "Size", UsePreviousValue: true}}, nil, "Invalid input for parameter key Size"},
		{"unknown", []ParamInput{{Key: "Name", Value: "abc"}, {Key: "Nope", Value: "x"}, {Key: "Nah", Value: "y"}}, nil, "Parameters: [Nope, Nah] do not exist in the template"},
		{"missing", nil, nil, "Parameters: [Name] must have values"},
		{"number", []ParamInput{{Key: "Name", Value: "abc"}, {Key: "Size", Value: "x"}}, nil, "Parameter 'Size' must be a number."},
		{"number min", []ParamInput{{Key: "Name", Value: "abc"}, {Key: "Size", Value: "0"}}, nil, "Parameter 'Size' must be a number not less than 1"},
		{"number max", []ParamInput{{Key: "Name", Value: "abc"}, {Key: "Size", Value: "10.5"}}, nil, "Parameter 'Size' must be a number not greater than 10"},
		{"number list", []ParamInput{{Key: "Name", Value: "abc"}, {Key: "Ports", Value: "80,http"}}, nil, "Parameter 'Ports' must be a number list."},
		{"allowed values", []ParamInput{{Key: "Name", Value: "abc"}, {Key: "Tier", Value: "cache"}}, nil, "Parameter 'Tier' must be one of AllowedValues"},
		{"allowed values list", []ParamInput{{Key: "Name", Value: "abc"}, {Key: "Zones", Value: "a,d"}}, nil, "Parameter 'Zones' must be one of AllowedValues"},
		{"pattern", []ParamInput{{Key: "Name", Value: "ab1"}}, nil, "Parameter 'Name' must match pattern [a-z]+"},
		{"pattern anchors whole value", []ParamInput{{Key: "Name", Value: "abc"}, {Key: "Env", Value: "prodx"}}, nil, "Parameter 'Env' failed to satisfy constraint: must be dev or prod"},
		{"min length", []ParamInput{{Key: "Name", Value: "a"}}, nil, "Parameter 'Name' must contain at least 2 characters"},
		{"max length", []ParamInput{{Key: "Name", Value: "abcdef"}}, nil, "Parameter 'Name' must contain at most 5 characters"},
		{"ssm refused", []ParamInput{{Key: "Name", Value: "abc"}, {Key: "Ami", Value: "/secure"}}, nil, "Parameters [/secure] referenced by template have types not supported by CloudFormation."},
		{"ssm missing", []ParamInput{{Key: "Name", Value: "abc"}, {Key: "Ami", Value: "/nope"}}, nil, "Unable to fetch parameters [/nope] from parameter store for this account."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tpl.BindParameters(tc.in, prev, fakeSSM)
			if tc.wantErr != "" {
				wantValidation(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tpl.Parameters) {
				t.Errorf("bound %d parameters, want %d", len(got), len(tpl.Parameters))
			}
			for k, want := range tc.check {
				if diff := cmp.Diff(want, got[k].Raw); diff != "" {
					t.Errorf("%s (-want +got):\n%s", k, diff)
				}
			}
		})
	}
}

func TestBindParametersDisplay(t *testing.T) {
	tpl := mustParse(t, paramsTemplate)
	got, err := tpl.BindParameters([]ParamInput{{Key: "Name", Value: "abc"}}, nil, fakeSSM)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ key, want string }{
		{"Secret", "****"},
		{"Ami", "/ami/latest"},
		{"Zones", "a,b"},
		{"Size", "2"},
	} {
		if s := MaskNoEcho(got[tc.key]); s != tc.want {
			t.Errorf("MaskNoEcho(%s) = %q, want %q", tc.key, s, tc.want)
		}
	}
	if !got["Secret"].NoEcho || got["Secret"].Raw != "s3cr3t" {
		t.Errorf("Secret = %+v", got["Secret"])
	}
	if got["Ami"].ResolvedFromSSM != "ami-123" || got["SsmList"].ResolvedFromSSM != "x,y" {
		t.Errorf("SSM resolution = %+v / %+v", got["Ami"], got["SsmList"])
	}
	if s := got["Subnets"].String(); s != "subnet-1,subnet-2" {
		t.Errorf("Subnets.String() = %q", s)
	}
	// Without an SSM resolver, SSM-typed parameters cannot be bound.
	_, err = tpl.BindParameters([]ParamInput{{Key: "Name", Value: "abc"}}, nil, nil)
	wantValidation(t, err, "Unable to fetch parameters [/ami/latest]")
}
