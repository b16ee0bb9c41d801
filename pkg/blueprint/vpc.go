package blueprint

import (
	"fmt"
	"net/netip"
	"sort"
)

// VPC is a Go port of stacker_blueprints.vpc.VPC (stacker_blueprints 1.0.x):
// a VPC with DNS support, a default security group, DHCP options, an
// internet gateway, a public and a private subnet per availability zone
// (Fn::GetAZs / Fn::Select), a route table per subnet, NAT gateways (or NAT
// instances) with Elastic IPs for the private subnets, an optional internal
// hosted zone and optional S3 / DynamoDB gateway endpoints. Logical IDs and
// output names are the original's, so lookups of its outputs keep working.
//
// Differences from the Python blueprint:
//   - PublicSubnets and PrivateSubnets have defaults (the original requires
//     them): carved from CidrBlock in the layout of stacker's documented
//     example, /24 public subnets from the block's start and /22 private
//     subnets from its ninth /24 (10.128.0.0/24, 10.128.1.0/24, ... and
//     10.128.8.0/22, 10.128.12.0/22, ... for the default 10.128.0.0/16).
//   - NAT instances look their AMI up with FindInMap("AmiMap", region,
//     <ImageName value>); the original's Ref("ImageName") names a parameter
//     its template never declares.
//   - An empty SshKeyName leaves KeyName out instead of sending "".
//   - Fewer subnets than AZCount is a clear error instead of an IndexError.
type VPC struct{}

// Name implements Blueprint.
func (VPC) Name() string { return "stacker_blueprints.vpc.VPC" }

// Variables implements Blueprint.
func (VPC) Variables() []Variable {
	vs := []Variable{
		{Name: "AZCount", Type: Int, Default: 2, HasDefault: true},
		{Name: "PrivateSubnets", Type: List, HasDefault: true,
			Description: "List of subnets to use for non-public hosts. NOTE: Must have as many subnets as AZCount (default: carved from CidrBlock)"},
		{Name: "PublicSubnets", Type: List, HasDefault: true,
			Description: "List of subnets to use for public hosts. NOTE: Must have as many subnets as AZCount (default: carved from CidrBlock)"},
		{Name: "BaseDomain", Type: String, Default: "", HasDefault: true, Description: "Base domain for the stack."},
		{Name: "InternalDomain", Type: String, Default: "", HasDefault: true, Description: "Internal domain name, if you have one."},
		{Name: "CidrBlock", Type: String, Default: "10.128.0.0/16", HasDefault: true, Description: "Base CIDR block for subnets."},
		{Name: "UseNatGateway", Type: Bool, Default: true, HasDefault: true,
			Description: "If set to false, will configure NAT Instances instead of NAT gateways."},
		{Name: "ImageName", Type: String, Default: "NAT", HasDefault: true,
			Description: "The image name to use from the AMIMap (usually found in the config file.)"},
		{Name: "InstanceType", Type: String, Default: "m3.medium", HasDefault: true,
			Description: "If using NAT Instances, the instance type to use."},
		{Name: "SshKeyName", Type: String, Default: "", HasDefault: true,
			Description: "If using NAT Instances, the SSH key to install on those instances."},
		{Name: "CreateS3Endpoint", Type: Bool, Default: false, HasDefault: true,
			Description: "Create an S3 endpoint gateway for vpc access."},
		{Name: "CreateDynamoEndpoint", Type: Bool, Default: false, HasDefault: true,
			Description: "Create an DynamoDB endpoint gateway for vpc access."},
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Name < vs[j].Name })
	return vs
}

const (
	vpcID      = "VPC"
	gateway    = "InternetGateway"
	gwAttach   = "GatewayAttach"
	defaultSG  = "DefaultSG"
	natSG      = "NATSG"
	maxAZCount = 16
)

type vpcVars struct {
	azCount                         int
	public, private                 []string
	baseDomain, internalDomain      string
	cidr                            string
	useNatGateway                   bool
	imageName, instanceType, sshKey string
	s3Endpoint, dynamoEndpoint      bool
}

func readVPCVars(v map[string]any) (vpcVars, error) {
	// ResolveVariables has checked every type; the assertions cannot fail
	// for its output, and a caller passing something else gets zero values
	// rejected below.
	out := vpcVars{
		baseDomain:     str(v["BaseDomain"]),
		internalDomain: str(v["InternalDomain"]),
		cidr:           str(v["CidrBlock"]),
		imageName:      str(v["ImageName"]),
		instanceType:   str(v["InstanceType"]),
		sshKey:         str(v["SshKeyName"]),
	}
	out.azCount, _ = v["AZCount"].(int)
	out.useNatGateway, _ = v["UseNatGateway"].(bool)
	out.s3Endpoint, _ = v["CreateS3Endpoint"].(bool)
	out.dynamoEndpoint, _ = v["CreateDynamoEndpoint"].(bool)
	if out.azCount < 1 || out.azCount > maxAZCount {
		return out, fmt.Errorf("AZCount is %v: it must be between 1 and %d", v["AZCount"], maxAZCount)
	}
	prefix, err := netip.ParsePrefix(out.cidr)
	if err != nil || !prefix.Addr().Is4() {
		return out, fmt.Errorf("CidrBlock %q is not an IPv4 CIDR block such as 10.128.0.0/16", out.cidr)
	}
	for _, s := range []struct {
		name string
		dst  *[]string
		size int // prefix length of the default subnets
		skip int // /24 blocks before the first default subnet
	}{
		{"PublicSubnets", &out.public, 24, 0},
		{"PrivateSubnets", &out.private, 22, 8},
	} {
		raw, given := v[s.name].([]any)
		if !given {
			def, err := defaultSubnets(prefix.Masked(), out.azCount, s.size, s.skip)
			if err != nil {
				return out, fmt.Errorf("%s not given and %w: give %s explicitly", s.name, err, s.name)
			}
			*s.dst = def
			continue
		}
		if len(raw) < out.azCount {
			return out, fmt.Errorf("%s has %d subnets but AZCount is %d: give one subnet per availability zone", s.name, len(raw), out.azCount)
		}
		for i, x := range raw {
			cidr, ok := x.(string)
			if !ok {
				return out, fmt.Errorf("%s[%d] is %v, not a CIDR block string", s.name, i, x)
			}
			*s.dst = append(*s.dst, cidr)
		}
	}
	return out, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// defaultSubnets carves n subnets of the given prefix length from block,
// starting skip /24s into it.
func defaultSubnets(block netip.Prefix, n, bits, skip int) ([]string, error) {
	if block.Bits() > 24 {
		return nil, fmt.Errorf("CidrBlock %s is too small for the default subnets", block)
	}
	base := block.Addr().As4()
	start := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	step := uint32(1) << (32 - bits)
	first := start + uint32(skip)<<8
	// Align the first subnet to its own size.
	first = (first + step - 1) &^ (step - 1)
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		a := first + uint32(i)*step
		addr := netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
		p := netip.PrefixFrom(addr, bits)
		last := a + step - 1
		lastAddr := netip.AddrFrom4([4]byte{byte(last >> 24), byte(last >> 16), byte(last >> 8), byte(last)})
		if !block.Contains(addr) || !block.Contains(lastAddr) {
			return nil, fmt.Errorf("CidrBlock %s is too small for %d default /%d subnets", block, n, bits)
		}
		out = append(out, p.String())
	}
	return out, nil
}

// Render implements Blueprint.
func (b VPC) Render(vars map[string]any, ctx Context) ([]byte, error) {
	v, err := readVPCVars(vars)
	if err != nil {
		return nil, err
	}
	t := NewTemplate(ctx)
	vpc := Ref(vpcID)

	// create_vpc
	t.AddResource(vpcID, "AWS::EC2::VPC", map[string]any{
		"CidrBlock": v.cidr, "EnableDnsSupport": true, "EnableDnsHostnames": true,
	})
	t.AddOutput("VpcId", vpc)

	// create_internal_zone
	if v.internalDomain != "" {
		t.AddResource("InternalZone", "AWS::Route53::HostedZone", map[string]any{
			"Name": v.internalDomain,
			"VPCs": []any{map[string]any{"VPCId": vpc, "VPCRegion": Ref("AWS::Region")}},
		})
		t.AddOutput("InternalZoneId", Ref("InternalZone"))
		t.AddOutput("InternalZoneName", v.internalDomain)
	}

	// create_default_security_group
	t.AddResource(defaultSG, "AWS::EC2::SecurityGroup", map[string]any{
		"VpcId": vpc, "GroupDescription": "Default Security Group",
	})
	t.AddOutput("DefaultSG", Ref(defaultSG))

	// create_dhcp_options
	dhcp := map[string]any{"DomainNameServers": []any{"AmazonProvidedDNS"}}
	if v.baseDomain != "" || v.internalDomain != "" {
		dhcp["DomainName"] = Join(" ", v.internalDomain, v.baseDomain)
	}
	t.AddResource("DHCPOptions", "AWS::EC2::DHCPOptions", dhcp)
	t.AddResource("DHCPAssociation", "AWS::EC2::VPCDHCPOptionsAssociation", map[string]any{
		"VpcId": vpc, "DhcpOptionsId": Ref("DHCPOptions"),
	})

	// create_network
	t.AddResource(gateway, "AWS::EC2::InternetGateway", nil)
	t.AddResource(gwAttach, "AWS::EC2::VPCGatewayAttachment", map[string]any{
		"VpcId": vpc, "InternetGatewayId": Ref(gateway),
	})
	t.AddResource("DefaultACL", "AWS::EC2::NetworkAcl", map[string]any{"VpcId": vpc})
	if !v.useNatGateway {
		t.AddResource(natSG, "AWS::EC2::SecurityGroup", map[string]any{
			"VpcId":            vpc,
			"GroupDescription": "NAT Instance Security Group",
			"SecurityGroupIngress": []any{map[string]any{
				"IpProtocol": "-1", "FromPort": "-1", "ToPort": "-1", "SourceSecurityGroupId": Ref(defaultSG),
			}},
			"SecurityGroupEgress": []any{map[string]any{
				"IpProtocol": "-1", "FromPort": "-1", "ToPort": "-1", "CidrIp": "0.0.0.0/0",
			}},
		})
	}

	nets := []struct {
		prefix, typ string
		cidrs       []string
		subnets     []any
	}{
		{prefix: "Public", typ: "public", cidrs: v.public},
		{prefix: "Private", typ: "private", cidrs: v.private},
	}
	var routeTables, zones []any
	for i := 0; i < v.azCount; i++ {
		az := Select(i, GetAZs(""))
		zones = append(zones, az)
		for n := range nets {
			net := &nets[n]
			subnet := fmt.Sprintf("%sSubnet%d", net.prefix, i)
			net.subnets = append(net.subnets, Ref(subnet))
			t.AddResource(subnet, "AWS::EC2::Subnet", map[string]any{
				"AvailabilityZone": az,
				"VpcId":            vpc,
				"CidrBlock":        net.cidrs[i],
				"Tags":             []any{map[string]any{"Key": "type", "Value": net.typ}},
			}, gwAttach)
			table := fmt.Sprintf("%sRouteTable%d", net.prefix, i)
			t.AddResource(table, "AWS::EC2::RouteTable", map[string]any{
				"VpcId": vpc,
				"Tags":  []any{map[string]any{"Key": "type", "Value": net.typ}},
			})
			routeTables = append(routeTables, Ref(table))
			t.AddResource(fmt.Sprintf("%sRouteTableAssociation%d", net.prefix, i), "AWS::EC2::SubnetRouteTableAssociation",
				map[string]any{"SubnetId": Ref(subnet), "RouteTableId": Ref(table)})
			route := map[string]any{"RouteTableId": Ref(table), "DestinationCidrBlock": "0.0.0.0/0"}
			if net.typ == "public" {
				// NAT gateways/instances live in the public subnets, whose
				// default route is the internet gateway.
				route["GatewayId"] = Ref(gateway)
				b.addNAT(t, v, i, subnet)
			} else if v.useNatGateway {
				route["NatGatewayId"] = Ref(fmt.Sprintf("NatGateway%d", i))
			} else {
				route["InstanceId"] = Ref(fmt.Sprintf("NatInstance%d", i))
			}
			t.AddResource(fmt.Sprintf("%sRoute%d", net.prefix, i), "AWS::EC2::Route", route)
		}
	}
	for _, net := range nets {
		t.AddOutput(net.prefix+"Subnets", Join(",", net.subnets...))
		for i, sn := range net.subnets {
			t.AddOutput(fmt.Sprintf("%sSubnet%d", net.prefix, i), sn)
		}
	}
	t.AddOutput("AvailabilityZones", Join(",", zones...))
	for i, az := range zones {
		t.AddOutput(fmt.Sprintf("AvailabilityZone%d", i), az)
	}
	if v.s3Endpoint {
		t.AddResource("s3VpcEndpoint", "AWS::EC2::VPCEndpoint", map[string]any{
			"RouteTableIds": routeTables, "VpcId": vpc, "ServiceName": Sub("com.amazonaws.${AWS::Region}.s3"),
		})
	}
	if v.dynamoEndpoint {
		t.AddResource("dynamoVpcEndpoint", "AWS::EC2::VPCEndpoint", map[string]any{
			"RouteTableIds": routeTables, "VpcId": vpc, "ServiceName": Sub("com.amazonaws.${AWS::Region}.dynamodb"),
		})
	}
	return t.JSON(ctx.TemplateIndent)
}

// addNAT is create_nat_instance: a NAT gateway (or instance) and its EIP in
// public subnet i.
func (VPC) addNAT(t *Template, v vpcVars, i int, subnet string) {
	eip := fmt.Sprintf("NATExternalIp%d", i)
	var eipInstance any
	if v.useNatGateway {
		gw := fmt.Sprintf("NatGateway%d", i)
		t.AddResource(gw, "AWS::EC2::NatGateway", map[string]any{
			"AllocationId": GetAtt(eip, "AllocationId"), "SubnetId": Ref(subnet),
		})
		t.AddOutput(gw+"Id", Ref(gw))
		// The gateway takes the EIP through AllocationId.
		eipInstance = NoValue()
	} else {
		inst := fmt.Sprintf("NatInstance%d", i)
		props := map[string]any{
			"ImageId":          FindInMap("AmiMap", Ref("AWS::Region"), v.imageName),
			"SecurityGroupIds": []any{Ref(defaultSG), Ref(natSG)},
			"SubnetId":         Ref(subnet),
			"InstanceType":     v.instanceType,
			"SourceDestCheck":  false,
			"Tags":             []any{map[string]any{"Key": "Name", "Value": fmt.Sprintf("nat-gw%d", i)}},
		}
		if v.sshKey != "" {
			props["KeyName"] = v.sshKey
		}
		t.AddResource(inst, "AWS::EC2::Instance", props, gwAttach)
		t.AddOutput(inst+"PublicHostname", GetAtt(inst, "PublicDnsName"))
		t.AddOutput(inst+"InstanceId", Ref(inst))
		eipInstance = Ref(inst)
	}
	t.AddResource(eip, "AWS::EC2::EIP", map[string]any{"Domain": "vpc", "InstanceId": eipInstance}, gwAttach)
}
