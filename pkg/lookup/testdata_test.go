package lookup

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"
)

type testStack struct {
	Name      string         `yaml:"name"`
	Variables map[string]any `yaml:"variables"`
}

func loadStacks(t *testing.T, file string) []testStack {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Stacks []testStack `yaml:"stacks"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.Stacks
}

func TestStackerConfigDependencies(t *testing.T) {
	want := map[string][]string{"vpc": {}, "db": {"vpc"}, "app": {"db", "vpc"}}
	for _, s := range loadStacks(t, "testdata/stacker.yaml") {
		t.Run(s.Name, func(t *testing.T) {
			if err := CheckVariables(s.Name, s.Variables); err != nil {
				t.Fatalf("CheckVariables: %v", err)
			}
			if diff := cmp.Diff(want[s.Name], Dependencies(s.Variables)); diff != "" {
				t.Errorf("Dependencies (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStackerConfigResolve(t *testing.T) {
	outputs := &fakeOutputs{stacks: map[string]map[string]string{
		"acme-vpc":         {"VpcId": "vpc-1", "PrivateSubnets": "subnet-a,subnet-b", "DefaultSecurityGroup": "sg-1", "CostCenter": "cc-42"},
		"acme-db":          {"Host": "db.acme", "Port": "5432"},
		"acme-shared-logs": {"Bucket": "acme-logs"},
		"corp-network-dns": {"ZoneId": "Z123"},
	}}
	clients := &fakeClients{
		params:      map[string]string{"us-west-2//acme/db/password": "s3cret"},
		ciphertexts: map[string]string{"cipher": "master-key"},
		images:      []ec2types.Image{image("ami-7", "acme-app-7", "2024-05-01T00:00:00Z")},
		items: map[string]map[string]ddbtypes.AttributeValue{"teams": {
			"owner": &ddbtypes.AttributeValueMemberS{Value: "team-app"},
		}},
	}
	reg := NewRegistry(Options{
		Stacks:      func(name string) (StackRef, bool) { return StackRef{FQN: "acme-" + name, Profile: "prod"}, true },
		Qualify:     func(name string) string { return "acme-" + name },
		Outputs:     outputs,
		Environment: map[string]any{"environment": "prod"},
		Getenv: func(k string) (string, bool) {
			if k == "INSTANCE_TYPE" {
				return "t3.micro", true
			}
			return "", false
		},
		Files:   Dir("testdata"),
		Clients: clients,
	})
	want := map[string]map[string]any{
		"vpc": {"CidrBlock": "10.0.0.0/16", "InstanceType": "t3.micro"},
		"db": {"VpcId": "vpc-1", "Subnets": []string{"subnet-a", "subnet-b"}, "Password": "s3cret",
			"MasterKey": "master-key"},
		"app": {
			"DatabaseUrl":      "postgres://db.acme:5432/app",
			"SharedLogsBucket": "acme-logs",
			"CorpDns":          "Z123",
			"ImageId":          "ami-7",
			"UserData": map[string]any{"Fn::Base64": map[string]any{"Fn::Join": []any{"", []any{
				"#!/bin/sh\naws s3 cp s3://", map[string]any{"Ref": "ConfigBucket"}, "/app.json /etc/app.json\n"}}}},
			"Config": map[string]any{"listen": map[string]any{"Fn::Join": []any{"", []any{":", map[string]any{"Ref": "Port"}, ""}}},
				"workers": int64(4)},
			"Owner":          "team-app",
			"SecurityGroups": []any{"sg-1", "sg-00000000000000001"},
			"Tags":           map[string]any{"Environment": "prod", "Cost": "cc-42"},
		},
	}
	for _, s := range loadStacks(t, "testdata/stacker.yaml") {
		t.Run(s.Name, func(t *testing.T) {
			got, err := ResolveVariables(context.Background(), s.Variables, reg,
				Consumer{Stack: s.Name, Profile: "stage", Region: "eu-west-1"})
			if err != nil {
				t.Fatalf("ResolveVariables: %v", err)
			}
			if diff := cmp.Diff(want[s.Name], got); diff != "" {
				t.Errorf("variables (-want +got):\n%s", diff)
			}
		})
	}
	if got := aws.ToString(clients.ec2Inputs[0].Filters[0].Name); got != "architecture" {
		t.Errorf("first ami filter = %s, want architecture", got)
	}
}

func TestStackerConfigErrors(t *testing.T) {
	want := map[string]string{
		"legacy":   `variable VpcId: Unknown lookup type: "vpc::VpcId" in "${vpc::VpcId}" (lookups need a type; did you mean "${output vpc::VpcId}"?)`,
		"hooks":    "variable Value: ${hook_data myhook::value}: hook_data lookups are not supported in stackerless",
		"typo":     `variable Value: Unknown lookup type: "outptu"`,
		"self":     "Variable Own in stack self has a circular reference",
		"unclosed": `variable Url: malformed lookup at offset 8 in "https://${output vpc::Host/x": unclosed lookup "${output vpc::Host/x": missing "}"`,
	}
	for _, s := range loadStacks(t, "testdata/bad.yaml") {
		t.Run(s.Name, func(t *testing.T) {
			err := CheckVariables(s.Name, s.Variables)
			if err == nil || !strings.Contains(err.Error(), want[s.Name]) {
				t.Fatalf("err = %v\nwant it to contain %s", err, want[s.Name])
			}
		})
	}
}
