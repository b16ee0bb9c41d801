package master

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	tasks "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
)

// The state machine's data between states is {"ref": <run reference>,
// "loops": <Advance steps in this execution>}: the Lambdas receive and
// return the run reference of docs/runtime.md; the counter lets an
// execution hand its run to a new one before the history limit.

// retrier is one Retry rule of the Tasks.
type retrier struct {
	errors      []string
	interval    float64
	maxAttempts int
	backoff     float64
	maxDelay    float64
}

// lambdaErrors are the Lambda service's own failures (throttling, a
// service error, the SDK, an instance that died: Lambda.Unknown).
var lambdaErrors = retrier{
	errors: []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
		"Lambda.TooManyRequestsException", "Lambda.Unknown"},
	interval: 2, maxAttempts: 6, backoff: 2, maxDelay: 60,
}

// transientErrors are AWS failures a handler saw outlive the SDK's retries.
var transientErrors = retrier{errors: []string{"TransientError"}, interval: 5, maxAttempts: 6, backoff: 2, maxDelay: 120}

// conflictErrors are lost conditional writes: retried soon, the retry sees
// the winner's state.
var conflictErrors = retrier{errors: []string{"ConflictError"}, interval: 1, maxAttempts: 5, backoff: 1.5, maxDelay: 10}

// The retry rules of each Task.
var (
	prepareRetries  = []retrier{conflictErrors, transientErrors, lambdaErrors}
	advanceRetries  = []retrier{conflictErrors, transientErrors, lambdaErrors}
	reportRetries   = []retrier{transientErrors, lambdaErrors}
	continueRetries = []retrier{conflictErrors, transientErrors, lambdaErrors}
)

// History events of one loop (Advance's Task: entered, scheduled, started,
// succeeded, exited; Tick, Choice and Wait: entered and exited), of one
// retried attempt (scheduled, started, failed), and a generous allowance
// for an execution's start, Prepare or Resume, Continue or Report.
const (
	eventsPerLoop    = 11
	eventsPerRetry   = 3
	eventsOutsideRun = 400
	historyLimit     = 25000
)

// MaxLoopsPerExecution is the most Advance/Wait loops an execution may run
// and still end before Step Functions' history limit if every Advance used
// all its retries.
func MaxLoopsPerExecution() int {
	retries := 0
	for _, r := range advanceRetries {
		retries += r.maxAttempts
	}
	return (historyLimit - eventsOutsideRun) / (eventsPerLoop + eventsPerRetry*retries)
}

// functions are the Lambdas the state machine runs.
type functions struct {
	prepare, advance, report, cont awslambda.IFunction
}

// definition is the run's state machine (docs/runtime.md):
//
//	Continuation? -> Prepare -> Skipped? -> Advance -> Tick -> Done? -> Wait -> Advance ...
//	                                                    Done? -> Report -> Outcome -> Succeed | Fail
//	                                                    Done? -> Continue -> Succeed (continued)
//	any Task's Catch -> Report (failed) -> Fail
func definition(scope constructs.Construct, fns functions, s *Settings) sfn.IChainable {
	str := jsii.String
	executionID := sfn.JsonPath_StringAt(str("$$.Execution.Id"))
	refPayload := map[string]any{
		"run_id":        sfn.JsonPath_StringAt(str("$.run_id")),
		"state_key":     sfn.JsonPath_StringAt(str("$.state_key")),
		"steps":         sfn.JsonPath_NumberAt(str("$.steps")),
		"execution_arn": executionID,
	}

	// Every outcome goes through Report; a failure ends in Fail with the
	// Catch's error and cause, a run with failed stacks in RunFailed.
	failed := sfn.NewFail(scope, str("Failed"), &sfn.FailProps{
		ErrorPath: str("$.ref.failure.Error"), CausePath: str("$.ref.failure.Cause"),
	})
	runFailed := sfn.NewFail(scope, str("RunFailed"), &sfn.FailProps{
		Error: str("RunFailed"), Cause: str("One or more stacks failed; the run's report says which and why."),
	})
	reportFailed := sfn.NewFail(scope, str("ReportFailed"), &sfn.FailProps{
		ErrorPath: str("$.failure.Error"), CausePath: str("$.failure.Cause"),
	})
	outcome := sfn.NewChoice(scope, str("Outcome"), nil).
		When(sfn.Condition_IsPresent(str("$.ref.failure")), failed, nil).
		When(sfn.Condition_StringEquals(str("$.report.status"), str("failed")), runFailed, nil).
		Otherwise(sfn.NewSucceed(scope, str("Succeeded"), nil))
	report := invoke(scope, "Report", fns.report, reportRetries, &tasks.LambdaInvokeProps{
		InputPath:  str("$.ref"),
		ResultPath: str("$.report"),
	})
	report.AddCatch(reportFailed, &sfn.CatchProps{Errors: jsii.Strings("States.ALL"), ResultPath: str("$.failure")})
	report.Next(outcome)

	// A failed Prepare has no run reference yet: Report gets the failure.
	prepareFailed := sfn.NewPass(scope, str("PrepareFailed"), &sfn.PassProps{
		Parameters: &map[string]any{"ref": map[string]any{"failure": sfn.JsonPath_ObjectAt(str("$.failure"))}},
	})
	prepareFailed.Next(report)
	catchToReport := &sfn.CatchProps{Errors: jsii.Strings("States.ALL"), ResultPath: str("$.ref.failure")}

	advance := invoke(scope, "Advance", fns.advance, advanceRetries, &tasks.LambdaInvokeProps{
		InputPath:  str("$.ref"),
		Payload:    sfn.TaskInput_FromObject(&refPayload),
		ResultPath: str("$.ref"),
	})
	advance.AddCatch(report, catchToReport)

	cont := invoke(scope, "Continue", fns.cont, continueRetries, &tasks.LambdaInvokeProps{
		InputPath: str("$.ref"),
		Payload: sfn.TaskInput_FromObject(&map[string]any{
			"run_id":            sfn.JsonPath_StringAt(str("$.run_id")),
			"state_key":         sfn.JsonPath_StringAt(str("$.state_key")),
			"steps":             sfn.JsonPath_NumberAt(str("$.steps")),
			"execution_arn":     executionID,
			"state_machine_arn": sfn.JsonPath_StringAt(str("$$.StateMachine.Id")),
		}),
	})
	cont.AddCatch(report, catchToReport)
	cont.Next(sfn.NewSucceed(scope, str("Continued"), &sfn.SucceedProps{Comment: str("The run goes on in the execution named by continued_in.")}))

	maxWait := max(s.PollSeconds, s.ApprovalPollSeconds)
	wait := sfn.NewWait(scope, str("Wait"), &sfn.WaitProps{Time: sfn.WaitTime_SecondsPath(str("$.ref.wait_seconds"))})
	waitMax := sfn.NewWait(scope, str("WaitAtMost"), &sfn.WaitProps{Time: sfn.WaitTime_Duration(awscdk.Duration_Seconds(jsii.Number(maxWait)))})
	wait.Next(advance)
	waitMax.Next(advance)
	done := sfn.NewChoice(scope, str("Done?"), nil).
		When(sfn.Condition_BooleanEquals(str("$.ref.done"), jsii.Bool(true)), report, nil).
		When(sfn.Condition_NumberGreaterThanEquals(str("$.loops"), jsii.Number(s.LoopsPerExecution)), cont, nil).
		When(sfn.Condition_NumberGreaterThan(str("$.ref.wait_seconds"), jsii.Number(maxWait)), waitMax, nil).
		Otherwise(wait)
	tick := sfn.NewPass(scope, str("Tick"), &sfn.PassProps{
		Comment: str("Counts this execution's loops."),
		Parameters: &map[string]any{
			"ref":   sfn.JsonPath_ObjectAt(str("$.ref")),
			"loops": sfn.JsonPath_MathAdd(sfn.JsonPath_NumberAt(str("$.loops")), jsii.Number(1)),
		},
	})
	advance.Next(tick)
	tick.Next(done)

	prepare := invoke(scope, "Prepare", fns.prepare, prepareRetries, &tasks.LambdaInvokeProps{
		Payload: sfn.TaskInput_FromObject(&map[string]any{
			"input":         sfn.JsonPath_EntirePayload(),
			"execution_arn": executionID,
		}),
		ResultSelector: &map[string]any{"ref": sfn.JsonPath_EntirePayload(), "loops": 0},
	})
	prepare.AddCatch(prepareFailed, &sfn.CatchProps{Errors: jsii.Strings("States.ALL"), ResultPath: str("$.failure")})
	skipped := sfn.NewChoice(scope, str("Skipped?"), nil).
		When(sfn.Condition_StringEquals(str("$.ref.status"), str("skipped")), sfn.NewSucceed(scope, str("Skipped"), nil), nil).
		Otherwise(advance)
	prepare.Next(skipped)

	// A continuation's input is {"continue": <run reference>}, written by
	// the Continue step of the execution before it.
	resume := sfn.NewPass(scope, str("Resume"), &sfn.PassProps{
		Parameters: &map[string]any{"ref": sfn.JsonPath_ObjectAt(str("$.continue")), "loops": 0},
	})
	resume.Next(advance)
	return sfn.NewChoice(scope, str("Continuation?"), nil).
		When(sfn.Condition_IsPresent(str("$.continue")), resume, nil).
		Otherwise(prepare)
}

// invoke is a Lambda Task whose Resource is the function's ARN (which the
// sandbox's interpreter understands, as Step Functions does), with the
// given retry rules instead of CDK's default one.
func invoke(scope constructs.Construct, id string, fn awslambda.IFunction, retries []retrier, props *tasks.LambdaInvokeProps) tasks.LambdaInvoke {
	props.LambdaFunction = fn
	props.PayloadResponseOnly = jsii.Bool(true)
	props.RetryOnServiceExceptions = jsii.Bool(false)
	t := tasks.NewLambdaInvoke(scope, jsii.String(id), props)
	for _, r := range retries {
		t.AddRetry(&sfn.RetryProps{
			Errors:         jsii.Strings(r.errors...),
			Interval:       awscdk.Duration_Seconds(jsii.Number(r.interval)),
			MaxAttempts:    jsii.Number(r.maxAttempts),
			BackoffRate:    jsii.Number(r.backoff),
			MaxDelay:       awscdk.Duration_Seconds(jsii.Number(r.maxDelay)),
			JitterStrategy: sfn.JitterType_FULL,
		})
	}
	return t
}
