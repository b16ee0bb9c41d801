package cfn

import (
	"encoding/json"
	"path"
)

// checkStackPolicy evaluates a stack policy for an update action
// (Update:Modify, Update:Replace, Update:Delete) on a resource. With no policy
// everything is allowed; with one, only what a statement allows, and an
// explicit Deny wins.
func checkStackPolicy(policy, logicalID, typ, action string) error {
	if policy == "" {
		return nil
	}
	var doc struct {
		Statement []map[string]any
	}
	if err := json.Unmarshal([]byte(policy), &doc); err != nil {
		return reasonf("Action denied by stack policy: the stack policy is not valid JSON")
	}
	resource := "LogicalResourceId/" + logicalID
	allowed := false
	for i, stmt := range doc.Statement {
		if !stmtMatches(stmt, resource, typ, action) {
			continue
		}
		if scalarString(stmt["Effect"]) == "Deny" {
			return reasonf("Action denied by stack policy: Statement [#%d] does not allow [%s] for resource [%s]", i+1, action, resource)
		}
		if scalarString(stmt["Effect"]) == "Allow" {
			allowed = true
		}
	}
	if !allowed {
		return reasonf("Action denied by stack policy: No statement allows [%s] for resource [%s]", action, resource)
	}
	return nil
}

func stmtMatches(stmt map[string]any, resource, typ, action string) bool {
	if a, ok := stmt["Action"]; ok && !anyMatch(a, action) {
		return false
	}
	if a, ok := stmt["NotAction"]; ok && anyMatch(a, action) {
		return false
	}
	if r, ok := stmt["Resource"]; ok && !anyMatch(r, resource) {
		return false
	}
	if r, ok := stmt["NotResource"]; ok && anyMatch(r, resource) {
		return false
	}
	if cond, ok := stmt["Condition"].(map[string]any); ok {
		for op, body := range cond {
			m, _ := body.(map[string]any)
			want, ok := m["ResourceType"]
			if !ok {
				continue
			}
			match := anyMatch(want, typ)
			switch op {
			case "StringEquals", "StringLike":
				if !match {
					return false
				}
			case "StringNotEquals", "StringNotLike":
				if match {
					return false
				}
			}
		}
	}
	return true
}

// anyMatch reports whether a string or list of glob patterns matches s.
func anyMatch(patterns any, s string) bool {
	var list []any
	switch x := patterns.(type) {
	case string:
		list = []any{x}
	case []any:
		list = x
	}
	for _, p := range list {
		if ok, _ := path.Match(scalarString(p), s); ok || scalarString(p) == "*" {
			return true
		}
	}
	return false
}
