// Package blueprint holds the Go blueprints that stand in for stacker's
// Python class_path blueprints. A config's class_path is looked up in a
// registry; a class path nobody has ported is an error that says what to do.
package blueprint

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Type is the Python type a stacker VARIABLES entry declares.
type Type string

// The variable types stacker blueprints use: Python's str, int, bool, list
// and dict, and Resource for stacker's TroposphereType of a resource (a
// mapping of one resource title to its properties, which the blueprint
// checks).
const (
	String   Type = "str"
	Int      Type = "int"
	Bool     Type = "bool"
	List     Type = "list"
	Dict     Type = "dict"
	Resource Type = "TroposphereType"
)

// Variable is one entry of a blueprint's VARIABLES.
type Variable struct {
	Name        string
	Type        Type
	Default     any // used when HasDefault; nil = computed by the blueprint
	HasDefault  bool
	Description string
}

// Context is what a blueprint sees of the stacker context and the stack.
type Context struct {
	// StackName is the stack's `name` in the config; stacker names the
	// blueprint after it in error messages.
	StackName          string
	Namespace          string
	NamespaceDelimiter string
	Environment        map[string]any
	// Mappings are the config's top-level mappings; stacker adds them to
	// every blueprint's template.
	Mappings map[string]map[string]map[string]any
	// Description is the stack's `description`, set as the template's.
	Description string
	// TemplateIndent is the JSON indent (config template_indent); 0 means
	// stacker's default of 4.
	TemplateIndent int
}

// Blueprint renders a CloudFormation template from resolved variables.
type Blueprint interface {
	// Name is the class path the blueprint answers to.
	Name() string
	// Variables are the blueprint's variable definitions, sorted by name.
	Variables() []Variable
	// Render returns the template as JSON. vars are the output of
	// ResolveVariables: every defined variable is present and typed.
	Render(vars map[string]any, ctx Context) ([]byte, error)
}

var registry = map[string]func() Blueprint{
	"stacker_blueprints.vpc.VPC":         func() Blueprint { return VPC{} },
	"stacker_blueprints.vpc.VPC2":        func() Blueprint { return VPC2{} },
	"stacker_blueprints.network.Network": func() Blueprint { return Network{} },
}

// Lookup returns the Go blueprint registered for a class path.
func Lookup(classPath string) (Blueprint, error) {
	if f, ok := registry[classPath]; ok {
		return f(), nil
	}
	return nil, &UnportedError{ClassPath: classPath}
}

// UnportedError is a class_path with no Go blueprint: a Python blueprint,
// usually the user's own, which needs Python to run. Its message is the way
// to migrate, in one line.
type UnportedError struct {
	ClassPath string
}

func (e *UnportedError) Error() string {
	return fmt.Sprintf("class_path %s is a Python blueprint, and stackerless runs no Python: render its template once with stacker "+
		"(stacker build --dump DIR <config>) and point template_path at the file, or port the blueprint to Go (ported: %s)",
		e.ClassPath, strings.Join(ClassPaths(), ", "))
}

// ClassPaths lists the registered class paths, sorted.
func ClassPaths() []string {
	out := make([]string, 0, len(registry))
	for k := range registry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// MissingVariableError is stacker's MissingVariable.
type MissingVariableError struct {
	Blueprint, Variable string
}

func (e *MissingVariableError) Error() string {
	return fmt.Sprintf("Variable %q in blueprint %q is missing", e.Variable, e.Blueprint)
}

// ResolveVariables applies a blueprint's variable definitions to the
// stack's resolved variables as stacker does: defaults fill what is not
// given, a variable without default and value is a *MissingVariableError,
// and values must have the declared type. Variables the blueprint does not
// define are ignored by stacker; their names are returned (sorted) so the
// caller can warn.
func ResolveVariables(bp Blueprint, stackName string, provided map[string]any) (map[string]any, []string, error) {
	defs := bp.Variables()
	out := make(map[string]any, len(defs))
	known := make(map[string]bool, len(defs))
	for _, d := range defs {
		known[d.Name] = true
		v, ok := provided[d.Name]
		if !ok || v == nil {
			if !d.HasDefault {
				return nil, nil, &MissingVariableError{Blueprint: stackName, Variable: d.Name}
			}
			v = d.Default
			if v == nil {
				// A nil default means the blueprint computes the value.
				out[d.Name] = nil
				continue
			}
		}
		tv, err := convert(d, v)
		if err != nil {
			return nil, nil, err
		}
		out[d.Name] = tv
	}
	var ignored []string
	for k := range provided {
		if !known[k] {
			ignored = append(ignored, k)
		}
	}
	sort.Strings(ignored)
	return out, ignored, nil
}

// convert checks a value against its declared type. Integers may arrive as
// any Go integer type or an integral float (JSON), as Python's int check
// would accept them; nothing else is coerced, as in stacker.
func convert(d Variable, v any) (any, error) {
	bad := func() error { return &TypeError{Variable: d.Name, Want: d.Type, Got: pyType(v)} }
	switch d.Type {
	case String:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case Bool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case Int:
		switch n := v.(type) {
		case int:
			return n, nil
		case int64:
			return int(n), nil
		case int32:
			return int(n), nil
		case uint64:
			if n <= math.MaxInt32 {
				return int(n), nil
			}
		case float64:
			if n == math.Trunc(n) && math.Abs(n) <= math.MaxInt32 {
				return int(n), nil
			}
		case json.Number:
			if i, err := n.Int64(); err == nil {
				return int(i), nil
			}
		}
	case Dict:
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
	case Resource:
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
		return nil, fmt.Errorf("variable %s: Resources must be specified as a dict of title to parameters, found <class '%s'>", d.Name, pyType(v))
	case List:
		switch l := v.(type) {
		case []any:
			return l, nil
		case []string:
			out := make([]any, len(l))
			for i, s := range l {
				out[i] = s
			}
			return out, nil
		}
	default:
		return nil, fmt.Errorf("variable %s: unknown type %q", d.Name, d.Type)
	}
	return nil, bad()
}

// TypeError is stacker's wrong-type error for a blueprint variable.
type TypeError struct {
	Variable string
	Want     Type
	Got      string // Python type name
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("Value for variable %s must be of type <class '%s'>. Actual type: <class '%s'>.", e.Variable, e.Want, e.Got)
}

func pyType(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case string:
		return "str"
	case bool:
		return "bool"
	case int, int32, int64, uint64:
		return "int"
	case float64, float32, json.Number:
		return "float"
	case []any, []string:
		return "list"
	case map[string]any:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}

// Rendered is a blueprint's template with stacker's version hash.
type Rendered struct {
	Body []byte
	// Version is the first 8 hex digits of the MD5 of Body, as in stacker's
	// template key stack_templates/<fqn>/<name>-<version>.json.
	Version string
	// Ignored names the provided variables the blueprint does not define.
	Ignored []string
}

// Render resolves the provided variables against bp's definitions and
// renders the template.
func Render(bp Blueprint, ctx Context, provided map[string]any) (*Rendered, error) {
	vars, ignored, err := ResolveVariables(bp, ctx.StackName, provided)
	if err != nil {
		return nil, fmt.Errorf("resolve variables of %s: %w", ctx.StackName, err)
	}
	body, err := bp.Render(vars, ctx)
	if err != nil {
		return nil, fmt.Errorf("render blueprint %s for %s: %w", bp.Name(), ctx.StackName, err)
	}
	sum := md5.Sum(body)
	return &Rendered{Body: body, Version: hex.EncodeToString(sum[:])[:8], Ignored: ignored}, nil
}

// Template is a CloudFormation template under construction. Its JSON has
// sorted keys (maps), like stacker's json.dumps(sort_keys=True).
type Template struct {
	Description string
	Mappings    map[string]map[string]map[string]any
	Parameters  map[string]any
	Conditions  map[string]any
	Resources   map[string]any
	Outputs     map[string]any
}

// NewTemplate starts a template with the context's description and mappings.
func NewTemplate(ctx Context) *Template {
	return &Template{
		Description: ctx.Description,
		Mappings:    ctx.Mappings,
		Resources:   map[string]any{},
		Outputs:     map[string]any{},
	}
}

// AddResource adds a resource; props may be nil.
func (t *Template) AddResource(id, typ string, props map[string]any, dependsOn ...string) {
	r := map[string]any{"Type": typ}
	if len(props) > 0 {
		r["Properties"] = props
	}
	switch len(dependsOn) {
	case 0:
	case 1:
		r["DependsOn"] = dependsOn[0]
	default:
		r["DependsOn"] = dependsOn
	}
	t.Resources[id] = r
}

// AddOutput adds an output.
func (t *Template) AddOutput(name string, value any) {
	t.Outputs[name] = map[string]any{"Value": value}
}

// JSON encodes the template deterministically with the given indent
// (0 means 4).
func (t *Template) JSON(indent int) ([]byte, error) {
	if indent <= 0 {
		indent = 4
	}
	doc := map[string]any{
		"AWSTemplateFormatVersion": "2010-09-09",
		"Resources":                t.Resources,
	}
	if t.Description != "" {
		doc["Description"] = t.Description
	}
	if len(t.Mappings) > 0 {
		doc["Mappings"] = t.Mappings
	}
	if len(t.Parameters) > 0 {
		doc["Parameters"] = t.Parameters
	}
	if len(t.Conditions) > 0 {
		doc["Conditions"] = t.Conditions
	}
	if len(t.Outputs) > 0 {
		doc["Outputs"] = t.Outputs
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", strings.Repeat(" ", indent))
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode template: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Intrinsic function helpers.

// Ref is {"Ref": name}.
func Ref(name string) map[string]any { return map[string]any{"Ref": name} }

// GetAtt is {"Fn::GetAtt": [id, attr]}.
func GetAtt(id, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{id, attr}}
}

// Join is {"Fn::Join": [sep, parts]}.
func Join(sep string, parts ...any) map[string]any {
	return map[string]any{"Fn::Join": []any{sep, parts}}
}

// Select is {"Fn::Select": [i, list]}.
func Select(i int, list any) map[string]any {
	return map[string]any{"Fn::Select": []any{i, list}}
}

// GetAZs is {"Fn::GetAZs": region}; "" is the stack's region.
func GetAZs(region string) map[string]any { return map[string]any{"Fn::GetAZs": region} }

// Sub is {"Fn::Sub": s}.
func Sub(s string) map[string]any { return map[string]any{"Fn::Sub": s} }

// FindInMap is {"Fn::FindInMap": [m, k1, k2]}.
func FindInMap(m string, k1, k2 any) map[string]any {
	return map[string]any{"Fn::FindInMap": []any{m, k1, k2}}
}

// NoValue is {"Ref": "AWS::NoValue"}.
func NoValue() map[string]any { return Ref("AWS::NoValue") }
