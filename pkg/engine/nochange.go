package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/stackerless/stackerless/pkg/cfn"
)

// DigestTag is the stack tag in which a build records what it deployed: a
// digest of everything it sent (template, parameters, tags, capabilities,
// notification ARNs, service role, stack policy; parameters are compared
// with the stack's) and when it sent it, as
// "v1:<digest>:<unix milliseconds>". The next build that would send the same
// things skips the stack (stacker's "skipped (nochange)") without asking
// CloudFormation to try an update, as long as the stack was not updated
// since (its LastUpdatedTime is still the time of that deploy).
const DigestTag = "stackerless:digest"

// digestWindow is how far a stack's LastUpdatedTime (or, never updated, its
// CreationTime) may be from the time recorded with the digest for the
// deploy that recorded it to be the stack's last operation. CloudFormation
// sets it when it accepts the call, so the gap is one request's latency and
// the clocks' skew; another update can only start once that deploy has
// finished. A clock further off falls back to asking CloudFormation, which
// is always safe.
const digestWindow = time.Second

// inputDigest is the digest of what a build sends for a stack that the
// stack does not show: the template and stack policy, with the tags,
// capabilities, notification ARNs and service role it does show. Parameters
// are compared with the stack's own values instead, which say the same with
// or without UsePreviousValue; the digest tag is left out.
func inputDigest(prep *Prepared) string {
	in := prep.Input
	h := sha256.New()
	field := func(name string, values ...string) {
		fmt.Fprintf(h, "%s %d\n", name, len(values))
		for _, v := range values {
			fmt.Fprintf(h, "%d:%s\n", len(v), v)
		}
	}
	template := prep.TemplateDigest
	if template == "" {
		sum := sha256.Sum256([]byte(in.TemplateBody + "\x00" + in.TemplateURL))
		template = hex.EncodeToString(sum[:])
	}
	field("template", template)
	var tags []string
	for _, k := range slices.Sorted(maps.Keys(in.Tags)) {
		if k != DigestTag {
			tags = append(tags, k+"="+in.Tags[k])
		}
	}
	field("tags", tags...)
	field("capabilities", slices.Sorted(slices.Values(in.Capabilities))...)
	field("notifications", slices.Sorted(slices.Values(in.NotificationARNs))...)
	field("role", in.RoleARN)
	field("policy", in.StackPolicyBody)
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:16])
}

// parseDigestTag splits a digest tag's value; ok is false for anything
// else.
func parseDigestTag(v string) (digest string, sent time.Time, ok bool) {
	parts := strings.Split(v, ":")
	if len(parts) != 3 || parts[0] != "v1" || parts[1] == "" {
		return "", time.Time{}, false
	}
	ms, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || ms < 0 {
		return "", time.Time{}, false
	}
	if ms == 0 {
		return parts[1], time.Time{}, true // deployed through a change set: when is unknown
	}
	return parts[1], time.UnixMilli(ms), true
}

// withDigest returns in with the digest tag a build sends: the stack's own
// value when it records this digest already, so that a call which changes
// nothing else still changes nothing (CloudFormation answers "No updates",
// a change set has no changes); else the digest and sent, the time of the
// call (zero: not known, as for a change set executed later). fresh sends
// the latter anyway, for a call certain to update the stack, so that the tag
// records that deploy.
func withDigest(in cfn.StackInput, existing *cfn.Stack, digest string, sent time.Time, fresh bool) cfn.StackInput {
	tags := maps.Clone(in.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	if existing != nil && !fresh {
		if d, _, ok := parseDigestTag(existing.Tags[DigestTag]); ok && d == digest {
			tags[DigestTag] = existing.Tags[DigestTag]
			in.Tags = tags
			return in
		}
	}
	var ms int64
	if !sent.IsZero() {
		ms = sent.UnixMilli()
	}
	tags[DigestTag] = fmt.Sprintf("v1:%s:%d", digest, ms)
	in.Tags = tags
	return in
}

// keepDigest returns in carrying the stack's digest tag unchanged, for a
// change set that only shows what would change (diff): the tag is not what
// the user changes.
func keepDigest(in cfn.StackInput, existing *cfn.Stack) cfn.StackInput {
	if existing == nil {
		return in
	}
	v, ok := existing.Tags[DigestTag]
	if !ok {
		return in
	}
	in.Tags = maps.Clone(in.Tags)
	if in.Tags == nil {
		in.Tags = map[string]string{}
	}
	in.Tags[DigestTag] = v
	return in
}

// verdict is what comparing a build's inputs with a stack says.
type verdict int

const (
	// same: the stack was last deployed by stackerless with these inputs
	// and nothing happened to it since: skip it.
	same verdict = iota
	// differs: an update is certain (inputs or the stack's tags or
	// parameter values differ, or the stack has no digest yet).
	differs
	// unsure: nothing visible differs, but the digest cannot vouch for the
	// stack (updated since, last operation failed, NoEcho values): ask
	// CloudFormation, as stacker does.
	unsure
)

// compare tells whether a build may skip an existing stack without asking
// CloudFormation, and why not. Any doubt says no. Termination protection is
// compared and set apart, as stacker's path does.
func compare(existing *cfn.Stack, prep *Prepared, digest string) (verdict, string) {
	d, sent, ok := parseDigestTag(existing.Tags[DigestTag])
	switch {
	case !ok:
		return differs, "no digest tag"
	case d != digest:
		return differs, "inputs differ from the last deploy"
	}
	for k, v := range prep.Input.Tags {
		if k != DigestTag && existing.Tags[k] != v {
			return differs, "tags differ"
		}
	}
	for k := range existing.Tags {
		if _, ok := prep.Input.Tags[k]; !ok && k != DigestTag {
			return differs, "tags differ"
		}
	}
	for _, p := range prep.Input.Parameters {
		// Parameters left to their defaults are not sent: the template,
		// in the digest, says which.
		v, ok := existing.Parameters[p.Key]
		switch {
		case !ok:
			return differs, "parameters differ"
		case !p.UsePrevious && v != p.Value && v != noEchoMask:
			return differs, "parameters differ"
		}
	}
	switch {
	case sent.IsZero():
		return unsure, "last deployed through a change set"
	case existing.Status != cfn.StackStatus(types.StackStatusCreateComplete) &&
		existing.Status != cfn.StackStatus(types.StackStatusUpdateComplete):
		return unsure, "status " + string(existing.Status)
	case len(prep.Secrets) > 0:
		// A NoEcho value cannot be compared with the stack's (masked).
		return unsure, "NoEcho parameters"
	}
	if gap := existing.LastUpdated.Sub(sent); gap < -digestWindow || gap > digestWindow {
		return unsure, "updated since the last deploy"
	}
	return same, ""
}

// noEchoMask is how DescribeStacks shows a NoEcho parameter's value.
const noEchoMask = "****"
