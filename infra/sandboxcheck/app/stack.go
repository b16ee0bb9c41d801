package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsschedulertargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// StackProps configure the check stack.
type StackProps struct {
	awscdk.StackProps
	// HandlerDir is a directory holding the Lambda's built `bootstrap`.
	HandlerDir string
	// Architecture is the one the bootstrap was built for.
	Architecture awslambda.Architecture
}

// NewStack defines the check stack. It uses native CloudFormation properties
// only (no CDK custom resources), so everything in it runs in the sandbox.
func NewStack(scope constructs.Construct, id string, props *StackProps) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)

	fn := awslambda.NewFunction(stack, jsii.String("Handler"), &awslambda.FunctionProps{
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: props.Architecture,
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(props.HandlerDir), nil),
		MemorySize:   jsii.Number(128),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(10)),
	})

	// PayloadResponseOnly makes the Task's Resource the function's ARN, which
	// both Step Functions and the sandbox's local interpreter understand.
	greet := awsstepfunctionstasks.NewLambdaInvoke(stack, jsii.String("Greet"), &awsstepfunctionstasks.LambdaInvokeProps{
		LambdaFunction:      fn,
		PayloadResponseOnly: jsii.Bool(true),
	})
	machine := awsstepfunctions.NewStateMachine(stack, jsii.String("Flow"), &awsstepfunctions.StateMachineProps{
		DefinitionBody: awsstepfunctions.DefinitionBody_FromChainable(greet),
	})

	// CfnBucket's NotificationConfiguration turns EventBridge on natively;
	// s3.Bucket{EventBridgeEnabled} would add a Python custom resource.
	uploads := awss3.NewCfnBucket(stack, jsii.String("Uploads"), &awss3.CfnBucketProps{
		NotificationConfiguration: &awss3.CfnBucket_NotificationConfigurationProperty{
			EventBridgeConfiguration: &awss3.CfnBucket_EventBridgeConfigurationProperty{EventBridgeEnabled: jsii.Bool(true)},
		},
	})
	// Kept when the stack goes, as CDK keeps buckets by default.
	uploads.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, nil)
	// Deleted with the stack, which fails while it holds objects, as on AWS.
	scratch := awss3.NewCfnBucket(stack, jsii.String("Scratch"), nil)
	scratch.ApplyRemovalPolicy(awscdk.RemovalPolicy_DESTROY, nil)

	awsevents.NewRule(stack, jsii.String("OnUpload"), &awsevents.RuleProps{
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.s3"),
			DetailType: jsii.Strings("Object Created"),
			Detail: &map[string]any{
				"bucket": map[string]any{"name": []any{uploads.Ref()}},
			},
		},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewSfnStateMachine(machine, nil)},
	})
	nightly := newSchedule(stack, machine)

	out := func(id string, v *string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: v})
	}
	out("UploadsBucket", uploads.Ref())
	out("ScratchBucket", scratch.Ref())
	out("StateMachineArn", machine.StateMachineArn())
	out("FunctionName", fn.FunctionName())
	out("ScheduleArn", nightly.ScheduleArn())
	return stack
}

// newSchedule runs the state machine every night through EventBridge
// Scheduler, with an input that says so.
func newSchedule(stack awscdk.Stack, machine awsstepfunctions.IStateMachine) awsscheduler.Schedule {
	return awsscheduler.NewSchedule(stack, jsii.String("Nightly"), &awsscheduler.ScheduleProps{
		Schedule: awsscheduler.ScheduleExpression_Cron(&awsscheduler.CronOptionsWithTimezone{
			Minute: jsii.String("0"), Hour: jsii.String("3"), TimeZone: awscdk.TimeZone_EUROPE_LONDON(),
		}),
		Target: awsschedulertargets.NewStepFunctionsStartExecution(machine, &awsschedulertargets.ScheduleTargetBaseProps{
			Input: awsscheduler.ScheduleTargetInput_FromObject(map[string]any{"source": "schedule"}),
		}),
	})
}
