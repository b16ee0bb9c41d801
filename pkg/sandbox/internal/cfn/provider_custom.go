package cfn

import "strings"

func init() {
	providers["AWS::CloudFormation::CustomResource"] = customResourceProvider
}

// isCustomType reports whether typ is a custom resource: AWS's own type or
// a Custom::<name> of the template's choosing (CDK's custom resources).
func isCustomType(typ string) bool {
	return typ == "AWS::CloudFormation::CustomResource" || strings.HasPrefix(typ, "Custom::")
}

// customResourceProvider fails every custom resource: CloudFormation would
// send it to the Lambda or topic of its ServiceToken, whose handlers (CDK
// ships them in Python and Node) the sandbox does not run. Failing, rather
// than pretending the handler succeeded, keeps a template that depends on
// one from passing here and failing on AWS in another way. Deleting one,
// which only a rollback of its failed creation reaches, has nothing to do.
var customResourceProvider = &provider{
	create: func(c *pctx, r *resource, props map[string]any) error {
		token := propString(props, "ServiceToken")
		if token == "" {
			return reasonf("Resource %s (%s) is missing required property ServiceToken", r.logicalID, r.typ)
		}
		return reasonf("Custom resource %s (%s) was not created: the sandbox does not run custom resource handlers (ServiceToken %s). "+
			"Use native CloudFormation properties instead, e.g. AWS::S3::Bucket NotificationConfiguration.EventBridgeConfiguration rather than CDK's s3.Bucket{EventBridgeEnabled}",
			r.logicalID, r.typ, token)
	},
	delete: func(c *pctx, r *resource) error { return nil },
}
