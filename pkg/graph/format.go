package graph

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// steps returns each node with its direct dependencies, in stacker's step
// order (dependencies first). stacker prints a node's dependencies in Python
// set order, which is arbitrary; they are sorted here so output is stable.
func (g *Graph) steps() ([]string, [][]string, error) {
	order, err := g.TopoOrder()
	if err != nil {
		return nil, nil, err
	}
	deps := make([][]string, len(order))
	for k, name := range order {
		deps[k] = g.Deps(name)
	}
	return order, deps, nil
}

// Dot writes the graph in Graphviz dot format, exactly as `stacker graph -f
// dot`: one `"dependent" -> "dependency";` line per edge.
func (g *Graph) Dot(w io.Writer) error {
	order, deps, err := g.steps()
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("digraph digraph {\n")
	for k, name := range order {
		for _, d := range deps[k] {
			fmt.Fprintf(bw, "  \"%s\" -> \"%s\";\n", name, d)
		}
	}
	bw.WriteString("}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write dot graph: %w", err)
	}
	return nil
}

// JSON writes the graph as `stacker graph -f json` does: {"steps": {name:
// {"deps": [...]}}}, in step order, formatted like Python's json.dump with
// indent=4 (non-ASCII escaped as \uXXXX).
func (g *Graph) JSON(w io.Writer) error {
	order, deps, err := g.steps()
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if len(order) == 0 {
		bw.WriteString("{\n    \"steps\": {}\n}\n")
	} else {
		bw.WriteString("{\n    \"steps\": {\n")
		for k, name := range order {
			fmt.Fprintf(bw, "        %s: {\n            \"deps\": ", pyJSONString(name))
			if len(deps[k]) == 0 {
				bw.WriteString("[]")
			} else {
				bw.WriteString("[\n")
				for j, d := range deps[k] {
					bw.WriteString("                " + pyJSONString(d))
					if j < len(deps[k])-1 {
						bw.WriteString(",")
					}
					bw.WriteString("\n")
				}
				bw.WriteString("            ]")
			}
			bw.WriteString("\n        }")
			if k < len(order)-1 {
				bw.WriteString(",")
			}
			bw.WriteString("\n")
		}
		bw.WriteString("    }\n}\n")
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write json graph: %w", err)
	}
	return nil
}

// pyJSONString quotes s as Python's json module does with ensure_ascii.
func pyJSONString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || (r >= 0x7f && r < 0x10000) || r == utf8.RuneError:
				fmt.Fprintf(&b, `\u%04x`, r)
			case r >= 0x10000:
				r -= 0x10000
				fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Mermaid writes the graph as a Mermaid flowchart (beyond stacker). Every node
// is declared, so stacks without dependencies show too; edges point from a
// dependent to its dependency, as in the dot output.
func (g *Graph) Mermaid(w io.Writer) error {
	order, deps, err := g.steps()
	if err != nil {
		return err
	}
	ids := make(map[string]string, len(order))
	bw := bufio.NewWriter(w)
	bw.WriteString("graph TD\n")
	for k, name := range order {
		id := "n" + strconv.Itoa(k)
		ids[name] = id
		fmt.Fprintf(bw, "  %s[\"%s\"]\n", id, mermaidLabel(name))
	}
	for k, name := range order {
		for _, d := range deps[k] {
			fmt.Fprintf(bw, "  %s --> %s\n", ids[name], ids[d])
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write mermaid graph: %w", err)
	}
	return nil
}

// mermaidLabel escapes the characters Mermaid treats specially inside a
// quoted label, using its entity syntax.
func mermaidLabel(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;").Replace(s)
}
