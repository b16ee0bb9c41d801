package iam

import (
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/policy"
)

// AWS managed policies the sandbox knows. The documents approximate AWS's:
// PowerUserAccess is everything but IAM/Organizations/Account management, and
// ReadOnlyAccess allows the read actions of the services the sandbox serves.
var builtinDocs = []struct{ name, description, doc string }{
	// Named with their path: arn:aws:iam::aws:policy/service-role/....
	{"service-role/AWSLambdaBasicExecutionRole", "Provides write permissions to CloudWatch Logs.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}`},
	{"AdministratorAccess", "Provides full access to AWS services and resources.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`},
	{"PowerUserAccess", "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"},` +
			`{"Effect":"Allow","Action":["iam:CreateServiceLinkedRole","iam:DeleteServiceLinkedRole","iam:ListRoles","organizations:DescribeOrganization","account:ListRegions","account:GetAccountInformation"],"Resource":"*"}]}`},
	// The CDK bootstrap template's lookup and deployment-action roles attach it.
	{"AWSCloudFormationReadOnlyAccess", "Provides access to AWS CloudFormation via the AWS Management Console.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudformation:Describe*","cloudformation:EstimateTemplateCost","cloudformation:Get*","cloudformation:List*","cloudformation:ValidateTemplate","cloudformation:Detect*"],"Resource":"*"}]}`},
	{"ReadOnlyAccess", "Provides read-only access to AWS services and resources.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudformation:Describe*","cloudformation:Get*","cloudformation:List*","cloudformation:ValidateTemplate","cloudformation:Detect*","cloudformation:Estimate*",` +
			`"s3:Get*","s3:List*","s3:Describe*","iam:Get*","iam:List*","iam:Generate*","iam:Simulate*","ssm:Describe*","ssm:Get*","ssm:List*","events:Describe*","events:List*","events:Test*",` +
			`"sts:GetCallerIdentity","ec2:Describe*","ec2:Get*","sns:Get*","sns:List*","lambda:Get*","lambda:List*","states:Describe*","states:Get*","states:List*","kms:Describe*","kms:Get*","kms:List*","dynamodb:Describe*","dynamodb:Get*","dynamodb:List*","dynamodb:Query","dynamodb:Scan","logs:Describe*","logs:Get*","logs:FilterLogEvents"],"Resource":"*"}]}`},
}

func builtinPolicies(now time.Time) map[string]*managedPolicy {
	out := map[string]*managedPolicy{}
	for _, b := range builtinDocs {
		p, err := policy.Parse(b.doc, policy.Identity)
		if err != nil {
			// The documents are constants checked by the tests.
			panic("builtin policy " + b.name + ": " + err.Error())
		}
		arn := "arn:aws:iam::aws:policy/" + b.name
		path, name := "/", b.name
		if i := strings.LastIndex(b.name, "/"); i >= 0 {
			path, name = "/"+b.name[:i+1], b.name[i+1:]
		}
		out[arn] = &managedPolicy{arn: arn, name: name, path: path, id: "ANPA" + randomString(17, upperAlnum),
			description: b.description, doc: b.doc, parsed: p, version: 1, created: now.UTC(), updated: now.UTC()}
	}
	return out
}
