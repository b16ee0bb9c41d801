package s3

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// maxPolicySize is S3's limit on a bucket policy.
const maxPolicySize = 20 * 1024

func malformedPolicy(msg string) error {
	return awsapi.Errorf(http.StatusBadRequest, "MalformedPolicy", "%s", msg)
}

type policyDoc struct {
	Version   string          `json:"Version"`
	Statement json.RawMessage `json:"Statement"`
}

type policyStatement struct {
	Sid          string                                `json:"Sid"`
	Effect       string                                `json:"Effect"`
	Principal    json.RawMessage                       `json:"Principal"`
	NotPrincipal json.RawMessage                       `json:"NotPrincipal"`
	Action       json.RawMessage                       `json:"Action"`
	NotAction    json.RawMessage                       `json:"NotAction"`
	Resource     json.RawMessage                       `json:"Resource"`
	NotResource  json.RawMessage                       `json:"NotResource"`
	Condition    map[string]map[string]json.RawMessage `json:"Condition"`
}

// stringOrList decodes a policy element that is a string or a list of strings.
func stringOrList(raw json.RawMessage) ([]string, bool) {
	if len(raw) == 0 {
		return nil, true
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, true
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err == nil {
		return many, true
	}
	return nil, false
}

func statements(doc policyDoc) ([]policyStatement, bool) {
	raw := doc.Statement
	if len(raw) == 0 || string(raw) == "null" {
		return nil, false
	}
	var list []policyStatement
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, true
	}
	var one policyStatement
	if err := json.Unmarshal(raw, &one); err == nil {
		return []policyStatement{one}, true
	}
	return nil, false
}

// principals returns the AWS principals (and "*") a Principal element names.
func principals(raw json.RawMessage) ([]string, bool) {
	if len(raw) == 0 {
		return nil, true
	}
	var star string
	if err := json.Unmarshal(raw, &star); err == nil {
		return []string{star}, star == "*"
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, false
	}
	var out []string
	for typ, v := range m {
		vals, ok := stringOrList(v)
		if !ok {
			return nil, false
		}
		switch typ {
		case "AWS":
			out = append(out, vals...)
		case "Service", "Federated", "CanonicalUser":
		default:
			return nil, false
		}
	}
	return out, true
}

// validatePolicy checks a bucket policy the way PutBucketPolicy does.
func validatePolicy(bucketName, policy string) error {
	if len(policy) > maxPolicySize {
		return malformedPolicy("Policies must be smaller than 20 KB")
	}
	trimmed := strings.TrimSpace(policy)
	var doc policyDoc
	if !strings.HasPrefix(trimmed, "{") || json.Unmarshal([]byte(trimmed), &doc) != nil {
		return malformedPolicy("Policies must be valid JSON and the first byte must be '{'")
	}
	if doc.Version != "" && doc.Version != "2012-10-17" && doc.Version != "2008-10-17" {
		return malformedPolicy("The policy must contain a valid version string")
	}
	sts, ok := statements(doc)
	if !ok || len(sts) == 0 {
		return malformedPolicy("Missing required field Statement")
	}
	for _, st := range sts {
		if st.Effect != "Allow" && st.Effect != "Deny" {
			return malformedPolicy("Invalid effect: " + st.Effect)
		}
		if len(st.Principal) == 0 && len(st.NotPrincipal) == 0 {
			return malformedPolicy("Missing required field Principal")
		}
		for _, p := range []json.RawMessage{st.Principal, st.NotPrincipal} {
			ps, ok := principals(p)
			if !ok {
				return malformedPolicy("Invalid principal in policy")
			}
			for _, pr := range ps {
				if !validPrincipal(pr) {
					return malformedPolicy("Invalid principal in policy")
				}
			}
		}
		if len(st.Action) == 0 && len(st.NotAction) == 0 {
			return malformedPolicy("Missing required field Action")
		}
		for _, a := range []json.RawMessage{st.Action, st.NotAction} {
			acts, ok := stringOrList(a)
			if !ok {
				return malformedPolicy("Policy has invalid action")
			}
			for _, act := range acts {
				if act != "*" && !strings.HasPrefix(strings.ToLower(act), "s3:") {
					return malformedPolicy("Policy has invalid action")
				}
			}
		}
		if len(st.Resource) == 0 && len(st.NotResource) == 0 {
			return malformedPolicy("Missing required field Resource")
		}
		for _, r := range []json.RawMessage{st.Resource, st.NotResource} {
			res, ok := stringOrList(r)
			if !ok {
				return malformedPolicy("Policy has invalid resource")
			}
			for _, arn := range res {
				if !resourceInBucket(bucketName, arn) {
					return malformedPolicy("Policy has invalid resource")
				}
			}
		}
	}
	return nil
}

func validPrincipal(p string) bool {
	if p == "*" {
		return true
	}
	if len(p) == 12 && strings.Trim(p, "0123456789") == "" {
		return true
	}
	return strings.HasPrefix(p, "arn:aws:iam::") || strings.HasPrefix(p, "arn:aws:sts::")
}

// resourceInBucket reports whether a policy resource ARN refers to the bucket or its objects.
func resourceInBucket(bucketName, arn string) bool {
	rest, ok := strings.CutPrefix(arn, "arn:aws:s3:::")
	if !ok {
		return false
	}
	name, _, _ := strings.Cut(rest, "/")
	if name == bucketName {
		return true
	}
	// A wildcard in the bucket part may still cover this bucket.
	return strings.ContainsAny(name, "*?") && wildcardMatch(name, bucketName)
}

func wildcardMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if wildcardMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && wildcardMatch(pattern[1:], s[1:])
	}
	return s != "" && s[0] == pattern[0] && wildcardMatch(pattern[1:], s[1:])
}

// restrictingKeys are condition keys that, compared to fixed values, make a
// statement granting "*" non-public (AWS's "What is public" rules).
var restrictingKeys = map[string]bool{
	"aws:sourcearn": true, "aws:sourcevpc": true, "aws:sourcevpce": true, "aws:sourceaccount": true,
	"aws:sourceowner": true, "aws:principalaccount": true, "aws:principalarn": true,
	"aws:principalorgid": true, "aws:principalorgpaths": true, "aws:userid": true, "aws:sourceip": true,
	"s3:dataaccesspointarn": true, "s3:dataaccesspointaccount": true,
}

// policyIsPublic reports whether a policy grants access to everyone: an Allow
// for Principal "*" without a condition that pins it to known accounts,
// networks or sources.
func policyIsPublic(policy string) bool {
	var doc policyDoc
	if json.Unmarshal([]byte(policy), &doc) != nil {
		return false
	}
	sts, _ := statements(doc)
	for _, st := range sts {
		if st.Effect != "Allow" {
			continue
		}
		ps, _ := principals(st.Principal)
		star := false
		for _, p := range ps {
			if p == "*" {
				star = true
			}
		}
		if len(st.NotPrincipal) > 0 {
			star = true
		}
		if star && !restricted(st.Condition) {
			return true
		}
	}
	return false
}

func restricted(cond map[string]map[string]json.RawMessage) bool {
	for op, kv := range cond {
		lop := strings.ToLower(op)
		if strings.Contains(lop, "not") || strings.HasSuffix(lop, "ifexists") || strings.HasPrefix(lop, "null") || strings.HasPrefix(lop, "bool") {
			continue
		}
		for k, raw := range kv {
			if !restrictingKeys[strings.ToLower(k)] {
				continue
			}
			vals, ok := stringOrList(raw)
			if !ok || len(vals) == 0 {
				continue
			}
			fixed := true
			for _, v := range vals {
				if strings.ContainsAny(v, "*?") || v == "0.0.0.0/0" || v == "::/0" {
					fixed = false
				}
			}
			if fixed {
				return true
			}
		}
	}
	return false
}
