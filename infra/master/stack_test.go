package master_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/stackerless/stackerless/infra/master"
	"github.com/stackerless/stackerless/infra/nag"
)

// template is the master stack synthesised once per test binary with
// testSettings, as CloudFormation JSON.
var template = sync.OnceValues(func() (map[string]any, error) {
	dir, err := os.MkdirTemp("", "master-functions")
	if err != nil {
		return nil, err
	}
	s := testSettings()
	s.FunctionsDir = dir
	// Assets must exist; their content does not matter here.
	for _, fn := range []string{"prepare", "advance", "report", "continue"} {
		if err := os.MkdirAll(s.FunctionDir(fn), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(s.FunctionDir(fn), "bootstrap"), []byte(fn), 0o755); err != nil {
			return nil, err
		}
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(dir, "cdk.out"))})
	nag.Apply(app)
	stack := master.NewStack(app, "Master", &master.StackProps{Settings: s})
	var tmpl map[string]any
	b, err := json.Marshal(assertions.Template_FromStack(stack, nil).ToJSON())
	if err != nil {
		return nil, err
	}
	nagFindings = nag.Findings(stack)
	return tmpl, json.Unmarshal(b, &tmpl)
})

// nagFindings are the unsuppressed cdk-nag findings of the stack template
// synthesised.
var nagFindings []string

func testSettings() *master.Settings {
	s, err := master.ParseSettings([]byte(`{
		"allowed_accounts": ["111111111111", "222222222222"],
		"poll_seconds": 7, "approval_poll_seconds": 45, "loops_per_execution": 250,
		"architecture": "x86_64", "prefix": "deploy/", "suffixes": ["stacker.yaml", ".zip"],
		"schedules": [{"name": "nightly", "expression": "cron(0 3 * * ? *)", "time_zone": "Europe/London", "action": "diff", "config": "deploy/stacker.yaml"}],
		"approvers": ["AROAEXAMPLEEXAMPLE01:"],
		"config_writers": ["arn:aws:iam::222222222222:role/ci"]
	}`))
	if err != nil {
		panic(err)
	}
	return s
}

func synth(t *testing.T) map[string]any {
	t.Helper()
	tmpl, err := template()
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// resources are the template's resources of a type, by logical id.
func resources(tmpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tmpl["Resources"].(map[string]any) {
		if r := r.(map[string]any); r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

func only(t *testing.T, tmpl map[string]any, typ string) (string, map[string]any) {
	t.Helper()
	rs := resources(tmpl, typ)
	if len(rs) != 1 {
		t.Fatalf("%d resources of type %s, want 1", len(rs), typ)
	}
	for id, r := range rs {
		return id, r["Properties"].(map[string]any)
	}
	panic("unreachable")
}

// get walks a JSON value by keys and indexes ("0").
func get(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// definition is the state machine's ASL with every Fn::GetAtt X.Arn
// replaced by "arn:X".
func definition(t *testing.T, tmpl map[string]any) map[string]any {
	t.Helper()
	_, props := only(t, tmpl, "AWS::StepFunctions::StateMachine")
	var b strings.Builder
	for _, part := range get(props, "DefinitionString", "Fn::Join", "1").([]any) {
		switch p := part.(type) {
		case string:
			b.WriteString(p)
		case map[string]any:
			att, ok := p["Fn::GetAtt"].([]any)
			if !ok {
				t.Fatalf("definition part %v", p)
			}
			b.WriteString("arn:" + att[0].(string))
		}
	}
	var asl map[string]any
	if err := json.Unmarshal([]byte(b.String()), &asl); err != nil {
		t.Fatalf("definition %s: %v", b.String(), err)
	}
	return asl
}

func TestNoCustomResources(t *testing.T) {
	tmpl := synth(t)
	var types []string
	for _, r := range tmpl["Resources"].(map[string]any) {
		typ := r.(map[string]any)["Type"].(string)
		if strings.HasPrefix(typ, "Custom::") || typ == "AWS::CloudFormation::CustomResource" {
			t.Errorf("custom resource %s: the sandbox cannot run it", typ)
		}
		types = append(types, typ)
	}
	// Only the runtime's four functions: no provider functions behind
	// Bucket{EventBridgeEnabled}, logRetention or autoDeleteObjects.
	if n := len(resources(tmpl, "AWS::Lambda::Function")); n != 4 {
		t.Errorf("%d functions, want 4 (prepare, advance, report, continue)", n)
	}
	if t.Failed() {
		sort.Strings(types)
		t.Logf("types: %v", types)
	}
}

func TestStateMachineDefinition(t *testing.T) {
	tmpl := synth(t)
	asl := definition(t, tmpl)
	if ql, ok := asl["QueryLanguage"]; ok && ql != "JSONPath" {
		t.Errorf("QueryLanguage %v, want JSONPath", ql)
	}
	states := asl["States"].(map[string]any)
	next := func(name string) any { return get(states, name, "Next") }
	if asl["StartAt"] != "Continuation?" {
		t.Errorf("StartAt %v", asl["StartAt"])
	}
	// The loop: Prepare -> Skipped? -> Advance -> Tick -> Done? -> Wait -> Advance.
	for from, to := range map[string]string{"Prepare": "Skipped?", "Advance": "Tick", "Tick": "Done?", "Wait": "Advance",
		"WaitAtMost": "Advance", "Report": "Outcome", "Resume": "Advance", "PrepareFailed": "Report", "Continue": "Continued"} {
		if next(from) != to {
			t.Errorf("%s -> %v, want %s", from, next(from), to)
		}
	}
	if get(states, "Continuation?", "Choices", "0", "Variable") != "$.continue" || get(states, "Continuation?", "Default") != "Prepare" {
		t.Errorf("Continuation? %v", states["Continuation?"])
	}
	if get(states, "Skipped?", "Choices", "0", "StringEquals") != "skipped" || get(states, "Skipped?", "Default") != "Advance" {
		t.Errorf("Skipped? %v", states["Skipped?"])
	}
	done := get(states, "Done?", "Choices").([]any)
	want := []string{`$.ref.done BooleanEquals true -> Report`, `$.loops NumericGreaterThanEquals 250 -> Continue`,
		`$.ref.wait_seconds NumericGreaterThan 45 -> WaitAtMost`}
	for i, c := range done {
		c := c.(map[string]any)
		var got string
		for k, v := range c {
			if k != "Variable" && k != "Next" {
				got = fmt.Sprintf("%v %s %v -> %v", c["Variable"], k, v, c["Next"])
			}
		}
		if i >= len(want) || got != want[i] {
			t.Errorf("Done? choice %d: %s", i, got)
		}
	}
	if get(states, "Done?", "Default") != "Wait" || get(states, "Wait", "SecondsPath") != "$.ref.wait_seconds" || get(states, "WaitAtMost", "Seconds") != 45.0 {
		t.Errorf("waits: Done? %v, Wait %v, WaitAtMost %v", states["Done?"], states["Wait"], states["WaitAtMost"])
	}
	if get(states, "Tick", "Parameters", "loops.$") != "States.MathAdd($.loops, 1)" {
		t.Errorf("Tick %v", states["Tick"])
	}

	// Tasks: the function's ARN as Resource (what the local interpreter
	// runs), the execution's ARN in the payload, retries and catches.
	fn := map[string]string{"Prepare": "PrepareFunction", "Advance": "AdvanceFunction", "Report": "ReportFunction", "Continue": "ContinueFunction"}
	lambdaErrs := []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException", "Lambda.Unknown"}
	retries := map[string][]string{
		"Prepare":  {"ConflictError", "TransientError"},
		"Advance":  {"ConflictError", "TransientError"},
		"Continue": {"ConflictError", "TransientError"},
		"Report":   {"TransientError"},
	}
	catches := map[string]string{"Prepare": "$.failure -> PrepareFailed", "Advance": "$.ref.failure -> Report",
		"Continue": "$.ref.failure -> Report", "Report": "$.failure -> ReportFailed"}
	for name, prefix := range fn {
		st := states[name].(map[string]any)
		if st["Type"] != "Task" || !strings.HasPrefix(st["Resource"].(string), "arn:"+prefix) {
			t.Errorf("%s: Resource %v, want the ARN of %s", name, st["Resource"], prefix)
		}
		if name != "Report" && get(st, "Parameters", "execution_arn.$") != "$$.Execution.Id" {
			t.Errorf("%s: Parameters %v lack the execution's ARN", name, st["Parameters"])
		}
		var got []string
		for _, r := range st["Retry"].([]any) {
			r := r.(map[string]any)
			if r["BackoffRate"].(float64) <= 1 || r["MaxAttempts"].(float64) < 3 {
				t.Errorf("%s: retry %v without backoff", name, r)
			}
			for _, e := range r["ErrorEquals"].([]any) {
				got = append(got, e.(string))
			}
		}
		wantErrs := append(slices.Clone(retries[name]), lambdaErrs...)
		slices.Sort(got)
		slices.Sort(wantErrs)
		if !slices.Equal(got, wantErrs) {
			t.Errorf("%s retries %v, want %v", name, got, wantErrs)
		}
		c := get(st, "Catch", "0").(map[string]any)
		if gotc := fmt.Sprintf("%v -> %v", c["ResultPath"], c["Next"]); len(st["Catch"].([]any)) != 1 ||
			fmt.Sprint(c["ErrorEquals"]) != "[States.ALL]" || gotc != catches[name] {
			t.Errorf("%s catch %v, want States.ALL %s", name, st["Catch"], catches[name])
		}
	}
	if get(states, "Advance", "InputPath") != "$.ref" || get(states, "Advance", "ResultPath") != "$.ref" {
		t.Errorf("Advance paths %v", states["Advance"])
	}
	if get(states, "Continue", "Parameters", "state_machine_arn.$") != "$$.StateMachine.Id" {
		t.Errorf("Continue parameters %v", get(states, "Continue", "Parameters"))
	}
	// Outcomes: a Catch's failure ends in Fail with its error and cause.
	if get(states, "Failed", "Type") != "Fail" || get(states, "Failed", "CausePath") != "$.ref.failure.Cause" ||
		get(states, "RunFailed", "Type") != "Fail" || get(states, "Continued", "Type") != "Succeed" || get(states, "Skipped", "Type") != "Succeed" {
		t.Errorf("end states: %v %v %v", states["Failed"], states["RunFailed"], states["Continued"])
	}
	outcome := get(states, "Outcome", "Choices").([]any)
	if len(outcome) != 2 || get(outcome, "0", "Next") != "Failed" || get(outcome, "1", "Next") != "RunFailed" || get(states, "Outcome", "Default") != "Succeeded" {
		t.Errorf("Outcome %v", states["Outcome"])
	}
}

func TestStateMachineSettings(t *testing.T) {
	tmpl := synth(t)
	_, props := only(t, tmpl, "AWS::StepFunctions::StateMachine")
	if get(props, "LoggingConfiguration", "Level") != "ERROR" || get(props, "LoggingConfiguration", "IncludeExecutionData") != false {
		t.Errorf("logging %v", props["LoggingConfiguration"])
	}
	if get(props, "TracingConfiguration", "Enabled") != true {
		t.Errorf("tracing %v", props["TracingConfiguration"])
	}
	if props["StateMachineType"] != "STANDARD" {
		t.Errorf("type %v", props["StateMachineType"])
	}
}

func TestFunctions(t *testing.T) {
	tmpl := synth(t)
	logGroups := resources(tmpl, "AWS::Logs::LogGroup")
	for id, r := range resources(tmpl, "AWS::Lambda::Function") {
		p := r["Properties"].(map[string]any)
		if p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" || fmt.Sprint(p["Architectures"]) != "[x86_64]" {
			t.Errorf("%s: runtime %v handler %v architectures %v", id, p["Runtime"], p["Handler"], p["Architectures"])
		}
		if get(p, "TracingConfig", "Mode") != "Active" {
			t.Errorf("%s: tracing %v", id, p["TracingConfig"])
		}
		lg, _ := get(p, "LoggingConfig", "LogGroup", "Ref").(string)
		if _, ok := logGroups[lg]; !ok {
			t.Errorf("%s: LoggingConfig %v names no log group of the stack", id, p["LoggingConfig"])
		}
		env := get(p, "Environment", "Variables").(map[string]any)
		for k, v := range map[string]any{"ALLOWED_ACCOUNTS": "111111111111,222222222222", "POLL_SECONDS": "7",
			"APPROVAL_POLL_SECONDS": "45", "APPROVERS": "AROAEXAMPLEEXAMPLE01:"} {
			if env[k] != v {
				t.Errorf("%s: %s=%v, want %v", id, k, env[k], v)
			}
		}
		// Sized from the runtime's measurements; the steps that call
		// CloudFormation capped (reserved_concurrency, default 10).
		want := map[string]string{"PrepareFunction": "1024 MB 300 s reserved 10", "AdvanceFunction": "1024 MB 120 s reserved 10",
			"ReportFunction": "256 MB 60 s reserved <nil>", "ContinueFunction": "128 MB 30 s reserved <nil>"}[trimHash(id)]
		if got := fmt.Sprintf("%v MB %v s reserved %v", p["MemorySize"], p["Timeout"], p["ReservedConcurrentExecutions"]); got != want {
			t.Errorf("%s: %s, want %s", id, got, want)
		}
		if get(tmpl, "Resources", lg, "Properties", "RetentionInDays") != 90.0 {
			t.Errorf("%s: log group %s retention %v", id, lg, get(tmpl, "Resources", lg, "Properties", "RetentionInDays"))
		}
		if env["STATE_BUCKET"] == nil || env["EVENT_BUS"] == nil {
			t.Errorf("%s: environment %v", id, env)
		}
	}
}

func TestBuckets(t *testing.T) {
	tmpl := synth(t)
	buckets := resources(tmpl, "AWS::S3::Bucket")
	if len(buckets) != 3 {
		t.Fatalf("%d buckets, want config, state and template", len(buckets))
	}
	var notifying []string
	for id, r := range buckets {
		p := r["Properties"].(map[string]any)
		if get(p, "VersioningConfiguration", "Status") != "Enabled" {
			t.Errorf("%s: not versioned", id)
		}
		for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
			if get(p, "PublicAccessBlockConfiguration", k) != true {
				t.Errorf("%s: %s not set", id, k)
			}
		}
		if get(p, "NotificationConfiguration", "EventBridgeConfiguration", "EventBridgeEnabled") == true {
			notifying = append(notifying, id)
		}
		if r["DeletionPolicy"] != "Retain" {
			t.Errorf("%s: DeletionPolicy %v", id, r["DeletionPolicy"])
		}
	}
	if len(notifying) != 1 || !strings.HasPrefix(notifying[0], "Configs") {
		t.Errorf("buckets sending events to EventBridge %v, want the config bucket only", notifying)
	}
	// Every bucket denies requests without TLS.
	policies := resources(tmpl, "AWS::S3::BucketPolicy")
	tlsOnly := map[string]bool{}
	for _, r := range policies {
		p := r["Properties"].(map[string]any)
		for _, st := range get(p, "PolicyDocument", "Statement").([]any) {
			if get(st, "Effect") == "Deny" && get(st, "Condition", "Bool", "aws:SecureTransport") == "false" {
				tlsOnly[get(p, "Bucket", "Ref").(string)] = true
			}
		}
	}
	for id := range buckets {
		if !tlsOnly[id] {
			t.Errorf("%s: no TLS-only policy", id)
		}
	}
}

func TestUploadRule(t *testing.T) {
	tmpl := synth(t)
	_, props := only(t, tmpl, "AWS::Events::Rule")
	pattern := props["EventPattern"].(map[string]any)
	if fmt.Sprint(pattern["source"], pattern["detail-type"]) != "[aws.s3] [Object Created]" {
		t.Errorf("pattern %v", pattern)
	}
	name := get(pattern, "detail", "bucket", "name", "0", "Ref")
	if s, _ := name.(string); !strings.HasPrefix(s, "Configs") {
		t.Errorf("rule's bucket %v, want the config bucket", name)
	}
	b, _ := json.Marshal(get(pattern, "detail", "object", "key"))
	if string(b) != `[{"wildcard":"deploy/*stacker.yaml"},{"wildcard":"deploy/*.zip"}]` {
		t.Errorf("key matchers %s", b)
	}
	if s, _ := get(props, "Targets", "0", "Arn", "Ref").(string); !strings.HasPrefix(s, "Runs") {
		t.Errorf("rule's target %v, want the state machine", props["Targets"])
	}
}

func TestSchedules(t *testing.T) {
	tmpl := synth(t)
	_, props := only(t, tmpl, "AWS::Scheduler::Schedule")
	if props["ScheduleExpression"] != "cron(0 3 * * ? *)" || props["ScheduleExpressionTimezone"] != "Europe/London" {
		t.Errorf("schedule %v %v", props["ScheduleExpression"], props["ScheduleExpressionTimezone"])
	}
	b, _ := json.Marshal(get(props, "Target", "Input"))
	for _, want := range []string{`\"action\":\"diff\"`, `\"schedule\":\"nightly\"`, `\"config\":\"s3://`, `/deploy/stacker.yaml\"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("schedule input %s lacks %s", b, want)
		}
	}
}

func TestOutputs(t *testing.T) {
	tmpl := synth(t)
	outs := tmpl["Outputs"].(map[string]any)
	for _, name := range []string{master.OutputConfigBucket, master.OutputStateBucket, master.OutputTemplateBucket,
		master.OutputStateMachineArn, master.OutputEventBus, master.OutputDeployerRoleArn} {
		if _, ok := outs[name]; !ok {
			t.Errorf("no output %s in %v", name, outs)
		}
	}
}

// statements are the statements of the policy documents of resources of a
// type (AWS::IAM::Policy: PolicyDocument; AWS::S3::BucketPolicy and
// AWS::KMS::Key: their documents) whose logical id starts with prefix.
func statements(t *testing.T, tmpl map[string]any, typ, prefix string) []map[string]any {
	t.Helper()
	field := map[string]string{"AWS::IAM::Policy": "PolicyDocument", "AWS::S3::BucketPolicy": "PolicyDocument", "AWS::KMS::Key": "KeyPolicy"}[typ]
	var out []map[string]any
	for id, r := range resources(tmpl, typ) {
		if !strings.HasPrefix(id, prefix) {
			continue
		}
		for _, st := range get(r, "Properties", field, "Statement").([]any) {
			out = append(out, st.(map[string]any))
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s %s* with statements", typ, prefix)
	}
	return out
}

// strs is a policy field that is a string or a list of strings (others are
// JSON).
func strs(v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, strs(e)...)
		}
		return out
	}
	b, _ := json.Marshal(v)
	return []string{string(b)}
}

func TestDeployerPolicy(t *testing.T) {
	tmpl := synth(t)
	// Exactly the runtime's calls: Sid -> actions -> what they apply to.
	want := map[string]string{
		"ReadConfigs":         "s3:GetObject,s3:GetObjectVersion on Configs/*",
		"ListConfigs":         "s3:ListBucket on Configs",
		"DecryptConfigs":      "kms:Decrypt on ConfigKey",
		"RunState":            "s3:GetObject,s3:PutObject on State/runs/*,State/locks/*",
		"ReleaseLocks":        "s3:DeleteObject on State/locks/*",
		"ReadFreeze":          "s3:GetObject on State/freeze",
		"ListState":           "s3:ListBucket on State",
		"WriteTemplates":      "s3:PutObject on Templates/stack_templates/*",
		"ListTemplates":       "s3:ListBucket on Templates",
		"AssumeMasterStacker": "sts:AssumeRole,sts:SetSourceIdentity on arn:AWS::Partition:iam::AWS::AccountId:role/Stacker",
		"StartRuns":           "states:StartExecution on arn:AWS::Partition:states:AWS::Region:AWS::AccountId:stateMachine:AWS::StackName-runs",
		"DescribeRuns":        "states:DescribeExecution on arn:AWS::Partition:states:AWS::Region:AWS::AccountId:execution:AWS::StackName-runs:*",
		"PutRunEvents":        "events:PutEvents on Events",
		"WriteLogsPrepare":    "logs:CreateLogStream,logs:PutLogEvents on PrepareLogs",
		"WriteLogsAdvance":    "logs:CreateLogStream,logs:PutLogEvents on AdvanceLogs",
		"WriteLogsReport":     "logs:CreateLogStream,logs:PutLogEvents on ReportLogs",
		"WriteLogsContinue":   "logs:CreateLogStream,logs:PutLogEvents on ContinueLogs",
		// Lambda's active tracing; X-Ray has no resource-level permissions.
		"": "xray:PutTraceSegments,xray:PutTelemetryRecords on *",
	}
	got := map[string]string{}
	for _, st := range statements(t, tmpl, "AWS::IAM::Policy", "DeployerRole") {
		if st["Effect"] != "Allow" || st["NotAction"] != nil || st["NotResource"] != nil || st["Condition"] != nil {
			t.Errorf("statement %v", st)
		}
		for _, a := range strs(st["Action"]) {
			if strings.Contains(a, "*") {
				t.Errorf("wildcard action %s", a)
			}
		}
		var res []string
		for _, r := range list(st["Resource"]) {
			res = append(res, flatten(r))
		}
		sid, _ := st["Sid"].(string)
		got[sid] = strings.Join(strs(st["Action"]), ",") + " on " + strings.Join(res, ",")
	}
	for sid, w := range want {
		if got[sid] != w {
			t.Errorf("%q: %s, want %s", sid, got[sid], w)
		}
	}
	for sid, g := range got {
		if _, ok := want[sid]; !ok {
			t.Errorf("unexpected statement %q: %s", sid, g)
		}
	}
}

// list is a policy field as a list.
func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// flatten writes a CloudFormation value as text: Ref and GetAtt X.Arn as X
// without its hash, Fn::Join joined.
func flatten(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if r, ok := x["Ref"].(string); ok {
			return trimHash(r)
		}
		if att, ok := x["Fn::GetAtt"].([]any); ok {
			return trimHash(att[0].(string))
		}
		if j, ok := x["Fn::Join"].([]any); ok {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, flatten(p))
			}
			return strings.Join(parts, j[0].(string))
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var hashSuffix = regexp.MustCompile(`[0-9A-F]{8}$`)

func trimHash(id string) string { return hashSuffix.ReplaceAllString(id, "") }

func TestConfigBucket(t *testing.T) {
	tmpl := synth(t)
	keyID, key := only(t, tmpl, "AWS::KMS::Key")
	if key["EnableKeyRotation"] != true {
		t.Errorf("key rotation %v", key["EnableKeyRotation"])
	}
	if r := resources(tmpl, "AWS::KMS::Key")[keyID]; r["DeletionPolicy"] != "Retain" {
		t.Errorf("key DeletionPolicy %v", r["DeletionPolicy"])
	}
	for id, r := range resources(tmpl, "AWS::S3::Bucket") {
		p := r["Properties"].(map[string]any)
		enc := get(p, "BucketEncryption", "ServerSideEncryptionConfiguration", "0")
		switch trimHash(id) {
		case "Configs":
			if get(enc, "ServerSideEncryptionByDefault", "SSEAlgorithm") != "aws:kms" || flatten(get(enc, "ServerSideEncryptionByDefault", "KMSMasterKeyID")) != "ConfigKey" {
				t.Errorf("config bucket encryption %v, want SSE-KMS with the config key", enc)
			}
		default:
			// CloudFormation in the other accounts reads templates with the
			// bucket policy alone: no customer key.
			if get(enc, "ServerSideEncryptionByDefault", "SSEAlgorithm") != "AES256" {
				t.Errorf("%s encryption %v, want SSE-S3", id, enc)
			}
		}
		rule := get(p, "LifecycleConfiguration", "Rules", "0")
		if get(rule, "Status") != "Enabled" || get(rule, "NoncurrentVersionExpiration", "NoncurrentDays") != float64(master.NoncurrentVersionDays) {
			t.Errorf("%s lifecycle %v, want old versions to expire", id, rule)
		}
	}
	// The config writer outside the master account may use the key.
	var grant bool
	for _, st := range statements(t, tmpl, "AWS::KMS::Key", "ConfigKey") {
		if fmt.Sprint(strs(get(st, "Principal", "AWS"))) == "[arn:aws:iam::222222222222:role/ci]" &&
			fmt.Sprint(strs(st["Action"])) == "[kms:GenerateDataKey kms:Decrypt]" {
			grant = true
		}
	}
	if !grant {
		t.Errorf("the key policy does not let the writer encrypt")
	}
}

func TestTemplateBucketPolicy(t *testing.T) {
	tmpl := synth(t)
	var reads []map[string]any
	for _, st := range statements(t, tmpl, "AWS::S3::BucketPolicy", "TemplatesPolicy") {
		if st["Effect"] == "Allow" {
			reads = append(reads, st)
		}
	}
	if len(reads) != 1 {
		t.Fatalf("%d Allow statements, want the Stacker roles' read", len(reads))
	}
	st := reads[0]
	if fmt.Sprint(strs(st["Action"])) != "[s3:GetObject]" || flatten(st["Resource"]) != "Templates/stack_templates/*" {
		t.Errorf("template read %v on %v, want s3:GetObject on template keys", st["Action"], flatten(st["Resource"]))
	}
	var roles []string
	for _, r := range get(st, "Condition", "ArnEquals", "aws:PrincipalArn").([]any) {
		roles = append(roles, flatten(r))
	}
	if fmt.Sprint(roles) != "[arn:AWS::Partition:iam::111111111111:role/Stacker arn:AWS::Partition:iam::222222222222:role/Stacker]" {
		t.Errorf("template readers %v, want the allowed accounts' Stacker roles", roles)
	}
}

func TestWriters(t *testing.T) {
	tmpl := synth(t)
	for bucket, want := range map[string]string{
		"ConfigsPolicy": "Configs/*",
		"StatePolicy":   "State/runs/*/approvals/*,State/freeze",
	} {
		var found bool
		for _, st := range statements(t, tmpl, "AWS::S3::BucketPolicy", bucket) {
			if st["Effect"] != "Deny" || st["Sid"] == nil {
				continue
			}
			var res []string
			for _, r := range list(st["Resource"]) {
				res = append(res, flatten(r))
			}
			found = found || fmt.Sprint(strs(get(st, "Principal", "AWS"))) == "[*]" &&
				fmt.Sprint(strs(st["Action"])) == "[s3:PutObject s3:DeleteObject s3:DeleteObjectVersion]" &&
				strings.Join(res, ",") == want &&
				fmt.Sprint(strs(get(st, "Condition", "ArnNotLike", "aws:PrincipalArn"))) == "[arn:aws:iam::222222222222:role/ci]"
		}
		if !found {
			t.Errorf("%s: no Deny of writes to %s for principals outside config_writers", bucket, want)
		}
	}
}

func TestNag(t *testing.T) {
	synth(t)
	for _, f := range nagFindings {
		t.Error(f)
	}
}
