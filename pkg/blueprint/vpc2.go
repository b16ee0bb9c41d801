package blueprint

import (
	"fmt"
	"sort"
	"strings"
)

// VPC2 is a Go port of stacker_blueprints.vpc.VPC2 (stacker_blueprints
// 1.0.x), "a stripped down version of the VPC blueprint": the VPC as the
// config defines it, an internet gateway and its attachment, an optional
// internal hosted zone bound to the VPC, and DHCP options that search the
// zone's domain. Logical IDs and outputs are the original's.
//
// VPC and InternalZone are stacker TroposphereType variables: a mapping of
// one resource title (its logical ID) to its properties, e.g.
//
//	VPC:
//	  VPC:
//	    CidrBlock: 10.0.0.0/16
//	    EnableDnsHostnames: true
//
// As troposphere, the blueprint refuses properties the resource type does not
// have and a missing required property; the resource attributes DependsOn,
// DeletionPolicy, UpdateReplacePolicy, Condition and Metadata may sit beside
// the properties.
type VPC2 struct{}

// Name implements Blueprint.
func (VPC2) Name() string { return "stacker_blueprints.vpc.VPC2" }

// Variables implements Blueprint.
func (VPC2) Variables() []Variable {
	return []Variable{
		{Name: "InternalZone", Type: Resource, HasDefault: true,
			Description: "The config for an internal zone. If provided, the zone will be created with the VPCs setting set to this VPC."},
		{Name: "VPC", Type: Resource},
	}
}

// resourceSpec is what a TroposphereType variable may hold for one type.
type resourceSpec struct {
	typ      string
	props    []string // sorted
	required [][]string
}

// resourceAttributes sit beside the properties in a TroposphereType value.
var resourceAttributes = []string{"Condition", "DeletionPolicy", "DependsOn", "Metadata", "UpdateReplacePolicy"}

var (
	vpcSpec = resourceSpec{
		typ: "AWS::EC2::VPC",
		props: []string{"CidrBlock", "EnableDnsHostnames", "EnableDnsSupport", "InstanceTenancy",
			"Ipv4IpamPoolId", "Ipv4NetmaskLength", "Tags"},
		required: [][]string{{"CidrBlock", "Ipv4IpamPoolId"}},
	}
	hostedZoneSpec = resourceSpec{
		typ:      "AWS::Route53::HostedZone",
		props:    []string{"HostedZoneConfig", "HostedZoneTags", "Name", "QueryLoggingConfig", "VPCs"},
		required: [][]string{{"Name"}},
	}
)

// resource turns a TroposphereType value into a resource: its title and its
// definition ({"Type", "Properties", attributes}). An empty or nil value is
// no resource (ok false) when optional.
func (spec resourceSpec) resource(variable string, v any, optional bool) (title string, def map[string]any, ok bool, err error) {
	m, _ := v.(map[string]any)
	if len(m) == 0 {
		if optional {
			return "", nil, false, nil
		}
		return "", nil, false, fmt.Errorf("variable %s: give one %s as {Title: {Property: value}}", variable, spec.typ)
	}
	if len(m) > 1 {
		return "", nil, false, fmt.Errorf("variable %s: only one resource can be provided (found %s)", variable, strings.Join(sortedKeys(m), ", "))
	}
	for t, body := range m {
		title = t
		fields, isMap := body.(map[string]any)
		if !isMap && body != nil {
			return "", nil, false, fmt.Errorf("variable %s: the properties of %s must be a mapping", variable, title)
		}
		def = map[string]any{"Type": spec.typ}
		props := map[string]any{}
		for _, k := range sortedKeys(fields) {
			switch {
			case contains(resourceAttributes, k):
				def[k] = fields[k]
			case contains(spec.props, k):
				props[k] = fields[k]
			default:
				return "", nil, false, fmt.Errorf("variable %s: %s has no property %s (%s properties: %s)", variable, title, k, spec.typ, strings.Join(spec.props, ", "))
			}
		}
		for _, alts := range spec.required {
			if !hasAny(props, alts) {
				return "", nil, false, fmt.Errorf("variable %s: %s needs the property %s", variable, title, strings.Join(alts, " or "))
			}
		}
		if len(props) > 0 {
			def["Properties"] = props
		}
	}
	if !validLogicalID(title) {
		return "", nil, false, fmt.Errorf("variable %s: %q is not a valid logical ID (letters and digits only)", variable, title)
	}
	return title, def, true, nil
}

func hasAny(m map[string]any, keys []string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	i := sort.SearchStrings(list, s)
	return i < len(list) && list[i] == s
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// validLogicalID is troposphere's title check: alphanumeric.
func validLogicalID(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Render implements Blueprint.
func (VPC2) Render(vars map[string]any, ctx Context) ([]byte, error) {
	vpcTitle, vpc, _, err := vpcSpec.resource("VPC", vars["VPC"], false)
	if err != nil {
		return nil, err
	}
	zoneTitle, zone, hasZone, err := hostedZoneSpec.resource("InternalZone", vars["InternalZone"], true)
	if err != nil {
		return nil, err
	}
	t := NewTemplate(ctx)
	vpcRef := Ref(vpcTitle)

	// create_vpc
	t.Resources[vpcTitle] = vpc
	t.AddOutput("VpcId", vpcRef)
	for _, attr := range []string{"CidrBlock", "DefaultNetworkAcl", "DefaultSecurityGroup"} {
		t.AddOutput(attr, GetAtt(vpcTitle, attr))
	}
	for _, attr := range []string{"CidrBlockAssociations", "Ipv6CidrBlocks"} {
		t.AddOutput(attr, map[string]any{"Fn::Join": []any{",", GetAtt(vpcTitle, attr)}})
	}

	// create_internet_gateway
	t.AddResource("InternetGateway", "AWS::EC2::InternetGateway", nil)
	t.AddOutput("InternetGatewayId", Ref("InternetGateway"))
	t.AddResource("VPCGatewayAttachment", "AWS::EC2::VPCGatewayAttachment", map[string]any{
		"VpcId": vpcRef, "InternetGatewayId": Ref("InternetGateway"),
	})
	t.AddOutput("VPCGatewayAttachmentId", Ref("VPCGatewayAttachment"))

	// create_internal_zone: the zone is bound to this VPC, whatever VPCs it
	// was given.
	searchPath := any(NoValue())
	if hasZone {
		props, _ := zone["Properties"].(map[string]any)
		props["VPCs"] = []any{map[string]any{"VPCId": vpcRef, "VPCRegion": Ref("AWS::Region")}}
		t.Resources[zoneTitle] = zone
		t.AddOutput("InternalZoneId", Ref(zoneTitle))
		t.AddOutput("InternalZoneName", props["Name"])
		searchPath = props["Name"]
	}

	// create_dhcp_options
	t.AddResource("DHCPOptions", "AWS::EC2::DHCPOptions", map[string]any{
		"DomainName": searchPath, "DomainNameServers": []any{"AmazonProvidedDNS"},
	})
	t.AddOutput("DHCPOptionsId", Ref("DHCPOptions"))
	t.AddResource("VPCDHCPOptionsAssociation", "AWS::EC2::VPCDHCPOptionsAssociation", map[string]any{
		"VpcId": vpcRef, "DhcpOptionsId": Ref("DHCPOptions"),
	})
	t.AddOutput("VPCDHCPOptionsAssociation", Ref("VPCDHCPOptionsAssociation"))
	return t.JSON(ctx.TemplateIndent)
}
