package cfn

import (
	"encoding/json"
)

func init() {
	providers["AWS::KMS::Key"] = withBackend(kmsKeyProvider, func(s *Service) bool { return s.opts.KMS != nil })
}

// keySettings are AWS::KMS::Key's description, key policy (a JSON object in
// the template) and rotation.
func keySettings(props map[string]any) (description, keyPolicy string, rotation bool, err error) {
	description = propString(props, "Description")
	rotation = propBool(props, "EnableKeyRotation")
	switch p := props["KeyPolicy"].(type) {
	case nil:
	case string:
		keyPolicy = p
	default:
		b, err := json.Marshal(p)
		if err != nil {
			return "", "", false, reasonf("KeyPolicy: %v", err)
		}
		keyPolicy = string(b)
	}
	return description, keyPolicy, rotation, nil
}

var kmsKeyProvider = &provider{
	replace: map[string]string{"KeySpec": "Always", "KeyUsage": "Always", "MultiRegion": "Always", "Origin": "Always"},
	attrs:   []string{"Arn", "KeyId"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		if err := c.authorize("kms:CreateKey", "*", "KMS"); err != nil {
			return err
		}
		description, keyPolicy, rotation, err := keySettings(props)
		if err != nil {
			return err
		}
		if !propBool(props, "BypassPolicyLockoutSafetyCheck") {
			if err := c.s.opts.KMS.CheckLockout(c.call, c.account, c.region, keyPolicy); err != nil {
				return serviceError("KMS", err)
			}
		}
		id, arn, err := c.s.opts.KMS.CreateKeyFor(c.account, c.region, description, keyPolicy, rotation)
		if err != nil {
			return serviceError("KMS", err)
		}
		r.physicalID = id
		r.attrs = map[string]any{"Arn": arn, "KeyId": id}
		return nil
	},
	update: func(c *pctx, r *resource, old, props map[string]any) error {
		// The key policy decides, as for the API.
		arn, _ := r.attrs["Arn"].(string)
		if err := c.s.opts.KMS.AuthorizeKey(c.call, "kms:PutKeyPolicy", arn); err != nil {
			return serviceError("KMS", err)
		}
		description, keyPolicy, rotation, err := keySettings(props)
		if err != nil {
			return err
		}
		if !propBool(props, "BypassPolicyLockoutSafetyCheck") {
			if err := c.s.opts.KMS.CheckLockout(c.call, c.account, c.region, keyPolicy); err != nil {
				return serviceError("KMS", err)
			}
		}
		if err := c.s.opts.KMS.UpdateKeyFor(arn, description, keyPolicy, rotation); err != nil {
			return serviceError("KMS", err)
		}
		return nil
	},
	delete: func(c *pctx, r *resource) error {
		arn, _ := r.attrs["Arn"].(string)
		if err := c.s.opts.KMS.AuthorizeKey(c.call, "kms:ScheduleKeyDeletion", arn); err != nil {
			if isCode(err, "NotFoundException") {
				return nil
			}
			return serviceError("KMS", err)
		}
		days := 30
		if n, ok := r.props["PendingWindowInDays"].(float64); ok {
			days = int(n)
		}
		if err := c.s.opts.KMS.ScheduleDeletionFor(arn, days); err != nil && !isCode(err, "NotFoundException") {
			return serviceError("KMS", err)
		}
		return nil
	},
}
