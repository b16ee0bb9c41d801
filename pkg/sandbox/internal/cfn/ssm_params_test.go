package cfn

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// TestSSMValueTypes resolves the list and AWS-specific forms of
// AWS::SSM::Parameter::Value<...> from the parameter store.
func TestSSMValueTypes(t *testing.T) {
	e := newEnv(t, 20*time.Millisecond)
	c := e.client(acctA)
	ctx := context.Background()
	for name, v := range map[string][2]string{
		"/app/list":  {"a,b,c", "StringList"},
		"/app/cdl":   {"x,y", "StringList"},
		"/app/image": {"ami-0123456789abcdef0", "String"},
	} {
		if _, err := e.ssm.PutParameterFor(acctA, "us-east-1", name, v[1], v[0], "", false); err != nil {
			t.Fatal(err)
		}
	}
	tpl := `{"Parameters":{` +
		`"L":{"Type":"AWS::SSM::Parameter::Value<List<String>>","Default":"/app/list"},` +
		`"C":{"Type":"AWS::SSM::Parameter::Value<CommaDelimitedList>","Default":"/app/cdl"},` +
		`"I":{"Type":"AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>","Default":"/app/image"}},` +
		`"Resources":{"H":{"Type":"AWS::CloudFormation::WaitConditionHandle"}},` +
		`"Outputs":{"L":{"Value":{"Fn::Join":["+",{"Ref":"L"}]}},"L1":{"Value":{"Fn::Select":[1,{"Ref":"L"}]}},` +
		`"C":{"Value":{"Fn::Join":["+",{"Ref":"C"}]}},"I":{"Value":{"Ref":"I"}}}}`
	if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("types"), TemplateBody: aws.String(tpl)}); err != nil {
		t.Fatal(err)
	}
	st := waitSettled(t, c, "types")
	if st.StackStatus != types.StackStatusCreateComplete {
		t.Fatalf("status %s %s", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	want := map[string]string{"L": "a+b+c", "L1": "b", "C": "x+y", "I": "ami-0123456789abcdef0"}
	got := outputs(st)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("output %s = %q, want %q", k, got[k], v)
		}
	}
	resolved := map[string]string{}
	for _, p := range st.Parameters {
		resolved[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue) + "=" + aws.ToString(p.ResolvedValue)
	}
	for k, v := range map[string]string{"L": "/app/list=a,b,c", "C": "/app/cdl=x,y", "I": "/app/image=ami-0123456789abcdef0"} {
		if resolved[k] != v {
			t.Errorf("parameter %s shown as %q, want %q", k, resolved[k], v)
		}
	}
}

// TestSSMSecureStringParameter: CloudFormation refuses a SecureString behind an
// SSM parameter type at every entry point, and never shows its value.
func TestSSMSecureStringParameter(t *testing.T) {
	e := newEnv(t, 20*time.Millisecond)
	c := e.client(acctA)
	ctx := context.Background()
	if _, err := e.ssm.PutParameterFor(acctA, "us-east-1", "/cfg/sec", "SecureString", "topsecret", "", false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ssm.PutParameterFor(acctA, "us-east-1", "/cfg/plain", "String", "visible", "", false); err != nil {
		t.Fatal(err)
	}
	tpl := func(typ string) string {
		return `{"Parameters":{"P":{"Type":"` + typ + `"}},"Resources":{"H":{"Type":"AWS::CloudFormation::WaitConditionHandle"}}}`
	}
	const msg = "Parameters [/cfg/sec] referenced by template have types not supported by CloudFormation."
	secret := []types.Parameter{{ParameterKey: aws.String("P"), ParameterValue: aws.String("/cfg/sec")}}

	// A stack that exists, for UpdateStack and the UPDATE change set.
	if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("live"), TemplateBody: aws.String(tpl("AWS::SSM::Parameter::Value<String>")),
		Parameters: []types.Parameter{{ParameterKey: aws.String("P"), ParameterValue: aws.String("/cfg/plain")}}}); err != nil {
		t.Fatal(err)
	}
	waitSettled(t, c, "live")

	for _, typ := range []string{"AWS::SSM::Parameter::Value<String>", "AWS::SSM::Parameter::Value<List<String>>", "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"} {
		body := aws.String(tpl(typ))
		calls := []struct {
			name string
			call func() error
		}{
			{"CreateStack", func() error {
				_, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("sec"), TemplateBody: body, Parameters: secret})
				return err
			}},
			{"UpdateStack", func() error {
				_, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("live"), TemplateBody: body, Parameters: secret})
				return err
			}},
			{"CreateChangeSet CREATE", func() error {
				_, err := c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("sec"), ChangeSetName: aws.String("cs"),
					ChangeSetType: types.ChangeSetTypeCreate, TemplateBody: body, Parameters: secret})
				return err
			}},
			{"CreateChangeSet UPDATE", func() error {
				_, err := c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String("live"), ChangeSetName: aws.String("cs"),
					TemplateBody: body, Parameters: secret})
				return err
			}},
		}
		for _, tc := range calls {
			t.Run(typ+"/"+tc.name, func(t *testing.T) {
				err := tc.call()
				wantAPIError(t, err, "ValidationError", msg)
				if err != nil && strings.Contains(err.Error(), "topsecret") {
					t.Errorf("error reveals the secret: %v", err)
				}
			})
		}
	}
	if _, err := c.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("sec")}); err == nil {
		t.Errorf("a refused CreateStack left a stack behind")
	}
	st := describe(t, c, "live")
	if st.StackStatus != types.StackStatusCreateComplete || aws.ToString(st.Parameters[0].ResolvedValue) != "visible" {
		t.Errorf("live stack changed by a refused update: %s %+v", st.StackStatus, st.Parameters)
	}
}

// TestSSMSecureStringResource: AWS::SSM::Parameter cannot create (or turn a
// parameter into) a SecureString; the resource fails and the stack rolls back.
func TestSSMSecureStringResource(t *testing.T) {
	e := newEnv(t, 20*time.Millisecond)
	c := e.client(acctA)
	ctx := context.Background()
	const reason = "SSM Parameters of type SecureString cannot be created using CloudFormation"
	param := func(typ string) string {
		return `{"Resources":{"P":{"Type":"AWS::SSM::Parameter","Properties":{"Name":"/stack/p","Type":"` + typ + `","Value":"hush"}}}}`
	}
	failed := func(t *testing.T, name string, status types.ResourceStatus) {
		t.Helper()
		for _, ev := range events(t, c, name) {
			if aws.ToString(ev.LogicalResourceId) == "P" && ev.ResourceStatus == status && aws.ToString(ev.ResourceStatusReason) == reason {
				return
			}
		}
		t.Errorf("no %s event for P with %q", status, reason)
	}

	t.Run("create", func(t *testing.T) {
		if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("secres"), TemplateBody: aws.String(param("SecureString"))}); err != nil {
			t.Fatal(err)
		}
		if st := waitSettled(t, c, "secres"); st.StackStatus != types.StackStatusRollbackComplete {
			t.Errorf("status %s", st.StackStatus)
		}
		failed(t, "secres", types.ResourceStatusCreateFailed)
		if _, _, err := e.ssm.GetParameterFor(acctA, "us-east-1", "/stack/p"); err == nil {
			t.Errorf("the SecureString parameter was stored")
		}
	})
	t.Run("update", func(t *testing.T) {
		if _, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("plainres"), TemplateBody: aws.String(param("String"))}); err != nil {
			t.Fatal(err)
		}
		if st := waitSettled(t, c, "plainres"); st.StackStatus != types.StackStatusCreateComplete {
			t.Fatalf("status %s", st.StackStatus)
		}
		if _, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("plainres"), TemplateBody: aws.String(param("SecureString"))}); err != nil {
			t.Fatal(err)
		}
		if st := waitSettled(t, c, "plainres"); st.StackStatus != types.StackStatusUpdateRollbackComplete {
			t.Errorf("status %s", st.StackStatus)
		}
		failed(t, "plainres", types.ResourceStatusUpdateFailed)
		if _, typ, err := e.ssm.GetParameterFor(acctA, "us-east-1", "/stack/p"); err != nil || typ != "String" {
			t.Errorf("parameter after the refused update: %s %v", typ, err)
		}
	})
}
