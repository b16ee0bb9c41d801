package cfn

import (
	"fmt"
	"strings"
)

func init() {
	providers["AWS::SSM::Parameter"] = ssmParameterProvider
}

// ssmParamName strips the leading slash SSM parameter ARNs leave out.
func ssmParamARN(c *pctx, name string) string {
	return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", c.region, c.account, strings.TrimPrefix(name, "/"))
}

// checkSSMType refuses what AWS::SSM::Parameter refuses: CloudFormation cannot
// create SecureString parameters (the value would sit in the template).
func checkSSMType(typ string) error {
	if typ == "SecureString" {
		return reasonf("SSM Parameters of type SecureString cannot be created using CloudFormation")
	}
	return nil
}

var ssmParameterProvider = &provider{
	replace: map[string]string{"Name": "Always"},
	attrs:   []string{"Type", "Value"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		if c.s.opts.SSM == nil {
			return errNoBackend
		}
		name := propString(props, "Name")
		if name == "" {
			name = "CFN-" + r.logicalID + "-" + randomSuffix(12)
		}
		if err := c.authorize("ssm:PutParameter", ssmParamARN(c, name), "Ssm"); err != nil {
			return err
		}
		typ, value := propString(props, "Type"), propString(props, "Value")
		if err := checkSSMType(typ); err != nil {
			return err
		}
		if _, err := c.s.opts.SSM.PutParameterFor(c.account, c.region, name, typ, value, propString(props, "Description"), false); err != nil {
			return serviceError("Ssm", err)
		}
		r.physicalID = name
		r.attrs = map[string]any{"Type": typ, "Value": value}
		return nil
	},
	update: func(c *pctx, r *resource, old, props map[string]any) error {
		if c.s.opts.SSM == nil {
			return errNoBackend
		}
		if err := c.authorize("ssm:PutParameter", ssmParamARN(c, r.physicalID), "Ssm"); err != nil {
			return err
		}
		typ, value := propString(props, "Type"), propString(props, "Value")
		if err := checkSSMType(typ); err != nil {
			return err
		}
		if _, err := c.s.opts.SSM.PutParameterFor(c.account, c.region, r.physicalID, typ, value, propString(props, "Description"), true); err != nil {
			return serviceError("Ssm", err)
		}
		r.attrs = map[string]any{"Type": typ, "Value": value}
		return nil
	},
	delete: func(c *pctx, r *resource) error {
		if c.s.opts.SSM == nil {
			return nil
		}
		if err := c.authorize("ssm:DeleteParameter", ssmParamARN(c, r.physicalID), "Ssm"); err != nil {
			return err
		}
		if err := c.s.opts.SSM.DeleteParameterFor(c.account, c.region, r.physicalID); err != nil && !isCode(err, "ParameterNotFound") {
			return serviceError("Ssm", err)
		}
		return nil
	},
}
