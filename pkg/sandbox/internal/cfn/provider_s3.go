package cfn

import (
	"fmt"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/s3"
)

func init() {
	providers["AWS::S3::Bucket"] = bucketProvider
	providers["AWS::S3::BucketPolicy"] = bucketPolicyProvider
}

func bucketSettings(c *pctx, props map[string]any) s3.BucketSettings {
	var set s3.BucketSettings
	set.Versioning = propString(propMap(props, "VersioningConfiguration"), "Status")
	if enc := propMap(props, "BucketEncryption"); enc != nil {
		for _, rule := range propList(enc, "ServerSideEncryptionConfiguration") {
			m, _ := rule.(map[string]any)
			def := propMap(m, "ServerSideEncryptionByDefault")
			if def != nil {
				set.SSEAlgorithm = propString(def, "SSEAlgorithm")
				set.KMSKeyID = propString(def, "KMSMasterKeyID")
			}
		}
	}
	if pab := propMap(props, "PublicAccessBlockConfiguration"); pab != nil {
		set.PublicAccessBlock = &s3.PublicAccessBlock{
			BlockPublicAcls:       propBool(pab, "BlockPublicAcls"),
			IgnorePublicAcls:      propBool(pab, "IgnorePublicAcls"),
			BlockPublicPolicy:     propBool(pab, "BlockPublicPolicy"),
			RestrictPublicBuckets: propBool(pab, "RestrictPublicBuckets"),
		}
	}
	set.Tags = resourceTags(c, props)
	set.EventBridge = propBool(propMap(propMap(props, "NotificationConfiguration"), "EventBridgeConfiguration"), "EventBridgeEnabled")
	return set
}

func bucketAttrs(regionName, name string) map[string]any {
	return map[string]any{
		"Arn":                 "arn:aws:s3:::" + name,
		"DomainName":          name + ".s3.amazonaws.com",
		"RegionalDomainName":  name + ".s3." + regionName + ".amazonaws.com",
		"DualStackDomainName": name + ".s3.dualstack." + regionName + ".amazonaws.com",
		"WebsiteURL":          "http://" + name + ".s3-website-" + regionName + ".amazonaws.com",
	}
}

var bucketProvider = &provider{
	replace: map[string]string{"BucketName": "Always", "ObjectLockEnabled": "Always"},
	attrs:   []string{"Arn", "DomainName", "RegionalDomainName", "DualStackDomainName", "WebsiteURL"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		if c.s.opts.S3 == nil {
			return errNoBackend
		}
		name := propString(props, "BucketName")
		if name == "" {
			name = physicalName(c.st.name, r.logicalID, 63, true)
		}
		arn := "arn:aws:s3:::" + name
		set := bucketSettings(c, props)
		actions := []string{"s3:CreateBucket"}
		if set.SSEAlgorithm != "" {
			actions = append(actions, "s3:PutEncryptionConfiguration")
		}
		if set.Versioning != "" {
			actions = append(actions, "s3:PutBucketVersioning")
		}
		if set.PublicAccessBlock != nil {
			actions = append(actions, "s3:PutBucketPublicAccessBlock")
		}
		if set.EventBridge {
			actions = append(actions, "s3:PutBucketNotification")
		}
		for _, a := range actions {
			if err := c.authorize(a, arn, "S3"); err != nil {
				return err
			}
		}
		if err := c.s.opts.S3.CreateBucketFor(c.account, c.region, name, set); err != nil {
			if isCode(err, "BucketAlreadyExists", "BucketAlreadyOwnedByYou") {
				return fmt.Errorf("%s already exists", name)
			}
			return serviceError("S3", err)
		}
		r.physicalID = name
		r.attrs = bucketAttrs(c.region, name)
		return nil
	},
	update: func(c *pctx, r *resource, old, props map[string]any) error {
		if c.s.opts.S3 == nil {
			return errNoBackend
		}
		if err := c.authorize("s3:PutBucketTagging", "arn:aws:s3:::"+r.physicalID, "S3"); err != nil {
			return err
		}
		if err := c.s.opts.S3.UpdateBucketSettings(c.account, r.physicalID, bucketSettings(c, props)); err != nil {
			return serviceError("S3", err)
		}
		return nil
	},
	delete: func(c *pctx, r *resource) error {
		if c.s.opts.S3 == nil {
			return nil
		}
		if err := c.authorize("s3:DeleteBucket", "arn:aws:s3:::"+r.physicalID, "S3"); err != nil {
			return err
		}
		err := c.s.opts.S3.DeleteBucketFor(c.account, r.physicalID)
		if err != nil && !isCode(err, "NoSuchBucket") {
			return serviceError("S3", err)
		}
		return nil
	},
}

var bucketPolicyProvider = &provider{
	replace: map[string]string{"Bucket": "Always"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		if c.s.opts.S3 == nil {
			return errNoBackend
		}
		bucket := propString(props, "Bucket")
		if err := c.authorize("s3:PutBucketPolicy", "arn:aws:s3:::"+bucket, "S3"); err != nil {
			return err
		}
		if err := c.s.opts.S3.SetBucketPolicy(c.account, bucket, propDocument(props, "PolicyDocument")); err != nil {
			return serviceError("S3", err)
		}
		r.physicalID = bucket
		return nil
	},
	update: func(c *pctx, r *resource, old, props map[string]any) error {
		if c.s.opts.S3 == nil {
			return errNoBackend
		}
		if err := c.authorize("s3:PutBucketPolicy", "arn:aws:s3:::"+r.physicalID, "S3"); err != nil {
			return err
		}
		if err := c.s.opts.S3.SetBucketPolicy(c.account, r.physicalID, propDocument(props, "PolicyDocument")); err != nil {
			return serviceError("S3", err)
		}
		return nil
	},
	delete: func(c *pctx, r *resource) error {
		if c.s.opts.S3 == nil {
			return nil
		}
		if err := c.authorize("s3:DeleteBucketPolicy", "arn:aws:s3:::"+r.physicalID, "S3"); err != nil {
			return err
		}
		if err := c.s.opts.S3.SetBucketPolicy(c.account, r.physicalID, ""); err != nil && !isCode(err, "NoSuchBucket", "NoSuchBucketPolicy") {
			return serviceError("S3", err)
		}
		return nil
	},
}
