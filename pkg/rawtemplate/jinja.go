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
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"
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

// jinjaEnv is gonja's default environment with include, import, from and
// extends refused while parsing. gonja resolves include and import only when
// the statement runs; refusing them at parse time lets CheckSyntax report
// them before anything is deployed, and keeps Load and CheckSyntax in
// agreement (an include in a branch not taken is refused too: it could never
// work, as stacker's loader-less Jinja2 cannot include either).
var jinjaEnv = newJinjaEnv()

func newJinjaEnv() *exec.Environment {
	def := gonja.DefaultEnvironment
	cs := exec.NewControlStructureSet(map[string]parser.ControlStructureParser{}).Update(def.ControlStructures)
	for _, name := range []string{"include", "import", "from", "extends"} {
		refuse := func(p, args *parser.Parser) (nodes.ControlStructure, error) {
			tok := args.Current()
			if tok == nil {
				tok = p.Current()
			}
			return nil, p.Error(name+" is not supported in .j2 templates (stacker renders them with no loader, "+
				"so they cannot reach other files)", tok)
		}
		_ = cs.Replace(name, refuse) // every name is one of gonja's built-ins
	}
	return &exec.Environment{
		Filters:           def.Filters,
		ControlStructures: cs,
		Tests:             def.Tests,
		Context:           def.Context,
		Methods:           def.Methods,
	}
}

// SyntaxError is a `.j2` template that gonja cannot parse.
type SyntaxError struct {
	Path string
	// Line counts from 1; 0 when gonja does not say.
	Line int
	Err  error
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("parse Jinja2 template %s, line %d: %v", e.Path, e.Line, e.Err)
	}
	return fmt.Sprintf("parse Jinja2 template %s: %v", e.Path, e.Err)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// CheckSyntax parses a Jinja2 (`.j2`) template without rendering it, so it
// reports syntax errors only, never errors that depend on variable values.
// body is the template; nil reads the file at path (as Input.Body). Like
// Load, it refuses include, import, from and extends. A parse error is a
// *SyntaxError naming path and, when known, the line.
func CheckSyntax(path string, body []byte) error {
	if body == nil {
		b, err := readTemplate(path)
		if err != nil {
			return err
		}
		body = b
	}
	_, err := parseJinja(path, body)
	return err
}

// parseJinja parses a `.j2` template (path is for errors).
func parseJinja(path string, body []byte) (*exec.Template, error) {
	// Jinja2's defaults: undefined names render empty, one trailing newline
	// is dropped. gonja's defaults match.
	cfg := config.New()
	tpl, err := exec.NewTemplate(jinjaRoot, cfg, singleLoader{body: body}, jinjaEnv)
	if err != nil {
		return nil, &SyntaxError{Path: path, Line: errorLine(err, body, cfg), Err: trimSource(err)}
	}
	return tpl, nil
}

// errorLine finds the line of a parse error: gonja's parser errors carry it,
// but errors from its lexer (an unclosed comment, an unbalanced "}") come
// with line 0, so the template is lexed again to find the error token, whose
// offset is known.
func errorLine(err error, body []byte, cfg *config.Config) int {
	var se *parser.SyntaxError
	if errors.As(err, &se) && se.Line > 0 {
		return se.Line
	}
	lx := tokens.NewLexer(string(body), cfg)
	input := lx.Input // normalised (\r\n to \n), as the offsets are
	stream := tokens.LexAll(string(body), cfg)
	for !stream.End() {
		stream.Next()
	}
	if tok := stream.Current(); tok != nil && tok.Type == tokens.Error && tok.Pos <= len(input) {
		return 1 + strings.Count(input[:tok.Pos], "\n")
	}
	return 0
}

// renderJinja renders a `.j2` template with the names stacker's raw
// blueprint passes to Jinja2: context, mappings, name and variables.
func renderJinja(in Input, body []byte) ([]byte, error) {
	tpl, err := parseJinja(in.Path, body)
	if err != nil {
		return nil, err
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
