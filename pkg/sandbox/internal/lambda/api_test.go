package lambda_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

func TestCreateFunctionBadInput(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	zip := tinyZip(t)
	untrusted := createRoleWithTrust(t, w, "not-for-lambda", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"states.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
	valid := func() *lambda.CreateFunctionInput {
		return &lambda.CreateFunctionInput{FunctionName: aws.String("fn"), Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
			Role: aws.String(w.role), Code: &types.FunctionCode{ZipFile: zip}}
	}
	bigEnv := map[string]string{"BIG": strings.Repeat("v", 4100)}
	tests := []struct {
		name string
		edit func(*lambda.CreateFunctionInput)
		opts []func(*lambda.Options)
		code string
		msg  string
	}{
		{"unknown runtime", func(in *lambda.CreateFunctionInput) { in.Runtime = "go2.x" }, nil, "ValidationException", "Value 'go2.x' at 'runtime' failed to satisfy constraint"},
		{"deprecated runtime", func(in *lambda.CreateFunctionInput) { in.Runtime = types.RuntimeGo1x }, nil, "InvalidParameterValueException", "The runtime parameter of go1.x is no longer supported"},
		{"no handler", func(in *lambda.CreateFunctionInput) { in.Handler = nil }, nil, "InvalidParameterValueException", "Runtime and Handler are mandatory parameters"},
		{"timeout over 900", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(901) }, nil, "ValidationException", "Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900"},
		{"memory under 128", func(in *lambda.CreateFunctionInput) { in.MemorySize = aws.Int32(64) }, nil, "ValidationException", "Value '64' at 'memorySize'"},
		{"bad name", func(in *lambda.CreateFunctionInput) { in.FunctionName = aws.String("my function") }, nil, "ValidationException", "at 'functionName' failed to satisfy constraint"},
		{"two architectures", func(in *lambda.CreateFunctionInput) { in.Architectures = []types.Architecture{"x86_64", "arm64"} }, nil, "ValidationException", "Member must have length less than or equal to 1"},
		{"reserved variable", func(in *lambda.CreateFunctionInput) {
			in.Environment = &types.Environment{Variables: map[string]string{"AWS_REGION": "eu-west-1"}}
		}, nil, "InvalidParameterValueException", "Reserved keys used in this request: AWS_REGION"},
		{"variables over 4 KB", func(in *lambda.CreateFunctionInput) { in.Environment = &types.Environment{Variables: bigEnv} }, nil, "InvalidParameterValueException", "exceeded the 4KB limit"},
		{"not a zip", func(in *lambda.CreateFunctionInput) { in.Code.ZipFile = []byte("plain text") }, nil, "InvalidParameterValueException", "Could not unzip uploaded file"},
		{"no code", func(in *lambda.CreateFunctionInput) { in.Code = &types.FunctionCode{} }, nil, "InvalidParameterValueException", "Please provide a source for function code."},
		{"code in a missing bucket", func(in *lambda.CreateFunctionInput) {
			in.Code = &types.FunctionCode{S3Bucket: aws.String("no-such-bucket"), S3Key: aws.String("fn.zip")}
		}, nil, "InvalidParameterValueException", "Error occurred while GetObject. S3 Error Code: NoSuchBucket."},
		{"malformed role", func(in *lambda.CreateFunctionInput) { in.Role = aws.String("fn-role") }, nil, "ValidationException", "at 'role' failed to satisfy constraint"},
		{"role Lambda cannot assume", func(in *lambda.CreateFunctionInput) { in.Role = aws.String(untrusted) }, nil, "InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda."},
		{"missing role", func(in *lambda.CreateFunctionInput) { in.Role = aws.String("arn:aws:iam::111111111111:role/nope") }, nil, "InvalidParameterValueException", "cannot be assumed by Lambda"},
		{"container image", func(in *lambda.CreateFunctionInput) { in.PackageType = types.PackageTypeImage }, nil, "InvalidParameterValueException", "Zip functions only"},
		{"unknown member", nil, []func(*lambda.Options){func(o *lambda.Options) {
			o.APIOptions = append(o.APIOptions, sandboxtest.ReplaceBody(`{"FunctionName":"fn","Bogus":true}`))
		}}, "ValidationException", `Unknown parameter in input: "Bogus", must be one of: Architectures, `},
		{"malformed body", nil, []func(*lambda.Options){func(o *lambda.Options) {
			o.APIOptions = append(o.APIOptions, sandboxtest.ReplaceBody(`{"FunctionName":`))
		}}, "InvalidRequestContentException", "Could not parse request body into json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := valid()
			if tt.edit != nil {
				tt.edit(in)
			}
			_, err := w.client.CreateFunction(ctx, in, tt.opts...)
			if apiCode(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("got %v, want %s: %s", err, tt.code, tt.msg)
			}
		})
	}
	// Nothing was created along the way.
	list, err := w.client.ListFunctions(ctx, &lambda.ListFunctionsInput{})
	if err != nil || len(list.Functions) != 0 {
		t.Fatalf("ListFunctions after refused creates = %+v, %v", list, err)
	}
	// A second function of the same name conflicts.
	if _, err := w.client.CreateFunction(ctx, valid()); err != nil {
		t.Fatal(err)
	}
	_, err = w.client.CreateFunction(ctx, valid())
	if apiCode(err) != "ResourceConflictException" || !strings.Contains(err.Error(), "Function already exist: fn") {
		t.Errorf("duplicate CreateFunction: %v", err)
	}
}

func createRoleWithTrust(t *testing.T, w *world, name, trust string) string {
	t.Helper()
	out, err := iam.NewFromConfig(w.sb.AWSConfig("master")).CreateRole(t.Context(), &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Role.Arn)
}

func TestFunctionLifecycle(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	out, err := w.client.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("life"), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: aws.String(w.role), Code: &types.FunctionCode{ZipFile: sandboxtest.GoLambdaZip(t, fnDir)},
		Description: aws.String("first"), Tags: map[string]string{"team": "platform"}})
	if err != nil {
		t.Fatal(err)
	}
	if out.State != types.StatePending || out.Timeout == nil || *out.Timeout != 3 || *out.MemorySize != 128 || out.Architectures[0] != types.ArchitectureX8664 ||
		aws.ToString(out.FunctionArn) != "arn:aws:lambda:us-east-1:111111111111:function:life" || aws.ToString(out.LoggingConfig.LogGroup) != "/aws/lambda/life" {
		t.Errorf("CreateFunction = %+v", out)
	}
	waitActive(t, w.client, "life")

	got, err := w.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("life")})
	if err != nil {
		t.Fatal(err)
	}
	if got.Tags["team"] != "platform" || aws.ToString(got.Code.RepositoryType) != "S3" || aws.ToString(got.Configuration.CodeSha256) != aws.ToString(out.CodeSha256) {
		t.Errorf("GetFunction = %+v", got)
	}
	// Code.Location serves the package that was uploaded.
	resp, err := http.Get(aws.ToString(got.Code.Location))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != string(sandboxtest.GoLambdaZip(t, fnDir)) {
		t.Errorf("Code.Location served %d bytes, not the package", len(body))
	}

	upd, err := w.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("life"),
		Environment: &types.Environment{Variables: map[string]string{"MODE": "two"}}, Timeout: aws.Int32(10)})
	if err != nil || upd.LastUpdateStatus != types.LastUpdateStatusInProgress || aws.ToInt32(upd.Timeout) != 10 || aws.ToString(upd.Description) != "first" {
		t.Fatalf("UpdateFunctionConfiguration = %+v, %v", upd, err)
	}
	waitUpdated(t, w.client, "life")
	var env struct{ Env map[string]string }
	w.invoke(t, "life", map[string]string{"op": "context"}, &env)
	if env.Env["MODE"] != "two" {
		t.Errorf("the new configuration did not reach the function: %v", env.Env["MODE"])
	}
	_, err = w.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("life"), RevisionId: aws.String("stale")})
	if apiCode(err) != "PreconditionFailedException" {
		t.Errorf("update with a stale revision: %v", err)
	}

	// Versions and aliases.
	v1, err := w.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("life"), Description: aws.String("v1")})
	if err != nil || aws.ToString(v1.Version) != "1" || aws.ToString(v1.FunctionArn) != "arn:aws:lambda:us-east-1:111111111111:function:life:1" {
		t.Fatalf("PublishVersion = %+v, %v", v1, err)
	}
	again, err := w.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("life")})
	if err != nil || aws.ToString(again.Version) != "1" {
		t.Errorf("publishing an unchanged function: %+v, %v", again, err)
	}
	alias, err := w.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("life"), Name: aws.String("live"), FunctionVersion: aws.String("1")})
	if err != nil || aws.ToString(alias.AliasArn) != "arn:aws:lambda:us-east-1:111111111111:function:life:live" {
		t.Fatalf("CreateAlias = %+v, %v", alias, err)
	}
	res, err := w.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("life:live"), Payload: []byte(`{"op":"echo"}`)})
	if err != nil || aws.ToString(res.ExecutedVersion) != "1" {
		t.Errorf("Invoke by alias = %+v, %v", res, err)
	}
	_, err = w.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("life"), Qualifier: aws.String("1")})
	if apiCode(err) != "ResourceConflictException" || !strings.Contains(err.Error(), "aliases reference it: [live]") {
		t.Errorf("deleting an aliased version: %v", err)
	}
	versions, err := w.client.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("life")})
	if err != nil || len(versions.Versions) != 2 || aws.ToString(versions.Versions[0].Version) != "$LATEST" || aws.ToString(versions.Versions[1].Version) != "1" {
		t.Errorf("ListVersionsByFunction = %+v, %v", versions, err)
	}

	// Listing pages by name.
	for _, n := range []string{"b-fn", "a-fn"} {
		w.create(t, n)
	}
	var names []string
	p := lambda.NewListFunctionsPaginator(w.client, &lambda.ListFunctionsInput{MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page.Functions {
			names = append(names, aws.ToString(f.FunctionName))
		}
	}
	if strings.Join(names, ",") != "a-fn,b-fn,life" {
		t.Errorf("ListFunctions = %v", names)
	}

	if _, err := w.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("life")}); err != nil {
		t.Fatal(err)
	}
	_, err = w.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("life")})
	var nf *types.ResourceNotFoundException
	if !errorsAs(err, &nf) || !strings.Contains(err.Error(), "Function not found: arn:aws:lambda:us-east-1:111111111111:function:life") {
		t.Errorf("GetFunctionConfiguration after delete: %v", err)
	}
}

// TestStatesAsAWS: calls that do not wait for a function to be Active, or
// for an update to end, fail as on AWS.
func TestStatesAsAWS(t *testing.T) {
	w := newWorld(t, func(o *sandbox.Options) { o.LambdaStateDelay = time.Hour })
	ctx := t.Context()
	out, err := w.client.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("slow"), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Role: aws.String(w.role), Code: &types.FunctionCode{ZipFile: tinyZip(t)}})
	if err != nil || out.State != types.StatePending || out.StateReasonCode != types.StateReasonCodeCreating || out.LastUpdateStatus != types.LastUpdateStatusInProgress {
		t.Fatalf("CreateFunction = %+v, %v", out, err)
	}
	_, err = w.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("slow")})
	if apiCode(err) != "ResourceConflictException" || !strings.Contains(err.Error(), "The function is currently in the following state: Pending") {
		t.Errorf("Invoke while Pending: %v", err)
	}
	_, err = w.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("slow"), ZipFile: tinyZip(t)})
	if apiCode(err) != "ResourceConflictException" || !strings.Contains(err.Error(), "An update is in progress for resource: arn:aws:lambda:us-east-1:111111111111:function:slow") {
		t.Errorf("update during an update: %v", err)
	}
}

// tinyZip is a package whose bootstrap is a shell script: enough where the
// code is not run.
func tinyZip(t *testing.T) []byte {
	return sandboxtest.Zip(t, sandboxtest.ZipFile{Name: "bootstrap", Mode: 0o755, Data: []byte("#!/bin/sh\nexit 3\n")})
}

func TestResourcePolicy(t *testing.T) {
	w := newWorld(t)
	w.create(t, "shared")
	ctx := t.Context()
	prod, _ := w.sb.Account("prod")
	prodClient := lambda.NewFromConfig(w.sb.AWSConfig("prod"), noRetry)
	arn := "arn:aws:lambda:us-east-1:111111111111:function:shared"
	invokeAsProd := func() error {
		_, err := prodClient.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(arn), Payload: []byte(`{"op":"echo"}`)})
		return err
	}
	err := invokeAsProd()
	if apiCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "arn:aws:iam::222222222222:root is not authorized to perform: lambda:InvokeFunction on resource: "+arn) {
		t.Fatalf("another account without a resource policy: %v", err)
	}
	_, err = w.client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("shared")})
	if apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("GetPolicy without a policy: %v", err)
	}
	st, err := w.client.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("shared"), StatementId: aws.String("prod"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String(prod.ID)})
	if err != nil {
		t.Fatal(err)
	}
	var stmt map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(st.Statement)), &stmt); err != nil || stmt["Resource"] != arn ||
		stmt["Principal"].(map[string]any)["AWS"] != "arn:aws:iam::222222222222:root" {
		t.Errorf("AddPermission statement = %s (%v)", aws.ToString(st.Statement), err)
	}
	if err := invokeAsProd(); err != nil {
		t.Errorf("another account allowed by the resource policy: %v", err)
	}
	_, err = w.client.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("shared"), StatementId: aws.String("prod"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String(prod.ID)})
	if apiCode(err) != "ResourceConflictException" {
		t.Errorf("duplicate statement id: %v", err)
	}
	_, err = w.client.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("shared"), StatementId: aws.String("bad"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("not a principal")})
	if apiCode(err) != "InvalidParameterValueException" {
		t.Errorf("bad principal: %v", err)
	}
	pol, err := w.client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("shared")})
	if err != nil || !strings.Contains(aws.ToString(pol.Policy), `"Sid":"prod"`) {
		t.Errorf("GetPolicy = %+v, %v", pol, err)
	}
	if _, err := w.client.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("shared"), StatementId: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	if apiCode(invokeAsProd()) != "AccessDeniedException" {
		t.Error("the removed statement still allows")
	}
	_, err = w.client.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("shared"), StatementId: aws.String("prod")})
	if apiCode(err) != "ResourceNotFoundException" || !strings.Contains(err.Error(), "Statement prod is not found in resource policy.") {
		t.Errorf("removing a missing statement: %v", err)
	}
}
