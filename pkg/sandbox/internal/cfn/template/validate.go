package template

import (
	"sort"
	"strings"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/cfn/resourcespec"
)

// MaxResources is the most resources a template may declare.
const MaxResources = 500

// Messages CloudFormation gives for malformed intrinsic functions.
const (
	getAttArgsUsage   = "every Fn::GetAtt object requires two non-empty parameters, the resource name and the resource attribute"
	getAttStringUsage = "if specifying one argument to Fn::GetAtt, that argument must be a non-empty string in format <LogicalId>.<Attribute>"
	ifConditionUsage  = "Fn::If requires a list argument with the first element being a condition"
	ifCountUsage      = "Fn::If requires a list argument with three elements"
	findInMapUsage    = "every Fn::FindInMap object requires three parameters, the map name, map key and the attribute for return value"
)

// checkResourceTypes refuses what CloudFormation refuses before looking at any
// resource: more than MaxResources resources, and types it does not know. A
// template with a Transform is checked after the transform on AWS; the sandbox
// does not run transforms, so it leaves such templates alone.
func (t *Template) checkResourceTypes() error {
	if n := len(t.Resources); n > MaxResources {
		return formatErr("Number of resources, %d, is greater than maximum allowed, %d", n, MaxResources)
	}
	if len(t.Transform) > 0 {
		return nil
	}
	seen := map[string]bool{}
	var unknown []string
	for _, r := range t.Resources {
		if _, ok := resourcespec.Lookup(r.Type); !ok && !seen[r.Type] {
			seen[r.Type] = true
			unknown = append(unknown, r.Type)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return formatErr("Unrecognized resource types: [%s]", strings.Join(unknown, ", "))
	}
	return nil
}

// checkIntrinsicShapes checks the arguments of Fn::If, Fn::FindInMap and
// Fn::GetAtt where CloudFormation checks them, before anything is resolved:
// the literal structure, not the values functions inside them produce.
func (t *Template) checkIntrinsicShapes() error {
	if len(t.Transform) > 0 {
		return nil // transforms add forms (Fn::FindInMap's DefaultValue) and are not run here
	}
	return t.walkIntrinsics(checkShape)
}

// walkIntrinsics calls visit for every intrinsic function call in the
// resources' properties and metadata and in the outputs.
func (t *Template) walkIntrinsics(visit func(fn string, arg any) error) error {
	for _, id := range sortedKeys(t.Resources) {
		r := t.Resources[id]
		if err := walkIntrinsics([]any{r.Properties, r.Metadata}, visit); err != nil {
			return err
		}
	}
	for _, key := range sortedKeys(t.Outputs) {
		o := t.Outputs[key]
		if err := walkIntrinsics([]any{o.Value, o.ExportName, o.Description}, visit); err != nil {
			return err
		}
	}
	return nil
}

// walkIntrinsics calls visit for every intrinsic function call in v, outermost
// first.
func walkIntrinsics(v any, visit func(fn string, arg any) error) error {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if err := walkIntrinsics(e, visit); err != nil {
				return err
			}
		}
	case map[string]any:
		if len(v) == 1 {
			for k, arg := range v {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					if err := visit(k, arg); err != nil {
						return err
					}
				}
			}
		}
		for _, k := range sortedKeys(v) {
			if err := walkIntrinsics(v[k], visit); err != nil {
				return err
			}
		}
	}
	return nil
}

func isIntrinsic(v any) bool {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

func checkShape(fn string, arg any) error {
	switch fn {
	case "Fn::If":
		l, ok := arg.([]any)
		if !ok || len(l) == 0 {
			return templateErr(ifConditionUsage)
		}
		if _, ok := l[0].(string); !ok {
			return templateErr(ifConditionUsage)
		}
		if len(l) != 3 {
			return templateErr(ifCountUsage)
		}
	case "Fn::FindInMap":
		l, ok := arg.([]any)
		if !ok || len(l) != 3 {
			return templateErr(findInMapUsage)
		}
		for _, e := range l {
			if _, ok := scalarString(e); !ok && !isIntrinsic(e) {
				return templateErr(findInMapUsage)
			}
		}
	case "Fn::GetAtt":
		return checkGetAttShape(arg)
	}
	return nil
}

func checkGetAttShape(arg any) error {
	switch a := arg.(type) {
	case string:
		id, attr, ok := strings.Cut(a, ".")
		if !ok || id == "" || attr == "" {
			return templateErr(getAttStringUsage)
		}
		return nil
	case []any:
		if len(a) != 2 {
			return templateErr(getAttArgsUsage)
		}
		if id, ok := a[0].(string); !ok || id == "" {
			return templateErr(getAttArgsUsage)
		}
		// The attribute name may be computed (!Ref AttributeName).
		if attr, ok := a[1].(string); (!ok || attr == "") && !isIntrinsic(a[1]) {
			return templateErr(getAttArgsUsage)
		}
		return nil
	}
	return templateErr(getAttArgsUsage)
}

// checkAttributes refuses Fn::GetAtt (and Fn::Sub ${Resource.Attribute}) of an
// attribute the target's type does not have. Attributes named by a function are
// known only at deploy time and are left to it.
func (t *Template) checkAttributes() error {
	if len(t.Transform) > 0 {
		return nil
	}
	check := func(id, attr string) error {
		r := t.Resources[id]
		if r == nil || attr == "" {
			return nil // undefined targets are reported by the reference checks
		}
		typ, ok := resourcespec.Lookup(r.Type)
		if !ok {
			return nil
		}
		if _, ok := typ.Attribute(attr); !ok {
			return templateErr("resource %s does not support attribute type %s in Fn::GetAtt", id, attr)
		}
		return nil
	}
	visit := func(fn string, arg any) error {
		switch fn {
		case "Fn::GetAtt":
			id, attr, _ := getAttTarget(arg)
			return check(id, attr)
		case "Fn::Sub":
			str, vars := arg, map[string]any(nil)
			if l, ok := arg.([]any); ok && len(l) == 2 {
				str = l[0]
				vars, _ = l[1].(map[string]any)
			}
			s, ok := str.(string)
			if !ok {
				return nil
			}
			segs, err := parseSub(s)
			if err != nil {
				return err
			}
			for _, seg := range segs {
				if _, local := vars[seg.text]; !seg.isVar || local {
					continue
				}
				if id, attr, ok := strings.Cut(seg.text, "."); ok {
					if err := check(id, attr); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	return t.walkIntrinsics(visit)
}
