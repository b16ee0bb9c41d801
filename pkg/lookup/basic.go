package lookup

import (
	"context"
	"errors"
	"fmt"
	"os"
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
	Files  FileReader                       // for file:// inputs
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
// that file, as stacker's read_value_from_path. files decides where paths
// lead (see FileReader). Line endings become "\n" as Python's text mode
// reads them. trim drops trailing line breaks, for handlers that take a name
// or key from a file (stacker kept them and then failed to find "name\n").
func readValue(files FileReader, value string, trim bool) (string, error) {
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

func readFile(files FileReader, p string) ([]byte, error) {
	if files == nil {
		return nil, fmt.Errorf("read file://%s: no config directory configured", p)
	}
	if p == "" {
		return nil, errors.New("read file://: the path is empty")
	}
	data, err := files.ReadFile(filepath.Clean(p))
	if err != nil {
		return nil, fmt.Errorf("read file://%s: %w", p, err)
	}
	return data, nil
}

// FileReader reads the files that file:// values name, by the path as
// written after file://. Dir reads them as stacker does; a reader over
// os.Root (package bundle) keeps them inside a bundle; fstest.MapFS serves
// tests.
type FileReader interface {
	ReadFile(name string) ([]byte, error)
}

// Dir is a FileReader for stacker's rule: a relative path is read from the
// directory Dir names (the config file's), an absolute one as it is.
type Dir string

// ReadFile implements FileReader.
func (d Dir) ReadFile(name string) ([]byte, error) {
	if !filepath.IsAbs(name) {
		name = filepath.Join(string(d), name)
	}
	return os.ReadFile(name)
}
