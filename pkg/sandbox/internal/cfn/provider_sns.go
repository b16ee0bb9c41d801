package cfn

import "fmt"

func init() {
	providers["AWS::SNS::Topic"] = topicProvider
}

var topicProvider = &provider{
	replace: map[string]string{"TopicName": "Always", "FifoTopic": "Always"},
	attrs:   []string{"TopicArn", "TopicName"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		name := propString(props, "TopicName")
		if name == "" {
			name = physicalName(c.st.name, r.logicalID, 256, false)
		}
		arn := fmt.Sprintf("arn:aws:sns:%s:%s:%s", c.region, c.account, name)
		if err := c.authorize("sns:CreateTopic", arn, "Sns"); err != nil {
			return err
		}
		r.physicalID = arn
		r.attrs = map[string]any{"TopicArn": arn, "TopicName": name}
		return nil
	},
	delete: func(c *pctx, r *resource) error {
		return c.authorize("sns:DeleteTopic", r.physicalID, "Sns")
	},
}
