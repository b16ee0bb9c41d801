// Package nag applies cdk-nag's AwsSolutions rules to the app's stacks and
// reads what they found, so that a test can fail on any finding a stack
// does not suppress with a reason.
package nag

//lint:file-ignore SA1019 assertions' FindError/FindWarning return cxapi.SynthesisMessage, whose replacement (@aws-cdk/cloud-assembly-api) has no Go binding at the pinned aws-cdk-go.

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Apply checks every stack under scope (the app: every stack it holds)
// with the AwsSolutions pack when the app synthesises. A finding is an
// error or warning annotation on its resource; a suppression needs a
// reason of at least ten characters.
func Apply(scope constructs.IConstruct) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// Findings are a stack's unsuppressed AwsSolutions findings, "path: message",
// sorted; Apply must have run on an ancestor before the stack synthesised
// (assertions synthesise it).
func Findings(stack awscdk.Stack) []string {
	a := assertions.Annotations_FromStack(stack)
	match := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-"))
	var out []string
	for _, msgs := range []*[]*cxapi.SynthesisMessage{
		a.FindError(jsii.String("*"), match), a.FindWarning(jsii.String("*"), match),
	} {
		for _, m := range *msgs {
			out = append(out, fmt.Sprintf("%s: %v", *m.Id, firstLine(m.Entry.Data)))
		}
	}
	sort.Strings(out)
	return out
}

func firstLine(v any) string {
	s := fmt.Sprint(v)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Suppress records on construct (and its children) that rule's findings are
// accepted, for reason. appliesTo narrows a rule with findings per item,
// such as AwsSolutions-IAM5's wildcards ("Action::s3:GetObject*",
// "Resource::*"); a string that starts and ends with '/' is a regular
// expression over them.
func Suppress(construct constructs.IConstruct, rule, reason string, appliesTo ...string) {
	s := &cdknag.NagPackSuppression{Id: jsii.String(rule), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		var items []any
		for _, x := range appliesTo {
			if len(x) > 1 && strings.HasPrefix(x, "/") && strings.HasSuffix(x, "/") {
				items = append(items, &cdknag.RegexAppliesTo{Regex: jsii.String(x + "g")})
				continue
			}
			items = append(items, x)
		}
		s.AppliesTo = &items
	}
	cdknag.NagSuppressions_AddResourceSuppressions(construct, &[]*cdknag.NagPackSuppression{s}, jsii.Bool(true))
}
