package cfn

import (
	"fmt"
	"strconv"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/iam"
)

func init() {
	providers["AWS::IAM::Role"] = roleProvider
	providers["AWS::IAM::Policy"] = policyProvider
	providers["AWS::IAM::ManagedPolicy"] = managedPolicyProvider
}

func roleARN(account, path, name string) string {
	if path == "" {
		path = "/"
	}
	return "arn:aws:iam::" + account + ":role" + path + name
}

func roleSpec(c *pctx, name string, props map[string]any) iam.RoleSpec {
	spec := iam.RoleSpec{
		Name:             name,
		Path:             propString(props, "Path"),
		AssumeRolePolicy: propDocument(props, "AssumeRolePolicyDocument"),
		Description:      propString(props, "Description"),
		Tags:             propTags(props, "Tags"),
	}
	if spec.Path == "" {
		spec.Path = "/"
	}
	if n, err := strconv.Atoi(propString(props, "MaxSessionDuration")); err == nil {
		spec.MaxSessionDuration = int32(n)
	}
	for _, p := range propList(props, "Policies") {
		m, _ := p.(map[string]any)
		if m == nil {
			continue
		}
		if spec.Policies == nil {
			spec.Policies = map[string]string{}
		}
		spec.Policies[propString(m, "PolicyName")] = propDocument(m, "PolicyDocument")
	}
	spec.ManagedPolicyARNs = propStrings(props, "ManagedPolicyArns")
	// Policies and managed policies attached by other resources of the stack
	// survive the role's own updates, as they do on AWS.
	for _, other := range c.st.resources {
		if other.status == statusDeleteComplete || other.physicalID == "" || !containsString(propStrings(other.props, "Roles"), name) {
			continue
		}
		switch other.typ {
		case "AWS::IAM::Policy":
			if spec.Policies == nil {
				spec.Policies = map[string]string{}
			}
			spec.Policies[propString(other.props, "PolicyName")] = propDocument(other.props, "PolicyDocument")
		case "AWS::IAM::ManagedPolicy":
			if !containsString(spec.ManagedPolicyARNs, other.physicalID) {
				spec.ManagedPolicyARNs = append(spec.ManagedPolicyARNs, other.physicalID)
			}
		}
	}
	return spec
}

func containsString(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

var roleProvider = &provider{
	replace: map[string]string{"RoleName": "Always", "Path": "Always"},
	attrs:   []string{"Arn", "RoleId"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		if c.s.opts.IAM == nil {
			return errNoBackend
		}
		name := propString(props, "RoleName")
		if name == "" {
			name = physicalName(c.st.name, r.logicalID, 64, false)
		}
		spec := roleSpec(c, name, props)
		arn := roleARN(c.account, spec.Path, name)
		actions := []string{"iam:CreateRole"}
		if len(spec.Policies) > 0 {
			actions = append(actions, "iam:PutRolePolicy")
		}
		if len(spec.ManagedPolicyARNs) > 0 {
			actions = append(actions, "iam:AttachRolePolicy")
		}
		for _, a := range actions {
			if err := c.authorize(a, arn, "Iam"); err != nil {
				return err
			}
		}
		arn, id, err := c.s.opts.IAM.CreateRole(c.account, spec)
		if err != nil {
			if isCode(err, "EntityAlreadyExists") {
				return fmt.Errorf("%s already exists", name)
			}
			return serviceError("Iam", err)
		}
		r.physicalID = name
		r.attrs = map[string]any{"Arn": arn, "RoleId": id}
		return nil
	},
	update: func(c *pctx, r *resource, old, props map[string]any) error {
		if c.s.opts.IAM == nil {
			return errNoBackend
		}
		spec := roleSpec(c, r.physicalID, props)
		arn := scalarString(r.attrs["Arn"])
		for _, k := range changedKeys(old, props) {
			action := map[string]string{"AssumeRolePolicyDocument": "iam:UpdateAssumeRolePolicy", "Policies": "iam:PutRolePolicy",
				"ManagedPolicyArns": "iam:AttachRolePolicy", "Tags": "iam:TagRole"}[k]
			if action == "" {
				action = "iam:UpdateRole"
			}
			if err := c.authorize(action, arn, "Iam"); err != nil {
				return err
			}
		}
		if err := c.s.opts.IAM.UpdateRole(c.account, spec); err != nil {
			return serviceError("Iam", err)
		}
		return nil
	},
	delete: func(c *pctx, r *resource) error {
		if c.s.opts.IAM == nil {
			return nil
		}
		if err := c.authorize("iam:DeleteRole", scalarString(r.attrs["Arn"]), "Iam"); err != nil {
			return err
		}
		if err := c.s.opts.IAM.DeleteRole(c.account, r.physicalID); err != nil && !isCode(err, "NoSuchEntity") {
			return serviceError("Iam", err)
		}
		return nil
	},
}

// inlineRoles applies an inline policy document to roles (put, or delete when doc is "").
func inlineRoles(c *pctx, roles []string, name, doc string) error {
	for _, role := range roles {
		arn := roleARN(c.account, "/", role)
		if doc == "" {
			if err := c.authorize("iam:DeleteRolePolicy", arn, "Iam"); err != nil {
				return err
			}
			if err := c.s.opts.IAM.DeleteRolePolicy(c.account, role, name); err != nil && !isCode(err, "NoSuchEntity") {
				return serviceError("Iam", err)
			}
			continue
		}
		if err := c.authorize("iam:PutRolePolicy", arn, "Iam"); err != nil {
			return err
		}
		if err := c.s.opts.IAM.PutRolePolicy(c.account, role, name, doc); err != nil {
			return serviceError("Iam", err)
		}
	}
	return nil
}

var policyProvider = &provider{
	create: func(c *pctx, r *resource, props map[string]any) error {
		if c.s.opts.IAM == nil {
			return errNoBackend
		}
		if err := inlineRoles(c, propStrings(props, "Roles"), propString(props, "PolicyName"), propDocument(props, "PolicyDocument")); err != nil {
			return err
		}
		r.physicalID = physicalName(c.st.name, r.logicalID[:min(5, len(r.logicalID))], 128, false)
		r.attrs = map[string]any{"Id": r.physicalID}
		return nil
	},
	update: func(c *pctx, r *resource, old, props map[string]any) error {
		if c.s.opts.IAM == nil {
			return errNoBackend
		}
		oldName, newName := propString(old, "PolicyName"), propString(props, "PolicyName")
		newRoles := propStrings(props, "Roles")
		var gone []string
		for _, role := range propStrings(old, "Roles") {
			if oldName != newName || !containsString(newRoles, role) {
				gone = append(gone, role)
			}
		}
		if err := inlineRoles(c, gone, oldName, ""); err != nil {
			return err
		}
		return inlineRoles(c, newRoles, newName, propDocument(props, "PolicyDocument"))
	},
	delete: func(c *pctx, r *resource) error {
		if c.s.opts.IAM == nil {
			return nil
		}
		return inlineRoles(c, propStrings(r.props, "Roles"), propString(r.props, "PolicyName"), "")
	},
}

var managedPolicyProvider = &provider{
	replace: map[string]string{"ManagedPolicyName": "Always", "Path": "Always", "Description": "Always"},
	attrs:   []string{"PolicyArn", "PolicyId", "DefaultVersionId", "AttachmentCount", "CreateDate", "UpdateDate", "IsAttachable"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		if c.s.opts.IAM == nil {
			return errNoBackend
		}
		name := propString(props, "ManagedPolicyName")
		if name == "" {
			name = physicalName(c.st.name, r.logicalID, 128, false)
		}
		path := propString(props, "Path")
		if path == "" {
			path = "/"
		}
		if err := c.authorize("iam:CreatePolicy", "arn:aws:iam::"+c.account+":policy"+path+name, "Iam"); err != nil {
			return err
		}
		arn, err := c.s.opts.IAM.CreatePolicy(c.account, name, path, propDocument(props, "PolicyDocument"))
		if err != nil {
			if isCode(err, "EntityAlreadyExists") {
				return fmt.Errorf("%s already exists", name)
			}
			return serviceError("Iam", err)
		}
		r.physicalID = arn
		r.attrs = map[string]any{"PolicyArn": arn, "PolicyId": "ANPA" + randomSuffix(17), "DefaultVersionId": "v1", "IsAttachable": "true"}
		if err := attachRoles(c, propStrings(props, "Roles"), arn, true); err != nil {
			_ = c.s.opts.IAM.DeletePolicy(c.account, arn)
			return err
		}
		return nil
	},
	update: func(c *pctx, r *resource, old, props map[string]any) error {
		if c.s.opts.IAM == nil {
			return errNoBackend
		}
		if canonical(old["PolicyDocument"]) != canonical(props["PolicyDocument"]) {
			if err := c.authorize("iam:CreatePolicyVersion", r.physicalID, "Iam"); err != nil {
				return err
			}
			if err := c.s.opts.IAM.UpdatePolicy(c.account, r.physicalID, propDocument(props, "PolicyDocument")); err != nil {
				return serviceError("Iam", err)
			}
		}
		newRoles, oldRoles := propStrings(props, "Roles"), propStrings(old, "Roles")
		var gone, added []string
		for _, role := range oldRoles {
			if !containsString(newRoles, role) {
				gone = append(gone, role)
			}
		}
		for _, role := range newRoles {
			if !containsString(oldRoles, role) {
				added = append(added, role)
			}
		}
		if err := attachRoles(c, gone, r.physicalID, false); err != nil {
			return err
		}
		return attachRoles(c, added, r.physicalID, true)
	},
	delete: func(c *pctx, r *resource) error {
		if c.s.opts.IAM == nil {
			return nil
		}
		if err := attachRoles(c, propStrings(r.props, "Roles"), r.physicalID, false); err != nil {
			return err
		}
		if err := c.authorize("iam:DeletePolicy", r.physicalID, "Iam"); err != nil {
			return err
		}
		if err := c.s.opts.IAM.DeletePolicy(c.account, r.physicalID); err != nil && !isCode(err, "NoSuchEntity") {
			return serviceError("Iam", err)
		}
		return nil
	},
}

func attachRoles(c *pctx, roles []string, policyARN string, attach bool) error {
	for _, role := range roles {
		action := "iam:DetachRolePolicy"
		if attach {
			action = "iam:AttachRolePolicy"
		}
		if err := c.authorize(action, roleARN(c.account, "/", role), "Iam"); err != nil {
			return err
		}
		var err error
		if attach {
			err = c.s.opts.IAM.AttachRolePolicy(c.account, role, policyARN)
		} else {
			err = c.s.opts.IAM.DetachRolePolicy(c.account, role, policyARN)
			if isCode(err, "NoSuchEntity") {
				err = nil
			}
		}
		if err != nil {
			return serviceError("Iam", err)
		}
	}
	return nil
}
