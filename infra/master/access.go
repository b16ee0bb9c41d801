package master

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"

	"github.com/stackerless/stackerless/pkg/runstate"
)

// TemplatePrefix is where the engine puts rendered templates in the template
// bucket (stack_templates/<fqn>/<name>-<version>.json): the only keys the
// Stacker roles may read.
const TemplatePrefix = "stack_templates/"

// NoncurrentVersionDays is how long the buckets keep an object's older
// versions.
const NoncurrentVersionDays = 90

// State bucket keys whose writing is a deploy permission (docs/runtime.md):
// approvals let a protected stack's change set run, the freeze object
// stops every run.
var (
	approvalKeys = "runs/*/approvals/*"
	freezeKey    = runstate.FreezeKey
)

// writeActions are the object writes only the writers may make on the
// config bucket, the approvals and the freeze object.
var writeActions = []string{"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"}

// restrictWriters makes the settings' config_writers the only principals
// that may write configs, approvals and the freeze object: the buckets deny
// those writes to every other principal (the master account's
// administrators and the deployer included), and let writers in other
// accounts in. With no writers listed the master account's IAM policies
// decide, and synth warns.
func restrictWriters(stack awscdk.Stack, s *Settings, key awskms.IKey, configs, state awss3.IBucket) {
	str := jsii.String
	if len(s.ConfigWriters) == 0 {
		awscdk.Annotations_Of(stack).AddWarningV2(str("stackerless:config-writers"),
			str("config_writers is empty: any principal of the master account whose IAM policies allow s3:PutObject on the config bucket may deploy; list your CI role"))
		return
	}
	writerArns := jsii.Strings(s.ConfigWriters...)
	var writers []awsiam.IPrincipal
	for _, w := range s.ConfigWriters {
		writers = append(writers, awsiam.NewArnPrincipal(str(w)))
	}
	notWriter := &map[string]any{"ArnNotLike": map[string]any{"aws:PrincipalArn": writerArns}}
	everyone := &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()}

	configs.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        str("OnlyWritersDeploy"),
		Effect:     awsiam.Effect_DENY,
		Principals: everyone,
		Actions:    jsii.Strings(writeActions...),
		Resources:  &[]*string{configs.ArnForObjects(str("*"))},
		Conditions: notWriter,
	}))
	configs.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        str("ConfigWriters"),
		Principals: &writers,
		Actions:    jsii.Strings("s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"),
		Resources:  &[]*string{configs.ArnForObjects(str(s.Prefix + "*"))},
	}))
	configs.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        str("ConfigWritersList"),
		Principals: &writers,
		Actions:    jsii.Strings("s3:ListBucket", "s3:ListBucketVersions"),
		Resources:  &[]*string{configs.BucketArn()},
	}))
	// Uploading an SSE-KMS object takes kms:GenerateDataKey, reading it
	// kms:Decrypt; the key policy admits writers of other accounts.
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        str("ConfigWritersEncrypt"),
		Principals: &writers,
		Actions:    jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"),
		Resources:  jsii.Strings("*"),
	}), nil)

	state.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        str("OnlyWritersApproveOrFreeze"),
		Effect:     awsiam.Effect_DENY,
		Principals: everyone,
		Actions:    jsii.Strings(writeActions...),
		Resources:  &[]*string{state.ArnForObjects(str(approvalKeys)), state.ArnForObjects(str(freezeKey))},
		Conditions: notWriter,
	}))
	state.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        str("WritersFreeze"),
		Principals: &writers,
		Actions:    jsii.Strings("s3:PutObject", "s3:GetObject", "s3:DeleteObject"),
		Resources:  &[]*string{state.ArnForObjects(str(freezeKey))},
	}))
}

// deployerResources are what the deployer role works on.
type deployerResources struct {
	configKey                 awskms.IKey
	configs, state, templates awss3.IBucket
	bus                       awsevents.IEventBus
	machineName               *string
}

// newDeployerRole is the Lambdas' role, with only what the runtime calls:
// the configs (read, decrypt), the run state under runs/ and locks/, the
// freeze object (read), the templates (write, list), master's Stacker role
// (the first hop of every profile), its own state machine's executions (a
// run's continuation, stale locks) and its own bus. Statements are written
// out, not granted: Grant* would add s3:GetObject*, s3:List* and more.
func newDeployerRole(stack awscdk.Stack, s *Settings, r deployerResources) awsiam.Role {
	str := jsii.String
	role := awsiam.NewRole(stack, str("DeployerRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(str("lambda.amazonaws.com"), nil),
		Description: str("stackerless's Lambdas: run state, configs, and master's Stacker role"),
	})
	allow := func(sid string, actions []string, resources ...*string) {
		role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: str(sid), Actions: jsii.Strings(actions...), Resources: &resources,
		}))
	}
	objects := func(b awss3.IBucket, pattern string) *string { return b.ArnForObjects(str(pattern)) }

	// A config is read by version; listing lets a missing key read as
	// NoSuchKey (a config error), not AccessDenied.
	allow("ReadConfigs", []string{"s3:GetObject", "s3:GetObjectVersion"}, objects(r.configs, "*"))
	allow("ListConfigs", []string{"s3:ListBucket"}, r.configs.BucketArn())
	allow("DecryptConfigs", []string{"kms:Decrypt"}, r.configKey.KeyArn())
	allow("RunState", []string{"s3:GetObject", "s3:PutObject"}, objects(r.state, "runs/*"), objects(r.state, "locks/*"))
	allow("ReleaseLocks", []string{"s3:DeleteObject"}, objects(r.state, "locks/*"))
	allow("ReadFreeze", []string{"s3:GetObject"}, objects(r.state, freezeKey))
	allow("ListState", []string{"s3:ListBucket"}, r.state.BucketArn())
	allow("WriteTemplates", []string{"s3:PutObject"}, objects(r.templates, TemplatePrefix+"*"))
	allow("ListTemplates", []string{"s3:ListBucket"}, r.templates.BucketArn())
	// Every profile's chain starts at master's Stacker role; the roles of
	// the other accounts trust that role, not the deployer.
	allow("AssumeMasterStacker", []string{"sts:AssumeRole", "sts:SetSourceIdentity"},
		stack.FormatArn(&awscdk.ArnComponents{Service: str("iam"), Region: str(""), Resource: str("role"), ResourceName: str(s.StackerRoleName)}))
	allow("StartRuns", []string{"states:StartExecution"}, stack.FormatArn(&awscdk.ArnComponents{
		Service: str("states"), Resource: str("stateMachine"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME, ResourceName: r.machineName}))
	allow("DescribeRuns", []string{"states:DescribeExecution"}, stack.FormatArn(&awscdk.ArnComponents{
		Service: str("states"), Resource: str("execution"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
		ResourceName: awscdk.Fn_Join(str(""), &[]*string{r.machineName, str(":*")})}))
	allow("PutRunEvents", []string{"events:PutEvents"}, r.bus.EventBusArn())
	return role
}

// sizing is a function's memory and timeout.
type sizing struct {
	memoryMB, timeoutSeconds float64
	// reserve caps its concurrency with Settings.ReservedConcurrency.
	reserve bool
}

// functionSizing comes from the runtime's measurements (README): peak
// memory on the seed example prepare 31 MB, advance 33 MB, report 25 MB;
// one Advance of 1,000 stacks in flight 7.0 s on a loaded machine. Prepare
// and Advance hold a config bundle in memory (bounded at 200 MiB unpacked,
// docs/runtime.md), hence 1 GiB, which also buys Lambda's CPU share; the
// timeouts leave an order of magnitude over the measured times. Prepare
// and Advance call CloudFormation and STS in the accounts: their
// concurrency is capped.
var functionSizing = map[string]sizing{
	fnPrepare:  {memoryMB: 1024, timeoutSeconds: 300, reserve: true},
	fnAdvance:  {memoryMB: 1024, timeoutSeconds: 120, reserve: true},
	fnReport:   {memoryMB: 256, timeoutSeconds: 60},
	fnContinue: {memoryMB: 128, timeoutSeconds: 30},
}
