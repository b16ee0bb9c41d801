package template

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// FuzzParse checks that Parse never panics and that it fails only with ValidationErrors; templates it
// accepts must also survive the later stages (ordering, summary, conditions, outputs).
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		minimal, paramsTemplate,
		`{"Resources": {"R": {"Type": "X", "Properties": {"A": {"Fn::Sub": ["${B}", {"B": {"Ref": "AWS::Region"}}]}}}}}`,
		"V: &a [1]\nW: *a\nResources: {R: {Type: AWS::SQS::Queue, Properties: {<<: {k: v}}}}\n",
		"Resources:\n  R:\n    Type: AWS::SQS::Queue\n    Properties: {A: !Cidr [10.0.0.0/16, 2, 8], B: !Select [0, !GetAZs '']}\n",
		"Conditions:\n  C: !Not [!Condition D]\n  D: !Equals [a, b]\n" + minimal,
		"{\"a\": [", "- !Ref", "!Sub", "Resources: !If [a]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		// A hang is a failure too; report the input instead of stalling the fuzzer.
		timer := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("Parse hangs on %q", body)) })
		defer timer.Stop()
		tpl, err := Parse(body)
		if err != nil {
			var ae *awsapi.Error
			if !errors.As(err, &ae) || ae.Code != "ValidationError" {
				t.Fatalf("Parse error %v is not a ValidationError", err)
			}
			return
		}
		if _, err := tpl.CreationOrder(); err != nil {
			t.Fatalf("CreationOrder failed on a parsed template: %v", err)
		}
		tpl.Summary()
		tpl.RequiredCapabilities()
		env := testEnv()
		env.Conditions, env.Mappings = nil, nil
		params := map[string]Value{}
		for _, p := range tpl.Parameters {
			params[p.Name] = Value{Raw: "1"}
		}
		env.Params = params
		if _, err := tpl.EvalConditions(env); err != nil {
			return
		}
		for _, r := range tpl.Resources {
			_, _ = Resolve(r.Properties, env)
		}
		_, _ = tpl.ResolveOutputs(env)
	})
}
