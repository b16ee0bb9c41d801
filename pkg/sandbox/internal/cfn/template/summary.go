package template

import (
	"sort"
	"strings"
)

// Summary is what GetTemplateSummary and ValidateTemplate report about a template.
type Summary struct {
	Description        string
	Version            string // AWSTemplateFormatVersion
	Parameters         []SummaryParameter
	Capabilities       []string
	CapabilitiesReason string
	ResourceTypes      []string // sorted, unique
	DeclaredTransforms []string
	Metadata           map[string]any
}

// SummaryParameter is one parameter declaration as GetTemplateSummary reports it.
type SummaryParameter struct {
	Key, Type, Description string
	Default                *string
	NoEcho                 bool
	AllowedValues          []string
}

// Summary summarises the template for GetTemplateSummary / ValidateTemplate. Parameters keep declaration
// order; a NoEcho parameter's default shows masked, as CloudFormation shows it.
func (t *Template) Summary() *Summary {
	s := &Summary{
		Description:        t.Description,
		Version:            t.FormatVersion,
		DeclaredTransforms: append([]string(nil), t.Transform...),
		Metadata:           t.Metadata,
	}
	for _, p := range t.Parameters {
		sp := SummaryParameter{Key: p.Name, Type: p.Type, Description: p.Description, NoEcho: p.NoEcho,
			AllowedValues: append([]string(nil), p.AllowedValues...)}
		if p.Default != nil {
			d := *p.Default
			if p.NoEcho {
				d = masked
			}
			sp.Default = &d
		}
		s.Parameters = append(s.Parameters, sp)
	}
	caps, reasonTypes := t.capabilities()
	s.Capabilities = caps
	if len(reasonTypes) > 0 {
		s.CapabilitiesReason = "The following resource(s) require capabilities: [" + strings.Join(reasonTypes, ", ") + "]"
	} else if len(caps) > 0 {
		s.CapabilitiesReason = "The following resource(s) require capabilities: [AWS::CloudFormation::Stack]"
		if len(t.Transform) > 0 {
			s.CapabilitiesReason = "The following transform(s) require capabilities: [" + strings.Join(t.Transform, ", ") + "]"
		}
	}
	types := map[string]bool{}
	for _, r := range t.Resources {
		types[r.Type] = true
	}
	s.ResourceTypes = sortedKeys(types)
	sort.Strings(s.ResourceTypes)
	return s
}

const masked = "****"

// MaskNoEcho returns the value to display for a parameter: "****" for NoEcho parameters, else the value
// as given (an SSM parameter's name rather than its secret value).
func MaskNoEcho(v Value) string {
	if v.NoEcho {
		return masked
	}
	if v.Input != "" || v.ResolvedFromSSM != "" {
		return v.Input
	}
	return v.String()
}

// String returns the value as CloudFormation shows it: lists comma-joined.
func (v Value) String() string {
	switch r := v.Raw.(type) {
	case string:
		return r
	case []string:
		return strings.Join(r, ",")
	}
	return ""
}
