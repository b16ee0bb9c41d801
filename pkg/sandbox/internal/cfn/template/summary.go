package template

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

// Summary summarises the template for GetTemplateSummary / ValidateTemplate.
func (t *Template) Summary() *Summary { return &Summary{} }

// MaskNoEcho returns the value to display for a parameter: "****" for NoEcho parameters.
func MaskNoEcho(v Value) string { return "****" }

// String returns the value as CloudFormation shows it: lists comma-joined.
func (v Value) String() string { return "" }
