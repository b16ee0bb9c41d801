package sandbox_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

// A role session without ssm:GetParameter is refused the way SSM refuses:
// AccessDeniedException with a 400, not the Query services' AccessDenied.
func TestJSONServicesAccessDenied(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	master, _ := sb.Account("master")
	_, err := iam.NewFromConfig(sb.AWSConfig("master")).CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String("no-ssm"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + master.ID + `:root"},"Action":"sts:AssumeRole"}]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ssm.NewFromConfig(sb.AWSConfig("master")).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String("/p"), Value: aws.String("v"), Type: "String",
	}); err != nil {
		t.Fatal(err)
	}
	creds := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(sb.AWSConfig("master")), "arn:aws:iam::"+master.ID+":role/no-ssm")
	_, err = ssm.NewFromConfig(sb.ConfigWith(aws.NewCredentialsCache(creds))).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/p")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("GetParameter without permission: %v", err)
	}
	var respErr *awshttp.ResponseError
	if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != 400 {
		t.Errorf("status = %v, want 400", err)
	}
}
