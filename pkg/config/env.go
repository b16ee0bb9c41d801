package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Environment holds the values a config is rendered with: an environment
// file's entries and `-e key=value` overrides (set them with Set). The
// `default` lookup reads it too.
//
// How a config is rendered depends on where the values came from, as in
// stacker: a plain `key: value` file substitutes into the config text
// before it is parsed; a YAML file substitutes into the parsed values, so a
// whole-value `${var}` can become a list or a map. A YAML environment is
// marked with the reserved key yamlSourceKey (see IsYAML), which keeps
// Environment a plain map that callers can read and extend.
type Environment map[string]any

// yamlSourceKey marks an Environment loaded from a YAML file. It cannot clash
// with a real key: Python identifiers, the only keys a config can reference,
// never contain NUL.
const yamlSourceKey = "\x00stackerless:yaml"

// IsYAML reports whether the environment came from a .yaml/.yml file.
func (e Environment) IsYAML() bool {
	_, ok := e[yamlSourceKey]
	return ok
}

// Keys returns the environment's keys, sorted, without the reserved marker.
func (e Environment) Keys() []string {
	keys := make([]string, 0, len(e))
	for k := range e {
		if k != yamlSourceKey {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// lookup returns a value; the marker is never a value.
func (e Environment) lookup(key string) (any, bool) {
	if key == yamlSourceKey {
		return nil, false
	}
	v, ok := e[key]
	return v, ok
}

// Set applies a `-e KEY=VALUE` override, splitting at the first "=" as
// stacker does.
func (e Environment) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok {
		//lint:ignore ST1005 stacker's exact wording
		return fmt.Errorf("%s does not match KEY=VALUE format.", kv)
	}
	e[k] = v
	return nil
}

// LoadEnvironment reads a stacker environment file: YAML when the name ends
// in .yaml or .yml (any case), else stacker's plain `key: value` format.
func LoadEnvironment(path string) (Environment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read environment file: %w", err)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		return ParseYAMLEnvironment(path, data)
	default:
		return ParseEnvironment(path, data)
	}
}

// ParseEnvironment parses stacker's plain environment format: one
// `key: value` per line, split at the first colon, both sides trimmed of
// surrounding whitespace (stacker leaves spaces before the colon in the key,
// where no config could reference it); blank
// lines and lines starting with # are skipped. Values are strings.
func ParseEnvironment(file string, data []byte) (Environment, error) {
	env := Environment{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, Errors{{Pos: Position{File: file, Line: i + 1, Column: 1},
				Msg: "Environment must be in key: value format"}}
		}
		env[strings.TrimSpace(key)] = strings.TrimSpace(value)
	}
	return env, nil
}

// ParseYAMLEnvironment parses a YAML environment file, which must hold a
// mapping. Values keep their YAML types (lists, maps, numbers...).
func ParseYAMLEnvironment(file string, data []byte) (Environment, error) {
	root, err := parseYAML(file, data, nil)
	if err != nil {
		return nil, err
	}
	if root.kind != mapKind {
		return nil, Errors{{Pos: root.pos, Msg: "Environment must be valid YAML: a mapping of keys to values"}}
	}
	env := Environment{yamlSourceKey: true}
	for k, key := range root.keys {
		env[key.text] = root.vals[k].toAny()
	}
	return env, nil
}
