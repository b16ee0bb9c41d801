package ssm_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	issm "github.com/stackerless/stackerless/pkg/sandbox/internal/ssm"
	"github.com/stackerless/stackerless/pkg/sandbox/sandboxtest"
)

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	var e *awsapi.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestParameters(t *testing.T) {
	sb := sandboxtest.Start(t)
	ctx := t.Context()
	c := ssm.NewFromConfig(sb.AWSConfig("master"), func(o *ssm.Options) { o.RetryMaxAttempts = 1 })
	prod := ssm.NewFromConfig(sb.AWSConfig("prod"), func(o *ssm.Options) { o.RetryMaxAttempts = 1 })

	put := func(name, value string, typ types.ParameterType, overwrite bool) (*ssm.PutParameterOutput, error) {
		return c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value), Type: typ, Overwrite: aws.Bool(overwrite)})
	}
	if out, err := put("/app/db", "v1", types.ParameterTypeString, false); err != nil || out.Version != 1 {
		t.Fatalf("PutParameter: %v %+v", err, out)
	}
	if _, err := put("/app/db", "v2", types.ParameterTypeString, false); code(err) != "ParameterAlreadyExists" {
		t.Fatalf("PutParameter existing without Overwrite: %v", err)
	}
	var exists *types.ParameterAlreadyExists
	if _, err := put("/app/db", "v2", types.ParameterTypeString, false); !errors.As(err, &exists) {
		t.Fatalf("error is not a typed ParameterAlreadyExists: %T", err)
	}
	if out, err := put("/app/db", "v2", "", true); err != nil || out.Version != 2 {
		t.Fatalf("PutParameter Overwrite: %v %+v", err, out)
	}
	if _, err := put("/app/secret", "hunter2", types.ParameterTypeSecureString, false); err != nil {
		t.Fatal(err)
	}
	if _, err := put("list", "a,b", types.ParameterTypeStringList, false); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, ref string
		decrypt   bool
		want      string
		version   int64
		typ       types.ParameterType
		errCode   string
	}{
		{name: "latest", ref: "/app/db", want: "v2", version: 2, typ: types.ParameterTypeString},
		{name: "version selector", ref: "/app/db:1", want: "v1", version: 1, typ: types.ParameterTypeString},
		{name: "string list", ref: "list", want: "a,b", version: 1, typ: types.ParameterTypeStringList},
		{name: "secure decrypted", ref: "/app/secret", decrypt: true, want: "hunter2", version: 1, typ: types.ParameterTypeSecureString},
		{name: "missing", ref: "/nope", errCode: "ParameterNotFound"},
		{name: "missing version", ref: "/app/db:9", errCode: "ParameterVersionNotFound"},
		{name: "bad name", ref: "a/b", errCode: "ValidationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(tt.ref), WithDecryption: aws.Bool(tt.decrypt)})
			if tt.errCode != "" {
				if code(err) != tt.errCode {
					t.Fatalf("error = %v, want %s", err, tt.errCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := out.Parameter
			if aws.ToString(p.Value) != tt.want || p.Version != tt.version || p.Type != tt.typ || p.LastModifiedDate == nil {
				t.Fatalf("got %+v", p)
			}
		})
	}
	t.Run("secure without decryption", func(t *testing.T) {
		out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/secret")})
		if err != nil {
			t.Fatal(err)
		}
		if v := aws.ToString(out.Parameter.Value); v == "hunter2" || v == "" {
			t.Fatalf("SecureString returned %q without decryption", v)
		}
	})
	t.Run("other account", func(t *testing.T) {
		if _, err := prod.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/db")}); code(err) != "ParameterNotFound" {
			t.Fatalf("prod sees master's parameter: %v", err)
		}
	})
	t.Run("GetParameters", func(t *testing.T) {
		out, err := c.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"/app/db", "/nope", "/app/secret"}, WithDecryption: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Parameters) != 2 || len(out.InvalidParameters) != 1 || out.InvalidParameters[0] != "/nope" {
			t.Fatalf("got %+v", out)
		}
		if aws.ToString(out.Parameters[1].Value) != "hunter2" {
			t.Errorf("secure value = %q", aws.ToString(out.Parameters[1].Value))
		}
	})
	t.Run("delete", func(t *testing.T) {
		if _, err := c.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("list")}); err != nil {
			t.Fatal(err)
		}
		_, err := c.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("list")})
		var nf *types.ParameterNotFound
		if !errors.As(err, &nf) {
			t.Fatalf("second delete: %v", err)
		}
	})
}

func TestAdminMethods(t *testing.T) {
	s := issm.New(nil)
	if v, err := s.PutParameterFor("111111111111", "us-east-1", "/x", "SecureString", "s3cret", "d", false); err != nil || v != 1 {
		t.Fatalf("PutParameterFor: %v %d", err, v)
	}
	if _, err := s.PutParameterFor("111111111111", "us-east-1", "/x", "String", "y", "", false); code(err) != "ParameterAlreadyExists" {
		t.Fatalf("PutParameterFor existing: %v", err)
	}
	if v, err := s.PutParameterFor("111111111111", "us-east-1", "/x", "", "y", "", true); err != nil || v != 2 {
		t.Fatalf("PutParameterFor overwrite: %v %d", err, v)
	}
	val, typ, err := s.GetParameterFor("111111111111", "us-east-1", "/x")
	if err != nil || val != "y" || typ != "SecureString" {
		t.Fatalf("GetParameterFor = %q %q %v", val, typ, err)
	}
	if _, _, err := s.GetParameterFor("111111111111", "eu-west-1", "/x"); code(err) != "ParameterNotFound" {
		t.Fatalf("other region: %v", err)
	}
	if err := s.DeleteParameterFor("111111111111", "us-east-1", "/x"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteParameterFor("111111111111", "us-east-1", "/x"); code(err) != "ParameterNotFound" {
		t.Fatalf("delete twice: %v", err)
	}
	if _, err := s.PutParameterFor("1", "r", "/y", "Bogus", "v", "", false); code(err) != "ValidationException" {
		t.Fatalf("bad type: %v", err)
	}
}
