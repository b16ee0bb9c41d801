package lambda

import (
	"net/http"
	"testing"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/iam"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/logs"
)

// TestServicePrincipalInvoke: an AWS service (an EventBridge rule) may
// invoke a function only when its resource policy names the service, and
// only from the source the statement allows.
func TestServicePrincipalInvoke(t *testing.T) {
	store := iam.NewStore(iam.Options{Accounts: []iam.Account{{Name: "master", ID: "111111111111"}}})
	role, _, err := store.CreateRole("111111111111", iam.RoleSpec{Name: "fn", Path: "/",
		AssumeRolePolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`})
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Authorizer: store, Roles: store, Logs: logs.New(nil, nil)})
	defer s.Close()
	rootAkid, _ := store.RootKeys("111111111111")
	rootCred, _ := store.LookupAccessKey(rootAkid)
	root := &awsapi.Call{Caller: &rootCred.Caller, Region: "us-east-1", Time: time.Now()}
	zip, err := InlineZip("nodejs20.x", "exports.handler = async () => 1;")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateFunctionFor(root, "111111111111", "us-east-1", FunctionSpec{Name: "target", Runtime: "provided.al2023", Handler: "bootstrap", Role: role},
		CodeSource{ZipFile: zip}); err != nil {
		t.Fatal(err)
	}
	rule := "arn:aws:events:us-east-1:111111111111:rule/nightly"
	if _, err := s.AddPermission("111111111111", "us-east-1", "target", Permission{StatementID: "events", Action: "lambda:InvokeFunction",
		Principal: "events.amazonaws.com", SourceArn: rule}); err != nil {
		t.Fatal(err)
	}
	events := &awsapi.Call{Caller: &awsapi.Caller{Service: "events.amazonaws.com"}, Region: "us-east-1", Time: time.Now()}
	dryRun := func(call *awsapi.Call, source string) error {
		_, err := s.Invoke(call, InvokeInput{FunctionName: "arn:aws:lambda:us-east-1:111111111111:function:target", InvocationType: "DryRun",
			SourceKeys: map[string]string{"aws:SourceArn": source, "aws:SourceAccount": "111111111111"}})
		return err
	}
	if err := dryRun(events, rule); err != nil {
		t.Errorf("the rule the statement names: %v", err)
	}
	for name, call := range map[string]*awsapi.Call{
		"another rule":    events,
		"another service": {Caller: &awsapi.Caller{Service: "sns.amazonaws.com"}, Region: "us-east-1", Time: time.Now()},
	} {
		source := rule
		if name == "another rule" {
			source = "arn:aws:events:us-east-1:111111111111:rule/other"
		}
		err := dryRun(call, source)
		if err == nil {
			t.Errorf("%s: allowed", name)
			continue
		}
		if e := awsapi.AsError(err); e.Status != http.StatusForbidden || e.Code != "AccessDenied" {
			t.Errorf("%s: %v", name, e)
		}
	}
}
