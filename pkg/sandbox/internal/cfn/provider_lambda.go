package cfn

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/lambda"
)

// LambdaStore is what the AWS::Lambda::* providers need from the sandbox's Lambda.
type LambdaStore interface {
	CreateFunctionFor(call *awsapi.Call, account, region string, spec lambda.FunctionSpec, src lambda.CodeSource) (arn string, err error)
	UpdateFunctionFor(call *awsapi.Call, account, region string, spec lambda.FunctionSpec, src *lambda.CodeSource) error
	DeleteFunctionFor(account, region, name string)
	PublishVersionFor(account, region, function, description, codeSha256 string) (arn, version string, err error)
	DeleteVersionFor(account, region, function, version string) error
	PutAlias(account, region, function, name, version, description string) (arn string, err error)
	DeleteAlias(account, region, function, name string)
	AddPermission(account, region, function string, p lambda.Permission) (statement string, err error)
	RemovePermission(account, region, function, statementID string)
}

func init() {
	providers["AWS::Lambda::Function"] = lambdaFunctionProvider
	providers["AWS::Lambda::Version"] = lambdaVersionProvider
	providers["AWS::Lambda::Alias"] = lambdaAliasProvider
	providers["AWS::Lambda::Permission"] = lambdaPermissionProvider
}

// functionProps are the AWS::Lambda::Function properties the sandbox knows.
var functionProps = []string{"Architectures", "Code", "CodeSigningConfigArn", "DeadLetterConfig", "Description", "Environment",
	"EphemeralStorage", "FileSystemConfigs", "FunctionName", "Handler", "ImageConfig", "KmsKeyArn", "Layers", "LoggingConfig",
	"MemorySize", "PackageType", "RecursiveLoop", "ReservedConcurrentExecutions", "Role", "Runtime", "RuntimeManagementConfig",
	"SnapStart", "Tags", "Timeout", "TracingConfig", "VpcConfig"}

// functionSpec reads a function's definition from its properties.
func functionSpec(c *pctx, r *resource, name string, props map[string]any) (lambda.FunctionSpec, error) {
	if err := checkProps(r, props, functionProps); err != nil {
		return lambda.FunctionSpec{}, err
	}
	spec := lambda.FunctionSpec{Name: name, Runtime: propString(props, "Runtime"), Role: propString(props, "Role"),
		Handler: propString(props, "Handler"), Description: propString(props, "Description"), PackageType: propString(props, "PackageType"),
		Layers: propStrings(props, "Layers"), Tags: resourceTags(c, props)}
	var err error
	if spec.Timeout, err = propInt(r, props, "Timeout"); err != nil {
		return spec, err
	}
	if spec.MemorySize, err = propInt(r, props, "MemorySize"); err != nil {
		return spec, err
	}
	if spec.EphemeralStorage, err = propInt(r, propMap(props, "EphemeralStorage"), "Size"); err != nil {
		return spec, err
	}
	if props["ReservedConcurrentExecutions"] != nil {
		n, err := propInt(r, props, "ReservedConcurrentExecutions")
		if err != nil {
			return spec, err
		}
		spec.ReservedConcurrency = &n
	}
	if vars := propMap(propMap(props, "Environment"), "Variables"); vars != nil {
		spec.Environment = map[string]string{}
		for k, v := range vars {
			spec.Environment[k] = scalarString(v)
		}
	}
	if archs := propStrings(props, "Architectures"); len(archs) > 0 {
		if len(archs) > 1 {
			return spec, invalidProps(r, "#/Architectures: expected maximum item count: 1, found: %d", len(archs))
		}
		spec.Architecture = archs[0]
	}
	lc := propMap(props, "LoggingConfig")
	spec.LogGroup, spec.LogFormat = propString(lc, "LogGroup"), propString(lc, "LogFormat")
	spec.TracingMode = propString(propMap(props, "TracingConfig"), "Mode")
	return spec, nil
}

// inlineRuntimes are the runtimes whose code CloudFormation takes inline (Code.ZipFile).
var inlineRuntimes = []string{"nodejs", "python"}

// codeSource reads Code: an S3 object, or inline source for Node.js and Python.
func codeSource(r *resource, props map[string]any) (lambda.CodeSource, error) {
	code := propMap(props, "Code")
	if code == nil {
		return lambda.CodeSource{}, invalidProps(r, "#: required key [Code] not found")
	}
	src := lambda.CodeSource{S3Bucket: propString(code, "S3Bucket"), S3Key: propString(code, "S3Key"),
		S3ObjectVersion: propString(code, "S3ObjectVersion"), ImageURI: propString(code, "ImageUri")}
	if inline := propString(code, "ZipFile"); inline != "" {
		runtime := propString(props, "Runtime")
		if !slices.ContainsFunc(inlineRuntimes, func(p string) bool { return strings.HasPrefix(runtime, p) }) {
			return src, reasonf("ZipFile can only be used when Runtime is set to either of nodejs and python runtimes.")
		}
		zip, err := lambda.InlineZip(runtime, inline)
		if err != nil {
			return src, err
		}
		src.ZipFile = zip
	}
	return src, nil
}

func lambdaError(err error) error {
	if _, ok := err.(reasonError); ok {
		return err
	}
	return serviceError("Lambda", err)
}

var lambdaFunctionProvider = &provider{
	replace: map[string]string{"FunctionName": "Always", "PackageType": "Always"},
	attrs:   []string{"Arn", "SnapStartResponse", "SnapStartResponse.ApplyOn", "SnapStartResponse.OptimizationStatus"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		if c.s.opts.Lambda == nil {
			return errNoBackend
		}
		name := propString(props, "FunctionName")
		if name == "" {
			name = physicalName(c.st.name, r.logicalID, 64, false)
		}
		spec, err := functionSpec(c, r, name, props)
		if err != nil {
			return err
		}
		src, err := codeSource(r, props)
		if err != nil {
			return err
		}
		arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", c.region, c.account, name)
		actions := []string{"lambda:CreateFunction", "lambda:GetFunction"}
		if spec.ReservedConcurrency != nil {
			actions = append(actions, "lambda:PutFunctionConcurrency")
		}
		for _, a := range actions {
			if err := c.authorize(a, arn, "Lambda"); err != nil {
				return err
			}
		}
		if _, err := c.s.opts.Lambda.CreateFunctionFor(c.call, c.account, c.region, spec, src); err != nil {
			if isCode(err, "ResourceConflictException") {
				return fmt.Errorf("%s already exists", name)
			}
			return lambdaError(err)
		}
		r.physicalID = name
		r.attrs = map[string]any{"Arn": arn, "SnapStartResponse.ApplyOn": "None", "SnapStartResponse.OptimizationStatus": "Off"}
		return nil
	},
	update: func(c *pctx, r *resource, old, props map[string]any) error {
		if c.s.opts.Lambda == nil {
			return errNoBackend
		}
		spec, err := functionSpec(c, r, r.physicalID, props)
		if err != nil {
			return err
		}
		arn := scalarString(r.attrs["Arn"])
		var src *lambda.CodeSource
		if canonical(old["Code"]) != canonical(props["Code"]) {
			s, err := codeSource(r, props)
			if err != nil {
				return err
			}
			src = &s
			if err := c.authorize("lambda:UpdateFunctionCode", arn, "Lambda"); err != nil {
				return err
			}
		}
		if err := c.authorize("lambda:UpdateFunctionConfiguration", arn, "Lambda"); err != nil {
			return err
		}
		if err := c.s.opts.Lambda.UpdateFunctionFor(c.call, c.account, c.region, spec, src); err != nil {
			return lambdaError(err)
		}
		return nil
	},
	delete: func(c *pctx, r *resource) error {
		if c.s.opts.Lambda == nil {
			return nil
		}
		if err := c.authorize("lambda:DeleteFunction", scalarString(r.attrs["Arn"]), "Lambda"); err != nil {
			return err
		}
		c.s.opts.Lambda.DeleteFunctionFor(c.account, c.region, r.physicalID)
		return nil
	},
}

// functionARNOf resolves a FunctionName property (name or ARN) to the
// unqualified function ARN in the stack's account.
func functionARNOf(c *pctx, fn string) string {
	if strings.HasPrefix(fn, "arn:") {
		parts := strings.SplitN(fn, ":", 8)
		if len(parts) >= 7 {
			return strings.Join(parts[:7], ":")
		}
		return fn
	}
	name, _, _ := strings.Cut(fn, ":")
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", c.region, c.account, name)
}

var lambdaVersionProvider = &provider{
	replace: map[string]string{"FunctionName": "Always", "Description": "Always", "CodeSha256": "Always", "ProvisionedConcurrencyConfig": "Always", "RuntimePolicy": "Always"},
	attrs:   []string{"Version", "FunctionArn"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		if c.s.opts.Lambda == nil {
			return errNoBackend
		}
		fn := propString(props, "FunctionName")
		fnARN := functionARNOf(c, fn)
		if err := c.authorize("lambda:PublishVersion", fnARN, "Lambda"); err != nil {
			return err
		}
		arn, version, err := c.s.opts.Lambda.PublishVersionFor(c.account, c.region, fn, propString(props, "Description"), propString(props, "CodeSha256"))
		if err != nil {
			return lambdaError(err)
		}
		// Ref and FunctionArn are the version's qualified ARN.
		r.physicalID = arn
		r.attrs = map[string]any{"Version": version, "FunctionArn": arn}
		return nil
	},
	delete: func(c *pctx, r *resource) error {
		if c.s.opts.Lambda == nil {
			return nil
		}
		if err := c.authorize("lambda:DeleteFunction", r.physicalID, "Lambda"); err != nil {
			return err
		}
		if err := c.s.opts.Lambda.DeleteVersionFor(c.account, c.region, propString(r.props, "FunctionName"), scalarString(r.attrs["Version"])); err != nil {
			return lambdaError(err)
		}
		return nil
	},
}

var lambdaAliasProvider = &provider{
	replace: map[string]string{"FunctionName": "Always", "Name": "Always"},
	attrs:   []string{"AliasArn"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		return putAlias(c, r, props, "lambda:CreateAlias")
	},
	update: func(c *pctx, r *resource, old, props map[string]any) error {
		return putAlias(c, r, props, "lambda:UpdateAlias")
	},
	delete: func(c *pctx, r *resource) error {
		if c.s.opts.Lambda == nil {
			return nil
		}
		if err := c.authorize("lambda:DeleteAlias", r.physicalID, "Lambda"); err != nil {
			return err
		}
		// arn:aws:lambda:<region>:<account>:function:<name>:<alias>
		if parts := strings.Split(r.physicalID, ":"); len(parts) == 8 {
			c.s.opts.Lambda.DeleteAlias(c.account, c.region, parts[6], parts[7])
		}
		return nil
	},
}

func putAlias(c *pctx, r *resource, props map[string]any, action string) error {
	if c.s.opts.Lambda == nil {
		return errNoBackend
	}
	fn, name := propString(props, "FunctionName"), propString(props, "Name")
	arn := functionARNOf(c, fn) + ":" + name
	if err := c.authorize(action, arn, "Lambda"); err != nil {
		return err
	}
	if _, err := c.s.opts.Lambda.PutAlias(c.account, c.region, fn, name, propString(props, "FunctionVersion"), propString(props, "Description")); err != nil {
		return lambdaError(err)
	}
	r.physicalID = arn
	r.attrs = map[string]any{"AliasArn": arn}
	return nil
}

var lambdaPermissionProvider = &provider{
	replace: map[string]string{"Action": "Always", "FunctionName": "Always", "Principal": "Always", "SourceArn": "Always", "SourceAccount": "Always",
		"EventSourceToken": "Always", "PrincipalOrgID": "Always", "FunctionUrlAuthType": "Always"},
	attrs: []string{"Id"},
	create: func(c *pctx, r *resource, props map[string]any) error {
		if c.s.opts.Lambda == nil {
			return errNoBackend
		}
		fn := propString(props, "FunctionName")
		if err := c.authorize("lambda:AddPermission", functionARNOf(c, fn), "Lambda"); err != nil {
			return err
		}
		sid := physicalName(c.st.name, r.logicalID, 100, false)
		_, err := c.s.opts.Lambda.AddPermission(c.account, c.region, fn, lambda.Permission{StatementID: sid, Action: propString(props, "Action"),
			Principal: propString(props, "Principal"), SourceArn: propString(props, "SourceArn"), SourceAccount: propString(props, "SourceAccount"),
			PrincipalOrgID: propString(props, "PrincipalOrgID"), EventSourceToken: propString(props, "EventSourceToken"),
			FunctionURLAuthType: propString(props, "FunctionUrlAuthType")})
		if err != nil {
			return lambdaError(err)
		}
		// Ref is the type's identifier, FunctionName|Id.
		r.physicalID = fn + "|" + sid
		r.attrs = map[string]any{"Id": sid}
		return nil
	},
	delete: func(c *pctx, r *resource) error {
		if c.s.opts.Lambda == nil {
			return nil
		}
		fn := propString(r.props, "FunctionName")
		if err := c.authorize("lambda:RemovePermission", functionARNOf(c, fn), "Lambda"); err != nil {
			return err
		}
		c.s.opts.Lambda.RemovePermission(c.account, c.region, fn, scalarString(r.attrs["Id"]))
		return nil
	},
}
