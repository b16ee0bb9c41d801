package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// The config is read into a small tree of nodes that keeps the position of
// every key and value, with anchors, aliases and merge keys already resolved
// (as PyYAML does), so that later passes can name the line of any problem.

type kind uint8

const (
	nullKind kind = iota
	scalarKind
	mapKind
	seqKind
)

type node struct {
	kind kind
	pos  Position
	// Scalars: value is a string, int, uint64, float64 or bool; text is the
	// source text.
	value any
	text  string
	// Maps: keys[i] (scalar nodes) maps to vals[i], in PyYAML's order. dups
	// holds explicit keys that repeat an earlier sibling (last one wins).
	keys, vals []*node
	dups       []dupKey
	// Sequences.
	items []*node
}

// get returns the value of a map key and its key node.
func (n *node) get(key string) (val, keyNode *node) {
	if n == nil || n.kind != mapKind {
		return nil, nil
	}
	for i, k := range n.keys {
		if k.text == key {
			return n.vals[i], k
		}
	}
	return nil, nil
}

// dupKey is an explicit map key that repeats an earlier explicit sibling.
type dupKey struct {
	key, first *node
}

func (n *node) isNull() bool { return n == nil || n.kind == nullKind }

func (n *node) describe() string {
	switch {
	case n.isNull():
		return "null"
	case n.kind == mapKind:
		return "a mapping"
	case n.kind == seqKind:
		return "a list"
	}
	switch n.value.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	default:
		return "an integer"
	}
}

// toAny converts a node to plain Go values: map[string]any, []any, string,
// int, uint64, float64, bool or nil.
func (n *node) toAny() any {
	switch {
	case n.isNull():
		return nil
	case n.kind == scalarKind:
		return n.value
	case n.kind == seqKind:
		out := make([]any, len(n.items))
		for k, it := range n.items {
			out[k] = it.toAny()
		}
		return out
	default:
		out := make(map[string]any, len(n.keys))
		for k, key := range n.keys {
			out[key.text] = n.vals[k].toAny()
		}
		return out
	}
}

// yamlReader converts goccy's AST into nodes.
type yamlReader struct {
	file    string
	lines   []int // output line -> source line, when text substitution moved lines
	anchors map[string]*node
	errs    errorList
}

func (r *yamlReader) position(tk *token.Token) Position {
	if tk == nil || tk.Position == nil {
		return Position{File: r.file}
	}
	return Position{File: r.file, Line: r.sourceLine(tk.Position.Line), Column: tk.Position.Column}
}

func (r *yamlReader) sourceLine(line int) int {
	if line >= 1 && line <= len(r.lines) {
		return r.lines[line-1]
	}
	return line
}

// parseYAML reads one YAML document. An empty document is a null node.
func parseYAML(file string, data []byte, lines []int) (*node, error) {
	r := &yamlReader{file: file, lines: lines, anchors: map[string]*node{}, errs: errorList{file: file}}
	f, err := parser.ParseBytes(fillEmptyStrTags(data), 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return nil, r.syntaxError(err)
	}
	var docs []*ast.DocumentNode
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			docs = append(docs, d)
		}
	}
	if len(docs) == 0 {
		return &node{kind: nullKind, pos: Position{File: file, Line: 1, Column: 1}}, nil
	}
	if len(docs) > 1 {
		return nil, Errors{{Pos: r.startPosition(docs[1].Body), Msg: "invalid YAML: expected a single document, found more"}}
	}
	n := r.convert(docs[0].Body)
	if err := r.errs.err(); err != nil {
		return nil, err
	}
	return n, nil
}

// fillEmptyStrTags writes an empty quoted scalar after each !!str tag with no
// value: `Key: !!str` followed by a sibling key, a dedent or the end of the
// document. PyYAML reads that as the empty string (configs hold it, often
// after an environment value rendered empty); goccy's parser would take the
// next line as the tag's value and fail. Only the text after the tag on its
// own line changes, so every position stays where it was.
func fillEmptyStrTags(data []byte) []byte {
	src := string(data)
	if !strings.Contains(src, "!!str") && !strings.Contains(src, "tag:yaml.org,2002:str") {
		return data
	}
	text := src
	if !strings.HasSuffix(text, "\n") {
		text += "\n" // goccy's lexer drops a tag that ends the input
	}
	tokens := lexer.Tokenize(text)
	lines := strings.SplitAfter(src, "\n")
	changed := false
	for i, tk := range tokens {
		if tk.Type != token.TagType || (tk.Value != "!!str" && tk.Value != "!<tag:yaml.org,2002:str>") || tk.Position == nil {
			continue
		}
		var next *token.Token
		for _, n := range tokens[i+1:] {
			if n.Type != token.CommentType {
				next = n
				break
			}
		}
		if next != nil && next.Position != nil && next.Position.Line == tk.Position.Line {
			continue // the value follows on the same line
		}
		owner, ok := ownerColumn(tokens[:i])
		if !ok || next != nil && next.Position != nil && next.Position.Column > owner {
			continue // an indented value on the next lines
		}
		line := tk.Position.Line - 1
		if line < 0 || line >= len(lines) {
			continue
		}
		runes := []rune(lines[line])
		end := tk.Position.Column - 1 + len([]rune(tk.Value))
		if end > len(runes) || string(runes[tk.Position.Column-1:end]) != tk.Value {
			continue // not where the lexer said: leave the text alone
		}
		lines[line] = string(runes[:end]) + " ''" + string(runes[end:])
		changed = true
	}
	if !changed {
		return data
	}
	return []byte(strings.Join(lines, ""))
}

// ownerColumn is the column of what a tag's value belongs to: the mapping
// key before the colon, or the sequence entry's dash.
func ownerColumn(before token.Tokens) (int, bool) {
	k := len(before) - 1
	// An anchor (`&name`, two tokens) may sit between the colon and the tag.
	for k >= 1 && before[k].Type == token.StringType && before[k-1].Type == token.AnchorType {
		k -= 2
	}
	switch {
	case k >= 1 && before[k].Type == token.MappingValueType && before[k-1].Position != nil:
		return before[k-1].Position.Column, true
	case k >= 0 && before[k].Type == token.SequenceEntryType && before[k].Position != nil:
		return before[k].Position.Column, true
	}
	return 0, false
}

// startPosition is where a node's text begins (a mapping's token is its
// first colon).
func (r *yamlReader) startPosition(n ast.Node) Position {
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 {
		return r.position(m.Values[0].Key.GetToken())
	}
	return r.position(n.GetToken())
}

func (r *yamlReader) syntaxError(err error) error {
	var se *yaml.SyntaxError
	if errors.As(err, &se) {
		return Errors{{Pos: r.position(se.GetToken()), Msg: "invalid YAML: " + se.GetMessage()}}
	}
	return Errors{{Pos: Position{File: r.file}, Msg: "invalid YAML: " + err.Error()}}
}

// yaml11Bools are the plain scalars PyYAML (YAML 1.1) reads as booleans
// beyond the true/false forms goccy already knows.
var yaml11Bools = map[string]bool{
	"yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
}

func (r *yamlReader) convert(an ast.Node) *node {
	pos := r.position(an.GetToken())
	switch n := an.(type) {
	case *ast.NullNode:
		return &node{kind: nullKind, pos: pos}
	case *ast.StringNode:
		out := &node{kind: scalarKind, pos: pos, value: n.Value, text: n.Value}
		if n.Token != nil && n.Token.Type == token.StringType {
			if b, ok := yaml11Bools[n.Value]; ok {
				out.value = b
			}
		}
		return out
	case *ast.LiteralNode:
		v := ""
		if n.Value != nil {
			v = n.Value.Value
		}
		return &node{kind: scalarKind, pos: pos, value: v, text: v}
	case *ast.IntegerNode:
		out := &node{kind: scalarKind, pos: pos, text: n.GetToken().Value}
		switch v := n.Value.(type) {
		case int64:
			out.value = int(v)
		case uint64:
			if v <= math.MaxInt64 {
				out.value = int(v)
			} else {
				out.value = v
			}
		default:
			out.value = v
		}
		return out
	case *ast.FloatNode:
		return &node{kind: scalarKind, pos: pos, value: n.Value, text: n.GetToken().Value}
	case *ast.InfinityNode:
		return &node{kind: scalarKind, pos: pos, value: n.Value, text: n.GetToken().Value}
	case *ast.NanNode:
		return &node{kind: scalarKind, pos: pos, value: n.GetValue(), text: n.GetToken().Value}
	case *ast.BoolNode:
		return &node{kind: scalarKind, pos: pos, value: n.Value, text: n.GetToken().Value}
	case *ast.TagNode:
		return r.convertTag(n, pos)
	case *ast.AnchorNode:
		v := r.convert(n.Value)
		r.anchors[n.Name.GetToken().Value] = v
		return v
	case *ast.AliasNode:
		name := n.Value.GetToken().Value
		v, ok := r.anchors[name]
		if !ok {
			r.errs.add(pos, "", "invalid YAML: found undefined alias %q", name)
			return &node{kind: nullKind, pos: pos}
		}
		return v
	case *ast.MappingKeyNode:
		return r.convert(n.Value)
	case *ast.MappingValueNode:
		return r.convertMap(pos, []*ast.MappingValueNode{n})
	case *ast.MappingNode:
		return r.convertMap(r.startPosition(n), n.Values)
	case *ast.SequenceNode:
		out := &node{kind: seqKind, pos: pos, items: make([]*node, 0, len(n.Values))}
		for _, v := range n.Values {
			out.items = append(out.items, r.convert(v))
		}
		return out
	default:
		r.errs.add(pos, "", "invalid YAML: unsupported node %s", an.Type())
		return &node{kind: nullKind, pos: pos}
	}
}

// convertTag applies the tags PyYAML's safe loader knows, plus stacker's
// !kms (a shorthand for the kms lookup, kept as a lookup string so that it
// resolves lazily like any other lookup).
func (r *yamlReader) convertTag(n *ast.TagNode, pos Position) *node {
	tag := n.Start.Value
	v := r.convert(n.Value)
	switch tag {
	case "!kms":
		if v.kind != scalarKind {
			r.errs.add(pos, "", "!kms needs a string, found %s", v.describe())
			return v
		}
		s := fmt.Sprint(v.value)
		return &node{kind: scalarKind, pos: v.pos, value: "${kms " + s + "}", text: "${kms " + s + "}"}
	case "!!str", "tag:yaml.org,2002:str":
		if v.kind == scalarKind {
			return &node{kind: scalarKind, pos: v.pos, value: v.text, text: v.text}
		}
		if v.kind == nullKind {
			return &node{kind: scalarKind, pos: v.pos, value: "", text: ""}
		}
	case "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq", "!!omap", "!!binary", "!!timestamp":
	default:
		r.errs.add(pos, "", "invalid YAML: could not determine a constructor for the tag '%s'", tag)
	}
	return v
}

func (r *yamlReader) convertMap(pos Position, entries []*ast.MappingValueNode) *node {
	// PyYAML puts merged entries first (later merge sources first, earlier
	// ones winning), then the explicit ones, which override merged values in
	// place.
	var mergedKeys, mergedVals []*node
	var explicit []*ast.MappingValueNode
	for _, e := range entries {
		if !e.Key.IsMergeKey() {
			explicit = append(explicit, e)
			continue
		}
		src := r.convert(e.Value)
		var sources []*node
		switch src.kind {
		case mapKind:
			sources = []*node{src}
		case seqKind:
			for k := len(src.items) - 1; k >= 0; k-- {
				sources = append(sources, src.items[k])
			}
		}
		for _, s := range sources {
			if s.kind != mapKind {
				r.errs.add(src.pos, "<<", "invalid YAML: expected a mapping or list of mappings for merging, found %s", s.describe())
				continue
			}
			for k, key := range s.keys {
				if i := indexOf(mergedKeys, key.text); i >= 0 {
					mergedVals[i] = s.vals[k]
				} else {
					mergedKeys = append(mergedKeys, key)
					mergedVals = append(mergedVals, s.vals[k])
				}
			}
		}
		if src.kind != mapKind && src.kind != seqKind {
			r.errs.add(src.pos, "<<", "invalid YAML: expected a mapping or list of mappings for merging, found %s", src.describe())
		}
	}
	out := &node{kind: mapKind, pos: pos, keys: mergedKeys, vals: mergedVals}
	seen := map[string]*node{} // first explicit key of each text
	for _, e := range explicit {
		key := r.convert(e.Key)
		if key.kind == mapKind || key.kind == seqKind {
			r.errs.add(key.pos, "", "invalid YAML: found unhashable key (%s)", key.describe())
			continue
		}
		if key.kind == nullKind {
			key = &node{kind: scalarKind, pos: key.pos, value: "None", text: "None"}
		} else {
			key = &node{kind: scalarKind, pos: key.pos, value: key.value, text: scalarString(key)}
		}
		val := r.convert(e.Value)
		if first, ok := seen[key.text]; ok {
			out.dups = append(out.dups, dupKey{key: key, first: first})
		} else {
			seen[key.text] = key
		}
		if i := indexOf(out.keys, key.text); i >= 0 {
			out.keys[i] = key
			out.vals[i] = val
		} else {
			out.keys = append(out.keys, key)
			out.vals = append(out.vals, val)
		}
	}
	return out
}

func indexOf(keys []*node, text string) int {
	for i, k := range keys {
		if k.text == text {
			return i
		}
	}
	return -1
}

// scalarString renders a scalar the way Python's str() renders what PyYAML
// loaded, which is what stacker's string fields hold.
func scalarString(n *node) string {
	switch v := n.value.(type) {
	case string:
		return v
	case bool:
		if v {
			return "True"
		}
		return "False"
	case int:
		return strconv.Itoa(v)
	case uint64:
		return strconv.FormatUint(v, 10)
	case float64:
		return n.text
	case nil:
		return ""
	default:
		return strings.TrimSpace(fmt.Sprint(v))
	}
}
