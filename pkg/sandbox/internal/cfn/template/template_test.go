package template

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t testing.TB, body string) *Template {
	t.Helper()
	tpl, err := Parse([]byte(body))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return tpl
}

// wantValidation checks err is a ValidationError whose message contains want.
func wantValidation(t *testing.T, err error, want string) {
	t.Helper()
	var ae *awsapi.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v, want *awsapi.Error containing %q", err, want)
	}
	if ae.Code != "ValidationError" || ae.Status != 400 {
		t.Errorf("code = %s %d, want ValidationError 400", ae.Code, ae.Status)
	}
	if !strings.Contains(ae.Message, want) {
		t.Errorf("message = %q, want it to contain %q", ae.Message, want)
	}
}

// testEnv is an Env whose resources have physical IDs "<id>-phys" and attributes "<id>.<attr>".
func testEnv() *Env {
	return &Env{
		Params: map[string]Value{
			"Name":  {Raw: "web"},
			"Count": {Raw: "3"},
			"List":  {Raw: []string{"a", "b", "c"}},
			"Env":   {Raw: "prod"},
		},
		AccountID: "111111111111", Region: "us-east-1", StackName: "st",
		StackID:          "arn:aws:cloudformation:us-east-1:111111111111:stack/st/id",
		NotificationARNs: []string{"arn:aws:sns:us-east-1:111111111111:t"},
		Ref: func(id string) (string, error) {
			if id == "Missing" {
				return "", fmt.Errorf("no resource %s", id)
			}
			return id + "-phys", nil
		},
		GetAtt: func(id, attr string) (any, error) {
			if attr == "List" {
				return []any{"x", "y"}, nil
			}
			return id + "." + attr, nil
		},
		ImportValue: func(name string) (string, error) {
			if name == "known" {
				return "imported", nil
			}
			return "", awsapi.ValidationError("No export named %s found.", name)
		},
		Conditions: map[string]bool{"Yes": true, "No": false},
		Mappings: map[string]map[string]map[string]any{
			"M": {"us-east-1": {"Ami": "ami-1", "List": []any{"p", "q"}}},
		},
	}
}

func TestParseSeedRole(t *testing.T) {
	tpl, err := Parse(mustRead(t, "stacker-role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if tpl.FormatVersion != "2010-09-09" {
		t.Errorf("FormatVersion = %q (YAML dates must stay strings)", tpl.FormatVersion)
	}
	var names []string
	for _, p := range tpl.Parameters {
		names = append(names, p.Name)
	}
	if diff := cmp.Diff([]string{"MasterAccountId", "RoleName"}, names); diff != "" {
		t.Errorf("parameter order (-want +got):\n%s", diff)
	}
	if got := tpl.RequiredCapabilities(); !cmp.Equal(got, []string{"CAPABILITY_NAMED_IAM"}) {
		t.Errorf("capabilities = %v", got)
	}
	trust := tpl.Resources["Role"].Properties["AssumeRolePolicyDocument"].(map[string]any)
	stmt := trust["Statement"].([]any)[0].(map[string]any)
	if diff := cmp.Diff(map[string]any{"Null": map[string]any{"aws:MultiFactorAuthAge": false}}, stmt["Condition"]); diff != "" {
		t.Errorf("trust condition (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		account, wantPrincipal string
	}{
		{"111111111111", "arn:aws:iam::111111111111:root"},
		{"222222222222", "arn:aws:iam::111111111111:role/Stacker"},
	} {
		t.Run(tc.account, func(t *testing.T) {
			params, err := tpl.BindParameters([]ParamInput{{Key: "MasterAccountId", Value: "111111111111"}}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			env := &Env{Params: params, AccountID: tc.account, Region: "us-east-1",
				GetAtt: func(id, attr string) (any, error) {
					return "arn:aws:iam::" + tc.account + ":role/Stacker", nil
				}}
			if _, err := tpl.EvalConditions(env); err != nil {
				t.Fatal(err)
			}
			props, err := Resolve(tpl.Resources["Role"].Properties, env)
			if err != nil {
				t.Fatal(err)
			}
			pm := props.(map[string]any)
			st := pm["AssumeRolePolicyDocument"].(map[string]any)["Statement"].([]any)[0].(map[string]any)
			if got := st["Principal"].(map[string]any)["AWS"]; got != tc.wantPrincipal {
				t.Errorf("principal = %v, want %s", got, tc.wantPrincipal)
			}
			if pm["RoleName"] != "Stacker" {
				t.Errorf("RoleName = %v", pm["RoleName"])
			}
			outs, err := tpl.ResolveOutputs(env)
			if err != nil {
				t.Fatal(err)
			}
			want := []Output{{Key: "StackerRole", Value: "arn:aws:iam::" + tc.account + ":role/Stacker"}}
			if diff := cmp.Diff(want, outs); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseVPC(t *testing.T) {
	tpl, err := Parse(mustRead(t, "vpc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	order, err := tpl.CreationOrder()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"InternetGateway", "VPC", "DefaultSecurityGroup", "GatewayAttachment", "NatEIP",
		"PrivateSubnet0", "PublicRouteTable", "PublicRoute", "PublicSubnet0", "NatGateway",
		"PublicSubnet0RouteTableAssociation"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("creation order (-want +got):\n%s", diff)
	}
	if caps := tpl.RequiredCapabilities(); caps != nil {
		t.Errorf("capabilities = %v, want none", caps)
	}

	for _, tc := range []struct {
		env         string
		wantNat     bool
		wantIngress map[string]any
	}{
		{"dev", false, map[string]any{"IpProtocol": "tcp", "FromPort": json.Number("22"), "ToPort": json.Number("22"), "CidrIp": "0.0.0.0/0"}},
		{"prod", true, map[string]any{"IpProtocol": "tcp", "FromPort": json.Number("22"), "ToPort": json.Number("22")}},
	} {
		t.Run(tc.env, func(t *testing.T) {
			params, err := tpl.BindParameters([]ParamInput{{Key: "Environment", Value: tc.env}}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			env := testEnv()
			env.Params, env.Conditions, env.Mappings, env.StackName = params, nil, nil, "vpc"
			env.GetAtt = func(id, attr string) (any, error) { return "10.128.0.0/16", nil }
			conds, err := tpl.EvalConditions(env)
			if err != nil {
				t.Fatal(err)
			}
			if conds["CreateNat"] != tc.wantNat || conds["IsDev"] == tc.wantNat {
				t.Errorf("conditions = %v", conds)
			}
			sg, err := Resolve(tpl.Resources["DefaultSecurityGroup"].Properties, env)
			if err != nil {
				t.Fatal(err)
			}
			sgm := sg.(map[string]any)
			if diff := cmp.Diff([]any{tc.wantIngress}, sgm["SecurityGroupIngress"]); diff != "" {
				t.Errorf("ingress (-want +got):\n%s", diff)
			}
			if _, has := sgm["Tags"]; has == tc.wantNat {
				t.Errorf("Tags present = %v in %s", has, tc.env)
			}
			if sgm["GroupDescription"] != "default group for vpc" {
				t.Errorf("GroupDescription = %v", sgm["GroupDescription"])
			}
			sub, err := Resolve(tpl.Resources["PrivateSubnet0"].Properties, env)
			if err != nil {
				t.Fatal(err)
			}
			if got := sub.(map[string]any)["CidrBlock"]; got != "10.128.2.0/24" {
				t.Errorf("private CidrBlock = %v", got)
			}
			outs, err := tpl.ResolveOutputs(env)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, o := range outs {
				keys = append(keys, o.Key)
				if o.Key == "VpcId" && (o.Value != "VPC-phys" || o.ExportName != "vpc-VpcId") {
					t.Errorf("VpcId output = %+v", o)
				}
				if o.Key == "AZs" && o.Value != "us-east-1a,us-east-1b,us-east-1c,us-east-1d,us-east-1e,us-east-1f" {
					t.Errorf("AZs output = %+v", o)
				}
			}
			wantKeys := []string{"AZs", "PublicSubnets", "VpcId"}
			if tc.wantNat {
				wantKeys = []string{"AZs", "NatGatewayId", "PublicSubnets", "VpcId"}
			}
			if diff := cmp.Diff(wantKeys, keys); diff != "" {
				t.Errorf("output keys (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseJSONBucket(t *testing.T) {
	tpl, err := Parse(mustRead(t, "bucket.json"))
	if err != nil {
		t.Fatal(err)
	}
	deps, err := tpl.Dependencies()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]string{"Bucket": {}, "BucketPolicy": {"Bucket"}}, deps); diff != "" {
		t.Errorf("dependencies (-want +got):\n%s", diff)
	}
	if tpl.Resources["Bucket"].DeletionPolicy != "Retain" {
		t.Errorf("DeletionPolicy = %q", tpl.Resources["Bucket"].DeletionPolicy)
	}
	params, err := tpl.BindParameters([]ParamInput{{Key: "Roles", Value: "arn:a,arn:b"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv()
	env.Params = params
	pol, err := Resolve(tpl.Resources["BucketPolicy"].Properties, env)
	if err != nil {
		t.Fatal(err)
	}
	st := pol.(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any)[0].(map[string]any)
	if diff := cmp.Diff(map[string]any{"AWS": []any{"arn:a", "arn:b"}}, st["Principal"]); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}
	if st["Resource"] != "Bucket.Arn/*" {
		t.Errorf("Resource = %v", st["Resource"])
	}
	if got := MaskNoEcho(params["Secret"]); got != "****" {
		t.Errorf("MaskNoEcho(Secret) = %q", got)
	}
	if got := MaskNoEcho(params["Roles"]); got != "arn:a,arn:b" {
		t.Errorf("MaskNoEcho(Roles) = %q", got)
	}
	sum := tpl.Summary()
	if len(sum.Parameters) != 2 || sum.Parameters[0].Key != "Roles" || !sum.Parameters[1].NoEcho || *sum.Parameters[1].Default != "****" {
		t.Errorf("summary parameters = %+v", sum.Parameters)
	}
	if diff := cmp.Diff([]string{"AWS::S3::Bucket", "AWS::S3::BucketPolicy"}, sum.ResourceTypes); diff != "" {
		t.Errorf("resource types (-want +got):\n%s", diff)
	}
}
