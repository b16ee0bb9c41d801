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
// config's root.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Root, p)
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
