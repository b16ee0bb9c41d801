// Package template parses CloudFormation templates (JSON or YAML with short-form intrinsic tags), binds
// parameters, evaluates conditions and intrinsic functions, and orders resources for the sandbox's
// CloudFormation service. Errors are *awsapi.Error ValidationErrors worded as CloudFormation words them.
package template

// MaxBodySize is the largest TemplateBody CloudFormation accepts, in bytes. The service enforces it because
// only it knows whether a template came as a body or from TemplateURL (limit 1 MB).
const MaxBodySize = 51200

// MaxURLSize is the largest template CloudFormation fetches from a TemplateURL, in bytes.
const MaxURLSize = 1024 * 1024

// Template is a parsed CloudFormation template. Values inside Properties, Conditions and Outputs are raw
// JSON-like trees (map[string]any, []any, string, float64, bool, nil) with intrinsics in long form.
type Template struct {
	FormatVersion string
	Description   string
	Transform     []string
	Parameters    []*ParameterDecl // declaration order
	Mappings      map[string]map[string]map[string]any
	Conditions    map[string]any // raw condition expressions
	Resources     map[string]*Resource
	Outputs       map[string]*OutputDecl
	Metadata      map[string]any
}

// ParameterDecl is one entry of the template's Parameters section.
type ParameterDecl struct {
	Name, Type, Description, AllowedPattern, ConstraintDescription string
	Default                                                        *string
	NoEcho                                                         bool
	AllowedValues                                                  []string
	MinLength, MaxLength                                           *int
	MinValue, MaxValue                                             *float64
}

// Resource is one entry of the template's Resources section.
type Resource struct {
	LogicalID, Type, Condition, DeletionPolicy, UpdateReplacePolicy string
	DependsOn                                                       []string
	Properties                                                      map[string]any // raw, intrinsics unresolved
	Metadata                                                        map[string]any
}

// OutputDecl is one entry of the template's Outputs section; Value, Description and ExportName are raw.
type OutputDecl struct {
	Key         string
	Value       any
	Description any
	ExportName  any
	Condition   string
}

// ParamInput is one parameter passed to CreateStack/UpdateStack/CreateChangeSet.
type ParamInput struct {
	Key, Value       string
	UsePreviousValue bool
}

// Value is a bound parameter value. Raw is a string or, for list types, a []string.
type Value struct {
	Raw    any
	NoEcho bool
	// ResolvedFromSSM is the resolved value of an AWS::SSM::Parameter::Value<...> parameter as a string
	// (lists comma-joined); Raw then holds the resolved value and the stack shows the SSM name.
	ResolvedFromSSM string
	// Input is the value as given (or defaulted/previous) before SSM resolution; DescribeStacks shows it.
	Input string
}

// Env is what Resolve needs to evaluate intrinsics.
type Env struct {
	Params                                                      map[string]Value
	AccountID, Region, Partition, URLSuffix, StackName, StackID string
	NotificationARNs                                            []string
	AZs                                                         func(region string) []string
	ImportValue                                                 func(name string) (string, error)
	Ref                                                         func(logicalID string) (string, error) // resource physical ID
	GetAtt                                                      func(logicalID, attr string) (any, error)
	Conditions                                                  map[string]bool // filled by EvalConditions
	Mappings                                                    map[string]map[string]map[string]any
}

// Output is a resolved stack output.
type Output struct {
	Key, Value, Description, ExportName string
}
