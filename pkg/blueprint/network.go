package blueprint

import (
	"errors"
	"sort"
)

// Network is a Go port of stacker_blueprints.network.Network
// (stacker_blueprints 1.0.x): one subnet in one availability zone with its
// route table, public when InternetGatewayId is given (default route through
// the internet gateway), private when NatGatewayId is (default route through
// the NAT gateway), and optionally a NAT gateway of its own with an Elastic
// IP (CreateNatGateway), for the private networks of other stacks. Logical
// IDs and outputs are the original's.
//
// As the original: a NAT gateway the stack creates serves others, not this
// subnet's default route, and a network with neither gateway has no default
// route at all.
type Network struct{}

// Name implements Blueprint.
func (Network) Name() string { return "stacker_blueprints.network.Network" }

// Variables implements Blueprint.
func (Network) Variables() []Variable {
	vs := []Variable{
		{Name: "VpcId", Type: String, Description: "The Id of the VPC to create the network in."},
		{Name: "InternetGatewayId", Type: String, Default: "", HasDefault: true,
			Description: "If defined, this network will be a public network, and the default route will be through the internet gateway. " +
				"This and NatGatewayId are mutually exclusive and cannot be set on the same stack."},
		{Name: "CreateNatGateway", Type: Bool, Default: false, HasDefault: true,
			Description: "If set to true, and no NatGatewayId is specified a NatGateway will be created."},
		{Name: "NatGatewayId", Type: String, Default: "", HasDefault: true,
			Description: "If defined, this network will be a private network, and the default route will be through the nat gateway. " +
				"This and InternetGatewayId are mutually exclusive and cannot be set on the same stack."},
		{Name: "AvailabilityZone", Type: String, Description: "The Availability Zone to create the network in."},
		{Name: "CidrBlock", Type: String, Description: "The cidr network range to assign the subnet."},
		{Name: "Tags", Type: Dict, Default: map[string]any{}, HasDefault: true,
			Description: "A dictionary of tag key/values to add to all resources that accept tags."},
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Name < vs[j].Name })
	return vs
}

// Render implements Blueprint.
func (Network) Render(vars map[string]any, ctx Context) ([]byte, error) {
	igw, nat := str(vars["InternetGatewayId"]), str(vars["NatGatewayId"])
	createNat, _ := vars["CreateNatGateway"].(bool)
	// validate_variables
	if igw != "" && nat != "" {
		//lint:ignore ST1005 the original's wording
		return nil, errors.New("Cannot specify both NatGatewayId and InternetGatewayId in the same Network stack.")
	}
	if createNat && nat != "" {
		//lint:ignore ST1005 the original's wording
		return nil, errors.New("Cannot specify both CreateNatGateway as True and NatGatewayId in the same Network stack.")
	}
	networkType := "private"
	if igw != "" {
		networkType = "public"
	}
	// troposphere's Tags(**dict): the NetworkType tag, overridable, sorted by key.
	tagMap := map[string]any{"NetworkType": networkType}
	extra, _ := vars["Tags"].(map[string]any)
	for k, v := range extra {
		tagMap[k] = v
	}
	tags := make([]any, 0, len(tagMap))
	for _, k := range sortedKeys(tagMap) {
		tags = append(tags, map[string]any{"Key": k, "Value": tagMap[k]})
	}
	vpc, cidr := str(vars["VpcId"]), str(vars["CidrBlock"])
	t := NewTemplate(ctx)

	// create_subnet
	t.AddResource("Subnet", "AWS::EC2::Subnet", map[string]any{
		"VpcId": vpc, "AvailabilityZone": str(vars["AvailabilityZone"]), "CidrBlock": cidr, "Tags": tags,
	})
	t.AddOutput("SubnetId", Ref("Subnet"))
	t.AddOutput("NetworkType", networkType)
	t.AddOutput("CidrBlock", cidr)
	for _, attr := range []string{"AvailabilityZone", "NetworkAclAssociationId", "VpcId"} {
		t.AddOutput(attr, GetAtt("Subnet", attr))
	}
	t.AddOutput("Ipv6CidrBlocks", map[string]any{"Fn::Join": []any{",", GetAtt("Subnet", "Ipv6CidrBlocks")}})

	// create_route_table
	t.AddResource("RouteTable", "AWS::EC2::RouteTable", map[string]any{"VpcId": vpc, "Tags": tags})
	t.AddOutput("RouteTableId", Ref("RouteTable"))
	t.AddResource("SubnetRouteTableAssociation", "AWS::EC2::SubnetRouteTableAssociation", map[string]any{
		"SubnetId": Ref("Subnet"), "RouteTableId": Ref("RouteTable"),
	})
	t.AddOutput("SubnetRouteTableAssociationId", Ref("SubnetRouteTableAssociation"))

	// create_nat_gateway
	if nat == "" && createNat {
		t.AddResource("NatGatewayEIP", "AWS::EC2::EIP", map[string]any{"Domain": "vpc"})
		t.AddOutput("NatGatewayEIP", Ref("NatGatewayEIP"))
		t.AddOutput("NatGatewayEIPAllocationId", GetAtt("NatGatewayEIP", "AllocationId"))
		t.AddResource("NatGateway", "AWS::EC2::NatGateway", map[string]any{
			"AllocationId": GetAtt("NatGatewayEIP", "AllocationId"), "SubnetId": Ref("Subnet"),
		})
		t.AddOutput("NatGatewayId", Ref("NatGateway"))
	}

	// create_default_route
	if igw != "" || nat != "" {
		route := map[string]any{
			"RouteTableId": Ref("RouteTable"), "DestinationCidrBlock": "0.0.0.0/0",
			"GatewayId": orNoValue(igw), "NatGatewayId": orNoValue(nat),
		}
		t.AddResource("DefaultRoute", "AWS::EC2::Route", route)
		t.AddOutput("DefaultRouteId", Ref("DefaultRoute"))
	}
	return t.JSON(ctx.TemplateIndent)
}

// orNoValue is s, or AWS::NoValue for an empty s, as the original's
// `variable or NoValue`.
func orNoValue(s string) any {
	if s == "" {
		return NoValue()
	}
	return s
}
