package cfn

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

const vpcTemplate = `
Resources:
  VPC: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
  Subnet: {Type: AWS::EC2::Subnet, Properties: {VpcId: !Ref VPC, CidrBlock: 10.0.0.0/24}}
  IGW: {Type: AWS::EC2::InternetGateway}
  Attach: {Type: AWS::EC2::VPCGatewayAttachment, Properties: {VpcId: !Ref VPC, InternetGatewayId: !Ref IGW}}
  RT: {Type: AWS::EC2::RouteTable, Properties: {VpcId: !Ref VPC}}
  Route: {Type: AWS::EC2::Route, DependsOn: Attach, Properties: {RouteTableId: !Ref RT, DestinationCidrBlock: 0.0.0.0/0, GatewayId: !Ref IGW}}
  Assoc: {Type: AWS::EC2::SubnetRouteTableAssociation, Properties: {SubnetId: !Ref Subnet, RouteTableId: !Ref RT}}
  EIP: {Type: AWS::EC2::EIP, Properties: {Domain: vpc}}
  NAT: {Type: AWS::EC2::NatGateway, Properties: {SubnetId: !Ref Subnet, AllocationId: !GetAtt EIP.AllocationId}}
  SG: {Type: AWS::EC2::SecurityGroup, Properties: {GroupDescription: sg, VpcId: !Ref VPC}}
  Topic: {Type: AWS::SNS::Topic}
  Other: {Type: AWS::Logs::LogGroup}
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]}
      Policies: [{PolicyName: inline, PolicyDocument: {Statement: [{Effect: Allow, Action: s3:*, Resource: "*"}]}}]
  Policy:
    Type: AWS::IAM::Policy
    Properties: {PolicyName: extra, Roles: [!Ref Role], PolicyDocument: {Statement: [{Effect: Allow, Action: sqs:*, Resource: "*"}]}}
  Managed:
    Type: AWS::IAM::ManagedPolicy
    Properties: {Roles: [!Ref Role], PolicyDocument: {Statement: [{Effect: Allow, Action: sns:*, Resource: "*"}]}}
  Bucket: {Type: AWS::S3::Bucket}
  BucketPolicy:
    Type: AWS::S3::BucketPolicy
    Properties: {Bucket: !Ref Bucket, PolicyDocument: {Statement: [{Effect: Allow, Principal: "*", Action: s3:GetObject, Resource: !Sub "${Bucket.Arn}/*"}]}}
Outputs:
  Vpc: {Value: !Ref VPC}
  DefaultSG: {Value: !GetAtt VPC.DefaultSecurityGroup}
  Subnet: {Value: !Ref Subnet}
  SubnetAZ: {Value: !GetAtt Subnet.AvailabilityZone}
  IGW: {Value: !Ref IGW}
  RT: {Value: !Ref RT}
  Assoc: {Value: !Ref Assoc}
  EIP: {Value: !Ref EIP}
  Alloc: {Value: !GetAtt EIP.AllocationId}
  NAT: {Value: !Ref NAT}
  SG: {Value: !GetAtt SG.GroupId}
  Topic: {Value: !Ref Topic}
  TopicName: {Value: !GetAtt Topic.TopicName}
  Other: {Value: !Ref Other}
  Role: {Value: !Ref Role}
  RoleArn: {Value: !GetAtt Role.Arn}
  Managed: {Value: !Ref Managed}
  Bucket: {Value: !Ref Bucket}
  Domain: {Value: !GetAtt Bucket.RegionalDomainName}
`

func TestProviders(t *testing.T) {
	e := newEnv(t, 100*time.Millisecond)
	c := e.client(acctA)
	ctx := context.Background()
	if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("net"), TemplateBody: aws.String(vpcTemplate),
		Capabilities: []types.Capability{types.CapabilityCapabilityIam}}); err != nil {
		t.Fatal(err)
	}
	st := waitSettled(t, c, "net")
	if st.StackStatus != types.StackStatusCreateComplete {
		t.Fatalf("status %s (%s)", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	outs := outputs(st)
	patterns := map[string]string{
		"Vpc": `^vpc-[0-9a-f]{17}$`, "DefaultSG": `^sg-[0-9a-f]{17}$`, "Subnet": `^subnet-[0-9a-f]{17}$`, "SubnetAZ": `^us-east-1a$`,
		"IGW": `^igw-[0-9a-f]{17}$`, "RT": `^rtb-[0-9a-f]{17}$`, "Assoc": `^rtbassoc-[0-9a-f]{17}$`, "EIP": `^\d+\.\d+\.\d+\.\d+$`,
		"Alloc": `^eipalloc-[0-9a-f]{17}$`, "NAT": `^nat-[0-9a-f]{17}$`, "SG": `^sg-[0-9a-f]{17}$`,
		"Topic": `^arn:aws:sns:us-east-1:` + acctA + `:net-Topic-[A-Z0-9]{12}$`, "TopicName": `^net-Topic-[A-Z0-9]{12}$`,
		"Other": `^net-Other-[A-Z0-9]{12}$`, "Role": `^net-Role-[A-Z0-9]{12}$`, "RoleArn": `^arn:aws:iam::` + acctA + `:role/net-Role-[A-Z0-9]{12}$`,
		"Managed": `^arn:aws:iam::` + acctA + `:policy/net-Managed-[A-Z0-9]{12}$`, "Bucket": `^net-bucket-[a-z0-9]{12}$`,
		"Domain": `^net-bucket-[a-z0-9]{12}\.s3\.us-east-1\.amazonaws\.com$`,
	}
	for k, p := range patterns {
		if !regexp.MustCompile(p).MatchString(outs[k]) {
			t.Errorf("%s = %q, want %s", k, outs[k], p)
		}
	}
	role, ok := e.iam.role(acctA, outs["Role"])
	if !ok || role.Policies["inline"] == "" || role.Policies["extra"] == "" || len(role.ManagedPolicyARNs) != 1 || role.ManagedPolicyARNs[0] != outs["Managed"] {
		t.Errorf("role in IAM: %+v", role)
	}
	if b := e.s3.bucket(outs["Bucket"]); b == nil || !strings.Contains(b.policy, "s3:GetObject") {
		t.Errorf("bucket policy not set: %+v", b)
	}
	// Changing the VPC's CIDR replaces it, and its dependents with it.
	newTpl := strings.Replace(vpcTemplate, "CidrBlock: 10.0.0.0/16", "CidrBlock: 10.1.0.0/16", 1)
	cs, err := c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("net"), ChangeSetName: aws.String("cidr"),
		TemplateBody: aws.String(newTpl), Capabilities: []types.Capability{types.CapabilityCapabilityIam}})
	if err != nil {
		t.Fatal(err)
	}
	d := waitChangeSet(t, c, "net", "cidr")
	got := map[string]string{}
	for _, ch := range d.Changes {
		got[aws.ToString(ch.ResourceChange.LogicalResourceId)] = string(ch.ResourceChange.Replacement)
	}
	// Dependents of a replaced resource are Conditional, as AWS reports them.
	if got["VPC"] != "True" || got["Subnet"] != "Conditional" || got["RT"] != "Conditional" || got["SG"] != "Conditional" || got["Attach"] != "False" {
		t.Errorf("replacements %v", got)
	}
	if _, err := c.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{ChangeSetName: cs.Id}); err != nil {
		t.Fatal(err)
	}
	st = waitSettled(t, c, "net")
	if st.StackStatus != types.StackStatusUpdateComplete || outputs(st)["Vpc"] == outs["Vpc"] || outputs(st)["Role"] != outs["Role"] {
		t.Fatalf("after replacement: %s %v", st.StackStatus, outputs(st))
	}
	if _, err := c.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("net")}); err != nil {
		t.Fatal(err)
	}
	if st := waitSettled(t, c, aws.ToString(st.StackId)); st.StackStatus != types.StackStatusDeleteComplete {
		t.Fatalf("delete: %s", st.StackStatus)
	}
	if _, ok := e.iam.role(acctA, outs["Role"]); ok || e.s3.bucket(outs["Bucket"]) != nil {
		t.Errorf("role or bucket left behind")
	}
}

func TestDurationTag(t *testing.T) {
	e := newEnv(t, 10*time.Millisecond)
	c := e.client(acctA)
	ctx := context.Background()
	start := time.Now()
	if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("slow"), TemplateBody: aws.String(bucketTemplate),
		Parameters: []types.Parameter{param("Name", "slow-bucket")}, Tags: []types.Tag{{Key: aws.String(DurationTag), Value: aws.String("300ms")}}}); err != nil {
		t.Fatal(err)
	}
	st := waitSettled(t, c, "slow")
	if took := time.Since(start); st.StackStatus != types.StackStatusCreateComplete || took < 300*time.Millisecond {
		t.Errorf("%s after %v, want CREATE_COMPLETE after at least 300ms", st.StackStatus, took)
	}
	_, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("bad"), TemplateBody: aws.String(bucketTemplate),
		Parameters: []types.Parameter{param("Name", "x")}, Tags: []types.Tag{{Key: aws.String(DurationTag), Value: aws.String("soon")}}})
	wantAPIError(t, err, "ValidationError", DurationTag)
}
