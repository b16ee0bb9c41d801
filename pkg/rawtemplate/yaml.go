package rawtemplate

import (
	"errors"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// parseYAML decodes a CloudFormation YAML template into plain Go values
// (map[string]any, []any, string, int64, uint64, float64, bool, nil). The
// short-form intrinsic tags (!Ref, !Sub, !GetAtt a.b, ...) become their
// long forms, the way the AWS CLI's yamlhelper (which stacker uses) reads them.
func parseYAML(body []byte) (any, error) {
	f, err := parser.ParseBytes(body, 0)
	if err != nil {
		return nil, err
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		return nil, errors.New("template is empty")
	}
	if len(f.Docs) > 1 {
		return nil, errors.New("template has more than one YAML document")
	}
	d := &yamlDecoder{anchors: map[string]any{}}
	return d.node(f.Docs[0].Body)
}

type yamlDecoder struct {
	anchors map[string]any
}

func (d *yamlDecoder) node(n ast.Node) (any, error) {
	switch n := n.(type) {
	case nil:
		return nil, nil
	case *ast.DocumentNode:
		return d.node(n.Body)
	case *ast.MappingNode:
		return d.mapping(n.Values)
	case *ast.MappingValueNode:
		return d.mapping([]*ast.MappingValueNode{n})
	case *ast.SequenceNode:
		out := make([]any, 0, len(n.Values))
		for _, v := range n.Values {
			x, err := d.node(v)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		return out, nil
	case *ast.StringNode:
		return n.Value, nil
	case *ast.LiteralNode:
		if n.Value == nil {
			return "", nil
		}
		return n.Value.Value, nil
	case *ast.IntegerNode:
		return n.Value, nil
	case *ast.FloatNode:
		return n.Value, nil
	case *ast.BoolNode:
		return n.Value, nil
	case *ast.NullNode:
		return nil, nil
	case *ast.InfinityNode:
		return n.Value, nil
	case *ast.NanNode:
		return n.GetValue(), nil
	case *ast.AnchorNode:
		v, err := d.node(n.Value)
		if err != nil {
			return nil, err
		}
		if n.Name != nil {
			d.anchors[n.Name.GetToken().Value] = v
		}
		return v, nil
	case *ast.AliasNode:
		name := ""
		if n.Value != nil {
			name = n.Value.GetToken().Value
		}
		v, ok := d.anchors[name]
		if !ok {
			return nil, fmt.Errorf("line %d: unknown alias %q", n.GetToken().Position.Line, name)
		}
		return v, nil
	case *ast.TagNode:
		return d.tag(n)
	case *ast.CommentGroupNode, *ast.CommentNode:
		return nil, nil
	default:
		return nil, fmt.Errorf("line %d: unsupported YAML node %s", n.GetToken().Position.Line, n.Type())
	}
}

func (d *yamlDecoder) mapping(values []*ast.MappingValueNode) (any, error) {
	out := make(map[string]any, len(values))
	for _, mv := range values {
		if mv.Key != nil && mv.Key.IsMergeKey() {
			v, err := d.node(mv.Value)
			if err != nil {
				return nil, err
			}
			if err := merge(out, v); err != nil {
				return nil, fmt.Errorf("line %d: %w", mv.GetToken().Position.Line, err)
			}
			continue
		}
		k, err := d.key(mv.Key)
		if err != nil {
			return nil, err
		}
		v, err := d.node(mv.Value)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// merge applies a YAML merge key: explicit keys of the mapping win.
func merge(dst map[string]any, v any) error {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if _, ok := dst[k]; !ok {
				dst[k] = x
			}
		}
	case []any:
		for _, m := range v {
			if err := merge(dst, m); err != nil {
				return err
			}
		}
	default:
		return errors.New("merge key value is not a mapping")
	}
	return nil
}

func (d *yamlDecoder) key(n ast.MapKeyNode) (string, error) {
	switch k := ast.Node(n).(type) {
	case nil:
		return "", nil
	case *ast.StringNode:
		return k.Value, nil
	case *ast.MappingKeyNode:
		v, err := d.node(k.Value)
		if err != nil {
			return "", err
		}
		return fmt.Sprint(v), nil
	default:
		return k.GetToken().Value, nil
	}
}

func (d *yamlDecoder) tag(n *ast.TagNode) (any, error) {
	tag := n.Start.Value
	v, err := d.node(n.Value)
	if err != nil {
		return nil, err
	}
	switch {
	case strings.HasPrefix(tag, "!!"):
		if tag == "!!str" {
			if n.Value == nil {
				return "", nil
			}
			if _, ok := v.(string); !ok {
				return n.Value.GetToken().Value, nil
			}
		}
		return v, nil
	case tag == "!Ref":
		return map[string]any{"Ref": v}, nil
	case tag == "!Condition":
		return map[string]any{"Condition": v}, nil
	case tag == "!GetAtt":
		if s, ok := v.(string); ok {
			res, attr, found := strings.Cut(s, ".")
			if !found {
				return nil, fmt.Errorf("line %d: !GetAtt %q is not of the form Resource.Attribute", n.GetToken().Position.Line, s)
			}
			return map[string]any{"Fn::GetAtt": []any{res, attr}}, nil
		}
		return map[string]any{"Fn::GetAtt": v}, nil
	case tag == "!":
		return v, nil
	default:
		if v == nil {
			// `!GetAZs` with no argument is the current region's AZs.
			v = ""
		}
		return map[string]any{"Fn::" + strings.TrimPrefix(tag, "!"): v}, nil
	}
}
