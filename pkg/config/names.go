package config

import (
	"maps"
	"path/filepath"
	"strings"
)

// baseFQN is the namespace as stacker uses it in names: dots become dashes,
// lower case.
func (c *Config) baseFQN() string {
	return strings.ToLower(strings.ReplaceAll(c.Namespace, ".", "-"))
}

// FQN returns the fully qualified name of name, as stacker's get_fqn:
// namespace + delimiter + name, unless the namespace is empty or name
// already starts with namespace + delimiter. FQN("") is the namespace.
func (c *Config) FQN(name string) string {
	base := c.baseFQN()
	if name != "" && strings.HasPrefix(name, base+c.NamespaceDelimiter) {
		return name
	}
	switch {
	case base == "":
		return name
	case name == "":
		return base
	default:
		return base + c.NamespaceDelimiter + name
	}
}

// CFNName is the CloudFormation stack name: stack_name, or else name,
// qualified with the namespace.
func (s *Stack) CFNName(c *Config) string {
	if s.StackName != "" {
		return c.FQN(s.StackName)
	}
	return c.FQN(s.Name)
}

// UploadTemplates reports whether templates go to the stacker bucket. As in
// stacker, they go inline when stacker_bucket is explicitly ” or when there
// is neither a namespace nor a stacker_bucket.
func (c *Config) UploadTemplates() bool {
	if c.StackerBucket != nil && *c.StackerBucket == "" {
		return false
	}
	if c.Namespace == "" && c.StackerBucket == nil {
		return false
	}
	return true
}

// BucketName is the stacker bucket: stacker_bucket when set, else
// "stacker-<namespace>" (the namespace as used in names). It is "" when
// templates go inline (see UploadTemplates).
func (c *Config) BucketName() string {
	if !c.UploadTemplates() {
		return ""
	}
	if c.StackerBucket != nil {
		return *c.StackerBucket
	}
	return "stacker-" + c.FQN("")
}

// StackTags returns the tags every stack gets: the top-level tags when the
// key is present (so `tags: {}` means none), else stacker_namespace =
// namespace when there is a namespace.
func (c *Config) StackTags() map[string]string {
	if c.Tags != nil {
		return maps.Clone(c.Tags)
	}
	if c.Namespace != "" {
		return map[string]string{"stacker_namespace": c.Namespace}
	}
	return map[string]string{}
}

// AllTags returns the tags a stack is created with: the config's tags (see
// StackTags) overlaid with the stack's own.
func (s *Stack) AllTags(c *Config) map[string]string {
	tags := c.StackTags()
	maps.Copy(tags, s.Tags)
	return tags
}

// Path resolves a config path (template_path, stack_policy_path) from the
// working directory, Root.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Root, p)
}

// FilePath resolves the path of a file:// value from the config's
// directory, Dir, as stacker's read_value_from_path.
func (c *Config) FilePath(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// TemplateSearch lists where a template_path may be, in the order stacker's
// raw blueprint looks (get_template_path): from the working directory, then
// under sys_path, which is relative to the working directory too. The first
// one that is a file is the template. An absolute path is its only place.
func (c *Config) TemplateSearch(p string) []string {
	first := c.Path(p)
	if filepath.IsAbs(p) || c.SysPath == "" {
		return []string{first}
	}
	other := filepath.Join(c.Path(c.SysPath), p)
	if other == first {
		return []string{first}
	}
	return []string{first, other}
}

// maxStackName is CloudFormation's limit on a stack name's length.
const maxStackName = 128

// validStackName is CloudFormation's rule for stack names:
// [a-zA-Z][-a-zA-Z0-9]*, at most 128 characters.
func validStackName(name string) bool {
	if name == "" || len(name) > maxStackName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || c != '-' && (c < '0' || c > '9')) {
			return false
		}
	}
	return true
}

// CheckStackNames reports the stacks whose CloudFormation name (see CFNName)
// CloudFormation would refuse, before anything is deployed. When the
// namespace or its delimiter is the cause, it is reported once, on that key.
func (c *Config) CheckStackNames() error {
	errs := errorList{file: c.File}
	const rule = "CloudFormation stack names start with a letter and hold only letters, digits and hyphens, at most 128 characters"
	base := c.FQN("")
	if base != "" && !validStackName(base+c.NamespaceDelimiter+"x") {
		key := "namespace"
		if validStackName(base) {
			key = "namespace_delimiter"
		}
		pos, ok := c.KeyPos[key]
		if !ok {
			pos = Position{File: c.File, Line: 1, Column: 1}
		}
		errs.add(pos, key, "stack names %q would not be valid: %s", c.FQN("name"), rule)
		return errs.err()
	}
	for _, s := range c.Stacks {
		if s.Name == "" {
			continue
		}
		name := s.CFNName(c)
		if validStackName(name) {
			continue
		}
		key := "name"
		if s.StackName != "" {
			key = "stack_name"
		}
		err := s.Errorf(key, "stack name %q is not valid: %s", name, rule)
		errs.errs = append(errs.errs, err)
	}
	return errs.err()
}

// Stack returns the stack with the given name, or nil.
func (c *Config) Stack(name string) *Stack {
	// The index makes planning a large config linear rather than quadratic.
	// Stacks is exported and may have changed since it was built, so a hit
	// is checked and anything else falls back to the scan.
	if i, ok := c.stackIndex[name]; ok && i < len(c.Stacks) && c.Stacks[i].Name == name {
		return c.Stacks[i]
	}
	for _, s := range c.Stacks {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// indexStacks maps each stack name to its first definition.
func (c *Config) indexStacks() {
	c.stackIndex = make(map[string]int, len(c.Stacks))
	for i, s := range c.Stacks {
		if _, dup := c.stackIndex[s.Name]; !dup {
			c.stackIndex[s.Name] = i
		}
	}
}
