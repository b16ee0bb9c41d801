package master

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"

	"github.com/stackerless/stackerless/infra/nag"
)

// suppress records, with its reason, each cdk-nag AwsSolutions finding the
// stack accepts; the tests fail on any other. Wildcards are accepted one
// by one (appliesTo), never a rule as a whole.
func suppress(buckets []awss3.Bucket, deployer awsiam.Role, machine sfn.StateMachine) {
	for _, b := range buckets {
		nag.Suppress(b, "AwsSolutions-S1",
			"Server access logs would need a fourth bucket, itself without them; who wrote a config, an approval or the freeze object is in the object's version and CloudTrail (enable S3 data events in the account's trail)")
	}
	nag.Suppress(deployer, "AwsSolutions-IAM5",
		"Object keys under the prefixes the runtime owns (docs/runtime.md): any config in the config bucket (it is read by version), runs/ and locks/ in the state bucket, stack_templates/ in the template bucket",
		`/^Resource::<Configs[0-9A-F]{8}\.Arn>\/\*$/`, `/^Resource::<State[0-9A-F]{8}\.Arn>\/(runs|locks)\/\*$/`,
		`/^Resource::<Templates[0-9A-F]{8}\.Arn>\/stack_templates\/\*$/`)
	nag.Suppress(deployer, "AwsSolutions-IAM5",
		"DescribeExecution on the executions of this stack's own state machine (stale locks, continuations), whose names are run ids",
		`/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<AWS::StackName>-runs:\*$/`)
	nag.Suppress(deployer, "AwsSolutions-IAM5",
		"xray:PutTraceSegments and xray:PutTelemetryRecords (Lambda's active tracing) have no resource-level permissions",
		"Resource::*")
	nag.Suppress(machine, "AwsSolutions-IAM5",
		"lambda:InvokeFunction on the four functions' versions and aliases (FUNCTION_ARN:*), as CDK's LambdaInvoke grants it",
		`/^Resource::<(Prepare|Advance|Report|Continue)Function[0-9A-F]{8}\.Arn>:\*$/`)
	nag.Suppress(machine, "AwsSolutions-IAM5",
		"X-Ray tracing and CloudWatch Logs delivery (logs:CreateLogDelivery and the like) have no resource-level permissions",
		"Resource::*")
	nag.Suppress(machine, "AwsSolutions-SF1",
		"The state machine logs ERROR events without execution data: the data holds a config's parameters, which may be secret (NoEcho); the runs' reports and events carry the rest")
}
