package config

import (
	"fmt"
	"path/filepath"
	"strings"
)

// validate checks what involves more than one key: names, sources,
// references between stacks and paths. Every problem is collected.
func (d *decoder) validate(c *Config) {
	// stacker reports the index of the first definition of a duplicated
	// name; each later definition is reported at its own place, naming the
	// first one too.
	first := map[string]int{} // name -> index of its first definition
	for i, s := range c.Stacks {
		if s.Name == "" {
			continue
		}
		j, dup := first[s.Name]
		if !dup {
			first[s.Name] = i
			continue
		}
		f := c.Stacks[j]
		d.errs.add(s.KeyPos["name"], s.Key+".name", "Duplicate stack %s found at index %d. (first defined by %s at line %d)",
			s.Name, j, f.Key, f.KeyPos["name"].Line)
	}
	targets := map[string]*Target{}
	for k := range c.Targets {
		t := &c.Targets[k]
		if t.Name == "" {
			continue
		}
		_, isStack := first[t.Name]
		f, dup := targets[t.Name]
		switch {
		case isStack:
			d.errs.add(t.Pos, t.Key+".name", "target %s has the name of a stack; stacks and targets share one graph, so names must differ", t.Name)
		case dup:
			d.errs.add(t.Pos, t.Key+".name", "Duplicate target %s found. (first defined by %s at line %d)", t.Name, f.Key, f.Pos.Line)
		}
		if !dup {
			targets[t.Name] = t
		}
	}
	known := func(name string) bool {
		_, isStack := first[name]
		return isStack || targets[name] != nil
	}

	for _, s := range c.Stacks {
		switch {
		case s.ClassPath != "" && s.TemplatePath != "":
			d.errs.add(s.KeyPos["template_path"], s.Key+".template_path", "class_path cannot be present when template_path is provided.")
		case s.ClassPath == "" && s.TemplatePath == "" && !s.Locked:
			d.errs.add(s.Pos, s.Key, "class_path or template_path is required.")
		}
		d.checkRefs(s.Requires, s.KeyPos, "requires", s.Key, known)
		d.checkRefs(s.RequiredBy, s.KeyPos, "required_by", s.Key, known)
		for _, key := range []string{"template_path", "stack_policy_path"} {
			p := s.TemplatePath
			if key == "stack_policy_path" {
				p = s.StackPolicyPath
			}
			if p == "" {
				continue
			}
			if _, err := InsideRoot(c.Root, p); err != nil {
				d.errs.add(s.KeyPos[key], s.Key+"."+key, "%v", err)
			}
		}
	}
	for _, t := range c.Targets {
		d.checkRefs(t.Requires, t.KeyPos, "requires", t.Key, known)
		d.checkRefs(t.RequiredBy, t.KeyPos, "required_by", t.Key, known)
	}
}

func (d *decoder) checkRefs(refs []string, keyPos map[string]Position, key, prefix string, known func(string) bool) {
	for k, r := range refs {
		if known(r) {
			continue
		}
		item := fmt.Sprintf("%s[%d]", key, k)
		pos, ok := keyPos[item]
		if !ok {
			pos = keyPos[key]
		}
		d.errs.add(pos, prefix+"."+item, "%s is not a stack or target in this config", r)
	}
}

// InsideRoot resolves path (relative to root, or absolute) and checks that it
// stays inside root, the bundle directory: a config that reaches outside
// would work on a laptop and break in the runtime, which only has the bundle.
// It returns the resolved path. The check is lexical (symlinks are not
// followed).
func InsideRoot(root, path string) (string, error) {
	full := path
	if !filepath.IsAbs(full) {
		full = filepath.Join(root, path)
	}
	full = filepath.Clean(full)
	rel, err := filepath.Rel(filepath.Clean(root), full)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is outside the bundle directory %s: paths resolve from the directory holding "+
			"the bundle (the working directory) and must stay inside it", path, root)
	}
	return full, nil
}
