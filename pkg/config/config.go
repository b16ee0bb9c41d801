// Package config reads stacker 1.7 configs (stacker.yaml) and environment
// files: `${var}` substitution, the schema with its defaults, validation that
// names the file, line and key of every problem, and stacker's naming rules
// (fully qualified stack names, the stacker bucket, default tags).
//
// Rendering and validation are separate passes, as in stacker: Parse renders
// the environment into the config, reads the YAML keeping positions, then
// decodes and validates, collecting every error (type Errors).
package config

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// Config is a parsed and validated stacker config.
type Config struct {
	// File is the config's name as given (used in error positions).
	File string
	// Root is the working directory: template_path, stack_policy_path and
	// sys_path resolve from it, as in stacker. In the serverless runtime it
	// is the bundle directory.
	Root string
	// Dir is the directory holding the config file, which file:// values of
	// lookups resolve from (stacker's get_config_directory). A config read
	// from stdin has the working directory.
	Dir string
	// SysPath is sys_path: stacker appends it to Python's import path, where
	// raw templates are searched too. Here it is only that template search
	// directory (see TemplateSearch).
	SysPath string

	Namespace string
	// NamespaceDelimiter defaults to "-"; an explicit '' is kept.
	NamespaceDelimiter string
	// StackerBucket is nil when absent, and points to "" when explicitly
	// empty (no bucket: templates go inline).
	StackerBucket       *string
	StackerBucketRegion string
	ServiceRole         string
	// Tags is nil when the key is absent (default tags apply) and empty for
	// `tags: {}` (no tags).
	Tags map[string]string
	// TemplateIndent defaults to 4.
	TemplateIndent int
	Mappings       map[string]map[string]map[string]any
	Targets        []Target
	Stacks         []*Stack
	LogFormats     map[string]string

	// KeyPos holds the position of each top-level key present.
	KeyPos map[string]Position
	// Warnings are non-fatal findings, e.g. a deprecated construct or an
	// environment name left unsubstituted. Callers print them.
	Warnings []string

	// stackIndex maps names to positions in Stacks (see Stack).
	stackIndex map[string]int
}

// Stack is one stack definition.
type Stack struct {
	Name, StackName, ClassPath, TemplatePath, Description, Profile, Region string
	// Variables are the raw values: lookups such as ${output vpc::Id} are not
	// resolved. Values are map[string]any, []any, string, int, uint64,
	// float64, bool or nil.
	Variables             map[string]any
	Requires              []string
	RequiredBy            []string
	Locked                bool
	Enabled               bool // default true
	Protected             bool
	TerminationProtection bool // beyond stacker
	Tags                  map[string]string
	StackPolicyPath       string
	InProgressBehavior    string // "" or "wait"
	NotificationARNs      []string

	// Pos is where the definition starts; KeyPos holds the position of each
	// key present, and of each variable as "variables.<Name>".
	Pos    Position
	KeyPos map[string]Position
	// Key is the definition's path in errors: "stacks[2]" in list form,
	// "stacks.vpc" in map form.
	Key string
}

// Target is a virtual graph node that groups stacks for --targets.
type Target struct {
	Name       string
	Requires   []string
	RequiredBy []string
	Pos        Position
	KeyPos     map[string]Position
	Key        string
}

// Errorf returns an error about one key of the stack, positioned at that key
// (or at the stack when the key is absent), e.g. for "unknown profile".
func (s *Stack) Errorf(key, format string, args ...any) *Error {
	pos, ok := s.KeyPos[key]
	if !ok {
		pos = s.Pos
	}
	path := s.Key
	if key != "" {
		path += "." + key
	}
	return &Error{Pos: pos, Key: path, Msg: fmt.Sprintf(format, args...)}
}

// Load reads and parses the config file at path. Relative template paths
// resolve from the working directory, file:// values from the config's
// directory. (A config read from stdin goes through Parse.)
func Load(path string, env Environment) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data, env)
}

// LoadReader parses a config read from r (e.g. stdin for "-"), naming it
// file in errors.
func LoadReader(file string, r io.Reader, env Environment) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(file, data, env)
}

// Parse renders env into the config text, parses and validates it. Paths
// resolve from the working directory. Validation problems come back as
// Errors, sorted by line; see ParseIn for the config returned with them.
func Parse(file string, data []byte, env Environment) (*Config, error) {
	root, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("find working directory: %w", err)
	}
	return ParseIn(root, file, data, env)
}

// ParseIn is Parse with root as the working directory. file names the config
// in errors and, as a path relative to root (or absolute), gives Dir; a name
// without a directory, or "<stdin>", puts Dir at root.
//
// When the document reads as YAML but fails validation, ParseIn returns the
// config as far as it decoded together with the Errors, so that a caller can
// add the findings of its own checks and report every problem at once
// (deploy.Load does). Such a config must not be deployed.
func ParseIn(root, file string, data []byte, env Environment) (*Config, error) {
	if env == nil {
		env = Environment{}
	}
	var lines []int
	var warnings []string
	text := string(data)
	if !env.IsYAML() {
		var err error
		text, lines, warnings, err = renderText(file, text, env)
		if err != nil {
			return nil, err
		}
	}
	doc, err := parseYAML(file, []byte(text), lines)
	if err != nil {
		return nil, err
	}
	d := &decoder{errs: errorList{file: file}}
	if env.IsYAML() {
		doc = renderYAML(doc, "", env, &d.errs)
		if err := d.errs.err(); err != nil {
			return nil, err
		}
	}
	c := d.decode(doc, env)
	c.File = file
	c.Root = root
	c.Dir = configDir(root, file)
	c.Warnings = append(warnings, c.Warnings...)
	c.indexStacks()
	d.validate(c)
	if err := d.errs.err(); err != nil {
		return c, err
	}
	return c, nil
}

// configDir is the directory of the config file named file, from root.
func configDir(root, file string) string {
	if file == "<stdin>" || file == "-" {
		return root
	}
	dir := filepath.Dir(file)
	if filepath.IsAbs(dir) {
		return dir
	}
	return filepath.Join(root, dir)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
