// Package master is stackerless's CDK app for the master account: the
// config, state and template buckets, the Lambdas of the serverless runtime,
// the state machine that runs them (docs/runtime.md), the event bus, and
// what starts runs (uploads, schedules). It uses native CloudFormation only:
// no CDK custom resources, so the same template deploys to AWS and to the
// sandbox.
package master

import (
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsschedulertargets"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Output names the CLI reads from the stack (docs/runtime.md).
const (
	OutputConfigBucket    = "ConfigBucket"
	OutputStateBucket     = "StateBucket"
	OutputTemplateBucket  = "TemplateBucket"
	OutputStateMachineArn = "StateMachineArn"
	OutputEventBus        = "EventBus"
	OutputDeployerRoleArn = "DeployerRoleArn"
)

// DefaultStackName is the master stack's name unless the app is told
// otherwise.
const DefaultStackName = "Stackerless"

// StackProps configure the master stack.
type StackProps struct {
	awscdk.StackProps
	// Settings must have passed Validate.
	Settings *Settings
}

// Function names under Settings.FunctionsDir.
const (
	fnPrepare  = "prepare"
	fnAdvance  = "advance"
	fnReport   = "report"
	fnContinue = "continue"
)

// NewStack defines the master stack.
func NewStack(scope constructs.Construct, id string, props *StackProps) awscdk.Stack {
	str := jsii.String
	s := props.Settings
	stack := awscdk.NewStack(scope, str(id), &props.StackProps)

	// Configs are encrypted with a key of their own: reading one takes
	// kms:Decrypt on it, which only the deployer and the writers get.
	configKey := awskms.NewKey(stack, str("ConfigKey"), &awskms.KeyProps{
		Description:       str("stackerless: encrypts the configs in the config bucket"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	configBucket := newBucket(stack, "Configs", configKey)
	// EventBridge notifications through the bucket's own property:
	// Bucket{EventBridgeEnabled} would add a custom resource.
	configBucket.Node().DefaultChild().(awss3.CfnBucket).SetNotificationConfiguration(&awss3.CfnBucket_NotificationConfigurationProperty{
		EventBridgeConfiguration: &awss3.CfnBucket_EventBridgeConfigurationProperty{EventBridgeEnabled: jsii.Bool(true)},
	})
	stateBucket := newBucket(stack, "State", nil)
	// Templates stay S3-encrypted (SSE-S3): CloudFormation in another
	// account can read those with the bucket policy's grant alone.
	templateBucket := newBucket(stack, "Templates", nil)

	// CloudFormation in every allowed account reads templates as that
	// account's Stacker role, and nothing but templates.
	var accounts []awsiam.IPrincipal
	var stackerRoles []*string
	for _, a := range s.AllowedAccounts {
		accounts = append(accounts, awsiam.NewAccountPrincipal(str(a)))
		stackerRoles = append(stackerRoles, str("arn:"+*awscdk.Aws_PARTITION()+":iam::"+a+":role/"+s.StackerRoleName))
	}
	templateBucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        str("StackerRolesReadTemplates"),
		Principals: &accounts,
		Actions:    jsii.Strings("s3:GetObject"),
		Resources:  &[]*string{templateBucket.ArnForObjects(str(TemplatePrefix + "*"))},
		Conditions: &map[string]any{"ArnEquals": map[string]any{"aws:PrincipalArn": stackerRoles}},
	}))
	restrictWriters(stack, s, configKey, configBucket, stateBucket)

	bus := awsevents.NewEventBus(stack, str("Events"), &awsevents.EventBusProps{})
	// The state machine's name is fixed so that the deployer's policy can
	// name it without depending on it (which depends on the functions).
	machineName := awscdk.Fn_Join(str("-"), &[]*string{awscdk.Aws_STACK_NAME(), str("runs")})
	deployer := newDeployerRole(stack, s, deployerResources{
		configKey: configKey, configs: configBucket, state: stateBucket, templates: templateBucket, bus: bus, machineName: machineName,
	})

	env := map[string]*string{
		"STATE_BUCKET":          stateBucket.BucketName(),
		"ALLOWED_ACCOUNTS":      str(strings.Join(s.AllowedAccounts, ",")),
		"EVENT_BUS":             bus.EventBusName(),
		"POLL_SECONDS":          str(strconv.Itoa(s.PollSeconds)),
		"APPROVAL_POLL_SECONDS": str(strconv.Itoa(s.ApprovalPollSeconds)),
		"APPROVERS":             str(strings.Join(s.Approvers, ",")),
	}
	arch := awslambda.Architecture_ARM_64()
	if s.Architecture == "x86_64" {
		arch = awslambda.Architecture_X86_64()
	}
	fn := func(name string, f sizing) awslambda.Function {
		id := strings.ToUpper(name[:1]) + name[1:]
		// An explicit log group: CDK's logRetention would add a custom
		// resource. Lambda writes it as the function's role.
		logs := awslogs.NewLogGroup(stack, str(id+"Logs"), &awslogs.LogGroupProps{
			Retention:     awslogs.RetentionDays_THREE_MONTHS,
			RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		})
		deployer.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       str("WriteLogs" + id),
			Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
			Resources: &[]*string{logs.LogGroupArn()},
		}))
		var reserved *float64
		if f.reserve && *s.ReservedConcurrency > 0 {
			reserved = jsii.Number(*s.ReservedConcurrency)
		}
		return awslambda.NewFunction(stack, str(id+"Function"), &awslambda.FunctionProps{
			Runtime:                      awslambda.Runtime_PROVIDED_AL2023(),
			Architecture:                 arch,
			Handler:                      str("bootstrap"),
			Code:                         awslambda.Code_FromAsset(str(s.FunctionDir(name)), nil),
			MemorySize:                   jsii.Number(f.memoryMB),
			Timeout:                      awscdk.Duration_Seconds(jsii.Number(f.timeoutSeconds)),
			ReservedConcurrentExecutions: reserved,
			Role:                         deployer,
			Environment:                  &env,
			LogGroup:                     logs,
			LoggingFormat:                awslambda.LoggingFormat_JSON,
			Tracing:                      awslambda.Tracing_ACTIVE,
		})
	}
	fns := functions{
		prepare: fn(fnPrepare, functionSizing[fnPrepare]),
		advance: fn(fnAdvance, functionSizing[fnAdvance]),
		report:  fn(fnReport, functionSizing[fnReport]),
		cont:    fn(fnContinue, functionSizing[fnContinue]),
	}

	machineLogs := awslogs.NewLogGroup(stack, str("StateMachineLogs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_THREE_MONTHS,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	machine := sfn.NewStateMachine(stack, str("Runs"), &sfn.StateMachineProps{
		StateMachineName: machineName,
		DefinitionBody:   sfn.DefinitionBody_FromChainable(definition(stack, fns, s)),
		StateMachineType: sfn.StateMachineType_STANDARD,
		QueryLanguage:    sfn.QueryLanguage_JSON_PATH,
		TracingEnabled:   jsii.Bool(true),
		// Execution data could hold a config's parameters: never logged.
		Logs: &sfn.LogOptions{Destination: machineLogs, Level: sfn.LogLevel_ERROR, IncludeExecutionData: jsii.Bool(false)},
	})

	suppress([]awss3.Bucket{configBucket, stateBucket, templateBucket}, deployer, machine)

	// Uploads of a config (or an archive) under the prefix start a run.
	var keys []any
	for _, suffix := range s.Suffixes {
		keys = append(keys, map[string]any{"wildcard": s.Prefix + "*" + suffix})
	}
	awsevents.NewRule(stack, str("OnUpload"), &awsevents.RuleProps{
		Description: str("A config uploaded to the config bucket starts a run"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.s3"),
			DetailType: jsii.Strings("Object Created"),
			Detail: &map[string]any{
				"bucket": map[string]any{"name": []any{configBucket.BucketName()}},
				"object": map[string]any{"key": keys},
			},
		},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewSfnStateMachine(machine, nil)},
	})
	for _, sc := range s.Schedules {
		newSchedule(stack, machine, configBucket, sc)
	}

	out := func(name string, v *string, desc string) {
		awscdk.NewCfnOutput(stack, str(name), &awscdk.CfnOutputProps{Value: v, Description: str(desc)})
	}
	out(OutputConfigBucket, configBucket.BucketName(), "Upload stacker configs here; an upload starts a run")
	out(OutputStateBucket, stateBucket.BucketName(), "Run state, locks, approvals and reports")
	out(OutputTemplateBucket, templateBucket.BucketName(), "The stacker bucket: set stacker_bucket to it")
	out(OutputStateMachineArn, machine.StateMachineArn(), "The state machine that runs deployments")
	out(OutputEventBus, bus.EventBusName(), "The bus that receives the runs' events")
	out(OutputDeployerRoleArn, deployer.RoleArn(), "DeployerRoleArn for templates/stacker-role.yaml in the master account")
	return stack
}

// newBucket is a private, versioned, TLS-only bucket, kept when the stack
// goes, encrypted with key (SSE-KMS) or, when key is nil, S3's own keys
// (SSE-S3). Old versions expire: a run pins the version it started from
// for its few hours, and 90 days keep a config's history for audits.
func newBucket(scope constructs.Construct, id string, key awskms.IKey) awss3.Bucket {
	props := &awss3.BucketProps{
		Versioned:         jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("OldVersions"),
			NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(NoncurrentVersionDays)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
			ExpiredObjectDeleteMarker:           jsii.Bool(true),
		}},
	}
	if key != nil {
		props.Encryption = awss3.BucketEncryption_KMS
		props.EncryptionKey = key
		// S3 Bucket Keys: far fewer KMS requests; reads still need
		// kms:Decrypt on the key.
		props.BucketKeyEnabled = jsii.Bool(true)
	}
	return awss3.NewBucket(scope, jsii.String(id), props)
}

// newSchedule starts a run of one config on a schedule; the input names
// the schedule (docs/runtime.md).
func newSchedule(stack awscdk.Stack, machine sfn.IStateMachine, configBucket awss3.IBucket, sc Schedule) {
	var expr awsscheduler.ScheduleExpression
	tz := awscdk.TimeZone_ETC_UTC()
	if sc.TimeZone != "" {
		tz = awscdk.TimeZone_Of(jsii.String(sc.TimeZone))
	}
	if strings.HasPrefix(sc.Expression, "cron(") {
		expr = awsscheduler.ScheduleExpression_Expression(jsii.String(sc.Expression), tz)
	} else {
		expr = awsscheduler.ScheduleExpression_Expression(jsii.String(sc.Expression), nil)
	}
	config := awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("s3://"), configBucket.BucketName(), jsii.String("/" + sc.Config)})
	awsscheduler.NewSchedule(stack, jsii.String("Schedule-"+sc.Name), &awsscheduler.ScheduleProps{
		// Named for the stack, so that the CLI and tests can find it.
		ScheduleName: awscdk.Fn_Join(jsii.String("-"), &[]*string{awscdk.Aws_STACK_NAME(), jsii.String(sc.Name)}),
		Description:  jsii.String("stackerless schedule " + sc.Name),
		Schedule:     expr,
		Target: awsschedulertargets.NewStepFunctionsStartExecution(machine, &awsschedulertargets.ScheduleTargetBaseProps{
			Input: awsscheduler.ScheduleTargetInput_FromObject(map[string]any{
				"action": sc.Action, "config": config, "schedule": sc.Name,
			}),
		}),
	})
}
