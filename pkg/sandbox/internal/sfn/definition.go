package sfn

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// maxDefinitionLength is AWS's limit on a definition (characters).
const maxDefinitionLength = 1048576

// awsTaskTimeout is the TimeoutSeconds AWS gives a Task that sets none; the
// interpreter's own default would be 60 seconds.
const awsTaskTimeout = 99999999

// lambdaFunctionARN is a Task Resource the sandbox runs: a Lambda function,
// optionally with a version or alias.
var lambdaFunctionARN = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?$`)

// definition is a parsed state machine definition and what executions need
// to know of its states.
type definition struct {
	raw string
	// forInterpreter is the definition with AWS's Task defaults filled in.
	forInterpreter json.RawMessage
	tasks          map[string]taskState
	fails          map[string]failState
}

type taskState struct {
	resource string
	// timeout is the Task's own TimeoutSeconds, 0 when it sets none.
	timeout int64
}

// failState says which of a Fail state's fields are set, so a failure from
// it reports what AWS reports (no error or cause where the state gives none).
type failState struct{ hasError, hasCause bool }

func invalidDefinition(code, format string, args ...any) error {
	return awsapi.Errorf(http.StatusBadRequest, "InvalidDefinition", "Invalid State Machine Definition: '%s: %s'", code, fmt.Sprintf(format, args...))
}

// parseDefinition checks a definition as CreateStateMachine does: valid JSON,
// valid Amazon States Language (asl-validator, the interpreter's own
// validator), then nothing the local interpreter cannot run.
func (s *Service) parseDefinition(ctx context.Context, raw string) (*definition, error) {
	if len(raw) > maxDefinitionLength {
		return nil, validationf("1 validation error detected: Value at 'definition' failed to satisfy constraint: Member must have length less than or equal to %d", maxDefinitionLength)
	}
	var doc map[string]any
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil || dec.More() {
		if err == nil {
			err = fmt.Errorf("unexpected content after the definition's object")
		}
		return nil, invalidDefinition("INVALID_JSON_DESCRIPTION", "%v", err)
	}
	problems, err := s.opts.Interpreter.Validate(ctx, json.RawMessage(raw))
	if err != nil {
		return nil, awsapi.Errorf(http.StatusInternalServerError, "InternalFailure", "The sandbox's local interpreter (aws-local-stepfunctions) is not available: %v", err)
	}
	if len(problems) > 0 {
		return nil, invalidDefinition("SCHEMA_VALIDATION_FAILED", "%s", strings.Join(problems, ", "))
	}
	d := &definition{raw: raw, tasks: map[string]taskState{}, fails: map[string]failState{}}
	if err := d.walk(doc, ""); err != nil {
		return nil, err
	}
	if d.forInterpreter, err = json.Marshal(doc); err != nil {
		return nil, fmt.Errorf("encode definition: %w", err)
	}
	return d, nil
}

// unsupported refuses a construct valid on AWS that the sandbox cannot run.
func unsupported(path, construct string) error {
	return invalidDefinition("UNSUPPORTED_BY_SANDBOX", "%s at %s is a limit of the sandbox's local interpreter (aws-local-stepfunctions), not of AWS; the sandbox cannot run this definition", construct, path)
}

// walk checks a (sub-)machine and fills in Task defaults in place.
func (d *definition) walk(m map[string]any, path string) error {
	if ql, _ := m["QueryLanguage"].(string); ql == "JSONata" {
		return unsupported(path+"/QueryLanguage", `JSONata (QueryLanguage "JSONata")`)
	}
	states, _ := m["States"].(map[string]any)
	names := make([]string, 0, len(states))
	for name := range states {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		st, _ := states[name].(map[string]any)
		p := path + "/States/" + name
		if err := d.checkState(name, st, p); err != nil {
			return err
		}
	}
	return nil
}

func (d *definition) checkState(name string, st map[string]any, path string) error {
	if ql, _ := st["QueryLanguage"].(string); ql == "JSONata" {
		return unsupported(path+"/QueryLanguage", `JSONata (QueryLanguage "JSONata")`)
	}
	for _, field := range []string{"Arguments", "Output", "Assign"} {
		if _, ok := st[field]; ok {
			what := "Variables (Assign)"
			if field != "Assign" {
				what = "JSONata's " + field + " field"
			}
			return unsupported(path+"/"+field, what)
		}
	}
	typ, _ := st["Type"].(string)
	switch typ {
	case "Task":
		res, _ := st["Resource"].(string)
		switch {
		case strings.HasSuffix(res, ".waitForTaskToken"):
			return unsupported(path+"/Resource", "the callback pattern (.waitForTaskToken)")
		case strings.HasPrefix(res, "arn:aws:states:::"):
			return unsupported(path+"/Resource", fmt.Sprintf("the service integration %q (use the Lambda function ARN as Resource, which CDK's LambdaInvoke emits with PayloadResponseOnly)", res))
		case strings.Contains(res, ":activity:"):
			return unsupported(path+"/Resource", "an activity")
		case !lambdaFunctionARN.MatchString(res):
			return unsupported(path+"/Resource", fmt.Sprintf("the Task resource %q (only Lambda function ARNs run here)", res))
		}
		if _, ok := st["Credentials"]; ok {
			return unsupported(path+"/Credentials", "a Task's Credentials (cross-account role)")
		}
		ts := taskState{resource: res}
		if n, ok := st["TimeoutSeconds"].(json.Number); ok {
			ts.timeout, _ = n.Int64()
		}
		_, hasPath := st["TimeoutSecondsPath"]
		if ts.timeout == 0 && !hasPath {
			st["TimeoutSeconds"] = awsTaskTimeout
		}
		d.tasks[name] = ts
	case "Fail":
		_, e := st["Error"]
		_, ep := st["ErrorPath"]
		_, c := st["Cause"]
		_, cp := st["CausePath"]
		d.fails[name] = failState{hasError: e || ep, hasCause: c || cp}
	case "Map":
		for _, field := range []string{"ItemReader", "ItemBatcher", "ResultWriter", "ToleratedFailureCount", "ToleratedFailurePercentage", "ToleratedFailureCountPath", "ToleratedFailurePercentagePath"} {
			if _, ok := st[field]; ok {
				return unsupported(path+"/"+field, "Distributed Map's "+field)
			}
		}
		proc, _ := st["ItemProcessor"].(map[string]any)
		if proc == nil {
			proc, _ = st["Iterator"].(map[string]any)
		}
		if cfg, _ := proc["ProcessorConfig"].(map[string]any); cfg != nil {
			if mode, _ := cfg["Mode"].(string); mode == "DISTRIBUTED" {
				return unsupported(path+"/ItemProcessor/ProcessorConfig/Mode", "Distributed Map (Mode DISTRIBUTED)")
			}
		}
		if proc != nil {
			if err := d.walk(proc, path+"/ItemProcessor"); err != nil {
				return err
			}
		}
	case "Parallel":
		branches, _ := st["Branches"].([]any)
		for i, b := range branches {
			bm, _ := b.(map[string]any)
			if err := d.walk(bm, fmt.Sprintf("%s/Branches/%d", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}
