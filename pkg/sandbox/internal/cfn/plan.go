package cfn

import (
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/cfn/template"
)

// request is the part of a CreateStack/UpdateStack/CreateChangeSet request that
// becomes the stack's configuration.
type request struct {
	body        string
	haveBody    bool
	usePrevious bool
	params      []template.ParamInput
	caps        []string
	tags        []tag
	tagsGiven   bool
	notif       []string
	notifGiven  bool
	roleARN     string
}

func parseRequest(s *Service, call *awsapi.Call, f awsapi.Form) (*request, error) {
	req := &request{usePrevious: f.Get("UsePreviousTemplate") == "true", caps: f.List("Capabilities"), roleARN: f.Get("RoleARN")}
	body, ok, err := s.templateBody(call, f)
	if err != nil {
		return nil, err
	}
	req.body, req.haveBody = body, ok
	for _, p := range f.Structs("Parameters") {
		req.params = append(req.params, template.ParamInput{Key: p["ParameterKey"], Value: p["ParameterValue"], UsePreviousValue: p["UsePreviousValue"] == "true"})
	}
	for _, t := range f.Structs("Tags") {
		req.tags = append(req.tags, tag{Key: t["Key"], Value: t["Value"]})
	}
	req.tagsGiven = f.Has("Tags") || len(req.tags) > 0
	req.notif = f.List("NotificationARNs")
	req.notifGiven = f.Has("NotificationARNs") || len(req.notif) > 0
	for _, t := range req.tags {
		if t.Key == "" {
			return nil, awsapi.ValidationError("1 validation error detected: Value null at 'tags.1.member.key' failed to satisfy constraint: Member must not be null")
		}
	}
	return req, nil
}

// buildConfig turns a request into the stack configuration it asks for; prev is
// the stack's current configuration on updates, nil on creates.
func (s *Service) buildConfig(call *awsapi.Call, r *region, name, id string, req *request, prev *config) (*config, error) {
	cfg := &config{body: req.body}
	switch {
	case req.haveBody && req.usePrevious:
		return nil, awsapi.ValidationError("You cannot specify both usePreviousTemplate and Template Body/Template URL.")
	case req.haveBody:
	case req.usePrevious && prev != nil:
		cfg.body = prev.body
	default:
		return nil, awsapi.ValidationError("Either Template URL or Template Body must be specified.")
	}
	tmpl, err := template.Parse([]byte(cfg.body))
	if err != nil {
		return nil, validation(err)
	}
	cfg.tmpl = tmpl
	var previous map[string]string
	if prev != nil {
		previous = prev.paramDisplay
	}
	ssm := func(pname string) (string, error) {
		if s.opts.SSM == nil {
			return "", awsapi.ValidationError("Parameters [%s] referenced by template have types not supported by CloudFormation.", pname)
		}
		v, typ, err := s.opts.SSM.GetParameterFor(r.account, r.name, pname)
		if err == nil && typ == "SecureString" {
			// CloudFormation refuses SecureString parameters here rather than
			// resolve them: the plaintext must never reach the stack.
			return "", awsapi.ValidationError("Parameters [%s] referenced by template have types not supported by CloudFormation.", pname)
		}
		return v, err
	}
	params, err := tmpl.BindParameters(req.params, previous, ssm)
	if err != nil {
		return nil, validation(err)
	}
	cfg.params = params
	cfg.paramDisplay = displayParams(tmpl, req.params, previous, params)
	if err := checkCapabilities(tmpl.RequiredCapabilities(), req.caps); err != nil {
		return nil, err
	}
	cfg.capabilities = req.caps
	cfg.tags, cfg.notification, cfg.roleARN = req.tags, req.notif, req.roleARN
	if prev != nil {
		if !req.tagsGiven {
			cfg.tags = prev.tags
		}
		if !req.notifGiven {
			cfg.notification = prev.notification
		}
		if cfg.roleARN == "" {
			cfg.roleARN = prev.roleARN
		}
	}
	cfg.duration = s.opts.StackDuration
	for _, t := range cfg.tags {
		if t.Key == DurationTag {
			d, err := time.ParseDuration(t.Value)
			if err != nil || d < 0 {
				return nil, awsapi.ValidationError("Tag %s must be a duration such as 5s, got %q", DurationTag, t.Value)
			}
			cfg.duration = d
		}
	}
	env := s.baseEnv(r, name, id, cfg)
	conds, err := tmpl.EvalConditions(env)
	if err != nil {
		return nil, validation(err)
	}
	cfg.conditions = conds
	if _, err := tmpl.Dependencies(); err != nil {
		return nil, validation(err)
	}
	if _, err := tmpl.CreationOrder(); err != nil {
		return nil, validation(err)
	}
	return cfg, nil
}

// validation makes sure template errors reach the client as 400s.
func validation(err error) error {
	var e *awsapi.Error
	if errors.As(err, &e) {
		return e
	}
	return awsapi.ValidationError("%s", err.Error())
}

func checkCapabilities(required, given []string) error {
	has := map[string]bool{}
	for _, c := range given {
		has[c] = true
	}
	var missing []string
	for _, c := range required {
		ok := has[c]
		if c == "CAPABILITY_IAM" && has["CAPABILITY_NAMED_IAM"] {
			ok = true
		}
		if !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return awsapi.Errorf(http.StatusBadRequest, "InsufficientCapabilitiesException", "Requires capabilities : [%s]", strings.Join(missing, ","))
	}
	return nil
}

// displayParams is what DescribeStacks shows per parameter and what
// UsePreviousValue reuses: the value given (for SSM parameter types, the
// parameter name, not its value).
func displayParams(t *template.Template, in []template.ParamInput, previous map[string]string, bound map[string]template.Value) map[string]string {
	given := map[string]template.ParamInput{}
	for _, p := range in {
		given[p.Key] = p
	}
	out := map[string]string{}
	for _, d := range t.Parameters {
		v, ok := bound[d.Name]
		if !ok {
			continue
		}
		if strings.HasPrefix(d.Type, "AWS::SSM::Parameter::Value<") {
			switch p, ok := given[d.Name]; {
			case ok && p.UsePreviousValue:
				out[d.Name] = previous[d.Name]
			case ok:
				out[d.Name] = p.Value
			case d.Default != nil:
				out[d.Name] = *d.Default
			}
			continue
		}
		out[d.Name] = v.String()
	}
	return out
}

// baseEnv is the intrinsic-function environment of a configuration, without
// resources.
func (s *Service) baseEnv(r *region, name, id string, cfg *config) *template.Env {
	return &template.Env{
		Params:           cfg.params,
		AccountID:        r.account,
		Region:           r.name,
		Partition:        "aws",
		URLSuffix:        "amazonaws.com",
		StackName:        name,
		StackID:          id,
		NotificationARNs: cfg.notification,
		AZs:              template.AvailabilityZones,
		Conditions:       cfg.conditions,
		Mappings:         cfg.tmpl.Mappings,
		ImportValue: func(n string) (string, error) {
			if e := r.exports[n]; e != nil {
				return e.value, nil
			}
			return "", awsapi.ValidationError("No export named %s found", n)
		},
		Ref: func(logicalID string) (string, error) {
			return "", awsapi.ValidationError("Template format error: Unresolved resource dependencies [%s] in the Resources block of the template", logicalID)
		},
		GetAtt: func(logicalID, attr string) (any, error) {
			return nil, awsapi.ValidationError("Template format error: Unresolved resource dependencies [%s] in the Resources block of the template", logicalID)
		},
	}
}

// activeResources lists the template's resources whose conditions hold, in creation order.
func activeResources(cfg *config) []string {
	order, err := cfg.tmpl.CreationOrder()
	if err != nil {
		return nil
	}
	var out []string
	for _, id := range order {
		res := cfg.tmpl.Resources[id]
		if res == nil {
			continue
		}
		if res.Condition != "" && !cfg.conditions[res.Condition] {
			continue
		}
		out = append(out, id)
	}
	return out
}

// placeholder marks values that are only known once a resource is (re)created.
const placeholder = "{{sandbox:unknown}}"

// listAttrs are GetAtt attributes that are lists, so that planning with
// placeholders keeps list functions working.
var listAttrs = map[string]bool{"CidrBlockAssociations": true, "Ipv6CidrBlocks": true}

// planChanges computes the resource changes from a stack's current resources
// (nil for a new stack) to cfg, resolving properties with the physical IDs
// that will not change and placeholders for those that will. It also returns
// the export names the configuration imports; a missing export is an error.
func (s *Service) planChanges(r *region, st *stack, name, id string, cfg *config) ([]resourceChange, map[string]bool, error) {
	var current map[string]*resource
	if st != nil {
		current = st.resources
	}
	order := activeResources(cfg)
	changing := map[string]bool{} // physical ID changes
	modified := map[string]bool{} // attributes may change
	imports := map[string]bool{}
	env := s.baseEnv(r, name, id, cfg)
	baseImport := env.ImportValue
	env.ImportValue = func(n string) (string, error) {
		imports[n] = true
		return baseImport(n)
	}
	live := func(lid string) *resource {
		if res := current[lid]; res != nil && res.status != statusDeleteComplete && res.physicalID != "" {
			return res
		}
		return nil
	}
	env.Ref = func(lid string) (string, error) {
		if res := live(lid); res != nil && !changing[lid] {
			return res.physicalID, nil
		}
		return placeholder, nil
	}
	env.GetAtt = func(lid, attr string) (any, error) {
		if res := live(lid); res != nil && !modified[lid] {
			if v, ok := res.attrs[attr]; ok {
				return v, nil
			}
		}
		if decl := cfg.tmpl.Resources[lid]; listAttrs[attr] || decl != nil && isListAttr(decl.Type, attr) {
			return []any{placeholder}, nil
		}
		return placeholder, nil
	}
	var changes []resourceChange
	inNew := map[string]bool{}
	for _, lid := range order {
		inNew[lid] = true
		decl := cfg.tmpl.Resources[lid]
		resolved, err := template.Resolve(decl.Properties, env)
		if err != nil {
			var e *awsapi.Error
			if errors.As(err, &e) && strings.HasPrefix(e.Message, "No export named") {
				return nil, nil, e
			}
			resolved = map[string]any{"__unresolved": placeholder}
		}
		props, _ := resolved.(map[string]any)
		old := live(lid)
		if old == nil {
			changing[lid], modified[lid] = true, true
			changes = append(changes, resourceChange{action: "Add", logicalID: lid, typ: decl.Type})
			continue
		}
		rc, changed := diffResource(old, decl.Type, props)
		if !changed {
			continue
		}
		modified[lid] = true
		if rc.replacement != "False" {
			changing[lid] = true
		}
		changes = append(changes, rc)
	}
	if st != nil {
		for i := len(st.order) - 1; i >= 0; i-- {
			lid := st.order[i]
			if old := live(lid); old != nil && !inNew[lid] {
				changes = append(changes, resourceChange{action: "Remove", logicalID: lid, physicalID: old.physicalID, typ: old.typ})
			}
		}
	}
	return changes, imports, nil
}

// diffResource compares a live resource with new resolved properties.
func diffResource(old *resource, typ string, props map[string]any) (resourceChange, bool) {
	rc := resourceChange{action: "Modify", logicalID: old.logicalID, physicalID: old.physicalID, typ: typ, replacement: "False"}
	if old.typ != typ {
		rc.replacement = "True"
		rc.scope = []string{"Properties"}
		return rc, true
	}
	keys := changedKeys(old.props, props)
	if len(keys) == 0 {
		return rc, false
	}
	p := providerFor(typ)
	rc.scope = []string{"Properties"}
	rank := map[string]int{"False": 0, "Conditional": 1, "True": 2}
	for _, k := range keys {
		recreate := p.replace[k]
		if recreate == "" {
			recreate = "Never"
		}
		dynamic := strings.Contains(canonical(props[k]), placeholder)
		d := changeDetail{attribute: "Properties", name: k, requiresRecreation: recreate, evaluation: "Static", changeSource: "DirectModification"}
		if dynamic {
			d.evaluation, d.changeSource = "Dynamic", "ResourceAttribute"
		}
		rc.details = append(rc.details, d)
		repl := "False"
		switch {
		case recreate == "Always" && !dynamic:
			repl = "True"
		case recreate != "Never":
			repl = "Conditional"
		}
		if rank[repl] > rank[rc.replacement] {
			rc.replacement = repl
		}
	}
	return rc, true
}

// sameConfig reports whether an update changes nothing but the template text:
// AWS then answers "No updates are to be performed.".
func sameConfig(old, new *config) bool {
	if canonical(old.paramDisplay) != canonical(new.paramDisplay) || canonical(old.tags) != canonical(new.tags) ||
		canonical(old.notification) != canonical(new.notification) || old.roleARN != new.roleARN {
		return false
	}
	return canonical(outputDecls(old)) == canonical(outputDecls(new))
}

func outputDecls(cfg *config) map[string]any {
	out := map[string]any{}
	for k, o := range cfg.tmpl.Outputs {
		if o.Condition != "" && !cfg.conditions[o.Condition] {
			continue
		}
		out[k] = []any{o.Value, o.Description, o.ExportName}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
