package blueprint

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// render renders a registered blueprint and decodes the template.
func render(t *testing.T, classPath string, vars map[string]any) (map[string]any, error) {
	t.Helper()
	bp, err := Lookup(classPath)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Render(bp, Context{StackName: "net"}, vars)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("rendered template is not JSON: %v", err)
	}
	return doc, nil
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func output(doc map[string]any, name string) any {
	o, _ := doc["Outputs"].(map[string]any)[name].(map[string]any)
	return o["Value"]
}

func TestVPC2(t *testing.T) {
	doc, err := render(t, "stacker_blueprints.vpc.VPC2", map[string]any{
		"VPC": map[string]any{"MainVPC": map[string]any{
			"CidrBlock": "10.0.0.0/16", "EnableDnsHostnames": true, "DeletionPolicy": "Retain",
		}},
		"InternalZone": map[string]any{"Internal": map[string]any{
			"Name": "corp.internal", "VPCs": []any{"ignored"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"DHCPOptions", "Internal", "InternetGateway", "MainVPC", "VPCDHCPOptionsAssociation", "VPCGatewayAttachment"},
		keys(doc["Resources"])); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"CidrBlock", "CidrBlockAssociations", "DHCPOptionsId", "DefaultNetworkAcl", "DefaultSecurityGroup",
		"InternalZoneId", "InternalZoneName", "InternetGatewayId", "Ipv6CidrBlocks", "VPCDHCPOptionsAssociation",
		"VPCGatewayAttachmentId", "VpcId"}, keys(doc["Outputs"])); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	for _, c := range []struct{ name, got, want string }{
		{"the VPC as given, its title the logical ID", jsonOf(res(doc, "MainVPC")),
			`{"DeletionPolicy":"Retain","Properties":{"CidrBlock":"10.0.0.0/16","EnableDnsHostnames":true},"Type":"AWS::EC2::VPC"}`},
		{"the zone bound to this VPC", jsonOf(props(doc, "Internal")),
			`{"Name":"corp.internal","VPCs":[{"VPCId":{"Ref":"MainVPC"},"VPCRegion":{"Ref":"AWS::Region"}}]}`},
		{"DHCP searches the zone", jsonOf(props(doc, "DHCPOptions")), `{"DomainName":"corp.internal","DomainNameServers":["AmazonProvidedDNS"]}`},
		{"attachment", jsonOf(props(doc, "VPCGatewayAttachment")), `{"InternetGatewayId":{"Ref":"InternetGateway"},"VpcId":{"Ref":"MainVPC"}}`},
		{"VpcId", jsonOf(output(doc, "VpcId")), `{"Ref":"MainVPC"}`},
		{"DefaultSecurityGroup", jsonOf(output(doc, "DefaultSecurityGroup")), `{"Fn::GetAtt":["MainVPC","DefaultSecurityGroup"]}`},
		{"Ipv6CidrBlocks", jsonOf(output(doc, "Ipv6CidrBlocks")), `{"Fn::Join":[",",{"Fn::GetAtt":["MainVPC","Ipv6CidrBlocks"]}]}`},
		{"InternalZoneName", jsonOf(output(doc, "InternalZoneName")), `"corp.internal"`},
	} {
		if c.got != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.name, c.got, c.want)
		}
	}

	t.Run("without a zone DHCP has no domain", func(t *testing.T) {
		doc, err := render(t, "stacker_blueprints.vpc.VPC2", map[string]any{"VPC": map[string]any{"VPC": map[string]any{"CidrBlock": "10.1.0.0/16"}}})
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonOf(props(doc, "DHCPOptions")); got != `{"DomainName":{"Ref":"AWS::NoValue"},"DomainNameServers":["AmazonProvidedDNS"]}` {
			t.Errorf("DHCPOptions %s", got)
		}
		if _, ok := doc["Outputs"].(map[string]any)["InternalZoneId"]; ok {
			t.Error("InternalZoneId without a zone")
		}
	})
}

func TestVPC2Errors(t *testing.T) {
	vpc := func(props map[string]any) map[string]any { return map[string]any{"VPC": map[string]any{"VPC": props}} }
	for _, tc := range []struct {
		name string
		vars map[string]any
		want string
	}{
		{"missing", nil, `Variable "VPC" in blueprint "net" is missing`},
		{"not a mapping", map[string]any{"VPC": "10.0.0.0/16"}, "variable VPC: Resources must be specified as a dict of title to parameters, found <class 'str'>"},
		{"two resources", map[string]any{"VPC": map[string]any{"A": map[string]any{}, "B": map[string]any{}}}, "variable VPC: only one resource can be provided (found A, B)"},
		{"unknown property", vpc(map[string]any{"CidrBlock": "10.0.0.0/16", "Cidr": "x"}), "variable VPC: VPC has no property Cidr (AWS::EC2::VPC properties: CidrBlock,"},
		{"required property", vpc(map[string]any{"EnableDnsSupport": true}), "variable VPC: VPC needs the property CidrBlock or Ipv4IpamPoolId"},
		{"bad title", map[string]any{"VPC": map[string]any{"my-vpc": map[string]any{"CidrBlock": "10.0.0.0/16"}}}, `variable VPC: "my-vpc" is not a valid logical ID`},
		{"zone without a name", map[string]any{"VPC": vpc(map[string]any{"CidrBlock": "10.0.0.0/16"})["VPC"], "InternalZone": map[string]any{"Z": map[string]any{}}},
			"variable InternalZone: Z needs the property Name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(t, "stacker_blueprints.vpc.VPC2", tc.vars)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestNetwork(t *testing.T) {
	base := map[string]any{"VpcId": "vpc-1", "AvailabilityZone": "us-east-1a", "CidrBlock": "10.0.1.0/24"}
	with := func(extra map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name      string
		vars      map[string]any
		resources []string
		checks    map[string]string // JSON of a resource's properties or, for "output:X", an output's value
	}{
		{"public", with(map[string]any{"InternetGatewayId": "igw-1", "Tags": map[string]any{"Team": "net", "NetworkType": "edge"}}),
			[]string{"DefaultRoute", "RouteTable", "Subnet", "SubnetRouteTableAssociation"},
			map[string]string{
				"Subnet":                `{"AvailabilityZone":"us-east-1a","CidrBlock":"10.0.1.0/24","Tags":[{"Key":"NetworkType","Value":"edge"},{"Key":"Team","Value":"net"}],"VpcId":"vpc-1"}`,
				"DefaultRoute":          `{"DestinationCidrBlock":"0.0.0.0/0","GatewayId":"igw-1","NatGatewayId":{"Ref":"AWS::NoValue"},"RouteTableId":{"Ref":"RouteTable"}}`,
				"output:NetworkType":    `"public"`,
				"output:Ipv6CidrBlocks": `{"Fn::Join":[",",{"Fn::GetAtt":["Subnet","Ipv6CidrBlocks"]}]}`,
			}},
		{"private through a NAT gateway", with(map[string]any{"NatGatewayId": "nat-1"}),
			[]string{"DefaultRoute", "RouteTable", "Subnet", "SubnetRouteTableAssociation"},
			map[string]string{
				"RouteTable":         `{"Tags":[{"Key":"NetworkType","Value":"private"}],"VpcId":"vpc-1"}`,
				"DefaultRoute":       `{"DestinationCidrBlock":"0.0.0.0/0","GatewayId":{"Ref":"AWS::NoValue"},"NatGatewayId":"nat-1","RouteTableId":{"Ref":"RouteTable"}}`,
				"output:NetworkType": `"private"`,
			}},
		{"creating a NAT gateway for others", with(map[string]any{"InternetGatewayId": "igw-1", "CreateNatGateway": true}),
			[]string{"DefaultRoute", "NatGateway", "NatGatewayEIP", "RouteTable", "Subnet", "SubnetRouteTableAssociation"},
			map[string]string{
				"NatGateway":            `{"AllocationId":{"Fn::GetAtt":["NatGatewayEIP","AllocationId"]},"SubnetId":{"Ref":"Subnet"}}`,
				"NatGatewayEIP":         `{"Domain":"vpc"}`,
				"output:NatGatewayId":   `{"Ref":"NatGateway"}`,
				"output:SubnetId":       `{"Ref":"Subnet"}`,
				"output:CidrBlock":      `"10.0.1.0/24"`,
				"output:DefaultRouteId": `{"Ref":"DefaultRoute"}`,
			}},
		{"isolated: no default route", base, []string{"RouteTable", "Subnet", "SubnetRouteTableAssociation"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := render(t, "stacker_blueprints.network.Network", tt.vars)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.resources, keys(doc["Resources"])); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
			for what, want := range tt.checks {
				got := jsonOf(props(doc, what))
				if name, ok := strings.CutPrefix(what, "output:"); ok {
					got = jsonOf(output(doc, name))
				}
				if got != want {
					t.Errorf("%s:\n got  %s\n want %s", what, got, want)
				}
			}
		})
	}
	for _, tc := range []struct {
		vars map[string]any
		want string
	}{
		{with(map[string]any{"InternetGatewayId": "igw-1", "NatGatewayId": "nat-1"}), "Cannot specify both NatGatewayId and InternetGatewayId in the same Network stack."},
		{with(map[string]any{"CreateNatGateway": true, "NatGatewayId": "nat-1"}), "Cannot specify both CreateNatGateway as True and NatGatewayId in the same Network stack."},
		{with(map[string]any{"Tags": []any{"a"}}), "Value for variable Tags must be of type <class 'dict'>. Actual type: <class 'list'>."},
		{map[string]any{"VpcId": "vpc-1"}, `Variable "AvailabilityZone" in blueprint "net" is missing`},
	} {
		if _, err := render(t, "stacker_blueprints.network.Network", tc.vars); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
}
