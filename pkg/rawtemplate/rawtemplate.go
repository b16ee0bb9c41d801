// Package rawtemplate loads the CloudFormation templates that stacker configs
// name with template_path, the way stacker's raw blueprint does: JSON or YAML
// bodies pass through unchanged, `.j2` files are rendered as Jinja2 first,
// the template's Parameters decide which variables become stack parameters,
// and the rendered body's MD5 names the S3 key the template is uploaded to.
package rawtemplate

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// MaxInlineBodySize is CloudFormation's limit on a TemplateBody passed inline;
// larger templates must be uploaded to the stacker bucket.
const MaxInlineBodySize = 51200

// Context is what a `.j2` template sees as `context`, mirroring the
// attributes of stacker's Context object.
type Context struct {
	Namespace          string
	NamespaceDelimiter string
	Environment        map[string]any
	BucketName         string
	Tags               map[string]string
	Mappings           map[string]map[string]map[string]any
	TemplateIndent     int
}

// Input describes one stack's template_path template.
type Input struct {
	// Path is template_path as written in the config; it decides `.j2`
	// rendering and is named in errors.
	Path string
	// Body holds the file's contents when the caller has them already (a
	// bundle read from S3); nil means read Path from the file system.
	Body []byte
	// Name is the stack's `name` in the config (not stack_name): stacker
	// passes it to the template as `name` and uses it in the S3 key.
	Name    string
	Context Context
	// Mappings are the config's top-level mappings (`mappings` in `.j2`).
	Mappings map[string]map[string]map[string]any
	// Variables are the stack's resolved variables (lookups done).
	Variables map[string]any
}

// Template is a loaded (and, for `.j2`, rendered) raw template.
type Template struct {
	Path string
	Name string
	// Body is the rendered template exactly as it is uploaded or passed
	// inline: stacker does not re-serialise raw templates.
	Body []byte
	// Version is the first 8 hex digits of the MD5 of Body.
	Version string
	// Parameters are the template's declared parameters, sorted by name.
	Parameters []Parameter
	// HasTransform reports a Transform section, for which stacker always
	// uses a change set.
	HasTransform bool
	Description  string
	// Outputs are the declared output names, sorted.
	Outputs []string
}

// Parameter is one declared CloudFormation parameter.
type Parameter struct {
	Name string
	Type string
	// HasDefault is true when the declaration has a Default key; only
	// parameters without one are required (stacker's rule).
	HasDefault bool
	NoEcho     bool
}

// Parameter returns the declared parameter named name.
func (t *Template) Parameter(name string) (Parameter, bool) {
	i, ok := sort.Find(len(t.Parameters), func(i int) int { return strings.Compare(name, t.Parameters[i].Name) })
	if !ok {
		return Parameter{}, false
	}
	return t.Parameters[i], true
}

// Load reads (unless in.Body is set), renders and parses a raw template.
func Load(in Input) (*Template, error) {
	body := in.Body
	if body == nil {
		b, err := readTemplate(in.Path)
		if err != nil {
			return nil, err
		}
		body = b
	}
	if strings.EqualFold(filepath.Ext(in.Path), ".j2") {
		r, err := renderJinja(in, body)
		if err != nil {
			return nil, err
		}
		body = r
	}
	return parse(in.Path, in.Name, body)
}

func readTemplate(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("could not find template %s (template_path is relative to the directory the config is run from): %w", path, err)
		}
		return nil, fmt.Errorf("read template %s: %w", path, err)
	}
	return b, nil
}

func parse(path, name string, body []byte) (*Template, error) {
	doc, err := Decode(body)
	if err != nil {
		return nil, fmt.Errorf("parse template %s: %w", path, err)
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("parse template %s: the template is not a mapping", path)
	}
	sum := md5.Sum(body)
	t := &Template{
		Path:    path,
		Name:    name,
		Body:    body,
		Version: hex.EncodeToString(sum[:])[:8],
	}
	_, t.HasTransform = top["Transform"]
	if d, ok := top["Description"].(string); ok {
		t.Description = d
	}
	if raw, ok := top["Parameters"]; ok && raw != nil {
		params, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("parse template %s: Parameters is not a mapping", path)
		}
		for pname, decl := range params {
			p := Parameter{Name: pname}
			if m, ok := decl.(map[string]any); ok {
				p.Type, _ = m["Type"].(string)
				_, p.HasDefault = m["Default"]
				p.NoEcho = truthy(m["NoEcho"])
			}
			t.Parameters = append(t.Parameters, p)
		}
		sort.Slice(t.Parameters, func(i, j int) bool { return t.Parameters[i].Name < t.Parameters[j].Name })
	}
	if outs, ok := top["Outputs"].(map[string]any); ok {
		for k := range outs {
			t.Outputs = append(t.Outputs, k)
		}
		sort.Strings(t.Outputs)
	}
	return t, nil
}

func truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}

// Decode parses a JSON or YAML CloudFormation template into plain Go values,
// trying JSON first as the AWS CLI's yamlhelper does. YAML short-form tags
// become their long forms ({"Ref": x}, {"Fn::Sub": x}, ...).
func Decode(body []byte) (any, error) {
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err == nil {
			if _, err := dec.Token(); err != nil { // nothing may follow the object
				return v, nil
			}
		}
	}
	return parseYAML(body)
}

// KeyName is stacker's S3 key for a rendered template:
// stack_templates/<fqn>/<name>-<version>.json, where fqn is the fully
// qualified form of the stack's `name` (stacker uses the name here, not
// stack_name) and version the first 8 hex digits of the body's MD5.
func KeyName(fqn, name, version string) string {
	return fmt.Sprintf("stack_templates/%s/%s-%s.json", fqn, name, version)
}

// Key is KeyName for this template.
func (t *Template) Key(fqn string) string { return KeyName(fqn, t.Name, t.Version) }

// CheckInlineSize fails for a body CloudFormation would refuse inline, with
// the way out (beyond stacker, which lets CloudFormation reject it).
func CheckInlineSize(name string, body []byte) error {
	if len(body) > MaxInlineBodySize {
		return fmt.Errorf("stack %s: template is %d bytes, over CloudFormation's %d-byte limit for inline templates: set stacker_bucket (or a namespace) so templates are uploaded to S3",
			name, len(body), MaxInlineBodySize)
	}
	return nil
}

// ParamValue is one parameter to send to CloudFormation.
type ParamValue struct {
	Key   string
	Value string
	// UsePreviousValue keeps an existing stack's value for a parameter the
	// config does not give.
	UsePreviousValue bool
}

// MissingParametersError is stacker's MissingParameterException.
type MissingParametersError struct {
	Names []string // sorted
}

func (e *MissingParametersError) Error() string {
	return "Missing required cloudformation parameters: " + strings.Join(e.Names, ", ")
}

// ParameterValues turns the stack's resolved variables into CloudFormation
// parameters as stacker's raw blueprint and build action do: variables the
// template does not declare are dropped (their names are returned, sorted,
// so the caller can warn), nil values are not sent, booleans become
// "true"/"false", numbers their decimal form and lists are joined with
// commas. Declared parameters without a value keep the existing stack's
// value when previous (the existing stack's parameter keys) has them;
// required ones still missing fail with *MissingParametersError.
// The result is sorted by key.
func (t *Template) ParameterValues(vars map[string]any, previous []string) (params []ParamValue, dropped []string, err error) {
	declared := make(map[string]Parameter, len(t.Parameters))
	for _, p := range t.Parameters {
		declared[p.Name] = p
	}
	given := map[string]bool{}
	for k, v := range vars {
		if _, ok := declared[k]; !ok {
			dropped = append(dropped, k)
			continue
		}
		if v == nil {
			continue
		}
		s, err := ParameterString(v)
		if err != nil {
			return nil, nil, fmt.Errorf("variable %s: %w", k, err)
		}
		params = append(params, ParamValue{Key: k, Value: s})
		given[k] = true
	}
	prev := map[string]bool{}
	for _, k := range previous {
		prev[k] = true
	}
	var missing []string
	for _, p := range t.Parameters {
		if given[p.Name] {
			continue
		}
		if prev[p.Name] {
			params = append(params, ParamValue{Key: p.Name, UsePreviousValue: true})
			continue
		}
		if !p.HasDefault {
			missing = append(missing, p.Name)
		}
	}
	sort.Strings(dropped)
	if len(missing) > 0 {
		return nil, dropped, &MissingParametersError{Names: missing}
	}
	sort.Slice(params, func(i, j int) bool { return params[i].Key < params[j].Key })
	return params, dropped, nil
}

// ParameterString renders one variable value as a CloudFormation parameter
// value string.
func ParameterString(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case int32:
		return strconv.FormatInt(int64(v), 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case uint32:
		return strconv.FormatUint(uint64(v), 10), nil
	case uint:
		return strconv.FormatUint(uint64(v), 10), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32), nil
	case json.Number:
		return v.String(), nil
	case []string:
		return strings.Join(v, ","), nil
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			switch x.(type) {
			case []any, []string, map[string]any:
				return "", errors.New("a nested list or map cannot be a CloudFormation parameter value")
			}
			s, err := ParameterString(x)
			if err != nil {
				return "", err
			}
			parts[i] = s
		}
		return strings.Join(parts, ","), nil
	case map[string]any:
		return "", errors.New("a map cannot be a CloudFormation parameter value; use a list or a string")
	default:
		return "", fmt.Errorf("a value of type %T cannot be a CloudFormation parameter value", v)
	}
}
