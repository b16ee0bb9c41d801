package lookup

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
)

// FileHandler serves "${file codec:file://path}". A path without file:// is
// taken as the content itself, as stacker does.
type FileHandler struct {
	Files FileReader // where file:// paths lead
}

// Resolve implements Handler.
func (h FileHandler) Resolve(_ context.Context, in LookupCall) (any, error) {
	codec, p, ok := strings.Cut(in.Input, ":")
	if !ok {
		return nil, fmt.Errorf("File value must be of the format \"<codec>:<path>\" (got %s)", in.Input)
	}
	content, err := readValue(h.Files, p, false)
	if err != nil {
		return nil, err
	}
	return Decode(codec, content)
}

// Codecs lists the file lookup's codecs.
var Codecs = []string{"base64", "json", "json-parameterized", "parameterized", "parameterized-b64", "plain", "yaml", "yaml-parameterized"}

// Decode applies a file codec to file content, as stacker's file lookup:
//
//   - plain: the text
//   - base64: the text, base64-encoded
//   - parameterized: "{{Name}}" placeholders become {"Ref": "Name"} inside
//     {"Fn::Join": ["", [...]]}; text without placeholders stays a string
//   - parameterized-b64: the same wrapped in {"Fn::Base64": ...}
//   - json, yaml: the decoded document (map[string]any, []any, string, int64,
//     float64, bool, nil)
//   - json-parameterized, yaml-parameterized: the document with every string
//     parameterized
func Decode(codec, content string) (any, error) {
	switch codec {
	case "plain":
		return content, nil
	case "base64":
		return base64.StdEncoding.EncodeToString([]byte(content)), nil
	case "parameterized":
		return Parameterize(content), nil
	case "parameterized-b64":
		return map[string]any{"Fn::Base64": Parameterize(content)}, nil
	case "json", "json-parameterized":
		v, err := decodeJSON(content)
		if err != nil {
			return nil, err
		}
		if codec == "json" {
			return v, nil
		}
		return parameterizeTree(v), nil
	case "yaml", "yaml-parameterized":
		v, err := decodeYAML(content)
		if err != nil {
			return nil, err
		}
		if codec == "yaml" {
			return v, nil
		}
		return parameterizeTree(v), nil
	}
	return nil, fmt.Errorf("unknown file codec %q (valid: %s)", codec, strings.Join(Codecs, ", "))
}

// paramPattern is stacker's {{([::|\w]+)}}: word characters, ':' and '|'.
var paramPattern = regexp.MustCompile(`{{([:|\p{L}\p{N}_]+)}}`)

// Parameterize turns "{{Name}}" placeholders in s into CloudFormation
// references: {"Fn::Join": ["", ["text", {"Ref": "Name"}, "text"]]}. Without
// placeholders it returns s.
func Parameterize(s string) any {
	matches := paramPattern.FindAllStringSubmatchIndex(s, -1)
	if len(matches) == 0 {
		return s
	}
	parts := make([]any, 0, 2*len(matches)+1)
	last := 0
	for _, m := range matches {
		parts = append(parts, s[last:m[0]], map[string]any{"Ref": s[m[2]:m[3]]})
		last = m[1]
	}
	parts = append(parts, s[last:])
	return map[string]any{"Fn::Join": []any{"", parts}}
}

func parameterizeTree(v any) any {
	switch x := v.(type) {
	case string:
		return Parameterize(x)
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = parameterizeTree(item)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			out[k] = parameterizeTree(item)
		}
		return out
	}
	return v
}

func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode json: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("decode json: extra data after the document")
	}
	return normalize(v)
}

func decodeYAML(s string) (any, error) {
	var v any
	if err := yaml.UnmarshalWithOptions([]byte(s), &v, yaml.UseOrderedMap()); err != nil {
		return nil, fmt.Errorf("decode yaml: %w", err)
	}
	return normalize(v)
}

// normalize gives decoded documents one shape: map[string]any, []any, string,
// int64 (or float64 beyond its range), float64, bool, nil.
func normalize(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("decode number %s: %w", x, err)
		}
		return f, nil
	case int:
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return float64(x), nil
		}
		return int64(x), nil
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			n, err := normalize(item)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case yaml.MapSlice:
		out := make(map[string]any, len(x))
		for _, item := range x {
			n, err := normalize(item.Value)
			if err != nil {
				return nil, err
			}
			out[mapKey(item.Key)] = n
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			n, err := normalize(item)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(x))
		keys := make([]any, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return mapKey(keys[i]) < mapKey(keys[j]) })
		for _, k := range keys {
			n, err := normalize(x[k])
			if err != nil {
				return nil, err
			}
			out[mapKey(k)] = n
		}
		return out, nil
	}
	return v, nil
}

func mapKey(k any) string {
	if s, ok := k.(string); ok {
		return s
	}
	if k == nil {
		return "null"
	}
	var b bytes.Buffer
	fmt.Fprint(&b, k)
	return b.String()
}
