package template

import (
	"sort"
	"strings"
)

// pseudoParams are the AWS:: names Ref accepts besides parameters and resources.
var pseudoParams = map[string]bool{
	"AWS::AccountId": true, "AWS::Region": true, "AWS::StackName": true, "AWS::StackId": true,
	"AWS::Partition": true, "AWS::URLSuffix": true, "AWS::NotificationARNs": true, "AWS::NoValue": true,
}

// refSet is what a value tree references: Ref names (parameters, pseudo parameters or resources) and
// resources named by Fn::GetAtt, Fn::Sub included.
type refSet struct {
	refs, getAtts []string
}

func (t *Template) references(v any) (refSet, error) {
	var rs refSet
	err := collectRefs(v, &rs)
	return rs, err
}

func collectRefs(v any, rs *refSet) error {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if err := collectRefs(e, rs); err != nil {
				return err
			}
		}
	case map[string]any:
		if len(v) == 1 {
			for k, arg := range v {
				switch k {
				case "Ref":
					if s, ok := arg.(string); ok {
						rs.refs = append(rs.refs, s)
						return nil
					}
				case "Fn::GetAtt":
					if id, _, ok := getAttTarget(arg); ok {
						rs.getAtts = append(rs.getAtts, id)
					}
				case "Fn::Sub":
					str, vars := arg, map[string]any(nil)
					if l, ok := arg.([]any); ok && len(l) == 2 {
						str = l[0]
						vars, _ = l[1].(map[string]any)
					}
					if s, ok := str.(string); ok {
						segs, err := parseSub(s)
						if err != nil {
							return err
						}
						for _, seg := range segs {
							if !seg.isVar {
								continue
							}
							if _, local := vars[seg.text]; local {
								continue
							}
							if id, _, ok := strings.Cut(seg.text, "."); ok {
								rs.getAtts = append(rs.getAtts, id)
							} else {
								rs.refs = append(rs.refs, seg.text)
							}
						}
					}
				}
			}
		}
		for _, k := range sortedKeys(v) {
			if err := collectRefs(v[k], rs); err != nil {
				return err
			}
		}
	}
	return nil
}

// getAttTarget reads Fn::GetAtt's argument: [id, attr] or "id.attr". The attribute may be an intrinsic,
// then attr is "".
func getAttTarget(arg any) (id, attr string, ok bool) {
	switch a := arg.(type) {
	case string:
		id, attr, ok = strings.Cut(a, ".")
		return id, attr, ok && id != ""
	case []any:
		if len(a) != 2 {
			return "", "", false
		}
		id, ok = a[0].(string)
		attr, _ = a[1].(string)
		return id, attr, ok && id != ""
	}
	return "", "", false
}

func (t *Template) unknown(names []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		if pseudoParams[n] || t.param(n) != nil || t.Resources[n] != nil || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (t *Template) checkGetAtts(ids []string) error {
	for _, id := range ids {
		if t.Resources[id] == nil {
			return templateErr("instance of Fn::GetAtt references undefined resource %s", id)
		}
	}
	return nil
}

// Dependencies returns, per logical ID, the logical IDs it depends on through Ref, Fn::GetAtt, Fn::Sub
// (in any branch of Fn::If, since CloudFormation orders by the template text) and DependsOn. References
// to undeclared names are ValidationErrors.
func (t *Template) Dependencies() (map[string][]string, error) {
	deps := make(map[string][]string, len(t.Resources))
	for _, id := range sortedKeys(t.Resources) {
		r := t.Resources[id]
		rs, err := t.references(r.Properties)
		if err != nil {
			return nil, err
		}
		md, err := t.references(r.Metadata)
		if err != nil {
			return nil, err
		}
		rs.refs = append(rs.refs, md.refs...)
		rs.getAtts = append(rs.getAtts, md.getAtts...)
		if missing := t.unknown(append(rs.refs, r.DependsOn...)); len(missing) > 0 {
			return nil, formatErr("Unresolved resource dependencies [%s] in the Resources block of the template", strings.Join(missing, ", "))
		}
		if err := t.checkGetAtts(rs.getAtts); err != nil {
			return nil, err
		}
		set := map[string]bool{}
		for _, n := range append(append(rs.refs, rs.getAtts...), r.DependsOn...) {
			if t.Resources[n] != nil {
				set[n] = true
			}
		}
		deps[id] = sortedKeys(set)
	}
	return deps, nil
}

// CreationOrder returns the logical IDs so that every resource comes after those it depends on; among
// resources ready at the same time, logical IDs sort alphabetically, so the order is deterministic.
// Deletion uses the reverse.
func (t *Template) CreationOrder() ([]string, error) {
	deps, err := t.Dependencies()
	if err != nil {
		return nil, err
	}
	remaining := map[string]int{}
	dependents := map[string][]string{}
	for id, ds := range deps {
		remaining[id] = len(ds)
		for _, d := range ds {
			dependents[d] = append(dependents[d], id)
		}
	}
	var ready []string
	for id, n := range remaining {
		if n == 0 {
			ready = append(ready, id)
		}
	}
	order := make([]string, 0, len(deps))
	for len(ready) > 0 {
		sort.Strings(ready)
		id := ready[0]
		ready = ready[1:]
		order = append(order, id)
		delete(remaining, id)
		for _, d := range dependents[id] {
			remaining[d]--
			if remaining[d] == 0 {
				ready = append(ready, d)
			}
		}
	}
	if len(remaining) > 0 {
		return nil, templateErrPlain("Circular dependency between resources: [%s]", strings.Join(cycleMembers(remaining, deps), ", "))
	}
	return order, nil
}

// cycleMembers trims, from the resources left over by the topological sort, those that merely depend on a
// cycle without being in one, so the error names the cycle.
func cycleMembers(left map[string]int, deps map[string][]string) []string {
	in := map[string]bool{}
	for id := range left {
		in[id] = true
	}
	for changed := true; changed; {
		changed = false
		for id := range in {
			// A resource nobody in the set depends on cannot be on a cycle.
			needed := false
			for other := range in {
				for _, d := range deps[other] {
					if d == id {
						needed = true
					}
				}
			}
			if !needed {
				delete(in, id)
				changed = true
			}
		}
	}
	return sortedKeys(in)
}

// checkConditions checks the Conditions section: every referenced condition exists, conditions do not
// refer to resources or to themselves, and every Fn::If anywhere names a declared condition.
func (t *Template) checkConditions() error {
	for _, name := range sortedKeys(t.Conditions) {
		rs, err := t.references(t.Conditions[name])
		if err != nil {
			return err
		}
		var bad []string
		for _, r := range rs.refs {
			if t.param(r) == nil && !pseudoParams[r] {
				bad = append(bad, r)
			}
		}
		bad = append(bad, rs.getAtts...)
		if len(bad) > 0 {
			sort.Strings(bad)
			return formatErr("Unresolved dependencies [%s]. Cannot reference resources in the Conditions block of the template", strings.Join(bad, ", "))
		}
	}
	var ifs []string
	collectIfs(t.Conditions, &ifs, true)
	for _, r := range t.Resources {
		collectIfs(r.Properties, &ifs, false)
		collectIfs(r.Metadata, &ifs, false)
	}
	for _, o := range t.Outputs {
		collectIfs([]any{o.Value, o.Description, o.ExportName}, &ifs, false)
	}
	sort.Strings(ifs)
	for _, n := range ifs {
		if _, ok := t.Conditions[n]; !ok {
			return templateErr("unresolved condition dependency %s in Fn::If", n)
		}
	}
	// Cycles between conditions.
	state := map[string]int{}
	var visit func(string, []string) error
	visit = func(n string, path []string) error {
		switch state[n] {
		case 1:
			return formatErr("Circular dependency between conditions: [%s]", strings.Join(append(path, n), ", "))
		case 2:
			return nil
		}
		state[n] = 1
		var refs []string
		collectConditionRefs(t.Conditions[n], &refs)
		for _, r := range refs {
			if _, ok := t.Conditions[r]; !ok {
				return formatErr("Unresolved dependencies [%s]. Cannot reference resources in the Conditions block of the template", r)
			}
			if err := visit(r, append(path, n)); err != nil {
				return err
			}
		}
		state[n] = 2
		return nil
	}
	for _, n := range sortedKeys(t.Conditions) {
		if err := visit(n, nil); err != nil {
			return err
		}
	}
	return nil
}

// collectIfs gathers the condition names of Fn::If (and, inside Conditions, of Condition references).
func collectIfs(v any, out *[]string, inConditions bool) {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			collectIfs(e, out, inConditions)
		}
	case map[string]any:
		if l, ok := v["Fn::If"].([]any); ok && len(v) == 1 && len(l) > 0 {
			if s, ok := l[0].(string); ok {
				*out = append(*out, s)
			}
		}
		for _, e := range v {
			collectIfs(e, out, inConditions)
		}
	}
}

// collectConditionRefs gathers names used as {"Condition": name} or Fn::If inside a condition expression.
func collectConditionRefs(v any, out *[]string) {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			collectConditionRefs(e, out)
		}
	case map[string]any:
		if len(v) == 1 {
			if s, ok := v["Condition"].(string); ok {
				*out = append(*out, s)
				return
			}
			if l, ok := v["Fn::If"].([]any); ok && len(l) > 0 {
				if s, ok := l[0].(string); ok {
					*out = append(*out, s)
				}
			}
		}
		for _, k := range sortedKeys(v) {
			collectConditionRefs(v[k], out)
		}
	}
}

var iamTypes = map[string]string{
	"AWS::IAM::Role": "RoleName", "AWS::IAM::User": "UserName", "AWS::IAM::Group": "GroupName",
	"AWS::IAM::Policy": "", "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
	"AWS::IAM::InstanceProfile": "InstanceProfileName", "AWS::IAM::AccessKey": "",
	"AWS::IAM::UserToGroupAddition": "",
}

// RequiredCapabilities returns the capabilities CreateStack must be given: CAPABILITY_NAMED_IAM when an
// IAM resource has a custom name (it implies CAPABILITY_IAM), else CAPABILITY_IAM for any IAM resource,
// plus CAPABILITY_AUTO_EXPAND for transforms (macros) and nested stacks.
func (t *Template) RequiredCapabilities() []string {
	caps, _ := t.capabilities()
	return caps
}

func (t *Template) capabilities() (caps []string, reasonTypes []string) {
	iam, named := false, false
	types := map[string]bool{}
	expand := len(t.Transform) > 0
	for _, r := range t.Resources {
		nameProp, ok := iamTypes[r.Type]
		if ok {
			iam = true
			types[r.Type] = true
			if nameProp != "" {
				if _, has := r.Properties[nameProp]; has {
					named = true
				}
			}
		}
		if r.Type == "AWS::CloudFormation::Stack" || r.Type == "AWS::Serverless::Application" {
			expand = true
		}
	}
	switch {
	case named:
		caps = append(caps, "CAPABILITY_NAMED_IAM")
	case iam:
		caps = append(caps, "CAPABILITY_IAM")
	}
	if expand {
		caps = append(caps, "CAPABILITY_AUTO_EXPAND")
	}
	return caps, sortedKeys(types)
}

func templateErrPlain(format string, args ...any) error {
	return validationf(format, args...)
}
