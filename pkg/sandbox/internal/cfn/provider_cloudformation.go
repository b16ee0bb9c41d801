package cfn

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

func init() {
	providers["AWS::CloudFormation::WaitConditionHandle"] = waitHandleProvider
	providers["AWS::CloudFormation::WaitCondition"] = waitConditionProvider
}

var waitHandleProvider = &provider{
	create: func(c *pctx, r *resource, props map[string]any) error {
		target := fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%s/%s", c.region, c.account, c.st.name, c.st.id[strings.LastIndex(c.st.id, "/")+1:], r.logicalID)
		r.physicalID = fmt.Sprintf("https://cloudformation-waitcondition-%s.s3.amazonaws.com/%s?AWSAccessKeyId=AKIAIIT3CWAIMJYUTISA&Expires=%d&Signature=%s",
			c.region, url.PathEscape(target), c.s.now().Add(24*3600e9).Unix(), url.QueryEscape(randomSuffix(27)+"="))
		return nil
	},
	delete: func(c *pctx, r *resource) error { return nil },
}

// maxWaitTimeout is the largest WaitCondition Timeout CloudFormation accepts (12 hours).
const maxWaitTimeout = 43200

var waitConditionProvider = &provider{
	attrs: []string{"Data"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		if t := propString(props, "Timeout"); t != "" {
			n, err := strconv.ParseFloat(t, 64)
			if err != nil || n < 0 || n > maxWaitTimeout {
				return reasonf("Value of property Timeout must be an integer between 0 and %d seconds (got %s)", maxWaitTimeout, t)
			}
		}
		r.physicalID = fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%s/%s", c.region, c.account, c.st.name, c.st.id[strings.LastIndex(c.st.id, "/")+1:], r.logicalID)
		r.attrs = map[string]any{"Data": "{}"}
		return nil
	},
	delete: func(c *pctx, r *resource) error { return nil },
}
