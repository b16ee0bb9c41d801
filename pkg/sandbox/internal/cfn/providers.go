package cfn

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/iam"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/s3"
)

// pctx is what a provider action sees: the stack, its account and region, and
// the identity CloudFormation acts as (the caller, or the stack's service role).
type pctx struct {
	s       *Service
	st      *stack
	call    *awsapi.Call
	account string
	region  string
}

// provider creates, updates and deletes one resource type. update may be nil:
// the properties are then only recorded. replace maps the properties whose
// change requires a new physical resource to "Always" or "Conditionally".
type provider struct {
	create  func(c *pctx, r *resource, props map[string]any) error
	update  func(c *pctx, r *resource, old, props map[string]any) error
	delete  func(c *pctx, r *resource) error
	replace map[string]string
	// attrs lists the GetAtt attributes; nil accepts any.
	attrs []string
}

// authorize checks an action the resource provider performs; a denial reads as
// CloudFormation reports the underlying service's error.
func (c *pctx) authorize(action, arn, service string) error {
	if c.s.opts.Authorizer == nil {
		return nil
	}
	call := *c.call
	call.Time = c.s.now()
	err := c.s.opts.Authorizer.Authorize(&call, action, awsapi.Resource{ARN: arn, Account: c.account}, nil)
	if err != nil {
		return serviceError(service, err)
	}
	return nil
}

// serviceError formats a service error as CloudFormation puts it in a resource status reason.
func serviceError(service string, err error) error {
	e := awsapi.AsError(err)
	return fmt.Errorf("%s (Service: %s, Status Code: %d, Request ID: %s)", e.Message, service, e.Status, newUUID())
}

func isCode(err error, codes ...string) bool {
	var e *awsapi.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, c := range codes {
		if e.Code == c {
			return true
		}
	}
	return false
}

var errNoBackend = errors.New("the sandbox has no backend for this resource type")

var providers = map[string]*provider{
	"AWS::IAM::Role":          roleProvider,
	"AWS::IAM::Policy":        policyProvider,
	"AWS::IAM::ManagedPolicy": managedPolicyProvider,
	"AWS::S3::Bucket":         bucketProvider,
	"AWS::S3::BucketPolicy":   bucketPolicyProvider,
	"AWS::SSM::Parameter":     ssmParameterProvider,
	"AWS::SNS::Topic":         topicProvider,
	"AWS::EC2::VPC": ec2Provider("ec2:CreateVpc", "vpc", "vpc", map[string]string{"CidrBlock": "Always", "InstanceTenancy": "Conditionally", "Ipv4IpamPoolId": "Always"},
		func(c *pctx, r *resource, props map[string]any) {
			r.attrs["VpcId"] = r.physicalID
			r.attrs["CidrBlock"] = propString(props, "CidrBlock")
			r.attrs["DefaultSecurityGroup"] = "sg-" + randomHex(17)
			r.attrs["DefaultNetworkAcl"] = "acl-" + randomHex(17)
			r.attrs["CidrBlockAssociations"] = []any{"vpc-cidr-assoc-" + randomHex(17)}
			r.attrs["Ipv6CidrBlocks"] = []any{}
		}),
	"AWS::EC2::Subnet": ec2Provider("ec2:CreateSubnet", "subnet", "subnet", map[string]string{"VpcId": "Always", "CidrBlock": "Always", "AvailabilityZone": "Always", "AvailabilityZoneId": "Always", "Ipv6CidrBlock": "Always"},
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
		}),
	"AWS::EC2::InternetGateway": ec2Provider("ec2:CreateInternetGateway", "igw", "internet-gateway", nil, func(c *pctx, r *resource, props map[string]any) {
		r.attrs["InternetGatewayId"] = r.physicalID
	}),
	"AWS::EC2::VPCGatewayAttachment": ec2Provider("ec2:AttachInternetGateway", "", "vpc", nil, nil),
	"AWS::EC2::RouteTable": ec2Provider("ec2:CreateRouteTable", "rtb", "route-table", map[string]string{"VpcId": "Always"}, func(c *pctx, r *resource, props map[string]any) {
		r.attrs["RouteTableId"] = r.physicalID
	}),
	"AWS::EC2::Route": ec2Provider("ec2:CreateRoute", "", "route-table", map[string]string{"RouteTableId": "Always", "DestinationCidrBlock": "Always", "DestinationIpv6CidrBlock": "Always"}, nil),
	"AWS::EC2::SubnetRouteTableAssociation": ec2Provider("ec2:AssociateRouteTable", "rtbassoc", "route-table", map[string]string{"SubnetId": "Always"}, func(c *pctx, r *resource, props map[string]any) {
		r.attrs["Id"] = r.physicalID
	}),
	"AWS::EC2::EIP": eipProvider,
	"AWS::EC2::NatGateway": ec2Provider("ec2:CreateNatGateway", "nat", "natgateway", map[string]string{"SubnetId": "Always", "AllocationId": "Always", "ConnectivityType": "Always"}, func(c *pctx, r *resource, props map[string]any) {
		r.attrs["NatGatewayId"] = r.physicalID
	}),
	"AWS::EC2::SecurityGroup":                  securityGroupProvider,
	"AWS::CloudFormation::WaitConditionHandle": waitHandleProvider,
	"AWS::CloudFormation::WaitCondition":       waitConditionProvider,
}

// providerFor returns the provider of a type; types without one get the
// generic provider (generic.go).
func providerFor(typ string) *provider {
	if p := providers[typ]; p != nil {
		return p
	}
	return genericProvider
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

var waitHandleProvider = &provider{
	create: func(c *pctx, r *resource, props map[string]any) error {
		target := fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%s/%s", c.region, c.account, c.st.name, c.st.id[strings.LastIndex(c.st.id, "/")+1:], r.logicalID)
		r.physicalID = fmt.Sprintf("https://cloudformation-waitcondition-%s.s3.amazonaws.com/%s?AWSAccessKeyId=AKIAIIT3CWAIMJYUTISA&Expires=%d&Signature=%s",
			c.region, url.PathEscape(target), c.s.now().Add(24*3600e9).Unix(), url.QueryEscape(randomSuffix(27)+"="))
		return nil
	},
	delete: func(c *pctx, r *resource) error { return nil },
}

// maxWaitTimeout is the largest WaitCondition Timeout CloudFormation accepts (12 hours).
const maxWaitTimeout = 43200

var waitConditionProvider = &provider{
	attrs: []string{"Data"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		if t := propString(props, "Timeout"); t != "" {
			n, err := strconv.ParseFloat(t, 64)
			if err != nil || n < 0 || n > maxWaitTimeout {
				return reasonf("Value of property Timeout must be an integer between 0 and %d seconds (got %s)", maxWaitTimeout, t)
			}
		}
		r.physicalID = fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%s/%s", c.region, c.account, c.st.name, c.st.id[strings.LastIndex(c.st.id, "/")+1:], r.logicalID)
		r.attrs = map[string]any{"Data": "{}"}
		return nil
	},
	delete: func(c *pctx, r *resource) error { return nil },
}

var topicProvider = &provider{
	replace: map[string]string{"TopicName": "Always", "FifoTopic": "Always"},
	attrs:   []string{"TopicArn", "TopicName"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		name := propString(props, "TopicName")
		if name == "" {
			name = physicalName(c.st.name, r.logicalID, 256, false)
		}
		arn := fmt.Sprintf("arn:aws:sns:%s:%s:%s", c.region, c.account, name)
		if err := c.authorize("sns:CreateTopic", arn, "Sns"); err != nil {
			return err
		}
		r.physicalID = arn
		r.attrs = map[string]any{"TopicArn": arn, "TopicName": name}
		return nil
	},
	delete: func(c *pctx, r *resource) error {
		return c.authorize("sns:DeleteTopic", r.physicalID, "Sns")
	},
}

// ssmParamName strips the leading slash SSM parameter ARNs leave out.
func ssmParamARN(c *pctx, name string) string {
	return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", c.region, c.account, strings.TrimPrefix(name, "/"))
}

// checkSSMType refuses what AWS::SSM::Parameter refuses: CloudFormation cannot
// create SecureString parameters (the value would sit in the template).
func checkSSMType(typ string) error {
	if typ == "SecureString" {
		return reasonf("SSM Parameters of type SecureString cannot be created using CloudFormation")
	}
	return nil
}

var ssmParameterProvider = &provider{
	replace: map[string]string{"Name": "Always"},
	attrs:   []string{"Type", "Value"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		if c.s.opts.SSM == nil {
			return errNoBackend
		}
		name := propString(props, "Name")
		if name == "" {
			name = "CFN-" + r.logicalID + "-" + randomSuffix(12)
		}
		if err := c.authorize("ssm:PutParameter", ssmParamARN(c, name), "Ssm"); err != nil {
			return err
		}
		typ, value := propString(props, "Type"), propString(props, "Value")
		if err := checkSSMType(typ); err != nil {
			return err
		}
		if _, err := c.s.opts.SSM.PutParameterFor(c.account, c.region, name, typ, value, propString(props, "Description"), false); err != nil {
			return serviceError("Ssm", err)
		}
		r.physicalID = name
		r.attrs = map[string]any{"Type": typ, "Value": value}
		return nil
	},
	update: func(c *pctx, r *resource, old, props map[string]any) error {
		if c.s.opts.SSM == nil {
			return errNoBackend
		}
		if err := c.authorize("ssm:PutParameter", ssmParamARN(c, r.physicalID), "Ssm"); err != nil {
			return err
		}
		typ, value := propString(props, "Type"), propString(props, "Value")
		if err := checkSSMType(typ); err != nil {
			return err
		}
		if _, err := c.s.opts.SSM.PutParameterFor(c.account, c.region, r.physicalID, typ, value, propString(props, "Description"), true); err != nil {
			return serviceError("Ssm", err)
		}
		r.attrs = map[string]any{"Type": typ, "Value": value}
		return nil
	},
	delete: func(c *pctx, r *resource) error {
		if c.s.opts.SSM == nil {
			return nil
		}
		if err := c.authorize("ssm:DeleteParameter", ssmParamARN(c, r.physicalID), "Ssm"); err != nil {
			return err
		}
		if err := c.s.opts.SSM.DeleteParameterFor(c.account, c.region, r.physicalID); err != nil && !isCode(err, "ParameterNotFound") {
			return serviceError("Ssm", err)
		}
		return nil
	},
}

// S3 buckets.

func bucketSettings(c *pctx, props map[string]any) s3.BucketSettings {
	var set s3.BucketSettings
	set.Versioning = propString(propMap(props, "VersioningConfiguration"), "Status")
	if enc := propMap(props, "BucketEncryption"); enc != nil {
		for _, rule := range propList(enc, "ServerSideEncryptionConfiguration") {
			m, _ := rule.(map[string]any)
			def := propMap(m, "ServerSideEncryptionByDefault")
			if def != nil {
				set.SSEAlgorithm = propString(def, "SSEAlgorithm")
				set.KMSKeyID = propString(def, "KMSMasterKeyID")
			}
		}
	}
	if pab := propMap(props, "PublicAccessBlockConfiguration"); pab != nil {
		set.PublicAccessBlock = &s3.PublicAccessBlock{
			BlockPublicAcls:       propBool(pab, "BlockPublicAcls"),
			IgnorePublicAcls:      propBool(pab, "IgnorePublicAcls"),
			BlockPublicPolicy:     propBool(pab, "BlockPublicPolicy"),
			RestrictPublicBuckets: propBool(pab, "RestrictPublicBuckets"),
		}
	}
	set.Tags = resourceTags(c, props)
	set.EventBridge = propBool(propMap(propMap(props, "NotificationConfiguration"), "EventBridgeConfiguration"), "EventBridgeEnabled")
	return set
}

// resourceTags are the tags CloudFormation puts on a taggable resource: the
// stack's tags, the resource's own Tags and the aws:cloudformation:* tags.
func resourceTags(c *pctx, props map[string]any) map[string]string {
	tags := map[string]string{}
	for _, t := range c.st.cfg.tags {
		tags[t.Key] = t.Value
	}
	for k, v := range propTags(props, "Tags") {
		tags[k] = v
	}
	tags["aws:cloudformation:stack-name"] = c.st.name
	tags["aws:cloudformation:stack-id"] = c.st.id
	return tags
}

func bucketAttrs(regionName, name string) map[string]any {
	return map[string]any{
		"Arn":                 "arn:aws:s3:::" + name,
		"DomainName":          name + ".s3.amazonaws.com",
		"RegionalDomainName":  name + ".s3." + regionName + ".amazonaws.com",
		"DualStackDomainName": name + ".s3.dualstack." + regionName + ".amazonaws.com",
		"WebsiteURL":          "http://" + name + ".s3-website-" + regionName + ".amazonaws.com",
	}
}

var bucketProvider = &provider{
	replace: map[string]string{"BucketName": "Always", "ObjectLockEnabled": "Always"},
	attrs:   []string{"Arn", "DomainName", "RegionalDomainName", "DualStackDomainName", "WebsiteURL"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		if c.s.opts.S3 == nil {
			return errNoBackend
		}
		name := propString(props, "BucketName")
		if name == "" {
			name = physicalName(c.st.name, r.logicalID, 63, true)
		}
		arn := "arn:aws:s3:::" + name
		set := bucketSettings(c, props)
		actions := []string{"s3:CreateBucket"}
		if set.SSEAlgorithm != "" {
			actions = append(actions, "s3:PutEncryptionConfiguration")
		}
		if set.Versioning != "" {
			actions = append(actions, "s3:PutBucketVersioning")
		}
		if set.PublicAccessBlock != nil {
			actions = append(actions, "s3:PutBucketPublicAccessBlock")
		}
		if set.EventBridge {
			actions = append(actions, "s3:PutBucketNotification")
		}
		for _, a := range actions {
			if err := c.authorize(a, arn, "S3"); err != nil {
				return err
			}
		}
		if err := c.s.opts.S3.CreateBucketFor(c.account, c.region, name, set); err != nil {
			if isCode(err, "BucketAlreadyExists", "BucketAlreadyOwnedByYou") {
				return fmt.Errorf("%s already exists", name)
			}
			return serviceError("S3", err)
		}
		r.physicalID = name
		r.attrs = bucketAttrs(c.region, name)
		return nil
	},
	update: func(c *pctx, r *resource, old, props map[string]any) error {
		if c.s.opts.S3 == nil {
			return errNoBackend
		}
		if err := c.authorize("s3:PutBucketTagging", "arn:aws:s3:::"+r.physicalID, "S3"); err != nil {
			return err
		}
		if err := c.s.opts.S3.UpdateBucketSettings(c.account, r.physicalID, bucketSettings(c, props)); err != nil {
			return serviceError("S3", err)
		}
		return nil
	},
	delete: func(c *pctx, r *resource) error {
		if c.s.opts.S3 == nil {
			return nil
		}
		if err := c.authorize("s3:DeleteBucket", "arn:aws:s3:::"+r.physicalID, "S3"); err != nil {
			return err
		}
		err := c.s.opts.S3.DeleteBucketFor(c.account, r.physicalID)
		if err != nil && !isCode(err, "NoSuchBucket") {
			return serviceError("S3", err)
		}
		return nil
	},
}

var bucketPolicyProvider = &provider{
	replace: map[string]string{"Bucket": "Always"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		if c.s.opts.S3 == nil {
			return errNoBackend
		}
		bucket := propString(props, "Bucket")
		if err := c.authorize("s3:PutBucketPolicy", "arn:aws:s3:::"+bucket, "S3"); err != nil {
			return err
		}
		if err := c.s.opts.S3.SetBucketPolicy(c.account, bucket, propDocument(props, "PolicyDocument")); err != nil {
			return serviceError("S3", err)
		}
		r.physicalID = bucket
		return nil
	},
	update: func(c *pctx, r *resource, old, props map[string]any) error {
		if c.s.opts.S3 == nil {
			return errNoBackend
		}
		if err := c.authorize("s3:PutBucketPolicy", "arn:aws:s3:::"+r.physicalID, "S3"); err != nil {
			return err
		}
		if err := c.s.opts.S3.SetBucketPolicy(c.account, r.physicalID, propDocument(props, "PolicyDocument")); err != nil {
			return serviceError("S3", err)
		}
		return nil
	},
	delete: func(c *pctx, r *resource) error {
		if c.s.opts.S3 == nil {
			return nil
		}
		if err := c.authorize("s3:DeleteBucketPolicy", "arn:aws:s3:::"+r.physicalID, "S3"); err != nil {
			return err
		}
		if err := c.s.opts.S3.SetBucketPolicy(c.account, r.physicalID, ""); err != nil && !isCode(err, "NoSuchBucket", "NoSuchBucketPolicy") {
			return serviceError("S3", err)
		}
		return nil
	},
}

// IAM.

func roleARN(account, path, name string) string {
	if path == "" {
		path = "/"
	}
	return "arn:aws:iam::" + account + ":role" + path + name
}

func roleSpec(c *pctx, name string, props map[string]any) iam.RoleSpec {
	spec := iam.RoleSpec{
		Name:             name,
		Path:             propString(props, "Path"),
		AssumeRolePolicy: propDocument(props, "AssumeRolePolicyDocument"),
		Description:      propString(props, "Description"),
		Tags:             propTags(props, "Tags"),
	}
	if spec.Path == "" {
		spec.Path = "/"
	}
	if n, err := strconv.Atoi(propString(props, "MaxSessionDuration")); err == nil {
		spec.MaxSessionDuration = int32(n)
	}
	for _, p := range propList(props, "Policies") {
		m, _ := p.(map[string]any)
		if m == nil {
			continue
		}
		if spec.Policies == nil {
			spec.Policies = map[string]string{}
		}
		spec.Policies[propString(m, "PolicyName")] = propDocument(m, "PolicyDocument")
	}
	spec.ManagedPolicyARNs = propStrings(props, "ManagedPolicyArns")
	// Policies and managed policies attached by other resources of the stack
	// survive the role's own updates, as they do on AWS.
	for _, other := range c.st.resources {
		if other.status == statusDeleteComplete || other.physicalID == "" || !containsString(propStrings(other.props, "Roles"), name) {
			continue
		}
		switch other.typ {
		case "AWS::IAM::Policy":
			if spec.Policies == nil {
				spec.Policies = map[string]string{}
			}
			spec.Policies[propString(other.props, "PolicyName")] = propDocument(other.props, "PolicyDocument")
		case "AWS::IAM::ManagedPolicy":
			if !containsString(spec.ManagedPolicyARNs, other.physicalID) {
				spec.ManagedPolicyARNs = append(spec.ManagedPolicyARNs, other.physicalID)
			}
		}
	}
	return spec
}

func containsString(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

var roleProvider = &provider{
	replace: map[string]string{"RoleName": "Always", "Path": "Always"},
	attrs:   []string{"Arn", "RoleId"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		if c.s.opts.IAM == nil {
			return errNoBackend
		}
		name := propString(props, "RoleName")
		if name == "" {
			name = physicalName(c.st.name, r.logicalID, 64, false)
		}
		spec := roleSpec(c, name, props)
		arn := roleARN(c.account, spec.Path, name)
		actions := []string{"iam:CreateRole"}
		if len(spec.Policies) > 0 {
			actions = append(actions, "iam:PutRolePolicy")
		}
		if len(spec.ManagedPolicyARNs) > 0 {
			actions = append(actions, "iam:AttachRolePolicy")
		}
		for _, a := range actions {
			if err := c.authorize(a, arn, "Iam"); err != nil {
				return err
			}
		}
		arn, id, err := c.s.opts.IAM.CreateRole(c.account, spec)
		if err != nil {
			if isCode(err, "EntityAlreadyExists") {
				return fmt.Errorf("%s already exists", name)
			}
			return serviceError("Iam", err)
		}
		r.physicalID = name
		r.attrs = map[string]any{"Arn": arn, "RoleId": id}
		return nil
	},
	update: func(c *pctx, r *resource, old, props map[string]any) error {
		if c.s.opts.IAM == nil {
			return errNoBackend
		}
		spec := roleSpec(c, r.physicalID, props)
		arn := scalarString(r.attrs["Arn"])
		for _, k := range changedKeys(old, props) {
			action := map[string]string{"AssumeRolePolicyDocument": "iam:UpdateAssumeRolePolicy", "Policies": "iam:PutRolePolicy",
				"ManagedPolicyArns": "iam:AttachRolePolicy", "Tags": "iam:TagRole"}[k]
			if action == "" {
				action = "iam:UpdateRole"
			}
			if err := c.authorize(action, arn, "Iam"); err != nil {
				return err
			}
		}
		if err := c.s.opts.IAM.UpdateRole(c.account, spec); err != nil {
			return serviceError("Iam", err)
		}
		return nil
	},
	delete: func(c *pctx, r *resource) error {
		if c.s.opts.IAM == nil {
			return nil
		}
		if err := c.authorize("iam:DeleteRole", scalarString(r.attrs["Arn"]), "Iam"); err != nil {
			return err
		}
		if err := c.s.opts.IAM.DeleteRole(c.account, r.physicalID); err != nil && !isCode(err, "NoSuchEntity") {
			return serviceError("Iam", err)
		}
		return nil
	},
}

// inlineRoles applies an inline policy document to roles (put, or delete when doc is "").
func inlineRoles(c *pctx, roles []string, name, doc string) error {
	for _, role := range roles {
		arn := roleARN(c.account, "/", role)
		if doc == "" {
			if err := c.authorize("iam:DeleteRolePolicy", arn, "Iam"); err != nil {
				return err
			}
			if err := c.s.opts.IAM.DeleteRolePolicy(c.account, role, name); err != nil && !isCode(err, "NoSuchEntity") {
				return serviceError("Iam", err)
			}
			continue
		}
		if err := c.authorize("iam:PutRolePolicy", arn, "Iam"); err != nil {
			return err
		}
		if err := c.s.opts.IAM.PutRolePolicy(c.account, role, name, doc); err != nil {
			return serviceError("Iam", err)
		}
	}
	return nil
}

var policyProvider = &provider{
	create: func(c *pctx, r *resource, props map[string]any) error {
		if c.s.opts.IAM == nil {
			return errNoBackend
		}
		if err := inlineRoles(c, propStrings(props, "Roles"), propString(props, "PolicyName"), propDocument(props, "PolicyDocument")); err != nil {
			return err
		}
		r.physicalID = physicalName(c.st.name, r.logicalID[:min(5, len(r.logicalID))], 128, false)
		r.attrs = map[string]any{"Id": r.physicalID}
		return nil
	},
	update: func(c *pctx, r *resource, old, props map[string]any) error {
		if c.s.opts.IAM == nil {
			return errNoBackend
		}
		oldName, newName := propString(old, "PolicyName"), propString(props, "PolicyName")
		newRoles := propStrings(props, "Roles")
		var gone []string
		for _, role := range propStrings(old, "Roles") {
			if oldName != newName || !containsString(newRoles, role) {
				gone = append(gone, role)
			}
		}
		if err := inlineRoles(c, gone, oldName, ""); err != nil {
			return err
		}
		return inlineRoles(c, newRoles, newName, propDocument(props, "PolicyDocument"))
	},
	delete: func(c *pctx, r *resource) error {
		if c.s.opts.IAM == nil {
			return nil
		}
		return inlineRoles(c, propStrings(r.props, "Roles"), propString(r.props, "PolicyName"), "")
	},
}

var managedPolicyProvider = &provider{
	replace: map[string]string{"ManagedPolicyName": "Always", "Path": "Always", "Description": "Always"},
	attrs:   []string{"PolicyArn", "PolicyId", "DefaultVersionId", "AttachmentCount", "CreateDate", "UpdateDate", "IsAttachable"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		if c.s.opts.IAM == nil {
			return errNoBackend
		}
		name := propString(props, "ManagedPolicyName")
		if name == "" {
			name = physicalName(c.st.name, r.logicalID, 128, false)
		}
		path := propString(props, "Path")
		if path == "" {
			path = "/"
		}
		if err := c.authorize("iam:CreatePolicy", "arn:aws:iam::"+c.account+":policy"+path+name, "Iam"); err != nil {
			return err
		}
		arn, err := c.s.opts.IAM.CreatePolicy(c.account, name, path, propDocument(props, "PolicyDocument"))
		if err != nil {
			if isCode(err, "EntityAlreadyExists") {
				return fmt.Errorf("%s already exists", name)
			}
			return serviceError("Iam", err)
		}
		r.physicalID = arn
		r.attrs = map[string]any{"PolicyArn": arn, "PolicyId": "ANPA" + randomSuffix(17), "DefaultVersionId": "v1", "IsAttachable": "true"}
		if err := attachRoles(c, propStrings(props, "Roles"), arn, true); err != nil {
			_ = c.s.opts.IAM.DeletePolicy(c.account, arn)
			return err
		}
		return nil
	},
	update: func(c *pctx, r *resource, old, props map[string]any) error {
		if c.s.opts.IAM == nil {
			return errNoBackend
		}
		if canonical(old["PolicyDocument"]) != canonical(props["PolicyDocument"]) {
			if err := c.authorize("iam:CreatePolicyVersion", r.physicalID, "Iam"); err != nil {
				return err
			}
			if err := c.s.opts.IAM.UpdatePolicy(c.account, r.physicalID, propDocument(props, "PolicyDocument")); err != nil {
				return serviceError("Iam", err)
			}
		}
		newRoles, oldRoles := propStrings(props, "Roles"), propStrings(old, "Roles")
		var gone, added []string
		for _, role := range oldRoles {
			if !containsString(newRoles, role) {
				gone = append(gone, role)
			}
		}
		for _, role := range newRoles {
			if !containsString(oldRoles, role) {
				added = append(added, role)
			}
		}
		if err := attachRoles(c, gone, r.physicalID, false); err != nil {
			return err
		}
		return attachRoles(c, added, r.physicalID, true)
	},
	delete: func(c *pctx, r *resource) error {
		if c.s.opts.IAM == nil {
			return nil
		}
		if err := attachRoles(c, propStrings(r.props, "Roles"), r.physicalID, false); err != nil {
			return err
		}
		if err := c.authorize("iam:DeletePolicy", r.physicalID, "Iam"); err != nil {
			return err
		}
		if err := c.s.opts.IAM.DeletePolicy(c.account, r.physicalID); err != nil && !isCode(err, "NoSuchEntity") {
			return serviceError("Iam", err)
		}
		return nil
	},
}

func attachRoles(c *pctx, roles []string, policyARN string, attach bool) error {
	for _, role := range roles {
		action := "iam:DetachRolePolicy"
		if attach {
			action = "iam:AttachRolePolicy"
		}
		if err := c.authorize(action, roleARN(c.account, "/", role), "Iam"); err != nil {
			return err
		}
		var err error
		if attach {
			err = c.s.opts.IAM.AttachRolePolicy(c.account, role, policyARN)
		} else {
			err = c.s.opts.IAM.DetachRolePolicy(c.account, role, policyARN)
			if isCode(err, "NoSuchEntity") {
				err = nil
			}
		}
		if err != nil {
			return serviceError("Iam", err)
		}
	}
	return nil
}
