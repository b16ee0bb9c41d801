package rawtemplate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/nikolalohinski/gonja/v2"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
)

const jinjaRoot = "template.j2"

// singleLoader serves only the template being rendered. stacker renders
// `.j2` files with jinja2.Template(source), which has no loader, so
// {% include %} and {% extends %} cannot reach other files; neither can
// they here (a bundle's templates must not read the runtime's files).
type singleLoader struct{ body []byte }

func (l singleLoader) Read(path string) (io.Reader, error) {
	if path != jinjaRoot {
		return nil, fmt.Errorf("template %q: include, import and extends are not supported in .j2 templates", path)
	}
	return bytes.NewReader(l.body), nil
}

func (l singleLoader) Resolve(path string) (string, error) { return path, nil }

func (l singleLoader) Inherit(string) (loaders.Loader, error) { return l, nil }

// renderJinja renders a `.j2` template with the names stacker's raw
// blueprint passes to Jinja2: context, mappings, name and variables.
func renderJinja(in Input, body []byte) ([]byte, error) {
	// Jinja2's defaults: undefined names render empty, one trailing newline
	// is dropped. gonja's defaults match.
	cfg := config.New()
	tpl, err := exec.NewTemplate(jinjaRoot, cfg, singleLoader{body: body}, gonja.DefaultEnvironment)
	if err != nil {
		return nil, fmt.Errorf("parse Jinja2 template %s: %w", in.Path, trimSource(err))
	}
	vars := map[string]any{}
	for k, v := range in.Variables {
		if v != nil { // stacker passes only variables with a value
			vars[k] = v
		}
	}
	c := in.Context
	env := c.Environment
	if env == nil {
		env = map[string]any{}
	}
	delim := c.NamespaceDelimiter
	ctx := map[string]any{
		"namespace":           c.Namespace,
		"namespace_delimiter": delim,
		"environment":         env,
		"bucket_name":         c.BucketName,
		"tags":                c.Tags,
		"mappings":            c.Mappings,
		"template_indent":     c.TemplateIndent,
		"get_fqn": func(name string) string {
			return fqn(c.Namespace, delim, name)
		},
	}
	out, err := tpl.ExecuteToBytes(exec.NewContext(map[string]any{
		"context":   ctx,
		"mappings":  in.Mappings,
		"name":      in.Name,
		"variables": vars,
	}))
	if err != nil {
		return nil, fmt.Errorf("render Jinja2 template %s: %w", in.Path, err)
	}
	return out, nil
}

// trimSource drops gonja's habit of quoting the whole template source in
// parse errors, keeping the cause.
func trimSource(err error) error {
	if u := errors.Unwrap(err); u != nil {
		return u
	}
	return err
}

// fqn is stacker's get_fqn, offered to templates as context.get_fqn. The
// delimiter is the effective one (it may be empty).
func fqn(namespace, delimiter, name string) string {
	if name != "" && strings.HasPrefix(name, namespace+delimiter) {
		return name
	}
	switch {
	case namespace == "":
		return name
	case name == "":
		return namespace
	}
	return namespace + delimiter + name
}
