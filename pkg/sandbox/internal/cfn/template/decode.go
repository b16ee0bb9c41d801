package template

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// YAML is read with github.com/goccy/go-yaml's parser, whose AST carries line and column for
// CloudFormation's "(line L, column C)" errors. goformation's intrinsics.ProcessYAML was tried first and not
// used: it turns "AWSTemplateFormatVersion: 2010-09-09" into a timestamp, wraps a block mapping under a tag
// (!Base64 followed by Fn::Join) into a list, drops !Condition, reports no columns, and mutates a global map
// on every call (a data race in a concurrent server).

// Trees produced by decoding hold map[string]any, []any, string, json.Number (numbers keep their written
// form, so "1.10" stays "1.10" when stringified as CloudFormation does), bool and nil.

// maxDepth bounds nesting so hostile input cannot exhaust the stack of a recursive decoder.
const maxDepth = 200

// maxNodes bounds the tree size after YAML alias expansion ("billion laughs").
const maxNodes = 1 << 20

// shortTags maps YAML short-form intrinsic tags to their long-form keys.
var shortTags = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition",
	"!GetAtt": "Fn::GetAtt", "!Sub": "Fn::Sub", "!Join": "Fn::Join", "!Select": "Fn::Select",
	"!Split": "Fn::Split", "!If": "Fn::If", "!Equals": "Fn::Equals", "!And": "Fn::And", "!Or": "Fn::Or",
	"!Not": "Fn::Not", "!FindInMap": "Fn::FindInMap", "!GetAZs": "Fn::GetAZs", "!ImportValue": "Fn::ImportValue",
	"!Base64": "Fn::Base64", "!Cidr": "Fn::Cidr", "!Transform": "Fn::Transform", "!Length": "Fn::Length",
	"!ToJsonString": "Fn::ToJsonString",
}

// decodeResult is a decoded template tree plus the declaration order of its parameters (Go maps lose it).
type decodeResult struct {
	tree       any
	paramOrder []string
}

func isJSON(body []byte) bool {
	t := bytes.TrimLeft(body, " \t\r\n\ufeff")
	t = bytes.TrimPrefix(t, []byte("\ufeff"))
	return len(t) > 0 && t[0] == '{'
}

// bracketDepth is a cheap pre-scan so deeply nested flow collections are refused before any recursion.
func bracketDepth(body []byte) int {
	depth, max := 0, 0
	for _, c := range body {
		switch c {
		case '[', '{':
			depth++
			if depth > max {
				max = depth
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return max
}

func decode(body []byte) (*decodeResult, error) {
	if isJSON(body) {
		return decodeJSON(body)
	}
	return decodeYAML(body)
}

// ---- JSON ----

func jsonErr(body []byte, offset int64) error {
	line, col := 1, 1
	for i := int64(0); i < offset && i < int64(len(body)); i++ {
		if body[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return awsapi.ValidationError("Template format error: JSON not well-formed. (line %d, column %d)", line, col)
}

type jsonDecoder struct {
	dec        *json.Decoder
	body       []byte
	paramOrder []string
}

func decodeJSON(body []byte) (*decodeResult, error) {
	d := &jsonDecoder{dec: json.NewDecoder(bytes.NewReader(body)), body: body}
	d.dec.UseNumber()
	v, err := d.value(0, nil)
	if err != nil {
		return nil, d.wrap(err)
	}
	if _, err := d.dec.Token(); err != io.EOF {
		return nil, d.wrap(err)
	}
	return &decodeResult{tree: v, paramOrder: d.paramOrder}, nil
}

func (d *jsonDecoder) wrap(err error) error {
	var ae *awsapi.Error
	if errors.As(err, &ae) {
		return ae
	}
	// The streaming decoder reports offsets loosely; a plain decode pins the offending byte.
	var v any
	var se *json.SyntaxError
	if uerr := json.Unmarshal(d.body, &v); errors.As(uerr, &se) && se.Offset > 0 {
		return jsonErr(d.body, se.Offset-1)
	}
	return jsonErr(d.body, d.dec.InputOffset())
}

func (d *jsonDecoder) value(depth int, path []string) (any, error) {
	if depth > maxDepth {
		return nil, jsonErr(d.body, d.dec.InputOffset())
	}
	tok, err := d.dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := map[string]any{}
			for d.dec.More() {
				kt, err := d.dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, jsonErr(d.body, d.dec.InputOffset())
				}
				if len(path) == 1 && path[0] == "Parameters" {
					d.paramOrder = append(d.paramOrder, k)
				}
				v, err := d.value(depth+1, append(path[:len(path):len(path)], k))
				if err != nil {
					return nil, err
				}
				m[k] = v
			}
			if _, err := d.dec.Token(); err != nil {
				return nil, err
			}
			return m, nil
		case '[':
			l := []any{}
			for d.dec.More() {
				v, err := d.value(depth+1, nil)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			if _, err := d.dec.Token(); err != nil {
				return nil, err
			}
			return l, nil
		}
		return nil, jsonErr(d.body, d.dec.InputOffset())
	default:
		return t, nil
	}
}

// ---- YAML ----

func yamlErrAt(line, col int) error {
	return awsapi.ValidationError("Template format error: YAML not well-formed. (line %d, column %d)", line, col)
}

func yamlErrNode(n ast.Node) error {
	if n != nil && n.GetToken() != nil && n.GetToken().Position != nil {
		p := n.GetToken().Position
		return yamlErrAt(p.Line, p.Column)
	}
	return yamlErrAt(1, 1)
}

type yamlDecoder struct {
	anchors    map[string]any
	sizes      map[string]int
	nodes      int
	paramOrder []string
}

func decodeYAML(body []byte) (res *decodeResult, err error) {
	// The YAML parser is third-party code; a panic on hostile input must become a 400, not a crash.
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, awsapi.ValidationError("Template format error: YAML not well-formed.")
		}
	}()
	if bracketDepth(body) > maxDepth {
		return nil, awsapi.ValidationError("Template format error: YAML not well-formed. (nesting too deep)")
	}
	f, perr := parser.ParseBytes(body, 0)
	if perr != nil {
		var se *yaml.SyntaxError
		if errors.As(perr, &se) && se.Token != nil && se.Token.Position != nil {
			return nil, yamlErrAt(se.Token.Position.Line, se.Token.Position.Column)
		}
		return nil, awsapi.ValidationError("Template format error: YAML not well-formed.")
	}
	var docs []*ast.DocumentNode
	for _, doc := range f.Docs {
		if doc != nil && doc.Body != nil {
			if _, comment := doc.Body.(*ast.CommentGroupNode); !comment {
				docs = append(docs, doc)
			}
		}
	}
	if len(docs) == 0 {
		return &decodeResult{}, nil
	}
	if len(docs) > 1 {
		// CloudFormation reads one document; a second one is a syntax error at its start.
		return nil, yamlErrNode(docs[1].Body)
	}
	d := &yamlDecoder{anchors: map[string]any{}, sizes: map[string]int{}}
	v, err := d.node(docs[0].Body, 0, nil)
	if err != nil {
		return nil, err
	}
	return &decodeResult{tree: v, paramOrder: d.paramOrder}, nil
}

func (d *yamlDecoder) count(n ast.Node, k int) error {
	d.nodes += k
	if d.nodes > maxNodes {
		return yamlErrNode(n)
	}
	return nil
}

func (d *yamlDecoder) node(n ast.Node, depth int, path []string) (any, error) {
	if depth > maxDepth {
		return nil, yamlErrNode(n)
	}
	if err := d.count(n, 1); err != nil {
		return nil, err
	}
	switch n := n.(type) {
	case nil:
		return nil, nil
	case *ast.NullNode:
		return nil, nil
	case *ast.BoolNode:
		return n.Value, nil
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		tok := n.GetToken().Value
		if _, err := strconv.ParseFloat(tok, 64); err == nil {
			return json.Number(tok), nil
		}
		return fmt.Sprint(n.(ast.ScalarNode).GetValue()), nil
	case *ast.StringNode:
		return n.Value, nil
	case *ast.LiteralNode:
		if n.Value == nil {
			return "", nil
		}
		return n.Value.Value, nil
	case *ast.CommentGroupNode, *ast.CommentNode:
		return nil, nil
	case *ast.AnchorNode:
		before := d.nodes
		v, err := d.node(n.Value, depth+1, path)
		if err != nil {
			return nil, err
		}
		name := anchorName(n.Name)
		d.anchors[name] = v
		d.sizes[name] = d.nodes - before
		return v, nil
	case *ast.AliasNode:
		name := anchorName(n.Value)
		v, ok := d.anchors[name]
		if !ok {
			return nil, yamlErrNode(n)
		}
		// Aliased trees are shared, not copied: nothing mutates decoded trees. Count their size anyway so
		// every later walk stays bounded.
		if err := d.count(n, d.sizes[name]); err != nil {
			return nil, err
		}
		return v, nil
	case *ast.TagNode:
		return d.tag(n, depth, path)
	case *ast.SequenceNode:
		l := make([]any, 0, len(n.Values))
		for _, e := range n.Values {
			v, err := d.node(e, depth+1, nil)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	case *ast.MappingNode:
		return d.mapping(n, n.Values, depth, path)
	case *ast.MappingValueNode:
		return d.mapping(n, []*ast.MappingValueNode{n}, depth, path)
	default:
		return nil, yamlErrNode(n)
	}
}

func anchorName(n ast.Node) string {
	if n == nil {
		return ""
	}
	if s, ok := n.(*ast.StringNode); ok {
		return s.Value
	}
	return n.String()
}

func (d *yamlDecoder) mapping(n ast.Node, values []*ast.MappingValueNode, depth int, path []string) (any, error) {
	m := map[string]any{}
	var merges []map[string]any
	for _, mv := range values {
		if mv.Key != nil && mv.Key.IsMergeKey() {
			v, err := d.node(mv.Value, depth+1, nil)
			if err != nil {
				return nil, err
			}
			switch v := v.(type) {
			case map[string]any:
				merges = append(merges, v)
			case []any:
				for _, e := range v {
					em, ok := e.(map[string]any)
					if !ok {
						return nil, yamlErrNode(mv.Value)
					}
					merges = append(merges, em)
				}
			default:
				return nil, yamlErrNode(mv.Value)
			}
			continue
		}
		key, err := d.mapKey(mv.Key, depth)
		if err != nil {
			return nil, err
		}
		if len(path) == 1 && path[0] == "Parameters" {
			d.paramOrder = append(d.paramOrder, key)
		}
		v, err := d.node(mv.Value, depth+1, append(path[:len(path):len(path)], key))
		if err != nil {
			return nil, err
		}
		m[key] = v
	}
	// Explicit keys win over merged ones; earlier merge sources win over later ones (YAML merge semantics).
	for _, src := range merges {
		for k, v := range src {
			if _, ok := m[k]; !ok {
				m[k] = v
			}
		}
	}
	return m, nil
}

// mapKey reads a mapping key. Keys are strings in CloudFormation: scalars keep their written form, so an
// IAM condition's unquoted "Null:" key stays "Null" rather than becoming a YAML null.
func (d *yamlDecoder) mapKey(n ast.MapKeyNode, depth int) (string, error) {
	switch n.(type) {
	case *ast.NullNode, *ast.BoolNode, *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		if tok := n.GetToken(); tok != nil {
			return tok.Value, nil
		}
	}
	kv, err := d.node(n, depth+1, nil)
	if err != nil {
		return "", err
	}
	switch k := kv.(type) {
	case string:
		return k, nil
	case json.Number:
		return string(k), nil
	case bool:
		return strconv.FormatBool(k), nil
	case nil:
		return "", nil
	}
	return "", yamlErrNode(n)
}

func (d *yamlDecoder) tag(n *ast.TagNode, depth int, path []string) (any, error) {
	name := n.Start.Value
	v, err := d.node(n.Value, depth+1, path)
	if err != nil {
		return nil, err
	}
	if fn, ok := shortTags[name]; ok {
		if fn == "Fn::GetAtt" {
			// !GetAtt Res.Attr is the only short form whose scalar differs from the long form's list.
			if s, ok := v.(string); ok {
				if i := strings.IndexByte(s, '.'); i >= 0 {
					v = []any{s[:i], s[i+1:]}
				}
			}
		}
		if v == nil {
			v = ""
		}
		return map[string]any{fn: v}, nil
	}
	switch name {
	case "!!str":
		switch s := v.(type) {
		case json.Number:
			return string(s), nil
		case bool:
			return strconv.FormatBool(s), nil
		case nil:
			return "", nil
		}
		return v, nil
	case "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq", "!!binary", "!!timestamp":
		return v, nil
	}
	return nil, yamlErrNode(n)
}
