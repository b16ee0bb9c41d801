package config

import (
	"fmt"
)

// validate checks what involves more than one key: names, sources and
// references between stacks. Every problem is collected. Paths are checked
// where they are read (deploy), and against a bundle by package bundle.
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
