package engine

import (
	"testing"
	"time"

	"github.com/stackerless/stackerless/pkg/cfn"
)

// TestInputDigestCoversEveryInput: each input a build sends that the stack
// does not show for comparison changes the digest, capabilities included
// (the config cannot change those); parameters (compared with the stack's
// values) and the digest tag itself do not.
func TestInputDigestCoversEveryInput(t *testing.T) {
	base := func() *Prepared {
		return &Prepared{TemplateDigest: "t1", Input: cfn.StackInput{
			Name: "s", Parameters: []cfn.Parameter{{Key: "A", Value: "1"}, {Key: "B", UsePrevious: true}},
			Tags: map[string]string{"team": "a"}, Capabilities: []string{"CAPABILITY_IAM"},
			NotificationARNs: []string{"arn:n"}, RoleARN: "arn:r", StackPolicyBody: "{}",
		}}
	}
	ref := inputDigest(base())
	for name, change := range map[string]func(*Prepared){
		"template":          func(p *Prepared) { p.TemplateDigest = "t2" },
		"tag value":         func(p *Prepared) { p.Input.Tags["team"] = "b" },
		"tag added":         func(p *Prepared) { p.Input.Tags["x"] = "" },
		"capabilities":      func(p *Prepared) { p.Input.Capabilities = append(p.Input.Capabilities, "CAPABILITY_AUTO_EXPAND") },
		"notification ARNs": func(p *Prepared) { p.Input.NotificationARNs = nil },
		"service role":      func(p *Prepared) { p.Input.RoleARN = "" },
		"stack policy":      func(p *Prepared) { p.Input.StackPolicyBody = "" },
		"body, no digest":   func(p *Prepared) { p.TemplateDigest = ""; p.Input.TemplateBody = "x" },
	} {
		p := base()
		change(p)
		if inputDigest(p) == ref {
			t.Errorf("%s: the digest did not change", name)
		}
	}
	p := base()
	p.Input.Tags[DigestTag] = "v1:x:1"
	p.Input.Parameters[0].Value = "2"
	if inputDigest(p) != ref {
		t.Error("the digest tag or a parameter changed the digest")
	}
}

// TestCompare: the stack is skipped only with its digest, a successful
// last operation that is the recorded deploy, and what it shows agreeing; a
// visible difference makes an update certain.
func TestCompare(t *testing.T) {
	sent := time.UnixMilli(1_800_000_000_000)
	prep := &Prepared{TemplateDigest: "t", Input: cfn.StackInput{
		Parameters: []cfn.Parameter{{Key: "A", Value: "1"}, {Key: "K", UsePrevious: true}}, Tags: map[string]string{"team": "a"},
	}}
	digest := inputDigest(prep)
	stack := func() *cfn.Stack {
		return &cfn.Stack{Status: "UPDATE_COMPLETE", LastUpdated: sent.Add(300 * time.Millisecond),
			Parameters: map[string]string{"A": "1", "K": "kept", "Defaulted": "x"},
			Tags:       map[string]string{"team": "a", DigestTag: withDigest(prep.Input, nil, digest, sent, true).Tags[DigestTag]}}
	}
	if v, why := compare(stack(), prep, digest); v != same {
		t.Fatalf("an unchanged stack is not skipped: %s", why)
	}
	for name, tc := range map[string]struct {
		change func(*cfn.Stack, *Prepared)
		want   verdict
	}{
		"no tag":              {func(s *cfn.Stack, _ *Prepared) { delete(s.Tags, DigestTag) }, differs},
		"garbled tag":         {func(s *cfn.Stack, _ *Prepared) { s.Tags[DigestTag] = "v1:" + digest }, differs},
		"other digest":        {func(s *cfn.Stack, _ *Prepared) { s.Tags[DigestTag] = "v1:abc:1" }, differs},
		"tag changed":         {func(s *cfn.Stack, _ *Prepared) { s.Tags["team"] = "b" }, differs},
		"tag added":           {func(s *cfn.Stack, _ *Prepared) { s.Tags["other"] = "" }, differs},
		"parameter changed":   {func(s *cfn.Stack, _ *Prepared) { s.Parameters["A"] = "2" }, differs},
		"parameter missing":   {func(s *cfn.Stack, _ *Prepared) { delete(s.Parameters, "A") }, differs},
		"change set deploy":   {func(s *cfn.Stack, _ *Prepared) { s.Tags[DigestTag] = "v1:" + digest + ":0" }, unsure},
		"updated later":       {func(s *cfn.Stack, _ *Prepared) { s.LastUpdated = sent.Add(2 * time.Second) }, unsure},
		"updated before":      {func(s *cfn.Stack, _ *Prepared) { s.LastUpdated = sent.Add(-2 * time.Second) }, unsure},
		"rolled back":         {func(s *cfn.Stack, _ *Prepared) { s.Status = "UPDATE_ROLLBACK_COMPLETE" }, unsure},
		"in progress":         {func(s *cfn.Stack, _ *Prepared) { s.Status = "UPDATE_IN_PROGRESS" }, unsure},
		"NoEcho value to set": {func(_ *cfn.Stack, p *Prepared) { p.Secrets = []string{"1"} }, unsure},
	} {
		s, p := stack(), *prep
		tc.change(s, &p)
		if v, why := compare(s, &p, digest); v != tc.want {
			t.Errorf("%s: verdict %d (%s), want %d", name, v, why, tc.want)
		}
	}
}
