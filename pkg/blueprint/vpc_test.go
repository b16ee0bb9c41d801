package blueprint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func renderVPC(t *testing.T, ctx Context, vars map[string]any) (map[string]any, *Rendered) {
	t.Helper()
	bp, err := Lookup("stacker_blueprints.vpc.VPC")
	if err != nil {
		t.Fatal(err)
	}
	if ctx.StackName == "" {
		ctx.StackName = "vpc"
	}
	r, err := Render(bp, ctx, vars)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("rendered template is not JSON: %v", err)
	}
	return doc, r
}

func keys(m any) []string {
	var out []string
	for k := range m.(map[string]any) {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func res(doc map[string]any, id string) map[string]any {
	r, _ := doc["Resources"].(map[string]any)[id].(map[string]any)
	return r
}

func props(doc map[string]any, id string) map[string]any {
	p, _ := res(doc, id)["Properties"].(map[string]any)
	return p
}

func TestVPCDefaults(t *testing.T) {
	doc, r := renderVPC(t, Context{}, nil)

	wantResources := []string{
		"DHCPAssociation", "DHCPOptions", "DefaultACL", "DefaultSG", "GatewayAttach", "InternetGateway",
		"NATExternalIp0", "NATExternalIp1", "NatGateway0", "NatGateway1",
		"PrivateRoute0", "PrivateRoute1", "PrivateRouteTable0", "PrivateRouteTable1",
		"PrivateRouteTableAssociation0", "PrivateRouteTableAssociation1", "PrivateSubnet0", "PrivateSubnet1",
		"PublicRoute0", "PublicRoute1", "PublicRouteTable0", "PublicRouteTable1",
		"PublicRouteTableAssociation0", "PublicRouteTableAssociation1", "PublicSubnet0", "PublicSubnet1",
		"VPC",
	}
	if diff := cmp.Diff(wantResources, keys(doc["Resources"])); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	wantOutputs := []string{
		"AvailabilityZone0", "AvailabilityZone1", "AvailabilityZones", "DefaultSG",
		"NatGateway0Id", "NatGateway1Id", "PrivateSubnet0", "PrivateSubnet1", "PrivateSubnets",
		"PublicSubnet0", "PublicSubnet1", "PublicSubnets", "VpcId",
	}
	if diff := cmp.Diff(wantOutputs, keys(doc["Outputs"])); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}

	checks := []struct {
		name string
		got  any
		want string
	}{
		{"VPC", props(doc, "VPC"), `{"CidrBlock":"10.128.0.0/16","EnableDnsHostnames":true,"EnableDnsSupport":true}`},
		{"PublicSubnet1", res(doc, "PublicSubnet1"), `{"DependsOn":"GatewayAttach","Properties":{"AvailabilityZone":{"Fn::Select":[1,{"Fn::GetAZs":""}]},"CidrBlock":"10.128.1.0/24","Tags":[{"Key":"type","Value":"public"}],"VpcId":{"Ref":"VPC"}},"Type":"AWS::EC2::Subnet"}`},
		{"PrivateSubnet0 cidr", props(doc, "PrivateSubnet0")["CidrBlock"], `"10.128.8.0/22"`},
		{"PrivateSubnet1 cidr", props(doc, "PrivateSubnet1")["CidrBlock"], `"10.128.12.0/22"`},
		{"PublicRoute0", props(doc, "PublicRoute0"), `{"DestinationCidrBlock":"0.0.0.0/0","GatewayId":{"Ref":"InternetGateway"},"RouteTableId":{"Ref":"PublicRouteTable0"}}`},
		{"PrivateRoute1", props(doc, "PrivateRoute1"), `{"DestinationCidrBlock":"0.0.0.0/0","NatGatewayId":{"Ref":"NatGateway1"},"RouteTableId":{"Ref":"PrivateRouteTable1"}}`},
		{"NatGateway0", props(doc, "NatGateway0"), `{"AllocationId":{"Fn::GetAtt":["NATExternalIp0","AllocationId"]},"SubnetId":{"Ref":"PublicSubnet0"}}`},
		{"NATExternalIp0", res(doc, "NATExternalIp0"), `{"DependsOn":"GatewayAttach","Properties":{"Domain":"vpc","InstanceId":{"Ref":"AWS::NoValue"}},"Type":"AWS::EC2::EIP"}`},
		{"DHCPOptions", props(doc, "DHCPOptions"), `{"DomainNameServers":["AmazonProvidedDNS"]}`},
		{"PublicSubnets", doc["Outputs"].(map[string]any)["PublicSubnets"], `{"Value":{"Fn::Join":[",",[{"Ref":"PublicSubnet0"},{"Ref":"PublicSubnet1"}]]}}`},
		{"AvailabilityZones", doc["Outputs"].(map[string]any)["AvailabilityZones"], `{"Value":{"Fn::Join":[",",[{"Fn::Select":[0,{"Fn::GetAZs":""}]},{"Fn::Select":[1,{"Fn::GetAZs":""}]}]]}}`},
		{"AvailabilityZone1", doc["Outputs"].(map[string]any)["AvailabilityZone1"], `{"Value":{"Fn::Select":[1,{"Fn::GetAZs":""}]}}`},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			got, _ := json.Marshal(c.got)
			if string(got) != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
	if _, ok := doc["Description"]; ok {
		t.Error("Description set without a stack description")
	}
	if !bytes.HasPrefix(r.Body, []byte("{\n    \"AWSTemplateFormatVersion\"")) {
		t.Errorf("want 4-space indented, key-sorted JSON; got %.60s", r.Body)
	}
	if len(r.Version) != 8 {
		t.Errorf("version %q", r.Version)
	}
}

func TestVPCDeterministic(t *testing.T) {
	_, a := renderVPC(t, Context{}, map[string]any{"AZCount": 3})
	_, b := renderVPC(t, Context{}, map[string]any{"AZCount": 3})
	if !bytes.Equal(a.Body, b.Body) || a.Version != b.Version {
		t.Error("two renders differ")
	}
	_, c := renderVPC(t, Context{}, map[string]any{"AZCount": 2})
	if c.Version == a.Version {
		t.Error("different variables, same version")
	}
}

func TestVPCVariants(t *testing.T) {
	amiMap := map[string]map[string]map[string]any{"AmiMap": {"us-east-1": {"NAT": "ami-1"}}}
	tests := []struct {
		name    string
		ctx     Context
		vars    map[string]any
		has     []string
		hasNot  []string
		outputs []string
		check   func(t *testing.T, doc map[string]any)
	}{
		{
			name:    "NAT instances",
			ctx:     Context{Mappings: amiMap},
			vars:    map[string]any{"UseNatGateway": false, "AZCount": 1, "SshKeyName": "ops", "InstanceType": "t3.micro"},
			has:     []string{"NATSG", "NatInstance0", "NATExternalIp0"},
			hasNot:  []string{"NatGateway0", "PublicSubnet1"},
			outputs: []string{"NatInstance0PublicHostname", "NatInstance0InstanceId"},
			check: func(t *testing.T, doc map[string]any) {
				want := `{"ImageId":{"Fn::FindInMap":["AmiMap",{"Ref":"AWS::Region"},"NAT"]},"InstanceType":"t3.micro","KeyName":"ops","SecurityGroupIds":[{"Ref":"DefaultSG"},{"Ref":"NATSG"}],"SourceDestCheck":false,"SubnetId":{"Ref":"PublicSubnet0"},"Tags":[{"Key":"Name","Value":"nat-gw0"}]}`
				if got, _ := json.Marshal(props(doc, "NatInstance0")); string(got) != want {
					t.Errorf("NatInstance0\ngot  %s\nwant %s", got, want)
				}
				if got, _ := json.Marshal(props(doc, "PrivateRoute0")["InstanceId"]); string(got) != `{"Ref":"NatInstance0"}` {
					t.Errorf("private route target %s", got)
				}
				if got, _ := json.Marshal(props(doc, "NATExternalIp0")["InstanceId"]); string(got) != `{"Ref":"NatInstance0"}` {
					t.Errorf("EIP instance %s", got)
				}
				if got, _ := json.Marshal(doc["Mappings"]); string(got) != `{"AmiMap":{"us-east-1":{"NAT":"ami-1"}}}` {
					t.Errorf("mappings %s", got)
				}
			},
		},
		{
			name:    "internal domain and endpoints",
			ctx:     Context{Description: "the vpc"},
			vars:    map[string]any{"InternalDomain": "internal.", "BaseDomain": "example.com", "CreateS3Endpoint": true, "CreateDynamoEndpoint": true},
			has:     []string{"InternalZone", "s3VpcEndpoint", "dynamoVpcEndpoint"},
			outputs: []string{"InternalZoneId", "InternalZoneName"},
			check: func(t *testing.T, doc map[string]any) {
				if got, _ := json.Marshal(props(doc, "DHCPOptions")["DomainName"]); string(got) != `{"Fn::Join":[" ",["internal.","example.com"]]}` {
					t.Errorf("DomainName %s", got)
				}
				want := `{"RouteTableIds":[{"Ref":"PublicRouteTable0"},{"Ref":"PrivateRouteTable0"},{"Ref":"PublicRouteTable1"},{"Ref":"PrivateRouteTable1"}],"ServiceName":{"Fn::Sub":"com.amazonaws.${AWS::Region}.s3"},"VpcId":{"Ref":"VPC"}}`
				if got, _ := json.Marshal(props(doc, "s3VpcEndpoint")); string(got) != want {
					t.Errorf("s3 endpoint\ngot  %s\nwant %s", got, want)
				}
				if doc["Description"] != "the vpc" {
					t.Errorf("Description %v", doc["Description"])
				}
			},
		},
		{
			name: "explicit subnets, other CIDR, 3 AZs",
			vars: map[string]any{
				"AZCount": 3, "CidrBlock": "10.0.0.0/16",
				"PublicSubnets":  []any{"10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"},
				"PrivateSubnets": []string{"10.0.8.0/22", "10.0.12.0/22", "10.0.16.0/22"},
			},
			has:     []string{"PublicSubnet2", "PrivateSubnet2", "NatGateway2"},
			hasNot:  []string{"PublicSubnet3"},
			outputs: []string{"AvailabilityZone2", "PrivateSubnet2"},
			check: func(t *testing.T, doc map[string]any) {
				if got := props(doc, "PrivateSubnet2")["CidrBlock"]; got != "10.0.16.0/22" {
					t.Errorf("PrivateSubnet2 %v", got)
				}
			},
		},
		{
			name: "computed subnets follow CidrBlock",
			vars: map[string]any{"CidrBlock": "172.16.0.0/18", "AZCount": 3.0},
			has:  []string{"PublicSubnet2"},
			check: func(t *testing.T, doc map[string]any) {
				got := []any{props(doc, "PublicSubnet2")["CidrBlock"], props(doc, "PrivateSubnet0")["CidrBlock"], props(doc, "PrivateSubnet2")["CidrBlock"]}
				if diff := cmp.Diff([]any{"172.16.2.0/24", "172.16.8.0/22", "172.16.16.0/22"}, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, _ := renderVPC(t, tc.ctx, tc.vars)
			for _, id := range tc.has {
				if res(doc, id) == nil {
					t.Errorf("resource %s missing", id)
				}
			}
			for _, id := range tc.hasNot {
				if res(doc, id) != nil {
					t.Errorf("resource %s present", id)
				}
			}
			for _, o := range tc.outputs {
				if _, ok := doc["Outputs"].(map[string]any)[o]; !ok {
					t.Errorf("output %s missing", o)
				}
			}
			if tc.check != nil {
				tc.check(t, doc)
			}
		})
	}
}

func TestVPCErrors(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]any
		want string
	}{
		{"wrong type", map[string]any{"AZCount": "2"}, "Value for variable AZCount must be of type <class 'int'>. Actual type: <class 'str'>."},
		{"list as string", map[string]any{"PublicSubnets": "10.0.0.0/24"}, "Value for variable PublicSubnets must be of type <class 'list'>"},
		{"too few subnets", map[string]any{"AZCount": 3, "PublicSubnets": []any{"10.128.0.0/24"}}, "PublicSubnets has 1 subnets but AZCount is 3"},
		{"bad cidr", map[string]any{"CidrBlock": "nope"}, `CidrBlock "nope" is not an IPv4 CIDR block`},
		{"cidr too small", map[string]any{"CidrBlock": "10.0.0.0/21"}, "PrivateSubnets not given and CidrBlock 10.0.0.0/21 is too small for 2 default /22 subnets: give PrivateSubnets explicitly"},
		{"zero AZs", map[string]any{"AZCount": 0}, "AZCount is 0"},
	}
	bp := VPC{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(bp, Context{StackName: "vpc"}, tc.vars)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestResolveVariables(t *testing.T) {
	bp := fakeBlueprint{vars: []Variable{{Name: "Req", Type: String}, {Name: "Opt", Type: Bool, Default: true, HasDefault: true}}}
	_, _, err := ResolveVariables(bp, "app", map[string]any{"Opt": false})
	var mv *MissingVariableError
	if !errors.As(err, &mv) || err.Error() != `Variable "Req" in blueprint "app" is missing` {
		t.Fatalf("err = %v", err)
	}
	got, ignored, err := ResolveVariables(bp, "app", map[string]any{"Req": "x", "Extra": 1, "Another": 2})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"Req": "x", "Opt": true}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Another", "Extra"}, ignored); diff != "" {
		t.Errorf("ignored (-want +got):\n%s", diff)
	}
}

type fakeBlueprint struct{ vars []Variable }

func (f fakeBlueprint) Name() string                                   { return "fake.Fake" }
func (f fakeBlueprint) Variables() []Variable                          { return f.vars }
func (f fakeBlueprint) Render(map[string]any, Context) ([]byte, error) { return []byte("{}"), nil }

func TestLookup(t *testing.T) {
	if _, err := Lookup("stacker_blueprints.vpc.VPC"); err != nil {
		t.Fatal(err)
	}
	_, err := Lookup("stacker_blueprints.s3.Buckets")
	want := "class_path stacker_blueprints.s3.Buckets is a Python blueprint, and stackerless runs no Python: render its template once with stacker " +
		"(stacker build --dump DIR <config>) and point template_path at the file, or port the blueprint to Go (ported: stacker_blueprints.network.Network, stacker_blueprints.vpc.VPC, stacker_blueprints.vpc.VPC2)"
	var unported *UnportedError
	if !errors.As(err, &unported) || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v", err)
	}
}

// The seed's prod/vpc stack gives no variables; it must render.
func ExampleRender() {
	bp, err := Lookup("stacker_blueprints.vpc.VPC")
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := Render(bp, Context{StackName: "prod/vpc"}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	var doc struct{ Outputs map[string]any }
	_ = json.Unmarshal(r.Body, &doc)
	fmt.Println(len(doc.Outputs), doc.Outputs["PublicSubnet0"])
	// Output: 13 map[Value:map[Ref:PublicSubnet0]]
}
