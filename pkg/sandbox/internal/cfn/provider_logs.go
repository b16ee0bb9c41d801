package cfn

import (
	"fmt"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/logs"
)

// LogStore is what AWS::Logs::LogGroup needs from the sandbox's CloudWatch Logs.
type LogStore interface {
	CreateGroupFor(account, region, name string, set logs.GroupSettings) error
	UpdateGroupFor(account, region, name string, set logs.GroupSettings) error
	DeleteGroupFor(account, region, name string) error
}

func init() {
	providers["AWS::Logs::LogGroup"] = logGroupProvider
}

func logGroupSettings(r *resource, props map[string]any) (logs.GroupSettings, error) {
	days, err := propInt(r, props, "RetentionInDays")
	return logs.GroupSettings{RetentionInDays: days, KMSKeyID: propString(props, "KmsKeyId"), Class: propString(props, "LogGroupClass"),
		Tags: propTags(props, "Tags")}, err
}

func logsError(err error) error {
	if _, ok := err.(reasonError); ok {
		return err
	}
	return serviceError("CloudWatchLogs", err)
}

var logGroupProvider = &provider{
	replace: map[string]string{"LogGroupName": "Always", "LogGroupClass": "Always"},
	attrs:   []string{"Arn"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		if c.s.opts.Logs == nil {
			return errNoBackend
		}
		name := propString(props, "LogGroupName")
		if name == "" {
			name = physicalName(c.st.name, r.logicalID, 512, false)
		}
		set, err := logGroupSettings(r, props)
		if err != nil {
			return err
		}
		arn := logs.GroupARN(c.account, c.region, name)
		if err := c.authorize("logs:CreateLogGroup", arn, "CloudWatchLogs"); err != nil {
			return err
		}
		if set.RetentionInDays != 0 {
			if err := c.authorize("logs:PutRetentionPolicy", arn, "CloudWatchLogs"); err != nil {
				return err
			}
		}
		if err := c.s.opts.Logs.CreateGroupFor(c.account, c.region, name, set); err != nil {
			if isCode(err, "ResourceAlreadyExistsException") {
				return fmt.Errorf("%s already exists", name)
			}
			return logsError(err)
		}
		r.physicalID = name
		r.attrs = map[string]any{"Arn": arn + ":*"}
		return nil
	},
	update: func(c *pctx, r *resource, old, props map[string]any) error {
		if c.s.opts.Logs == nil {
			return errNoBackend
		}
		set, err := logGroupSettings(r, props)
		if err != nil {
			return err
		}
		action := "logs:PutRetentionPolicy"
		if set.RetentionInDays == 0 {
			action = "logs:DeleteRetentionPolicy"
		}
		if err := c.authorize(action, logs.GroupARN(c.account, c.region, r.physicalID), "CloudWatchLogs"); err != nil {
			return err
		}
		if err := c.s.opts.Logs.UpdateGroupFor(c.account, c.region, r.physicalID, set); err != nil {
			return logsError(err)
		}
		return nil
	},
	delete: func(c *pctx, r *resource) error {
		if c.s.opts.Logs == nil {
			return nil
		}
		if err := c.authorize("logs:DeleteLogGroup", logs.GroupARN(c.account, c.region, r.physicalID), "CloudWatchLogs"); err != nil {
			return err
		}
		if err := c.s.opts.Logs.DeleteGroupFor(c.account, c.region, r.physicalID); err != nil && !isCode(err, "ResourceNotFoundException") {
			return logsError(err)
		}
		return nil
	},
}
