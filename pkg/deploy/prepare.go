package deploy

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
	"github.com/stackerless/stackerless/pkg/blueprint"
	"github.com/stackerless/stackerless/pkg/cfn"
	"github.com/stackerless/stackerless/pkg/config"
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/lookup"
	"github.com/stackerless/stackerless/pkg/rawtemplate"
)

// templatePrefix is where stacker keeps rendered templates in its bucket.
const templatePrefix = "stack_templates/"

// Capabilities stacker always grants, so templates with named IAM resources
// and macros deploy without per-stack settings.
var capabilities = []string{"CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"}

// CloudFormation implements engine.Clients with one client per (profile, region).
func (p *Project) CloudFormation(ctx context.Context, profile, region string) (engine.CloudFormation, error) {
	key := [2]string{profile, region}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.cfnClients[key]; ok {
		return c, nil
	}
	cfg, err := p.awsConfig(ctx, profile, region)
	if err != nil {
		return nil, err
	}
	c := cfn.New(cfg)
	p.cfnClients[key] = c
	return c, nil
}

func (p *Project) awsConfig(ctx context.Context, profile, region string) (aws.Config, error) {
	if p.opts.AWS == nil {
		return aws.Config{}, errors.New("no AWS credentials configured")
	}
	return p.opts.AWS.Config(ctx, profile, region)
}

// Rendered is a stack's template and parameters before delivery.
type Rendered struct {
	Body       []byte
	Parameters []cfn.Parameter
	Transform  bool
	Outputs    map[string]string
	// Key is the template's S3 key in the stacker bucket.
	Key string
	// Secrets are the values given to NoEcho parameters.
	Secrets []string
}

// body is a stack's rendered template before its parameters are chosen.
type body struct {
	bytes []byte
	key   string
	// raw is the template_path template; nil for a blueprint.
	raw  *rawtemplate.Template
	vars map[string]any
	// unused names the variables a blueprint does not define.
	unused []string
}

// render resolves a stack's lookups with reg and renders its template.
func (p *Project) render(ctx context.Context, reg lookup.Registry, s *config.Stack, profile, region string) (*body, error) {
	vars, err := lookup.ResolveVariables(ctx, s.Variables, reg, lookup.Consumer{Stack: s.Name, Profile: profile, Region: region})
	if err != nil {
		return nil, err
	}
	fqn := p.Config.FQN(s.Name)
	if s.ClassPath != "" {
		bp, err := blueprint.Lookup(s.ClassPath)
		if err != nil {
			return nil, err
		}
		resolved, unused, err := blueprint.ResolveVariables(bp, s.Name, vars)
		if err != nil {
			return nil, err
		}
		out, err := bp.Render(resolved, blueprint.Context{
			StackName: s.Name, Namespace: p.Config.Namespace, NamespaceDelimiter: p.Config.NamespaceDelimiter,
			Environment: p.Env, Mappings: p.Config.Mappings, Description: s.Description, TemplateIndent: p.Config.TemplateIndent,
		})
		if err != nil {
			return nil, fmt.Errorf("render blueprint %s: %w", s.ClassPath, err)
		}
		sum := md5.Sum(out)
		return &body{bytes: out, key: rawtemplate.KeyName(fqn, s.Name, hex.EncodeToString(sum[:])[:8]), vars: vars, unused: unused}, nil
	}
	path, err := p.templateFile(s.TemplatePath)
	if err != nil {
		return nil, err
	}
	text, err := p.files.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template %s: %w", path, err)
	}
	t, err := rawtemplate.Load(rawtemplate.Input{
		Path: path, Body: text, Name: s.Name, Mappings: p.Config.Mappings, Variables: vars,
		Context: rawtemplate.Context{
			Namespace: p.Config.Namespace, NamespaceDelimiter: p.Config.NamespaceDelimiter, Environment: p.Env,
			BucketName: p.Config.BucketName(), Tags: p.Config.StackTags(), Mappings: p.Config.Mappings,
			TemplateIndent: p.Config.TemplateIndent,
		},
	})
	if err != nil {
		return nil, err
	}
	return &body{bytes: t.Body, key: t.Key(fqn), raw: t, vars: vars}, nil
}

// Render resolves a stack's lookups and renders its template. existing is
// the deployed stack, whose parameters the config does not set keep their
// values; nil for a new stack.
func (p *Project) Render(ctx context.Context, reg lookup.Registry, s *config.Stack, profile, region string, existing *cfn.Stack) (*Rendered, error) {
	return p.renderFor(ctx, reg, s, profile, region, existing, false)
}

// renderFor is Render; forDiff keeps previous values only for parameters
// without a default, as stacker's diff (it builds parameters without the
// existing stack), so one the config stopped setting shows as removed.
func (p *Project) renderFor(ctx context.Context, reg lookup.Registry, s *config.Stack, profile, region string, existing *cfn.Stack, forDiff bool) (*Rendered, error) {
	b, err := p.render(ctx, reg, s, profile, region)
	if err != nil {
		return nil, err
	}
	if b.raw == nil {
		p.warnDropped(s.Name, b.unused)
		return &Rendered{Body: b.bytes, Outputs: declaredOutputs(b.bytes), Key: b.key}, nil
	}
	t := b.raw
	var previous []string
	if existing != nil {
		for k := range existing.Parameters {
			if prm, ok := t.Parameter(k); forDiff && ok && prm.HasDefault {
				continue
			}
			previous = append(previous, k)
		}
		slices.Sort(previous)
	}
	values, dropped, err := t.ParameterValues(b.vars, previous)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(s.TemplatePath, ".j2") {
		// A .j2 template reads variables while rendering: only the others are dropped.
		p.warnDropped(s.Name, dropped)
	}
	params := make([]cfn.Parameter, 0, len(values))
	var secrets []string
	for _, v := range values {
		params = append(params, cfn.Parameter{Key: v.Key, Value: v.Value, UsePrevious: v.UsePreviousValue})
		if prm, ok := t.Parameter(v.Key); ok && prm.NoEcho && !v.UsePreviousValue && v.Value != "" {
			secrets = append(secrets, v.Value)
		}
	}
	return &Rendered{Body: t.Body, Parameters: params, Transform: t.HasTransform, Outputs: declaredOutputs(t.Body), Key: b.key, Secrets: secrets}, nil
}

func (p *Project) warnDropped(stack string, names []string) {
	if len(names) > 0 && p.opts.Warn != nil {
		p.opts.Warn(fmt.Sprintf("%s: variables not used by the template, dropped: %s", stack, strings.Join(names, ", ")))
	}
}

// declaredOutputs maps each output of a template to its Value as written.
func declaredOutputs(body []byte) map[string]string {
	doc, err := rawtemplate.Decode(body)
	if err != nil {
		return nil
	}
	m, _ := doc.(map[string]any)
	outs, _ := m["Outputs"].(map[string]any)
	result := map[string]string{}
	for name, o := range outs {
		om, _ := o.(map[string]any)
		result[name] = pythonStr(om["Value"])
	}
	return result
}

// pythonStr writes a template value as Python's str() does, which is how
// stacker shows an output's value in diff's inferred-change placeholders:
// {'Fn::GetAtt': ['Role', 'Arn']}.
func pythonStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var b strings.Builder
	writePythonRepr(&b, v)
	return b.String()
}

func writePythonRepr(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if v {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case string:
		b.WriteString("'" + strings.NewReplacer(`\`, `\\`, "'", `\'`, "\n", `\n`).Replace(v) + "'")
	case []any:
		b.WriteString("[")
		for i, x := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writePythonRepr(b, x)
		}
		b.WriteString("]")
	case map[string]any:
		b.WriteString("{")
		for i, k := range slices.Sorted(maps.Keys(v)) {
			if i > 0 {
				b.WriteString(", ")
			}
			writePythonRepr(b, k)
			b.WriteString(": ")
			writePythonRepr(b, v[k])
		}
		b.WriteString("}")
	default:
		fmt.Fprint(b, v)
	}
}

// Prepare implements engine.Preparer: lookups, template, delivery, settings.
func (p *Project) Prepare(ctx context.Context, run *engine.Run, st *engine.StackState, existing *cfn.Stack) (*engine.Prepared, error) {
	s := p.Config.Stack(st.Name)
	if s == nil {
		return nil, fmt.Errorf("stack %s is not in the config", st.Name)
	}
	r, err := p.renderFor(ctx, p.registry(run), s, st.Profile, st.Region, existing, run.Action == engine.Diff)
	if err != nil {
		return nil, err
	}
	in := cfn.StackInput{
		Name: st.FQN, Parameters: r.Parameters, Tags: st.Spec.Tags, Capabilities: capabilities,
		NotificationARNs: s.NotificationARNs, RoleARN: p.Config.ServiceRole,
		StackPolicyBody: st.Spec.StackPolicy, TerminationProtection: st.Spec.TerminationProtection,
	}
	if p.Config.UploadTemplates() {
		url, err := p.upload(ctx, r)
		if err != nil {
			return nil, err
		}
		in.TemplateURL = url
	} else {
		if err := rawtemplate.CheckInlineSize(s.Name, r.Body); err != nil {
			return nil, err
		}
		in.TemplateBody = string(r.Body)
	}
	sum := sha256.Sum256(r.Body)
	return &engine.Prepared{Input: in, RequiresChangeSet: r.Transform, OutputValues: r.Outputs, Secrets: r.Secrets,
		TemplateDigest: hex.EncodeToString(sum[:])}, nil
}

// bucketRegion is where the stacker bucket lives.
func (p *Project) bucketRegion() string {
	if p.Config.StackerBucketRegion != "" {
		return p.Config.StackerBucketRegion
	}
	return p.opts.Region
}

// upload puts a template in the stacker bucket under its content-addressed
// key, unless it is there already, and returns the URL CloudFormation reads.
// The bucket's template keys are listed once per project, so a run that
// changes nothing costs no S3 call per stack.
func (p *Project) upload(ctx context.Context, r *Rendered) (string, error) {
	cfg, err := p.awsConfig(ctx, p.opts.Profile, p.bucketRegion())
	if err != nil {
		return "", err
	}
	client := s3.NewFromConfig(cfg)
	bucket := p.Config.BucketName()
	p.uploadMu.Lock()
	defer p.uploadMu.Unlock()
	if p.templateKeys == nil {
		keys, err := listTemplates(ctx, client, bucket, cfg.Region)
		if err != nil {
			return "", err
		}
		p.templateKeys = keys
	}
	if !p.templateKeys[r.Key] {
		_, err = client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(r.Key), Body: bytes.NewReader(r.Body),
			ContentType: aws.String("application/json"), ServerSideEncryption: s3types.ServerSideEncryptionAes256,
		})
		if err != nil {
			return "", fmt.Errorf("upload template s3://%s/%s: %w", bucket, r.Key, err)
		}
		p.templateKeys[r.Key] = true
	}
	return templateURL(bucket, cfg.Region, r.Key), nil
}

// templateURL is the S3 URL of a template as stacker builds it.
func templateURL(bucket, region, key string) string {
	if region == "" || region == "us-east-1" {
		return fmt.Sprintf("https://s3.amazonaws.com/%s/%s", bucket, key)
	}
	return fmt.Sprintf("https://s3.%s.amazonaws.com/%s/%s", region, bucket, key)
}

// listTemplates returns the template keys in the stacker bucket, creating
// the bucket when it is missing, as stacker does.
func listTemplates(ctx context.Context, client *s3.Client, bucket, region string) (map[string]bool, error) {
	keys := map[string]bool{}
	pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(templatePrefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if isNotFound(err) {
			return keys, createBucket(ctx, client, bucket, region)
		}
		if err != nil {
			return nil, fmt.Errorf("list templates in s3://%s: %w", bucket, err)
		}
		for _, o := range page.Contents {
			keys[aws.ToString(o.Key)] = true
		}
	}
	return keys, nil
}

func createBucket(ctx context.Context, client *s3.Client, bucket, region string) error {
	in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	if region != "" && region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
	}
	if _, err := client.CreateBucket(ctx, in); err != nil {
		return fmt.Errorf("create stacker bucket %s: %w", bucket, err)
	}
	return nil
}

func isNotFound(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NotFound", "NoSuchKey", "NoSuchBucket", "404":
			return true
		}
	}
	return false
}

// registry builds the lookup handlers for one stack of run.
func (p *Project) registry(run *engine.Run) lookup.Registry {
	return lookup.NewRegistry(lookup.Options{
		Stacks: func(name string) (lookup.StackRef, bool) {
			s := p.Config.Stack(name)
			if s == nil {
				return lookup.StackRef{}, false
			}
			return lookup.StackRef{FQN: s.CFNName(p.Config), Profile: p.profileOf(s), Region: p.regionOf(s)}, true
		},
		Qualify:     p.Config.FQN,
		Outputs:     &outputReader{project: p, run: run},
		Environment: p.Env,
		Getenv:      p.opts.Getenv,
		Files:       configDir{p},
		Clients:     lookupClients{p},
	})
}

// outputReader serves outputs of stacks this run finished, then those of
// the current Advance's listing of the reading profile's account, then asks
// CloudFormation there.
type outputReader struct {
	project *Project
	run     *engine.Run
}

// stackKey identifies a deployed stack: the same name can exist in several
// accounts and regions.
type stackKey struct{ fqn, profile, region string }

// runOutputs finds the outputs of one of run's finished stacks through an
// index of them, rebuilt when a stack is missing from it (it may have
// finished since).
func (p *Project) runOutputs(run *engine.Run, key stackKey) (map[string]string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if outs, ok := p.outputs[key]; ok && p.outputsRun == run {
		return outs, true
	}
	p.outputsRun = run
	p.outputs = map[stackKey]map[string]string{}
	for _, s := range run.Stacks {
		if s.Outputs != nil {
			p.outputs[stackKey{s.FQN, s.Profile, s.Region}] = s.Outputs
		}
	}
	outs, ok := p.outputs[key]
	return outs, ok
}

func (o *outputReader) Outputs(ctx context.Context, profile, region, stackName string) (map[string]string, error) {
	if o.run != nil {
		if outs, ok := o.project.runOutputs(o.run, stackKey{stackName, profile, region}); ok {
			return outs, nil
		}
	}
	st, listed := (*cfn.Stack)(nil), false
	if o.run != nil {
		st, listed = o.run.ListedStack(profile, region, stackName)
	}
	if !listed {
		c, err := o.project.CloudFormation(ctx, profile, region)
		if err != nil {
			return nil, err
		}
		if st, err = c.Describe(ctx, stackName); err != nil {
			return nil, err
		}
	}
	if st == nil || st.Status.Gone() {
		return nil, fmt.Errorf("%s: %w", stackName, lookup.ErrStackNotFound)
	}
	return st.Outputs, nil
}

// lookupClients builds the SDK clients of AWS-reading lookups in the
// consuming stack's account.
type lookupClients struct{ p *Project }

func (l lookupClients) SSM(ctx context.Context, profile, region string) (lookup.SSMAPI, error) {
	cfg, err := l.p.awsConfig(ctx, profile, region)
	if err != nil {
		return nil, err
	}
	return ssm.NewFromConfig(cfg), nil
}

func (l lookupClients) KMS(ctx context.Context, profile, region string) (lookup.KMSAPI, error) {
	cfg, err := l.p.awsConfig(ctx, profile, region)
	if err != nil {
		return nil, err
	}
	return kms.NewFromConfig(cfg), nil
}

func (l lookupClients) EC2(ctx context.Context, profile, region string) (lookup.EC2API, error) {
	cfg, err := l.p.awsConfig(ctx, profile, region)
	if err != nil {
		return nil, err
	}
	return ec2.NewFromConfig(cfg), nil
}

func (l lookupClients) DynamoDB(ctx context.Context, profile, region string) (lookup.DynamoDBAPI, error) {
	cfg, err := l.p.awsConfig(ctx, profile, region)
	if err != nil {
		return nil, err
	}
	return dynamodb.NewFromConfig(cfg), nil
}
