package template

import (
	"fmt"
	"strings"
	"testing"
)

// res is a template whose only resource R has the given properties.
func res(typ, props string) string {
	return "Resources:\n  R:\n    Type: " + typ + "\n    Properties: " + props + "\n  Q: {Type: AWS::SQS::Queue}\n"
}

// CloudFormation refuses these before creating anything, with these words.
func TestValidationRefusals(t *testing.T) {
	many := &strings.Builder{}
	many.WriteString("Resources:\n")
	for i := range MaxResources + 1 {
		fmt.Fprintf(many, "  R%d: {Type: AWS::SQS::Queue}\n", i)
	}
	for _, tc := range []struct {
		name, body, want string
	}{
		{"unknown type", "Resources:\n  A: {Type: AWS::Foo::Bar}\n  B: {Type: AWS::SQS::Queue}\n", "Template format error: Unrecognized resource types: [AWS::Foo::Bar]"},
		{"unknown types sorted once each", "Resources:\n  A: {Type: AWS::Foo::Bar}\n  B: {Type: AWS::Foo::Bar}\n  C: {Type: AWS::Baz::Qux}\n", "Template format error: Unrecognized resource types: [AWS::Baz::Qux, AWS::Foo::Bar]"},
		{"serverless type without its transform", "Resources:\n  F: {Type: AWS::Serverless::Function}\n", "Unrecognized resource types: [AWS::Serverless::Function]"},
		{"bad custom type name", "Resources:\n  C: {Type: 'Custom::has space'}\n", "Unrecognized resource types: [Custom::has space]"},
		{"too many resources", many.String(), "Template format error: Number of resources, 501, is greater than maximum allowed, 500"},
		{"if with two elements", res("AWS::SQS::Queue", "{QueueName: !If [C, a]}"), "Template error: Fn::If requires a list argument with three elements"},
		{"if with four elements", res("AWS::SQS::Queue", "{QueueName: !If [C, a, b, c]}"), "Template error: Fn::If requires a list argument with three elements"},
		{"if condition not a name", res("AWS::SQS::Queue", "{QueueName: !If [!Ref X, a, b]}"), "Template error: Fn::If requires a list argument with the first element being a condition"},
		{"if not a list", res("AWS::SQS::Queue", "{QueueName: {'Fn::If': C}}"), "Template error: Fn::If requires a list argument with the first element being a condition"},
		{"if in outputs", res("AWS::SQS::Queue", "{}") + "Outputs:\n  O: {Value: !If [C]}\n", "Fn::If requires a list argument with three elements"},
		{"findinmap two elements", "Mappings: {M: {a: {b: c}}}\n" + res("AWS::SQS::Queue", "{QueueName: !FindInMap [M, a]}"), "Template error: every Fn::FindInMap object requires three parameters, the map name, map key and the attribute for return value"},
		{"findinmap not a list", "Mappings: {M: {a: {b: c}}}\n" + res("AWS::SQS::Queue", "{QueueName: {'Fn::FindInMap': M}}"), "every Fn::FindInMap object requires three parameters"},
		{"findinmap list element", "Mappings: {M: {a: {b: c}}}\n" + res("AWS::SQS::Queue", "{QueueName: !FindInMap [M, [a], b]}"), "every Fn::FindInMap object requires three parameters"},
		{"getatt one element", res("AWS::SQS::Queue", "{QueueName: {'Fn::GetAtt': [Q]}}"), "Template error: every Fn::GetAtt object requires two non-empty parameters, the resource name and the resource attribute"},
		{"getatt empty attribute", res("AWS::SQS::Queue", "{QueueName: {'Fn::GetAtt': [Q, '']}}"), "every Fn::GetAtt object requires two non-empty parameters, the resource name and the resource attribute"},
		{"getatt three elements", res("AWS::SQS::Queue", "{QueueName: {'Fn::GetAtt': [Q, Arn, x]}}"), "every Fn::GetAtt object requires two non-empty parameters"},
		{"getatt string without dot", res("AWS::SQS::Queue", "{QueueName: {'Fn::GetAtt': Q}}"), "Template error: if specifying one argument to Fn::GetAtt, that argument must be a non-empty string in format <LogicalId>.<Attribute>"},
		{"getatt number", res("AWS::SQS::Queue", "{QueueName: {'Fn::GetAtt': 5}}"), "every Fn::GetAtt object requires two non-empty parameters"},
		{"getatt unknown attribute", res("AWS::SQS::Queue", "{QueueName: !GetAtt Q.Nope}"), "Template error: resource Q does not support attribute type Nope in Fn::GetAtt"},
		{"getatt unknown attribute in outputs", res("AWS::SQS::Queue", "{}") + "Outputs:\n  O: {Value: !GetAtt Q.QueueArn}\n", "Template error: resource Q does not support attribute type QueueArn in Fn::GetAtt"},
		{"sub unknown attribute", res("AWS::SQS::Queue", "{QueueName: !Sub '${Q.Name}-x'}"), "Template error: resource Q does not support attribute type Name in Fn::GetAtt"},
		{"getatt property is no attribute", res("AWS::ECR::Repository", "{}") + "Outputs:\n  O: {Value: !GetAtt R.RepositoryName}\n", "resource R does not support attribute type RepositoryName in Fn::GetAtt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := Parse([]byte("Conditions: {C: !Equals [a, a]}\n" + tc.body))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", tpl)
			}
			wantValidation(t, err, tc.want)
		})
	}
}

// What CloudFormation accepts must keep parsing: the checks are no stricter.
func TestValidationAccepts(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"cdk metadata", "Resources:\n  CDKMetadata: {Type: AWS::CDK::Metadata, Properties: {Analytics: v2:deflate64:abc}}\n"},
		{"custom resources take any attribute", "Resources:\n  C: {Type: Custom::Seeder, Properties: {ServiceToken: x}}\n  D: {Type: AWS::CloudFormation::CustomResource, Properties: {ServiceToken: x}}\nOutputs:\n  A: {Value: !GetAtt C.Whatever}\n  B: {Value: !GetAtt D.Anything}\n"},
		{"nested stack outputs", "Resources:\n  S: {Type: AWS::CloudFormation::Stack, Properties: {TemplateURL: x}}\nOutputs:\n  O: {Value: !GetAtt S.Outputs.VpcId}\n"},
		{"dotted attribute", "Resources:\n  D: {Type: AWS::RDS::DBInstance}\nOutputs:\n  O: {Value: !GetAtt D.Endpoint.Address}\n"},
		{"computed attribute name", "Parameters: {A: {Type: String, Default: Arn}}\nResources:\n  Q: {Type: AWS::SQS::Queue}\nOutputs:\n  O: {Value: {'Fn::GetAtt': [Q, !Ref A]}}\n"},
		{"getatt dotted string", "Resources:\n  Q: {Type: AWS::SQS::Queue}\nOutputs:\n  O: {Value: {'Fn::GetAtt': Q.Arn}}\n"},
		{"sub with local variable", "Resources:\n  Q: {Type: AWS::SQS::Queue, Properties: {QueueName: !Sub ['${X.Y}', {X.Y: v}]}}\n"},
		{"if and findinmap with functions inside", "Mappings: {M: {us-east-1: {b: c}}}\nConditions: {C: !Equals [a, a]}\nResources:\n  Q: {Type: AWS::SQS::Queue, Properties: {QueueName: !If [C, !FindInMap [M, !Ref 'AWS::Region', b], !Ref 'AWS::NoValue']}}\n"},
		{"exactly 500 resources", func() string {
			var b strings.Builder
			b.WriteString("Resources:\n")
			for i := range MaxResources {
				fmt.Fprintf(&b, "  R%d: {Type: AWS::SQS::Queue}\n", i)
			}
			return b.String()
		}()},
		// Transforms run before CloudFormation checks types on AWS; the
		// sandbox does not run them, so it checks nothing they may rewrite.
		{"serverless with its transform", "Transform: AWS::Serverless-2016-10-31\nResources:\n  F: {Type: AWS::Serverless::Function, Properties: {Handler: x}}\nOutputs:\n  O: {Value: !GetAtt F.Arn}\n"},
		{"findinmap default value under language extensions", "Transform: AWS::LanguageExtensions\nMappings: {M: {a: {b: c}}}\nResources:\n  Q: {Type: AWS::SQS::Queue, Properties: {QueueName: !FindInMap [M, x, y, {DefaultValue: d}]}}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(tc.body)); err != nil {
				t.Fatal(err)
			}
		})
	}
}
