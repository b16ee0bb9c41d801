package cfn

import (
	"encoding/json"
	"strings"
	"unicode"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/cfn/resourcespec"
)

// Resources of the many real types the sandbox does not model get the values
// AWS would give them, read from the resource type table: Ref returns the
// type's identifier (a name given in the template or generated, "|"-joined
// when composite), an Arn attribute is an ARN of the type's service in the
// type's ARN format, and every other attribute the type has gets a value of its
// kind. Nothing is created behind them.

var genericProvider = &provider{
	create: func(c *pctx, r *resource, props map[string]any) error {
		typ, ok := resourcespec.Lookup(r.typ)
		if !ok {
			// Only templates with a Transform, which the sandbox does not
			// run, get here with a type CloudFormation would not know.
			r.physicalID = physicalName(c.st.name, r.logicalID, 128, false)
			return nil
		}
		v := newSpecValues(c, r, typ, props, physicalName(c.st.name, r.logicalID, 128, false))
		r.physicalID = v.ref()
		r.attrs = map[string]any{}
		for _, a := range typ.Attrs {
			r.attrs[a.Name] = v.attr(a)
		}
		return nil
	},
	delete: func(c *pctx, r *resource) error { return nil },
}

// specAttr gives a resource an attribute its type has that its provider did
// not set (a modelled type's provider sets the ones the sandbox uses), keeping
// it so later reads agree. s.mu must be held.
func specAttr(c *pctx, r *resource, attr string) (any, bool) {
	typ, ok := resourcespec.Lookup(r.typ)
	if !ok || typ.AnyAttribute {
		return nil, false
	}
	a, ok := typ.Attribute(attr)
	if !ok || a.Name != attr {
		return nil, false
	}
	v := newSpecValues(c, r, typ, r.props, r.physicalID).attr(a)
	if r.attrs == nil {
		r.attrs = map[string]any{}
	}
	r.attrs[attr] = v
	return v, true
}

// isListAttr reports whether the type's attribute is a list, so that change
// set planning can stand a placeholder list in for it.
func isListAttr(typ, attr string) bool {
	t, ok := resourcespec.Lookup(typ)
	if !ok {
		return false
	}
	a, ok := t.Attribute(attr)
	return ok && a.Kind == resourcespec.List
}

// specValues computes one resource's identifier and attribute values.
type specValues struct {
	c     *pctx
	r     *resource
	typ   *resourcespec.Type
	props map[string]any
	// name is the resource's name: given in the template, else generated.
	name string
	memo map[string]string
	busy map[string]bool
}

func newSpecValues(c *pctx, r *resource, typ *resourcespec.Type, props map[string]any, fallback string) *specValues {
	v := &specValues{c: c, r: r, typ: typ, props: props, memo: map[string]string{}, busy: map[string]bool{}}
	v.name = fallback
	for _, p := range v.nameProps() {
		if s, ok := v.given(p); ok {
			v.name = s
			break
		}
	}
	for k, x := range r.attrs {
		if s, ok := x.(string); ok {
			v.memo[k] = s
		}
	}
	return v
}

// nameProps are the properties that name a resource: its identifiers, then
// <Type>Name and Name.
func (v *specValues) nameProps() []string {
	return append(append([]string{}, v.typ.RefIDs...), v.typ.ShortName()+"Name", "Name")
}

// given is a scalar property the template sets.
func (v *specValues) given(prop string) (string, bool) {
	switch x := v.props[prop].(type) {
	case string:
		return x, x != ""
	case json.Number, bool, float64:
		return scalarString(x), true
	}
	return "", false
}

func (v *specValues) isAttr(name string) bool {
	a, ok := v.typ.Attribute(name)
	return ok && a.Name == name
}

// ref is what Ref returns, which is also the physical ID.
func (v *specValues) ref() string {
	ids := v.typ.RefIDs
	var parts []string
	for _, id := range ids {
		if s, ok := v.given(id); ok {
			parts = append(parts, s)
			continue
		}
		// A property left out of a composite identifier (an event bus left
		// to the default) is left out of Ref too, unless it names the resource.
		if len(ids) > 1 && !v.isAttr(id) && id != "Name" && id != v.typ.ShortName()+"Name" {
			continue
		}
		parts = append(parts, v.value(id))
	}
	if len(parts) == 0 {
		return v.name
	}
	return strings.Join(parts, "|")
}

// attr is an attribute's value, shaped by its kind.
func (v *specValues) attr(a resourcespec.Attr) any {
	if x, ok := v.props[a.Name]; ok && x != nil {
		return x // attributes that echo a property
	}
	switch a.Kind {
	case resourcespec.List:
		return []any{v.value(a.Name)}
	case resourcespec.Number:
		return json.Number("0")
	case resourcespec.Bool:
		return "false"
	}
	return v.value(a.Name)
}

// value is a string value for an identifier or attribute name, the same on
// every call for one resource.
func (v *specValues) value(name string) string {
	if s, ok := v.memo[name]; ok {
		return s
	}
	if s, ok := v.given(name); ok {
		return s
	}
	var s string
	switch {
	case v.busy[name]:
		return v.name
	case v.ownARN(name):
		v.busy[name] = true
		s = v.arn()
		delete(v.busy, name)
	case strings.HasSuffix(name, "Arn") || strings.HasSuffix(name, "ARN"):
		// The ARN of something else the resource holds: of the same service.
		base := strings.TrimSuffix(strings.TrimSuffix(name, "Arn"), "ARN")
		s = v.servicePrefix() + kebab(base[strings.LastIndex(base, ".")+1:]) + "/" + v.name
	case name != "Id" && (strings.HasSuffix(name, "Id") || strings.HasSuffix(name, "ID")):
		s = strings.ToLower(randomHex(17))
	default:
		s = v.name
	}
	v.memo[name] = s
	return s
}

// ownARN reports whether an attribute is the resource's own ARN.
func (v *specValues) ownARN(name string) bool {
	if name == "Arn" || name == "ARN" || name == v.typ.ShortName()+"Arn" {
		return true
	}
	for _, id := range v.typ.RefIDs {
		if id == name && strings.HasSuffix(name, "Arn") {
			return true
		}
	}
	return false
}

// arn is the resource's ARN from its type's template, or in its service's
// usual format when the data has no template for the type.
func (v *specValues) arn() string {
	if v.typ.ARN == "" {
		return v.servicePrefix() + kebab(v.typ.ShortName()) + "/" + v.name
	}
	return v.expand(v.typ.ARN)
}

func (v *specValues) servicePrefix() string {
	p := ""
	if tb, err := resourcespec.Load(); err == nil {
		p = tb.ServiceARNPrefix(v.typ.Service())
	}
	if p == "" {
		svc := v.typ.Service()
		p = "arn:${Partition}:" + strings.ToLower(svc[strings.LastIndex(svc, ":")+1:]) + ":${Region}:${Account}:"
	}
	return v.expand(p)
}

// expand fills an ARN template's variables.
func (v *specValues) expand(tmpl string) string {
	var b strings.Builder
	for {
		i := strings.Index(tmpl, "${")
		if i < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		b.WriteString(tmpl[:i])
		b.WriteString(v.variable(tmpl[i+2 : i+j]))
		tmpl = tmpl[i+j+1:]
	}
}

// variable is the value of an ARN template variable: a pseudo parameter, a
// property or attribute of that name, or the resource's name; the data's
// <Name>WithPath and <Name>WithoutLeadingSlash forms are derived from it.
func (v *specValues) variable(name string) string {
	switch name {
	case "Partition":
		return "aws"
	case "Region":
		return v.c.region
	case "Account":
		return v.c.account
	}
	if s, ok := v.given(name); ok {
		return s
	}
	if v.isAttr(name) && !v.ownARN(name) {
		return v.value(name)
	}
	if base, ok := strings.CutSuffix(name, "WithPath"); ok {
		path, _ := v.given("Path")
		return strings.TrimPrefix(path, "/") + v.variable(base)
	}
	if base, ok := strings.CutSuffix(name, "WithoutLeadingSlash"); ok {
		return strings.TrimPrefix(v.variable(base), "/")
	}
	return v.name
}

// kebab is "security-group" for "SecurityGroup".
func kebab(s string) string {
	var b strings.Builder
	for i, c := range s {
		if unicode.IsUpper(c) && i > 0 && !unicode.IsUpper(rune(s[i-1])) {
			b.WriteByte('-')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}
