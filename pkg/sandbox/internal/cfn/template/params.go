package template

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// compilePattern compiles an AllowedPattern, which CloudFormation matches against the whole value.
func compilePattern(p string) (*regexp.Regexp, error) {
	return regexp.Compile("^(?:" + p + ")$")
}

// BindParameters validates inputs against the declarations and returns the bound value of every declared
// parameter. previous holds the stack's current values (UsePreviousValue); ssm resolves
// AWS::SSM::Parameter::Value<...> parameters by name (nil: such parameters fail to resolve).
func (t *Template) BindParameters(in []ParamInput, previous map[string]string, ssm func(name string) (string, error)) (map[string]Value, error) {
	given := map[string]ParamInput{}
	var unknown []string
	for _, p := range in {
		if t.param(p.Key) == nil {
			unknown = append(unknown, p.Key)
			continue
		}
		given[p.Key] = p
	}
	if len(unknown) > 0 {
		return nil, validationf("Parameters: [%s] do not exist in the template", strings.Join(unknown, ", "))
	}
	values := map[string]string{}
	var missing []string
	for _, decl := range t.Parameters {
		p, ok := given[decl.Name]
		switch {
		case ok && p.UsePreviousValue:
			prev, ok := previous[decl.Name]
			if !ok {
				return nil, validationf("Invalid input for parameter key %s. Cannot specify usePreviousValue as true for a parameter key not in the previous template", decl.Name)
			}
			values[decl.Name] = prev
		case ok:
			values[decl.Name] = p.Value
		case decl.Default != nil:
			values[decl.Name] = *decl.Default
		default:
			missing = append(missing, decl.Name)
		}
	}
	if len(missing) > 0 {
		return nil, validationf("Parameters: [%s] must have values", strings.Join(missing, ", "))
	}
	out := make(map[string]Value, len(t.Parameters))
	for _, decl := range t.Parameters {
		v, err := decl.bind(values[decl.Name], ssm)
		if err != nil {
			return nil, err
		}
		out[decl.Name] = v
	}
	return out, nil
}

func (decl *ParameterDecl) bind(input string, ssm func(string) (string, error)) (Value, error) {
	kind, _ := kindOf(decl.Type)
	v := Value{NoEcho: decl.NoEcho, Input: input}
	raw := input
	if kind.ssm {
		if ssm == nil {
			return Value{}, validationf("Unable to fetch parameters [%s] from parameter store for this account.", input)
		}
		resolved, err := ssm(input)
		if e := (*awsapi.Error)(nil); errors.As(err, &e) && e.Code == "ValidationError" {
			// The resolver's own refusal (e.g. a SecureString) keeps its wording.
			return Value{}, err
		}
		if err != nil {
			return Value{}, validationf("Unable to fetch parameters [%s] from parameter store for this account.", input)
		}
		raw = resolved
		v.ResolvedFromSSM = resolved
	} else if err := decl.check(input, kind); err != nil {
		// Constraints apply to the value given, not to what an SSM parameter holds.
		return Value{}, err
	}
	if kind.list {
		v.Raw = strings.Split(raw, ",")
	} else {
		v.Raw = raw
	}
	return v, nil
}

func (decl *ParameterDecl) fail(msg string) error {
	if decl.ConstraintDescription != "" {
		return validationf("Parameter '%s' failed to satisfy constraint: %s", decl.Name, decl.ConstraintDescription)
	}
	return validationf("%s", msg)
}

func (decl *ParameterDecl) check(value string, kind paramKind) error {
	name := decl.Name
	items := []string{value}
	if kind.list {
		items = strings.Split(value, ",")
	}
	// Length constraints apply to String parameters as a whole.
	if !kind.list && !kind.number {
		if decl.MinLength != nil && len(value) < *decl.MinLength {
			return decl.fail("Parameter '" + name + "' must contain at least " + strconv.Itoa(*decl.MinLength) + " characters")
		}
		if decl.MaxLength != nil && len(value) > *decl.MaxLength {
			return decl.fail("Parameter '" + name + "' must contain at most " + strconv.Itoa(*decl.MaxLength) + " characters")
		}
	}
	for _, item := range items {
		if kind.number {
			n, err := strconv.ParseFloat(strings.TrimSpace(item), 64)
			if err != nil {
				if kind.list {
					return validationf("Parameter '%s' must be a number list.", name)
				}
				return validationf("Parameter '%s' must be a number.", name)
			}
			if decl.MinValue != nil && n < *decl.MinValue {
				return decl.fail("Parameter '" + name + "' must be a number not less than " + fmtNum(*decl.MinValue))
			}
			if decl.MaxValue != nil && n > *decl.MaxValue {
				return decl.fail("Parameter '" + name + "' must be a number not greater than " + fmtNum(*decl.MaxValue))
			}
		}
		if len(decl.AllowedValues) > 0 && !contains(decl.AllowedValues, item) {
			return decl.fail("Parameter '" + name + "' must be one of AllowedValues")
		}
		if decl.AllowedPattern != "" && !kind.number {
			// Java regular expressions RE2 cannot compile (look-arounds) are not enforced.
			if re, err := compilePattern(decl.AllowedPattern); err == nil && !re.MatchString(item) {
				return decl.fail("Parameter '" + name + "' must match pattern " + decl.AllowedPattern)
			}
		}
	}
	return nil
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}
