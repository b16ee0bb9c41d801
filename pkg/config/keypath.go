package config

import (
	"fmt"
	"strings"
)

// keyPathAt names the config key whose value (or key text) holds ref, the
// source text of a placeholder starting at line:col. Text substitution runs
// before the YAML is parsed, so a missing environment key is found in raw
// text; to name its key, the unsubstituted text is parsed (a placeholder is
// a valid plain scalar) and the scalar starting last at or before the
// placeholder is taken, provided its text holds the placeholder. It returns
// "" when the text does not parse or the placeholder sits outside any value,
// e.g. in a comment.
func keyPathAt(file, text string, line, col int, ref string) string {
	doc, err := parseYAML(file, []byte(text), nil)
	if err != nil {
		return ""
	}
	var best struct {
		pos  Position
		text string
		path string
		ok   bool
	}
	before := func(a, b Position) bool { // a strictly before b
		return a.Line < b.Line || (a.Line == b.Line && a.Column < b.Column)
	}
	target := Position{Line: line, Column: col}
	consider := func(n *node, path string) {
		if n.kind != scalarKind || before(target, n.pos) {
			return
		}
		// Strictly later wins, so the first path to reach a shared (anchored)
		// node names it: the anchor's own place in the document.
		if !best.ok || before(best.pos, n.pos) {
			best.pos, best.text, best.path, best.ok = n.pos, n.text, path, true
		}
	}
	seen := map[*node]bool{}
	var walk func(n *node, path string)
	walk = func(n *node, path string) {
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		switch n.kind {
		case scalarKind:
			consider(n, path)
		case seqKind:
			for k, it := range n.items {
				walk(it, fmt.Sprintf("%s[%d]", path, k))
			}
		case mapKind:
			for k, key := range n.keys {
				p := join(path, key.text)
				consider(key, p)
				walk(n.vals[k], p)
			}
		}
	}
	walk(doc, "")
	if !best.ok || !strings.Contains(best.text, ref) {
		return ""
	}
	return best.path
}
