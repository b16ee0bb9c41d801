package cfn

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// EC2 resources have no backing store; their IDs and attributes look like EC2's.
func init() {
	providers["AWS::EC2::VPC"] = ec2Provider("ec2:CreateVpc", "vpc", "vpc", map[string]string{"CidrBlock": "Always", "InstanceTenancy": "Conditionally", "Ipv4IpamPoolId": "Always"},
		func(c *pctx, r *resource, props map[string]any) {
			r.attrs["VpcId"] = r.physicalID
			r.attrs["CidrBlock"] = propString(props, "CidrBlock")
			r.attrs["DefaultSecurityGroup"] = "sg-" + randomHex(17)
			r.attrs["DefaultNetworkAcl"] = "acl-" + randomHex(17)
			r.attrs["CidrBlockAssociations"] = []any{"vpc-cidr-assoc-" + randomHex(17)}
			r.attrs["Ipv6CidrBlocks"] = []any{}
		})
	providers["AWS::EC2::Subnet"] = ec2Provider("ec2:CreateSubnet", "subnet", "subnet", map[string]string{"VpcId": "Always", "CidrBlock": "Always", "AvailabilityZone": "Always", "AvailabilityZoneId": "Always", "Ipv6CidrBlock": "Always"},
		func(c *pctx, r *resource, props map[string]any) {
			az := propString(props, "AvailabilityZone")
			if az == "" {
				az = c.region + "a"
			}
			r.attrs["SubnetId"] = r.physicalID
			r.attrs["AvailabilityZone"] = az
			r.attrs["AvailabilityZoneId"] = azID(c.region, az)
			r.attrs["CidrBlock"] = propString(props, "CidrBlock")
			r.attrs["VpcId"] = propString(props, "VpcId")
			r.attrs["NetworkAclAssociationId"] = "aclassoc-" + randomHex(17)
			r.attrs["Ipv6CidrBlocks"] = []any{}
			r.attrs["OutpostArn"] = ""
		})
	providers["AWS::EC2::InternetGateway"] = ec2Provider("ec2:CreateInternetGateway", "igw", "internet-gateway", nil, func(c *pctx, r *resource, props map[string]any) {
		r.attrs["InternetGatewayId"] = r.physicalID
	})
	providers["AWS::EC2::VPCGatewayAttachment"] = ec2Provider("ec2:AttachInternetGateway", "", "vpc", nil, nil)
	providers["AWS::EC2::RouteTable"] = ec2Provider("ec2:CreateRouteTable", "rtb", "route-table", map[string]string{"VpcId": "Always"}, func(c *pctx, r *resource, props map[string]any) {
		r.attrs["RouteTableId"] = r.physicalID
	})
	providers["AWS::EC2::Route"] = ec2Provider("ec2:CreateRoute", "", "route-table", map[string]string{"RouteTableId": "Always", "DestinationCidrBlock": "Always", "DestinationIpv6CidrBlock": "Always"}, nil)
	providers["AWS::EC2::SubnetRouteTableAssociation"] = ec2Provider("ec2:AssociateRouteTable", "rtbassoc", "route-table", map[string]string{"SubnetId": "Always"}, func(c *pctx, r *resource, props map[string]any) {
		r.attrs["Id"] = r.physicalID
	})
	providers["AWS::EC2::EIP"] = eipProvider
	providers["AWS::EC2::NatGateway"] = ec2Provider("ec2:CreateNatGateway", "nat", "natgateway", map[string]string{"SubnetId": "Always", "AllocationId": "Always", "ConnectivityType": "Always"}, func(c *pctx, r *resource, props map[string]any) {
		r.attrs["NatGatewayId"] = r.physicalID
	})
	providers["AWS::EC2::SecurityGroup"] = securityGroupProvider
}

func azID(regionName, az string) string {
	prefix := map[string]string{"us-east-1": "use1", "us-east-2": "use2", "us-west-1": "usw1", "us-west-2": "usw2", "eu-west-1": "euw1", "eu-central-1": "euc1"}[regionName]
	if prefix == "" {
		prefix = strings.ReplaceAll(regionName, "-", "")
	}
	n := 1
	if len(az) > 0 {
		n = int(az[len(az)-1]-'a') + 1
	}
	return prefix + "-az" + strconv.Itoa(n)
}

// ec2Provider makes a provider for an EC2 resource without a backing store:
// physical IDs of the form <prefix>-<17 hex> (or generated names when prefix is
// empty) and the attributes set by attrs.
func ec2Provider(action, prefix, arnType string, replace map[string]string, attrs func(c *pctx, r *resource, props map[string]any)) *provider {
	p := &provider{replace: replace}
	p.create = func(c *pctx, r *resource, props map[string]any) error {
		id := physicalName(c.st.name, r.logicalID, 128, false)
		if prefix != "" {
			id = prefix + "-" + randomHex(17)
		}
		if err := c.authorize(action, fmt.Sprintf("arn:aws:ec2:%s:%s:%s/%s", c.region, c.account, arnType, id), "Ec2"); err != nil {
			return err
		}
		r.physicalID = id
		r.attrs = map[string]any{}
		if attrs != nil {
			attrs(c, r, props)
		}
		return nil
	}
	p.update = func(c *pctx, r *resource, old, props map[string]any) error {
		if attrs != nil {
			attrs(c, r, props)
		}
		return nil
	}
	p.delete = func(c *pctx, r *resource) error { return nil }
	return p
}

var eipProvider = &provider{
	replace: map[string]string{"Domain": "Always"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		alloc := "eipalloc-" + randomHex(17)
		if err := c.authorize("ec2:AllocateAddress", fmt.Sprintf("arn:aws:ec2:%s:%s:elastic-ip/%s", c.region, c.account, alloc), "Ec2"); err != nil {
			return err
		}
		ip := fmt.Sprintf("54.%d.%d.%d", rand.IntN(256), rand.IntN(256), 1+rand.IntN(254))
		r.physicalID = ip
		r.attrs = map[string]any{"AllocationId": alloc, "PublicIp": ip}
		return nil
	},
	delete: func(c *pctx, r *resource) error { return nil },
}

var securityGroupProvider = &provider{
	replace: map[string]string{"GroupName": "Always", "GroupDescription": "Always", "VpcId": "Always"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		id := "sg-" + randomHex(17)
		if err := c.authorize("ec2:CreateSecurityGroup", fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", c.region, c.account, id), "Ec2"); err != nil {
			return err
		}
		vpc := propString(props, "VpcId")
		name := propString(props, "GroupName")
		if name == "" {
			name = physicalName(c.st.name, r.logicalID, 255, false)
		}
		r.physicalID = id
		if vpc == "" {
			// Security groups of the default VPC are referenced by name, as on AWS.
			r.physicalID = name
		}
		r.attrs = map[string]any{"GroupId": id, "VpcId": vpc}
		return nil
	},
	delete: func(c *pctx, r *resource) error { return nil },
}
