package config

import (
	"fmt"
	"strconv"
	"strings"
)

type decoder struct {
	errs errorList
}

// pythonOnly explains, per key, why stackerless rejects it and what to do
// instead. Hooks are rejected only when they list something. (sys_path is
// accepted: beyond Python's import path, stacker searches it for raw
// templates, and that part carries over.)
var pythonOnly = map[string]string{
	"package_sources": "package_sources fetches Python packages and remote configs at run time, " +
		"and stackerless runs no Python: copy the templates you need next to the config and point template_path " +
		"(or sys_path, the directory templates are also searched in) at them",
	"lookups": "lookups registers custom Python lookup handlers, and stackerless runs no Python: " +
		"use the built-in lookups (output, xref, rxref, default, envvar, file, split, ssmstore, kms, ami, dynamodb)",
	"pre_build":    hookMsg,
	"post_build":   hookMsg,
	"pre_destroy":  hookMsg,
	"post_destroy": hookMsg,
}

// RunsPython reports whether key is a top-level key stackerless refuses
// because what it configures runs Python at deploy time (package_sources,
// lookups, hooks). None of them changes the dependency graph.
func RunsPython(key string) bool {
	_, ok := pythonOnly[key]
	return ok
}

const hookMsg = "hooks run Python code, and stackerless runs no Python: remove them and " +
	"do the work in a stack (for example a template_path stack for the resources a hook created) or outside stackerless"

// topLevelOrder is the order top-level keys are decoded in, so that errors
// come out deterministically before sorting.
var topLevelOrder = []string{
	"namespace", "namespace_delimiter", "stacker_bucket", "stacker_bucket_region", "service_role",
	"tags", "template_indent", "mappings", "log_formats", "sys_path", "package_sources", "lookups",
	"pre_build", "post_build", "pre_destroy", "post_destroy", "stacks", "targets",
}

var stackKeys = []string{
	"name", "stack_name", "class_path", "template_path", "description", "profile", "region",
	"variables", "parameters", "requires", "required_by", "locked", "enabled", "protected", "tags",
	"stack_policy_path", "in_progress_behavior", "notification_arns", "termination_protection",
}

var targetKeys = []string{"name", "requires", "required_by"}

func (d *decoder) decode(doc *node, env Environment) *Config {
	c := &Config{NamespaceDelimiter: "-", TemplateIndent: 4, KeyPos: map[string]Position{}}
	if !doc.isNull() && doc.kind != mapKind {
		d.errs.add(doc.pos, "", "the config must be a mapping of keys to values, found %s", doc.describe())
		return c
	}
	d.checkDups(doc, "")
	for _, key := range doc.keys {
		c.KeyPos[key.text] = key.pos
	}
	haveNamespace := false
	for _, name := range topLevelOrder {
		val, key := doc.get(name)
		if key == nil {
			continue
		}
		switch name {
		case "namespace":
			c.Namespace, haveNamespace = d.str(val, key, name)
		case "namespace_delimiter":
			if s, ok := d.str(val, key, name); ok {
				c.NamespaceDelimiter = s
			}
		case "stacker_bucket":
			if s, ok := d.str(val, key, name); ok {
				c.StackerBucket = &s
			}
		case "stacker_bucket_region":
			c.StackerBucketRegion, _ = d.str(val, key, name)
		case "service_role":
			c.ServiceRole, _ = d.str(val, key, name)
		case "tags":
			c.Tags = d.strMap(val, key, name)
		case "template_indent":
			if s, ok := d.str(val, key, name); ok {
				n, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || n < 0 {
					d.errs.add(val.pos, name, "must be a whole number of spaces, found %q", s)
				} else {
					c.TemplateIndent = n
				}
			}
		case "mappings":
			c.Mappings = d.mappings(val, name)
		case "log_formats":
			c.LogFormats = d.strMap(val, key, name)
		case "sys_path":
			c.SysPath, _ = d.str(val, key, name)
		case "stacks":
			c.Stacks = d.stacks(val, key)
		case "targets":
			c.Targets = d.targets(val, key)
		default: // Python-only keys
			if !empty(val) {
				d.errs.add(key.pos, name, "not supported: %s", pythonOnly[name])
			}
		}
	}
	if !haveNamespace {
		// stacker falls back to the environment's "namespace", deprecated.
		if ns, ok := env.lookup("namespace"); ok && ns != nil && pyStr(ns) != "" {
			c.Namespace = pyStr(ns)
			c.Warnings = append(c.Warnings, "DEPRECATION WARNING: specifying namespace in the environment is deprecated. "+
				"See https://stacker.readthedocs.io/en/latest/config.html#namespace for more info.")
		} else {
			d.errs.add(Position{Line: 1, Column: 1}, "namespace", "This field is required.")
		}
	}
	return c
}

func empty(n *node) bool {
	switch {
	case n.isNull():
		return true
	case n.kind == mapKind:
		return len(n.keys) == 0
	case n.kind == seqKind:
		return len(n.items) == 0
	default:
		s, ok := n.value.(string)
		return ok && s == ""
	}
}

// checkDups reports repeated keys stacker refuses (PyYAML otherwise keeps
// the last one).
func (d *decoder) checkDups(m *node, prefix string) {
	for _, dup := range m.dups {
		if k := dup.key; k.text == "stacks" || k.text == "class_path" {
			d.errs.add(k.pos, join(prefix, k.text), "%s key cannot have duplicate siblings (first at line %d)", k.text, dup.first.pos.Line)
		}
	}
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// str reads a string field as stacker's schema does: numbers and booleans
// become their Python str(); null means absent (ok false).
func (d *decoder) str(val, key *node, path string) (string, bool) {
	switch {
	case val.isNull():
		return "", false
	case val.kind == scalarKind:
		return scalarString(val), true
	default:
		d.errs.add(val.pos, path, "must be a string, found %s", val.describe())
		return "", false
	}
}

// boolean reads a boolean field: YAML booleans, and the strings and numbers
// stacker's schema accepts ("true"/"false", "1"/"0").
func (d *decoder) boolean(val *node, path string, def bool) bool {
	if val.isNull() {
		return def
	}
	if val.kind == scalarKind {
		switch v := val.value.(type) {
		case bool:
			return v
		case int:
			if v == 0 || v == 1 {
				return v == 1
			}
		case string:
			switch v {
			case "True", "true", "1":
				return true
			case "False", "false", "0":
				return false
			}
		}
	}
	d.errs.add(val.pos, path, "must be true or false, found %s", describeValue(val))
	return def
}

func describeValue(n *node) string {
	if n.kind == scalarKind {
		return strconv.Quote(n.text)
	}
	return n.describe()
}

// strList reads a list of strings; a single string is a one-item list.
func (d *decoder) strList(val *node, path string) []string {
	switch {
	case val.isNull():
		return nil
	case val.kind == scalarKind:
		return []string{scalarString(val)}
	case val.kind == seqKind:
		out := make([]string, 0, len(val.items))
		for k, it := range val.items {
			if it.kind != scalarKind {
				d.errs.add(it.pos, fmt.Sprintf("%s[%d]", path, k), "must be a string, found %s", it.describe())
				continue
			}
			out = append(out, scalarString(it))
		}
		return out
	default:
		d.errs.add(val.pos, path, "must be a list of strings, found %s", val.describe())
		return nil
	}
}

// strMap reads a mapping of strings (tags, log_formats). Null is absent (nil);
// {} is an empty, non-nil map.
func (d *decoder) strMap(val, key *node, path string) map[string]string {
	switch {
	case val.isNull():
		return nil
	case val.kind != mapKind:
		d.errs.add(val.pos, path, "must be a mapping of strings, found %s", val.describe())
		return nil
	}
	out := make(map[string]string, len(val.keys))
	for k, kn := range val.keys {
		v := val.vals[k]
		switch {
		case v.isNull():
			d.errs.add(kn.pos, join(path, kn.text), "must be a string, found null")
		case v.kind != scalarKind:
			d.errs.add(kn.pos, join(path, kn.text), "must be a string, found %s", v.describe())
		default:
			out[kn.text] = scalarString(v)
		}
	}
	return out
}

func (d *decoder) mappings(val *node, path string) map[string]map[string]map[string]any {
	if val.isNull() {
		return nil
	}
	if val.kind != mapKind {
		d.errs.add(val.pos, path, "must be a mapping of mappings, found %s", val.describe())
		return nil
	}
	out := map[string]map[string]map[string]any{}
	for i, name := range val.keys {
		m := val.vals[i]
		p := join(path, name.text)
		if m.kind != mapKind {
			d.errs.add(name.pos, p, "must be a mapping of top-level keys, found %s", m.describe())
			continue
		}
		tops := map[string]map[string]any{}
		for j, top := range m.keys {
			inner := m.vals[j]
			p2 := join(p, top.text)
			if inner.kind != mapKind {
				d.errs.add(top.pos, p2, "must be a mapping of second-level keys to values, found %s", inner.describe())
				continue
			}
			leaves := map[string]any{}
			for k, leaf := range inner.keys {
				v := inner.vals[k]
				switch v.kind {
				case scalarKind:
					leaves[leaf.text] = scalarString(v) // stacker holds mapping values as strings
				case seqKind:
					leaves[leaf.text] = v.toAny() // CloudFormation allows lists
				default:
					d.errs.add(leaf.pos, join(p2, leaf.text), "must be a string or a list, found %s", v.describe())
				}
			}
			tops[top.text] = leaves
		}
		out[name.text] = tops
	}
	return out
}

// stacks reads the stacks, in list form or map form (where the key is the
// name).
func (d *decoder) stacks(val, key *node) []*Stack {
	switch {
	case val.isNull():
		return nil
	case val.kind == seqKind:
		out := make([]*Stack, 0, len(val.items))
		for k, it := range val.items {
			if s := d.stack(it, nil, fmt.Sprintf("stacks[%d]", k)); s != nil {
				out = append(out, s)
			}
		}
		return out
	case val.kind == mapKind:
		// stacker's loader names both places: the first key and this one.
		for _, dup := range val.dups {
			d.errs.add(dup.key.pos, "stacks."+dup.key.text, "stacks mapping cannot have duplicate keys: Duplicate stack %s found (first defined at line %d, column %d)",
				dup.key.text, dup.first.pos.Line, dup.first.pos.Column)
		}
		out := make([]*Stack, 0, len(val.keys))
		for k, name := range val.keys {
			if s := d.stack(val.vals[k], name, "stacks."+name.text); s != nil {
				out = append(out, s)
			}
		}
		return out
	default:
		d.errs.add(val.pos, "stacks", "must be a list or a mapping of stack definitions, found %s", val.describe())
		return nil
	}
}

func (d *decoder) stack(n, mapName *node, path string) *Stack {
	pos := n.pos
	if mapName != nil {
		pos = mapName.pos
	}
	if n.kind != mapKind {
		d.errs.add(pos, path, "a stack definition must be a mapping, found %s", n.describe())
		return nil
	}
	s := &Stack{Enabled: true, Pos: pos, Key: path, KeyPos: map[string]Position{}}
	var parameters *node // key of a non-empty "parameters"
	d.checkDups(n, path)
	for k, key := range n.keys {
		s.KeyPos[key.text] = key.pos
		if !contains(stackKeys, key.text) {
			d.errs.add(key.pos, join(path, key.text), "unknown key (valid stack keys: %s)", strings.Join(stackKeys, ", "))
			continue
		}
		val := n.vals[k]
		p := join(path, key.text)
		switch key.text {
		case "name":
			s.Name, _ = d.str(val, key, p)
		case "stack_name":
			s.StackName, _ = d.str(val, key, p)
		case "class_path":
			s.ClassPath, _ = d.str(val, key, p)
		case "template_path":
			s.TemplatePath, _ = d.str(val, key, p)
		case "description":
			s.Description, _ = d.str(val, key, p)
		case "profile":
			s.Profile, _ = d.str(val, key, p)
		case "region":
			s.Region, _ = d.str(val, key, p)
		case "stack_policy_path":
			s.StackPolicyPath, _ = d.str(val, key, p)
		case "in_progress_behavior":
			s.InProgressBehavior, _ = d.str(val, key, p)
			if s.InProgressBehavior != "" && s.InProgressBehavior != "wait" {
				d.errs.add(val.pos, p, "must be \"wait\" (wait for the stack's update in progress) or absent (fail), found %q", s.InProgressBehavior)
			}
		case "variables":
			switch {
			case val.isNull():
			case val.kind != mapKind:
				d.errs.add(val.pos, p, "must be a mapping of variable names to values, found %s", val.describe())
			default:
				s.Variables = make(map[string]any, len(val.keys))
				for j, vk := range val.keys {
					s.Variables[vk.text] = val.vals[j].toAny()
					s.KeyPos["variables."+vk.text] = vk.pos
				}
			}
		case "parameters":
			if !empty(val) {
				parameters = key // reported once the name is known
			}
		case "requires":
			s.Requires = d.strList(val, p)
			itemPositions(val, key.text, s.KeyPos)
		case "required_by":
			s.RequiredBy = d.strList(val, p)
			itemPositions(val, key.text, s.KeyPos)
		case "locked":
			s.Locked = d.boolean(val, p, false)
		case "enabled":
			s.Enabled = d.boolean(val, p, true)
		case "protected":
			s.Protected = d.boolean(val, p, false)
		case "termination_protection":
			s.TerminationProtection = d.boolean(val, p, false)
		case "tags":
			s.Tags = d.strMap(val, key, p)
		case "notification_arns":
			s.NotificationARNs = d.strList(val, p)
		}
	}
	if mapName != nil {
		s.Name = mapName.text
		if _, ok := s.KeyPos["name"]; !ok {
			s.KeyPos["name"] = mapName.pos
		}
	}
	if s.Name == "" {
		d.errs.add(pos, join(path, "name"), "This field is required.")
	}
	if parameters != nil {
		d.errs.add(parameters.pos, join(path, "parameters"), "DEPRECATION: Stack definition %s contains deprecated "+
			"'parameters', rather than 'variables'. You are required to update your config. See "+
			"https://stacker.readthedocs.io/en/latest/config.html#variables for additional information.", s.Name)
	}
	return s
}

func (d *decoder) targets(val, key *node) []Target {
	switch {
	case val.isNull():
		return nil
	case val.kind != seqKind:
		d.errs.add(val.pos, "targets", "must be a list of targets, found %s", val.describe())
		return nil
	}
	out := make([]Target, 0, len(val.items))
	for k, it := range val.items {
		path := fmt.Sprintf("targets[%d]", k)
		if it.kind != mapKind {
			d.errs.add(it.pos, path, "a target must be a mapping, found %s", it.describe())
			continue
		}
		t := Target{Pos: it.pos, Key: path, KeyPos: map[string]Position{}}
		for j, tk := range it.keys {
			t.KeyPos[tk.text] = tk.pos
			v := it.vals[j]
			p := join(path, tk.text)
			switch tk.text {
			case "name":
				t.Name, _ = d.str(v, tk, p)
			case "requires":
				t.Requires = d.strList(v, p)
				itemPositions(v, tk.text, t.KeyPos)
			case "required_by":
				t.RequiredBy = d.strList(v, p)
				itemPositions(v, tk.text, t.KeyPos)
			default:
				d.errs.add(tk.pos, p, "unknown key (valid target keys: %s)", strings.Join(targetKeys, ", "))
			}
		}
		if t.Name == "" {
			d.errs.add(it.pos, join(path, "name"), "This field is required.")
		}
		out = append(out, t)
	}
	return out
}

// itemPositions records the position of each list item as "key[i]".
func itemPositions(val *node, key string, into map[string]Position) {
	if val.kind == scalarKind {
		into[key+"[0]"] = val.pos
	}
	if val.kind == seqKind {
		for k, it := range val.items {
			into[fmt.Sprintf("%s[%d]", key, k)] = it.pos
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
