package template_test

import (
	"fmt"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/cfn/template"
)

func Example() {
	tpl, err := template.Parse([]byte(`
Parameters:
  Env: {Type: String, AllowedValues: [dev, prod]}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !If [IsProd, !Sub '${AWS::StackName}-alerts', !Ref 'AWS::NoValue']
Outputs:
  TopicArn:
    Value: !Ref Topic
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	params, err := tpl.BindParameters([]template.ParamInput{{Key: "Env", Value: "prod"}}, nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	env := &template.Env{Params: params, AccountID: "111111111111", Region: "us-east-1", StackName: "app",
		Ref: func(id string) (string, error) { return "arn:aws:sns:us-east-1:111111111111:app-alerts", nil }}
	if _, err := tpl.EvalConditions(env); err != nil {
		fmt.Println(err)
		return
	}
	order, _ := tpl.CreationOrder()
	props, _ := template.Resolve(tpl.Resources["Topic"].Properties, env)
	outs, _ := tpl.ResolveOutputs(env)
	fmt.Println(order, props, outs[0].Value)
	// Output: [Topic] map[TopicName:app-alerts] arn:aws:sns:us-east-1:111111111111:app-alerts
}
