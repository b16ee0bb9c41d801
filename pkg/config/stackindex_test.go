package config

import (
	"slices"
	"testing"
)

// Stack answers from an index built at parse time; callers may still change
// Stacks afterwards, and Stack must then see the change.
func TestStackLookupFollowsChanges(t *testing.T) {
	const text = "namespace: n\nstacks:\n  - {name: a, template_path: t.yaml}\n  - {name: b, template_path: t.yaml}\n  - {name: c, template_path: t.yaml}\n"
	parse := func(t *testing.T) *Config {
		t.Helper()
		c, err := ParseIn("/r", "c.yaml", []byte(text), nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name   string
		change func(c *Config)
		want   map[string]bool // name -> found
	}{
		{"as parsed", func(*Config) {}, map[string]bool{"a": true, "b": true, "c": true, "d": false, "": false}},
		{"reordered", func(c *Config) { slices.Reverse(c.Stacks) }, map[string]bool{"a": true, "b": true, "c": true}},
		{"appended", func(c *Config) { c.Stacks = append(c.Stacks, &Stack{Name: "d"}) }, map[string]bool{"a": true, "d": true}},
		{"removed", func(c *Config) { c.Stacks = c.Stacks[:1] }, map[string]bool{"a": true, "b": false, "c": false}},
		{"renamed", func(c *Config) { c.Stacks[1].Name = "e" }, map[string]bool{"b": false, "e": true, "c": true}},
		{"literal config", nil, map[string]bool{"x": true, "a": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Config{Stacks: []*Stack{{Name: "x"}}}
			if tt.change != nil {
				c = parse(t)
				tt.change(c)
			}
			for name, found := range tt.want {
				s := c.Stack(name)
				switch {
				case found && (s == nil || s.Name != name):
					t.Errorf("Stack(%q) = %v, want the stack of that name", name, s)
				case !found && s != nil:
					t.Errorf("Stack(%q) = %s, want nil", name, s.Name)
				}
			}
		})
	}
}

// The first definition of a duplicated name wins, as the scan it replaces.
func TestStackLookupFirstDuplicate(t *testing.T) {
	first, second := &Stack{Name: "a", Key: "stacks[0]"}, &Stack{Name: "a", Key: "stacks[1]"}
	c := &Config{Stacks: []*Stack{first, second}}
	c.indexStacks()
	if got := c.Stack("a"); got != first {
		t.Errorf("Stack(a) = %s, want stacks[0]", got.Key)
	}
}
