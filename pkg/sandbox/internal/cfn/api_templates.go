package cfn

import (
	"encoding/json"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/cfn/template"
)

func (s *Service) getTemplate(call *awsapi.Call, f awsapi.Form) (any, error) {
	name := f.Get("StackName")
	if err := s.authorize(call, name); err != nil {
		return nil, err
	}
	switch stage := f.Get("TemplateStage"); stage {
	case "", "Original", "Processed":
	default:
		return nil, awsapi.ValidationError("1 validation error detected: Value '%s' at 'templateStage' failed to satisfy constraint: Member must satisfy enum value set: [Original, Processed]", stage)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.regionFor(call)
	var body string
	if cs := f.Get("ChangeSetName"); cs != "" {
		_, c, err := r.findChangeSet(cs, name)
		if err != nil {
			return nil, err
		}
		body = c.cfg.body
	} else {
		st, err := r.mustLookup(name)
		if err != nil {
			return nil, err
		}
		body = st.cfg.body
	}
	return struct {
		TemplateBody    string
		StagesAvailable *members[string]
	}{body, list([]string{"Original", "Processed"})}, nil
}

// summaryTemplate finds the template a GetTemplateSummary/ValidateTemplate request names.
func (s *Service) summaryTemplate(call *awsapi.Call, f awsapi.Form, allowStack bool) (*template.Template, error) {
	body, ok, err := s.templateBody(call, f)
	if err != nil {
		return nil, err
	}
	if !ok && allowStack && f.Get("StackName") != "" {
		s.mu.Lock()
		st, err := s.regionFor(call).mustLookup(f.Get("StackName"))
		if err == nil {
			body, ok = st.cfg.body, st.cfg.body != ""
		}
		s.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	if !ok {
		if allowStack {
			return nil, awsapi.ValidationError("Either StackName or TemplateBody or TemplateURL must be specified.")
		}
		return nil, awsapi.ValidationError("Either Template URL or Template Body must be specified.")
	}
	t, err := template.Parse([]byte(body))
	if err != nil {
		return nil, validation(err)
	}
	return t, nil
}

func (s *Service) getTemplateSummary(call *awsapi.Call, f awsapi.Form) (any, error) {
	if err := s.authorize(call, f.Get("StackName")); err != nil {
		return nil, err
	}
	t, err := s.summaryTemplate(call, f, true)
	if err != nil {
		return nil, err
	}
	sum := t.Summary()
	var params []xParamDecl
	for _, p := range sum.Parameters {
		x := xParamDecl{ParameterKey: p.Key, ParameterType: p.Type, NoEcho: p.NoEcho, Description: p.Description}
		if p.Default != nil {
			x.DefaultValue = *p.Default
		}
		if len(p.AllowedValues) > 0 {
			x.ParameterConstraints = &struct{ AllowedValues *members[string] }{list(p.AllowedValues)}
		} else {
			x.ParameterConstraints = &struct{ AllowedValues *members[string] }{}
		}
		params = append(params, x)
	}
	meta := ""
	if sum.Metadata != nil {
		data, _ := json.Marshal(sum.Metadata)
		meta = string(data)
	}
	return struct {
		Parameters         *members[xParamDecl]
		Description        string `xml:",omitempty"`
		Capabilities       *members[string]
		CapabilitiesReason string `xml:",omitempty"`
		ResourceTypes      *members[string]
		Version            string `xml:",omitempty"`
		Metadata           string `xml:",omitempty"`
		DeclaredTransforms *members[string]
	}{list(params), sum.Description, list(sum.Capabilities), sum.CapabilitiesReason, list(sum.ResourceTypes), sum.Version, meta, list(sum.DeclaredTransforms)}, nil
}

func (s *Service) validateTemplate(call *awsapi.Call, f awsapi.Form) (any, error) {
	if err := s.authorize(call, ""); err != nil {
		return nil, err
	}
	t, err := s.summaryTemplate(call, f, false)
	if err != nil {
		return nil, err
	}
	if _, err := t.Dependencies(); err != nil {
		return nil, validation(err)
	}
	sum := t.Summary()
	type param struct {
		ParameterKey string
		DefaultValue string `xml:",omitempty"`
		NoEcho       bool
		Description  string `xml:",omitempty"`
	}
	var params []param
	for _, p := range sum.Parameters {
		x := param{ParameterKey: p.Key, NoEcho: p.NoEcho, Description: p.Description}
		if p.Default != nil {
			x.DefaultValue = *p.Default
		}
		params = append(params, x)
	}
	return struct {
		Parameters         *members[param]
		Description        string `xml:",omitempty"`
		Capabilities       *members[string]
		CapabilitiesReason string `xml:",omitempty"`
		DeclaredTransforms *members[string]
	}{list(params), sum.Description, list(sum.Capabilities), sum.CapabilitiesReason, list(sum.DeclaredTransforms)}, nil
}
