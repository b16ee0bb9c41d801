// Package resourcespec knows CloudFormation's resource types as AWS publishes
// them: which types exist, their Fn::GetAtt attributes, what Ref returns, and
// the ARN format. The data is a table generated from the npm package
// @aws-cdk/aws-service-spec by ./gen (run `go generate` here to refresh it); it
// is embedded gzipped and read on first use, so a sandbox that never creates a
// stack never pays for it.
package resourcespec

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

//go:generate go run ./gen -version 0.1.216 -integrity sha512-O3Lu6v6J6RnI+Eenklbw8237kV64cTpM94QEXmlcmsIAzhcKrdd+qApZhlTL+H3IDt1JP6Vphbd+OOmq6r8pqw== -o types.tsv.gz

//go:embed types.tsv.gz
var tableGz []byte

// Kind is the shape of an attribute's value.
type Kind uint8

// The attribute kinds the table distinguishes.
const (
	String Kind = iota
	Number
	Bool
	List
	Struct // a structure or map: Fn::GetAtt may name its members (Endpoint.Address)
)

// Attr is one Fn::GetAtt attribute of a type.
type Attr struct {
	Name string
	Kind Kind
}

// Type is one resource type.
type Type struct {
	Name string
	// ARN is the type's ARN template ("arn:${Partition}:ecr:${Region}:${Account}:repository/${RepositoryName}"),
	// "" where the data has none.
	ARN string
	// RefIDs are the values Ref returns, joined by "|" when there are several:
	// property or attribute names.
	RefIDs []string
	// Attrs are the Fn::GetAtt attributes, sorted by name.
	Attrs []Attr
	// AnyAttribute marks custom resources, whose attributes are whatever their
	// provider returns.
	AnyAttribute bool
}

// Attribute reports whether Fn::GetAtt accepts name for the type: a listed
// attribute, or a member of a listed structure, map or list attribute
// (Outputs.Name of a nested stack).
func (t *Type) Attribute(name string) (Attr, bool) {
	if t.AnyAttribute {
		return Attr{Name: name}, true
	}
	if a, ok := t.attr(name); ok {
		return a, true
	}
	for i := strings.IndexByte(name, '.'); i > 0; i = next(name, i) {
		if a, ok := t.attr(name[:i]); ok && (a.Kind == Struct || a.Kind == List) {
			return Attr{Name: name}, true
		}
	}
	return Attr{}, false
}

func next(s string, i int) int {
	j := strings.IndexByte(s[i+1:], '.')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

func (t *Type) attr(name string) (Attr, bool) {
	i := sort.Search(len(t.Attrs), func(i int) bool { return t.Attrs[i].Name >= name })
	if i < len(t.Attrs) && t.Attrs[i].Name == name {
		return t.Attrs[i], true
	}
	return Attr{}, false
}

// Service is "AWS::ECR" for "AWS::ECR::Repository".
func (t *Type) Service() string {
	if i := strings.LastIndex(t.Name, "::"); i > 0 {
		return t.Name[:i]
	}
	return t.Name
}

// ShortName is "Repository" for "AWS::ECR::Repository".
func (t *Type) ShortName() string {
	return t.Name[strings.LastIndex(t.Name, "::")+2:]
}

// Table is the loaded data. It keeps each type's line of text and builds the
// Type on first lookup, so loading costs one map of strings into the
// decompressed table.
type Table struct {
	// Package and Version name the npm package the table was generated from;
	// Integrity is its tarball's hash as npm records it.
	Package, Version, Integrity string
	lines                       map[string]string
	servicePrefix               map[string]string

	mu    sync.Mutex
	types map[string]*Type
}

// cdkMetadata is in every CDK template; CloudFormation accepts it, the data
// does not list it.
const cdkMetadata = "AWS::CDK::Metadata"

// customResource is the generic custom resource type; Custom::<Name> are its aliases.
const customResource = "AWS::CloudFormation::CustomResource"

// Lookup returns the type named name, or false when CloudFormation would not
// recognise it.
func (tb *Table) Lookup(name string) (*Type, bool) {
	if line, ok := tb.lines[name]; ok {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		t := tb.types[name]
		if t == nil {
			t = parseType(line)
			tb.types[name] = t
		}
		return t, true
	}
	if name == cdkMetadata {
		return &Type{Name: name}, true
	}
	if custom, ok := strings.CutPrefix(name, "Custom::"); ok && validCustomName(custom) {
		return &Type{Name: name, AnyAttribute: true}, true
	}
	return nil, false
}

// validCustomName checks the part after Custom:: as CloudFormation documents
// it: alphanumerics and _@- only, the whole type name at most 60 characters.
func validCustomName(s string) bool {
	if s == "" || len("Custom::")+len(s) > 60 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '@' || c == '-') {
			return false
		}
	}
	return true
}

// ServiceARNPrefix is the usual ARN prefix of a service's resources, with the
// ${Partition}, ${Region} and ${Account} variables of an ARN template, or ""
// when no type of the service has an ARN template.
func (tb *Table) ServiceARNPrefix(service string) string { return tb.servicePrefix[service] }

// Len is the number of types in the table.
func (tb *Table) Len() int { return len(tb.lines) }

var loaded = sync.OnceValues(func() (*Table, error) { return parse(tableGz) })

// Load returns the embedded table, reading it on the first call.
func Load() (*Table, error) { return loaded() }

// Lookup looks name up in the embedded table. A table that does not load (a
// build from a broken checkout) recognises no type, which every stack
// operation then reports.
func Lookup(name string) (*Type, bool) {
	tb, err := Load()
	if err != nil {
		return nil, false
	}
	return tb.Lookup(name)
}

func parse(gz []byte) (*Table, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("resource type table: %w", err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("resource type table: %w", err)
	}
	tb := &Table{lines: map[string]string{}, servicePrefix: map[string]string{}, types: map[string]*Type{}}
	text := string(data)
	head, rest, _ := strings.Cut(text, "\n")
	sumLine, body, _ := strings.Cut(rest, "\n")
	if f := strings.Fields(head); len(f) == 4 && f[0] == "#" {
		tb.Package, tb.Version, tb.Integrity = f[1], f[2], f[3]
	} else {
		return nil, errors.New("resource type table: no source header")
	}
	digest := sha256.Sum256([]byte(body))
	if sumLine != "# sha256 "+hex.EncodeToString(digest[:]) {
		return nil, errors.New("resource type table: body does not match its sha256 header")
	}
	for line := range strings.Lines(body) {
		line = strings.TrimSuffix(line, "\n")
		name, rest, _ := strings.Cut(line, "\t")
		switch strings.Count(rest, "\t") {
		case 0:
			tb.servicePrefix[name] = rest
		case 2:
			tb.lines[name] = line
		default:
			return nil, fmt.Errorf("resource type table: bad line %q", line)
		}
	}
	return tb, nil
}

// parseType reads one type line: name, ARN template, Ref identifiers, attributes.
func parseType(line string) *Type {
	f := strings.Split(line, "\t")
	t := &Type{Name: f[0], ARN: f[1], AnyAttribute: f[0] == customResource}
	if f[2] != "" {
		t.RefIDs = strings.Split(f[2], ",")
	}
	if f[3] != "" {
		for _, a := range strings.Split(f[3], ",") {
			t.Attrs = append(t.Attrs, parseAttr(a))
		}
	}
	sort.Slice(t.Attrs, func(i, j int) bool { return t.Attrs[i].Name < t.Attrs[j].Name })
	return t
}

func parseAttr(s string) Attr {
	for suffix, k := range map[string]Kind{"#": Number, "?": Bool, "[]": List, "{}": Struct} {
		if name, ok := strings.CutSuffix(s, suffix); ok {
			return Attr{Name: name, Kind: k}
		}
	}
	return Attr{Name: s, Kind: String}
}
