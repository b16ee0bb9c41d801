package lookup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// DefaultHandler serves "${default env_key::default value}": the value of
// env_key in the stacker environment (env file and -e), else the default.
type DefaultHandler struct {
	Environment map[string]any
}

// Resolve implements Handler.
func (h DefaultHandler) Resolve(_ context.Context, in LookupCall) (any, error) {
	key, def, ok := strings.Cut(in.Input, "::")
	if !ok {
		return nil, fmt.Errorf("Invalid value for default: %s. Must be in <env_var>::<default value> format.", in.Input)
	}
	if v, ok := h.Environment[key]; ok {
		return v, nil
	}
	return def, nil
}

// EnvvarHandler serves "${envvar NAME}" (or "${envvar file://name.txt}"): a
// variable of the process environment, which must be set.
type EnvvarHandler struct {
	Files  fs.FS                            // for file:// inputs
	Getenv func(name string) (string, bool) // nil = os.LookupEnv
}

// Resolve implements Handler.
func (h EnvvarHandler) Resolve(_ context.Context, in LookupCall) (any, error) {
	name, err := readValue(h.Files, in.Input, true)
	if err != nil {
		return nil, err
	}
	getenv := h.Getenv
	if getenv == nil {
		getenv = os.LookupEnv
	}
	v, ok := getenv(name)
	if !ok {
		return nil, fmt.Errorf("EnvVar \"%s\" does not exist", name)
	}
	return v, nil
}

// SplitHandler serves "${split delimiter::text}", giving a []string.
type SplitHandler struct{}

// Resolve implements Handler.
func (SplitHandler) Resolve(_ context.Context, in LookupCall) (any, error) {
	delim, text, ok := strings.Cut(in.Input, "::")
	if !ok {
		return nil, fmt.Errorf("Invalid value for split: %s. Must be in <delimiter>::<text> format.", in.Input)
	}
	if delim == "" {
		// Python's str.split refuses an empty separator too.
		return nil, errors.New("empty separator")
	}
	return strings.Split(text, delim), nil
}

// readValue returns the input itself, or, for "file://path", the contents of
// that file, as stacker's read_value_from_path. Paths are relative to files'
// root (the config directory / bundle root) and may not leave it. Line
// endings become "\n" as Python's text mode reads them. trim drops trailing
// line breaks, for handlers that take a name or key from a file (stacker kept
// them and then failed to find "name\n").
func readValue(files fs.FS, value string, trim bool) (string, error) {
	p, ok := strings.CutPrefix(value, "file://")
	if !ok {
		return value, nil
	}
	data, err := readFile(files, p)
	if err != nil {
		return "", err
	}
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	if trim {
		s = strings.TrimRight(s, "\n")
	}
	return s, nil
}

func readFile(files fs.FS, p string) ([]byte, error) {
	if files == nil {
		return nil, fmt.Errorf("read file://%s: no config directory configured", p)
	}
	clean := path.Clean(filepath.ToSlash(p))
	if p == "" || path.IsAbs(clean) || filepath.IsAbs(p) || clean == ".." || strings.HasPrefix(clean, "../") {
		return nil, fmt.Errorf("read file://%s: path must be relative to the config directory and stay inside it", p)
	}
	data, err := fs.ReadFile(files, clean)
	if err != nil {
		return nil, fmt.Errorf("read file://%s: %w", p, err)
	}
	return data, nil
}
