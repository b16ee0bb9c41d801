package cfn

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Helpers reading resolved resource properties (JSON-like trees).

func propString(props map[string]any, key string) string {
	return scalarString(props[key])
}

func scalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case []string:
		return strings.Join(x, ",")
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = scalarString(e)
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}

func propBool(props map[string]any, key string) bool {
	switch x := props[key].(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true")
	}
	return false
}

func propMap(props map[string]any, key string) map[string]any {
	m, _ := props[key].(map[string]any)
	return m
}

func propList(props map[string]any, key string) []any {
	switch x := props[key].(type) {
	case []any:
		return x
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	}
	return nil
}

func propStrings(props map[string]any, key string) []string {
	var out []string
	for _, e := range propList(props, key) {
		out = append(out, scalarString(e))
	}
	return out
}

// propDocument returns a policy document property as JSON text: templates give
// it as an object or as a JSON string.
func propDocument(props map[string]any, key string) string {
	switch x := props[key].(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		data, err := json.Marshal(x)
		if err != nil {
			return ""
		}
		return string(data)
	}
}

// propTags reads a [{Key, Value}] list.
func propTags(props map[string]any, key string) map[string]string {
	list := propList(props, key)
	if len(list) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out[scalarString(m["Key"])] = scalarString(m["Value"])
		}
	}
	return out
}

// canonical renders a value as comparable JSON (map keys sorted).
func canonical(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}

// changedKeys lists the top-level properties whose values differ.
func changedKeys(old, new map[string]any) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string]any{old, new} {
		for k := range m {
			if seen[k] {
				continue
			}
			seen[k] = true
			if canonical(old[k]) != canonical(new[k]) {
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// physicalName builds a CloudFormation-style generated name
// <stack>-<logical>-<RANDOM>, shortening the stack and logical parts to fit max.
func physicalName(stackName, logicalID string, max int, lower bool) string {
	suffix := randomSuffix(12)
	budget := max - len(suffix) - 2
	s, l := stackName, logicalID
	for len(s)+len(l) > budget && (len(s) > 0 || len(l) > 0) {
		if len(s) >= len(l) && len(s) > 0 {
			s = s[:len(s)-1]
		} else if len(l) > 0 {
			l = l[:len(l)-1]
		}
	}
	name := s + "-" + l + "-" + suffix
	if lower {
		name = strings.ToLower(name)
	}
	return name
}

// checkProps refuses properties a resource type does not have, as
// CloudFormation does.
func checkProps(r *resource, props map[string]any, known []string) error {
	for k := range props {
		if !slices.Contains(known, k) {
			return invalidProps(r, "#: extraneous key [%s] is not permitted", k)
		}
	}
	return nil
}

// invalidProps is CloudFormation's reason for properties its schema refuses.
func invalidProps(r *resource, format string, args ...any) error {
	return reasonf("Properties validation failed for resource %s with message: %s", r.logicalID, fmt.Sprintf(format, args...))
}

func propInt(r *resource, props map[string]any, key string) (int, error) {
	s := propString(props, key)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, invalidProps(r, "#/%s: expected type: Integer, found: String", key)
	}
	return n, nil
}

// resourceTags are the tags CloudFormation puts on a taggable resource: the
// stack's tags, the resource's own Tags and the aws:cloudformation:* tags.
func resourceTags(c *pctx, props map[string]any) map[string]string {
	tags := map[string]string{}
	for _, t := range c.st.cfg.tags {
		tags[t.Key] = t.Value
	}
	for k, v := range propTags(props, "Tags") {
		tags[k] = v
	}
	tags["aws:cloudformation:stack-name"] = c.st.name
	tags["aws:cloudformation:stack-id"] = c.st.id
	return tags
}
