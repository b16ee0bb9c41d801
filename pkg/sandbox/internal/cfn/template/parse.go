package template

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

var topLevelKeys = map[string]bool{
	"AWSTemplateFormatVersion": true, "Description": true, "Metadata": true, "Parameters": true, "Rules": true,
	"Mappings": true, "Conditions": true, "Transform": true, "Resources": true, "Outputs": true, "Hooks": true,
}

var resourceKeys = map[string]bool{
	"Type": true, "Properties": true, "DependsOn": true, "Condition": true, "DeletionPolicy": true,
	"UpdateReplacePolicy": true, "Metadata": true, "CreationPolicy": true, "UpdatePolicy": true, "Version": true,
}

var parameterKeys = map[string]bool{
	"Type": true, "Default": true, "Description": true, "NoEcho": true, "AllowedValues": true,
	"AllowedPattern": true, "ConstraintDescription": true, "MinLength": true, "MaxLength": true,
	"MinValue": true, "MaxValue": true,
}

func formatErr(format string, args ...any) error {
	return awsapi.ValidationError("Template format error: "+format, args...)
}

func templateErr(format string, args ...any) error {
	return awsapi.ValidationError("Template error: "+format, args...)
}

// Parse parses a JSON or YAML template body and checks it as CloudFormation does before creating anything:
// structure, parameter types, references between sections and resource dependency cycles. Parse never
// panics; every problem is an *awsapi.Error ValidationError.
func Parse(body []byte) (t *Template, err error) {
	// A panic here is a bug, not bad input: report it as the server fault it is (FuzzParse fails on it)
	// rather than crash the sandbox.
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, awsapi.Errorf(http.StatusInternalServerError, "InternalFailure", "parse template: internal error")
		}
	}()
	res, err := decode(body)
	if err != nil {
		return nil, err
	}
	root, ok := res.tree.(map[string]any)
	if !ok {
		return nil, formatErr("unsupported structure.")
	}
	var bad []string
	for k := range root {
		if !topLevelKeys[k] {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return nil, formatErr("Invalid template property or properties [%s]", strings.Join(bad, ", "))
	}
	t = &Template{
		Mappings:   map[string]map[string]map[string]any{},
		Conditions: map[string]any{},
		Resources:  map[string]*Resource{},
		Outputs:    map[string]*OutputDecl{},
	}
	if v, ok := root["AWSTemplateFormatVersion"]; ok {
		s, ok := scalarString(v)
		if !ok || s != "2010-09-09" {
			return nil, formatErr("'%v' is not a valid template version. Valid template versions are ['2010-09-09']", v)
		}
		t.FormatVersion = s
	}
	if v, ok := root["Description"]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return nil, formatErr("Every Description member must be a string.")
		}
		if len(s) > 1024 {
			return nil, formatErr("Template description must be no more than 1024 characters")
		}
		t.Description = s
	}
	if v, ok := root["Metadata"]; ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, formatErr("Metadata must be an object.")
		}
		t.Metadata = m
	}
	if err := t.parseTransform(root["Transform"]); err != nil {
		return nil, err
	}
	if err := t.parseParameters(root["Parameters"], res.paramOrder); err != nil {
		return nil, err
	}
	if err := t.parseMappings(root["Mappings"]); err != nil {
		return nil, err
	}
	if v, ok := root["Conditions"]; ok && v != nil {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, formatErr("Every Conditions member must be an object.")
		}
		t.Conditions = m
	}
	if err := t.parseResources(root["Resources"]); err != nil {
		return nil, err
	}
	if err := t.checkResourceTypes(); err != nil {
		return nil, err
	}
	if err := t.parseOutputs(root["Outputs"]); err != nil {
		return nil, err
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	return t, nil
}

// scalarString stringifies scalars as CloudFormation does (numbers as written, booleans lower-case).
func scalarString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return string(v), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

func (t *Template) parseTransform(v any) error {
	switch v := v.(type) {
	case nil:
	case string:
		t.Transform = []string{v}
	case []any:
		for _, e := range v {
			switch e := e.(type) {
			case string:
				t.Transform = append(t.Transform, e)
			case map[string]any:
				if n, ok := e["Name"].(string); ok {
					t.Transform = append(t.Transform, n)
					continue
				}
				return formatErr("Transform must be a string or list of strings.")
			default:
				return formatErr("Transform must be a string or list of strings.")
			}
		}
	case map[string]any:
		n, ok := v["Name"].(string)
		if !ok {
			return formatErr("Transform must be a string or list of strings.")
		}
		t.Transform = []string{n}
	default:
		return formatErr("Transform must be a string or list of strings.")
	}
	return nil
}

var ec2ParamTypes = map[string]bool{
	"AWS::EC2::AvailabilityZone::Name": true, "AWS::EC2::Image::Id": true, "AWS::EC2::Instance::Id": true,
	"AWS::EC2::KeyPair::KeyName": true, "AWS::EC2::SecurityGroup::GroupName": true,
	"AWS::EC2::SecurityGroup::Id": true, "AWS::EC2::Subnet::Id": true, "AWS::EC2::Volume::Id": true,
	"AWS::EC2::VPC::Id": true, "AWS::Route53::HostedZone::Id": true,
}

// paramKind describes a parameter type: whether Ref yields a list, whether values must be numbers, and
// whether the value names an SSM parameter to resolve.
type paramKind struct {
	list, number, ssm bool
}

func kindOf(typ string) (paramKind, bool) {
	switch typ {
	case "String", "AWS::SSM::Parameter::Name":
		return paramKind{}, true
	case "Number":
		return paramKind{number: true}, true
	case "List<Number>":
		return paramKind{list: true, number: true}, true
	case "CommaDelimitedList":
		return paramKind{list: true}, true
	}
	if ec2ParamTypes[typ] {
		return paramKind{}, true
	}
	if inner, ok := strings.CutPrefix(typ, "List<"); ok {
		inner, ok = strings.CutSuffix(inner, ">")
		if ok && ec2ParamTypes[inner] {
			return paramKind{list: true}, true
		}
		return paramKind{}, false
	}
	if inner, ok := strings.CutPrefix(typ, "AWS::SSM::Parameter::Value<"); ok {
		inner, ok = strings.CutSuffix(inner, ">")
		if !ok {
			return paramKind{}, false
		}
		k, ok := kindOf(inner)
		if !ok || k.ssm || inner == "AWS::SSM::Parameter::Name" || inner == "Number" || inner == "List<Number>" {
			if inner != "List<String>" {
				return paramKind{}, false
			}
			k = paramKind{list: true}
		}
		k.ssm = true
		return k, true
	}
	return paramKind{}, false
}

func (t *Template) parseParameters(v any, order []string) error {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return formatErr("Parameters must be an object.")
	}
	if len(m) > 200 {
		return formatErr("Parameter count %d is greater than max allowed 200", len(m))
	}
	// The decoders report declaration order; fall back to sorted names for keys they did not see (YAML
	// merge keys).
	seen := map[string]bool{}
	var names []string
	for _, n := range order {
		if _, ok := m[n]; ok && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	var rest []string
	for n := range m {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	names = append(names, rest...)
	for _, name := range names {
		pm, ok := m[name].(map[string]any)
		if !ok {
			return formatErr("Every Parameters object must contain a Type member.")
		}
		for k := range pm {
			if !parameterKeys[k] {
				return formatErr("Invalid template parameter property '%s'", k)
			}
		}
		p := &ParameterDecl{Name: name}
		typ, ok := pm["Type"].(string)
		if !ok {
			return formatErr("Every Parameters object must contain a Type member.")
		}
		if _, ok := kindOf(typ); !ok {
			return formatErr("Unrecognized parameter type: %s", typ)
		}
		p.Type = typ
		var err error
		str := func(key string) string {
			if err != nil {
				return ""
			}
			x, present := pm[key]
			if !present || x == nil {
				return ""
			}
			s, ok := scalarString(x)
			if !ok {
				err = formatErr("Every %s member of parameter '%s' must be a string.", key, name)
			}
			return s
		}
		p.Description = str("Description")
		p.AllowedPattern = str("AllowedPattern")
		p.ConstraintDescription = str("ConstraintDescription")
		if x, present := pm["Default"]; present && x != nil {
			var d string
			switch x := x.(type) {
			case []any:
				// A list default for a list parameter is written as a YAML sequence now and then.
				parts := make([]string, 0, len(x))
				for _, e := range x {
					s, ok := scalarString(e)
					if !ok {
						return formatErr("Default member of parameter '%s' must be a string.", name)
					}
					parts = append(parts, s)
				}
				d = strings.Join(parts, ",")
			default:
				d = str("Default")
			}
			p.Default = &d
		}
		if x, present := pm["NoEcho"]; present {
			s, _ := scalarString(x)
			p.NoEcho = strings.EqualFold(s, "true")
		}
		if x, present := pm["AllowedValues"]; present && x != nil {
			l, ok := x.([]any)
			if !ok {
				return formatErr("Every AllowedValues member of parameter '%s' must be a list.", name)
			}
			for _, e := range l {
				s, ok := scalarString(e)
				if !ok {
					return formatErr("Every AllowedValues member of parameter '%s' must be a list of strings.", name)
				}
				p.AllowedValues = append(p.AllowedValues, s)
			}
		}
		intField := func(key string) *int {
			s := str(key)
			if err != nil || s == "" {
				return nil
			}
			n, perr := strconv.Atoi(s)
			if perr != nil || n < 0 {
				err = formatErr("%s of parameter '%s' must be a non-negative integer.", key, name)
				return nil
			}
			return &n
		}
		numField := func(key string) *float64 {
			s := str(key)
			if err != nil || s == "" {
				return nil
			}
			n, perr := strconv.ParseFloat(s, 64)
			if perr != nil {
				err = formatErr("%s of parameter '%s' must be a number.", key, name)
				return nil
			}
			return &n
		}
		p.MinLength, p.MaxLength = intField("MinLength"), intField("MaxLength")
		p.MinValue, p.MaxValue = numField("MinValue"), numField("MaxValue")
		if err != nil {
			return err
		}
		t.Parameters = append(t.Parameters, p)
	}
	return nil
}

func (t *Template) parseMappings(v any) error {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return formatErr("Mappings must be an object.")
	}
	for name, mv := range m {
		top, ok := mv.(map[string]any)
		if !ok {
			return formatErr("Every Mappings member %s must be a map", name)
		}
		t.Mappings[name] = map[string]map[string]any{}
		for k, kv := range top {
			second, ok := kv.(map[string]any)
			if !ok {
				return formatErr("Every Mappings attribute must be a String or a List.")
			}
			t.Mappings[name][k] = second
		}
	}
	return nil
}

func (t *Template) parseResources(v any) error {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return formatErr("At least one Resources member must be defined.")
	}
	for id, rv := range m {
		if !validLogicalID(id) {
			return formatErr("Resource name %s is non alphanumeric.", id)
		}
		rm, ok := rv.(map[string]any)
		if !ok {
			return formatErr("[/Resources/%s] Every Resources object must contain a Type member.", id)
		}
		r := &Resource{LogicalID: id}
		for k := range rm {
			if !resourceKeys[k] {
				return formatErr("Invalid template resource property '%s'", k)
			}
		}
		typ, ok := rm["Type"].(string)
		if !ok || typ == "" {
			return formatErr("[/Resources/%s] Every Resources object must contain a Type member.", id)
		}
		r.Type = typ
		if p, present := rm["Properties"]; present && p != nil {
			pm, ok := p.(map[string]any)
			if !ok {
				return formatErr("[/Resources/%s/Properties] Properties must be an object.", id)
			}
			r.Properties = pm
		}
		if md, present := rm["Metadata"]; present && md != nil {
			mm, ok := md.(map[string]any)
			if !ok {
				return formatErr("[/Resources/%s/Metadata] Metadata must be an object.", id)
			}
			r.Metadata = mm
		}
		switch d := rm["DependsOn"].(type) {
		case nil:
		case string:
			r.DependsOn = []string{d}
		case []any:
			for _, e := range d {
				s, ok := e.(string)
				if !ok {
					return formatErr("DependsOn must be a string or list of strings.")
				}
				r.DependsOn = append(r.DependsOn, s)
			}
		default:
			return formatErr("DependsOn must be a string or list of strings.")
		}
		for key, dst := range map[string]*string{"Condition": &r.Condition, "DeletionPolicy": &r.DeletionPolicy, "UpdateReplacePolicy": &r.UpdateReplacePolicy} {
			x, present := rm[key]
			if !present || x == nil {
				continue
			}
			s, ok := x.(string)
			if !ok {
				return formatErr("[/Resources/%s/%s] %s must be a string.", id, key, key)
			}
			*dst = s
		}
		for _, policy := range []string{r.DeletionPolicy, r.UpdateReplacePolicy} {
			switch policy {
			case "", "Delete", "Retain", "Snapshot", "RetainExceptOnCreate":
			default:
				return formatErr("Unrecognized DeletionPolicy %s for resource %s", policy, id)
			}
		}
		t.Resources[id] = r
	}
	return nil
}

func validLogicalID(id string) bool {
	if id == "" || len(id) > 255 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func (t *Template) parseOutputs(v any) error {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return formatErr("Outputs must be an object.")
	}
	if len(m) > 200 {
		return formatErr("Output count %d is greater than max allowed 200", len(m))
	}
	for key, ov := range m {
		if !validLogicalID(key) {
			return formatErr("Output %s is malformed. The Name field of every Export member must be specified and consist only of alphanumeric characters, colons, or hyphens.", key)
		}
		om, ok := ov.(map[string]any)
		if !ok {
			return formatErr("Every Outputs member must contain a Value object")
		}
		val, present := om["Value"]
		if !present || val == nil {
			return formatErr("Every Outputs member must contain a Value object")
		}
		o := &OutputDecl{Key: key, Value: val, Description: om["Description"]}
		for k := range om {
			switch k {
			case "Value", "Description", "Export", "Condition":
			default:
				return formatErr("Invalid outputs property : [%s]", k)
			}
		}
		if c, present := om["Condition"]; present && c != nil {
			s, ok := c.(string)
			if !ok {
				return formatErr("Every Condition member in Outputs must be a string")
			}
			o.Condition = s
		}
		if e, present := om["Export"]; present && e != nil {
			em, ok := e.(map[string]any)
			if !ok || em["Name"] == nil {
				return formatErr("Output %s is malformed. The Name field of every Export member must be specified and consist only of alphanumeric characters, colons, or hyphens.", key)
			}
			o.ExportName = em["Name"]
		}
		t.Outputs[key] = o
	}
	return nil
}

// check validates intrinsic function arguments and references across sections: condition names,
// Ref/GetAtt/Sub targets and attributes in Resources and Outputs, and resource dependency cycles.
func (t *Template) check() error {
	if err := t.checkIntrinsicShapes(); err != nil {
		return err
	}
	for _, r := range t.Resources {
		if r.Condition != "" {
			if _, ok := t.Conditions[r.Condition]; !ok {
				return formatErr("Unresolved dependencies [%s]. Cannot reference resources in the Conditions block of the template", r.Condition)
			}
		}
	}
	for _, o := range t.Outputs {
		if o.Condition != "" {
			if _, ok := t.Conditions[o.Condition]; !ok {
				return formatErr("Unresolved dependencies [%s]. Cannot reference resources in the Conditions block of the template", o.Condition)
			}
		}
	}
	if err := t.checkConditions(); err != nil {
		return err
	}
	if _, err := t.CreationOrder(); err != nil {
		return err
	}
	for _, key := range sortedKeys(t.Outputs) {
		o := t.Outputs[key]
		for _, v := range []any{o.Value, o.ExportName, o.Description} {
			refs, err := t.references(v)
			if err != nil {
				return err
			}
			if missing := t.unknown(refs.refs); len(missing) > 0 {
				return formatErr("Unresolved resource dependencies [%s] in the Outputs block of the template", strings.Join(missing, ", "))
			}
			if err := t.checkGetAtts(refs.getAtts); err != nil {
				return err
			}
		}
	}
	return t.checkAttributes()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (t *Template) param(name string) *ParameterDecl {
	for _, p := range t.Parameters {
		if p.Name == name {
			return p
		}
	}
	return nil
}
