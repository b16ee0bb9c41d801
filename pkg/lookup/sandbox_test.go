package lookup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/stackerless/stackerless/pkg/sandbox"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// sandboxClients serves real SDK clients against the sandbox; a profile names
// a sandbox account ("" = master), as the engine's profiles pick accounts.
type sandboxClients struct {
	sb *sandbox.Sandbox
}

func (c sandboxClients) config(profile, region string) aws.Config {
	if profile == "" {
		profile = "master"
	}
	cfg := c.sb.AWSConfig(profile)
	cfg.Region = region
	return cfg
}

func (c sandboxClients) SSM(_ context.Context, profile, region string) (SSMAPI, error) {
	return ssm.NewFromConfig(c.config(profile, region)), nil
}

func (c sandboxClients) KMS(context.Context, string, string) (KMSAPI, error) {
	return nil, errors.New("kms is not in the sandbox")
}

func (c sandboxClients) EC2(context.Context, string, string) (EC2API, error) {
	return nil, errors.New("ec2 is not in the sandbox")
}

func (c sandboxClients) DynamoDB(context.Context, string, string) (DynamoDBAPI, error) {
	return nil, errors.New("dynamodb is not in the sandbox")
}

// Outputs implements OutputReader with DescribeStacks, as the engine does.
func (c sandboxClients) Outputs(ctx context.Context, profile, region, stack string) (map[string]string, error) {
	out, err := cloudformation.NewFromConfig(c.config(profile, region)).DescribeStacks(ctx,
		&cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "ValidationError" && strings.Contains(ae.ErrorMessage(), "does not exist") {
			return nil, fmt.Errorf("%s: %w", stack, ErrStackNotFound)
		}
		return nil, fmt.Errorf("describe stack %s: %w", stack, err)
	}
	outs := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		outs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return outs, nil
}

func TestSSMStoreSandbox(t *testing.T) {
	sb := sandboxtest.Start(t)
	clients := sandboxClients{sb: sb}
	ctx := t.Context()
	put := func(profile, region, name, value string) {
		t.Helper()
		_, err := ssm.NewFromConfig(clients.config(profile, region)).PutParameter(ctx, &ssm.PutParameterInput{
			Name: aws.String(name), Value: aws.String(value), Type: ssmtypes.ParameterTypeSecureString})
		if err != nil {
			t.Fatalf("put parameter: %v", err)
		}
	}
	put("prod", "us-east-1", "/app/db", "prod-secret")
	put("prod", "eu-west-1", "/app/db", "prod-eu-secret")
	put("master", "us-east-1", "/app/db", "master-secret")

	h := SSMStoreHandler{Clients: clients}
	runHandlerCases(t, []handlerCase{
		// The consuming stack's account, not the default one (stacker issue #743).
		{name: "consumer's account, us-east-1 default", h: h,
			call: LookupCall{Input: "/app/db", Profile: "prod", Region: "eu-west-1"}, want: "prod-secret"},
		{name: "region given", h: h, call: LookupCall{Input: "eu-west-1@/app/db", Profile: "prod"}, want: "prod-eu-secret"},
		{name: "default profile", h: h, call: LookupCall{Input: "/app/db"}, want: "master-secret"},
		{name: "missing in that account", h: h, call: LookupCall{Input: "eu-west-1@/app/db", Profile: "stage"},
			wantErr: `SSMKey "/app/db" does not exist in region eu-west-1`},
	})
}

func TestXrefSandbox(t *testing.T) {
	sb := sandboxtest.Start(t)
	clients := sandboxClients{sb: sb}
	ctx := t.Context()
	// The same stack name in two accounts with different outputs: a lookup
	// that read the default (master) credentials instead of the consuming
	// stack's profile would get the wrong value (stacker issue #743).
	for profile, zone := range map[string]string{"prod": "Z-prod", "master": "Z-master"} {
		cfn := cloudformation.NewFromConfig(clients.config(profile, "us-east-1"))
		body := `{"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
			"Outputs": {"ZoneId": {"Value": "` + zone + `"}}}`
		_, err := cfn.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("corp-dns"), TemplateBody: aws.String(body)})
		if err != nil {
			t.Fatalf("create stack in %s: %v", profile, err)
		}
		waitComplete(ctx, t, cfn, "corp-dns")
	}

	xref := XrefHandler{Reader: clients}
	rxref := RxrefHandler{Reader: clients, Qualify: func(n string) string { return "corp-" + n }}
	runHandlerCases(t, []handlerCase{
		{name: "xref in the consumer's account", h: xref,
			call: LookupCall{Input: "corp-dns::ZoneId", Profile: "prod", Region: "us-east-1"}, want: "Z-prod"},
		{name: "rxref in the consumer's account", h: rxref,
			call: LookupCall{Input: "dns::ZoneId", Profile: "prod", Region: "us-east-1"}, want: "Z-prod"},
		{name: "default credentials are master's", h: xref,
			call: LookupCall{Input: "corp-dns::ZoneId", Region: "us-east-1"}, want: "Z-master"},
		{name: "other account has no such stack", h: xref,
			call: LookupCall{Input: "corp-dns::ZoneId", Profile: "stage", Region: "us-east-1"}, wantErr: `Stack: "corp-dns" does not exist`},
		{name: "other region has no such stack", h: rxref,
			call: LookupCall{Input: "dns::ZoneId", Profile: "prod", Region: "eu-west-1"}, wantErr: `Stack: "corp-dns" does not exist`},
		{name: "missing output", h: xref,
			call: LookupCall{Input: "corp-dns::Nope", Profile: "prod", Region: "us-east-1"}, wantErr: "Output Nope does not exist on stack corp-dns"},
	})
}

func waitComplete(ctx context.Context, t *testing.T, cfn *cloudformation.Client, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		out, err := cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
		if err != nil {
			t.Fatalf("describe stack: %v", err)
		}
		switch st := out.Stacks[0].StackStatus; st {
		case cfntypes.StackStatusCreateComplete:
			return
		case cfntypes.StackStatusCreateInProgress:
			time.Sleep(20 * time.Millisecond)
		default:
			t.Fatalf("stack %s: %s", name, st)
		}
	}
	t.Fatalf("stack %s not complete in time", name)
}
