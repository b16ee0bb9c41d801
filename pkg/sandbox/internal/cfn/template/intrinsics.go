package template

import (
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/netip"
	"reflect"
	"strconv"
	"strings"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

func validationf(format string, args ...any) error { return awsapi.ValidationError(format, args...) }

// noValue is what Ref AWS::NoValue resolves to; the enclosing map drops the key, the enclosing list the
// element.
type noValueT struct{}

var noValue = noValueT{}

type resolver struct {
	env *Env
	// cond looks up a condition by name: env.Conditions normally, a lazy evaluator inside EvalConditions.
	cond func(name string) (bool, error)
	// inConditions forbids references to resources, as the Conditions section does.
	inConditions bool
}

// Resolve returns a copy of v with every intrinsic function resolved against env. Numbers stay
// json.Number; keys and list elements resolving to AWS::NoValue are removed (a whole value resolving to
// it gives nil). env.Conditions must hold the evaluated conditions (see EvalConditions) for Fn::If.
func Resolve(v any, env *Env) (any, error) {
	if env == nil {
		env = &Env{}
	}
	r := &resolver{env: env, cond: func(name string) (bool, error) {
		b, ok := env.Conditions[name]
		if !ok {
			return false, templateErr("unresolved condition dependency %s in Fn::If", name)
		}
		return b, nil
	}}
	out, err := r.resolve(v)
	if err != nil {
		return nil, err
	}
	if out == noValue {
		return nil, nil
	}
	return out, nil
}

func (r *resolver) resolve(v any) (any, error) {
	switch v := v.(type) {
	case []any:
		out := make([]any, 0, len(v))
		for _, e := range v {
			x, err := r.resolve(e)
			if err != nil {
				return nil, err
			}
			if x != noValue {
				out = append(out, x)
			}
		}
		return out, nil
	case map[string]any:
		if len(v) == 1 {
			for k, arg := range v {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return r.call(k, arg)
				}
				if k == "Condition" && r.inConditions {
					name, ok := arg.(string)
					if !ok {
						return nil, formatErr("Condition reference must be a string")
					}
					return r.cond(name)
				}
			}
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			x, err := r.resolve(e)
			if err != nil {
				return nil, err
			}
			if x != noValue {
				out[k] = x
			}
		}
		return out, nil
	}
	return v, nil
}

func (r *resolver) call(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		return r.ref(arg)
	case "Fn::GetAtt":
		return r.getAtt(arg)
	case "Fn::Sub":
		return r.sub(arg)
	case "Fn::Join":
		return r.join(arg)
	case "Fn::Select":
		return r.selectFn(arg)
	case "Fn::Split":
		return r.split(arg)
	case "Fn::If":
		return r.ifFn(arg)
	case "Fn::Equals":
		return r.equals(arg)
	case "Fn::And", "Fn::Or":
		return r.andOr(fn, arg)
	case "Fn::Not":
		return r.not(arg)
	case "Fn::FindInMap":
		return r.findInMap(arg)
	case "Fn::GetAZs":
		return r.getAZs(arg)
	case "Fn::ImportValue":
		return r.importValue(arg)
	case "Fn::Base64":
		s, err := r.stringArg(fn, arg)
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	case "Fn::Cidr":
		return r.cidr(arg)
	case "Fn::Length":
		x, err := r.resolve(arg)
		if err != nil {
			return nil, err
		}
		l, ok := x.([]any)
		if !ok {
			return nil, templateErr("Fn::Length object requires a list or a function that returns a list")
		}
		return json.Number(strconv.Itoa(len(l))), nil
	case "Fn::ToJsonString":
		x, err := r.resolve(arg)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(x)
		if err != nil {
			return nil, templateErr("Fn::ToJsonString cannot serialize its argument")
		}
		return string(b), nil
	}
	return nil, templateErr("Encountered unsupported function: %s Supported functions are: [Fn::Base64, Fn::GetAtt, Fn::GetAZs, Fn::ImportValue, Fn::Join, Fn::Split, Fn::FindInMap, Fn::Select, Ref, Fn::Equals, Fn::If, Fn::Not, Condition, Fn::And, Fn::Or, Fn::Contains, Fn::EachMemberEquals, Fn::EachMemberIn, Fn::ValueOf, Fn::ValueOfAll, Fn::RefAll, Fn::Sub, Fn::Cidr]", fn)
}

func (r *resolver) ref(arg any) (any, error) {
	name, ok := arg.(string)
	if !ok {
		return nil, formatErr("Every Ref object must have a single String value.")
	}
	env := r.env
	if p, ok := env.Params[name]; ok {
		if l, ok := p.Raw.([]string); ok {
			out := make([]any, len(l))
			for i, s := range l {
				out[i] = s
			}
			return out, nil
		}
		return p.Raw, nil
	}
	switch name {
	case "AWS::NoValue":
		return noValue, nil
	case "AWS::AccountId":
		return env.AccountID, nil
	case "AWS::Region":
		return env.Region, nil
	case "AWS::StackName":
		return env.StackName, nil
	case "AWS::StackId":
		return env.StackID, nil
	case "AWS::Partition":
		if env.Partition == "" {
			return "aws", nil
		}
		return env.Partition, nil
	case "AWS::URLSuffix":
		if env.URLSuffix == "" {
			return "amazonaws.com", nil
		}
		return env.URLSuffix, nil
	case "AWS::NotificationARNs":
		out := make([]any, len(env.NotificationARNs))
		for i, s := range env.NotificationARNs {
			out[i] = s
		}
		return out, nil
	}
	if r.inConditions || env.Ref == nil {
		if r.inConditions {
			return nil, formatErr("Unresolved dependencies [%s]. Cannot reference resources in the Conditions block of the template", name)
		}
		return nil, formatErr("Unresolved resource dependencies [%s] in the Resources block of the template", name)
	}
	return env.Ref(name)
}

func (r *resolver) getAtt(arg any) (any, error) {
	if l, ok := arg.([]any); ok && len(l) == 2 {
		// The attribute name may be computed (e.g. !Ref AttrName).
		attr, err := r.resolve(l[1])
		if err != nil {
			return nil, err
		}
		arg = []any{l[0], attr}
	}
	if err := checkGetAttShape(arg); err != nil {
		return nil, err
	}
	id, attr, ok := getAttTarget(arg)
	if !ok || attr == "" {
		return nil, templateErr(getAttArgsUsage)
	}
	if r.inConditions || r.env.GetAtt == nil {
		return nil, templateErr("instance of Fn::GetAtt references undefined resource %s", id)
	}
	return r.env.GetAtt(id, attr)
}

// subSegment is a piece of an Fn::Sub string: literal text or a ${variable}.
type subSegment struct {
	text  string
	isVar bool
}

func parseSub(s string) ([]subSegment, error) {
	var segs []subSegment
	var lit strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			lit.WriteString(s)
			break
		}
		lit.WriteString(s[:i])
		rest := s[i+2:]
		j := strings.IndexByte(rest, '}')
		if j < 0 {
			lit.WriteString(s[i:])
			break
		}
		body := rest[:j]
		s = rest[j+1:]
		if strings.HasPrefix(body, "!") {
			// ${!Literal} writes ${Literal}.
			lit.WriteString("${" + body[1:] + "}")
			continue
		}
		name := strings.TrimSpace(body)
		if !validSubVar(name) {
			return nil, templateErr("variable names in Fn::Sub syntax must contain only alphanumeric characters, underscores, periods, and colons")
		}
		if lit.Len() > 0 {
			segs = append(segs, subSegment{text: lit.String()})
			lit.Reset()
		}
		segs = append(segs, subSegment{text: name, isVar: true})
	}
	if lit.Len() > 0 {
		segs = append(segs, subSegment{text: lit.String()})
	}
	return segs, nil
}

func validSubVar(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

const subUsage = "One or more Fn::Sub intrinsic functions don't specify expected arguments. Specify a string as first argument, and an optional second argument to specify a mapping of values to replace in the string"

func (r *resolver) sub(arg any) (any, error) {
	var str string
	vars := map[string]string{}
	switch a := arg.(type) {
	case string:
		str = a
	case []any:
		if len(a) != 2 {
			return nil, templateErr(subUsage)
		}
		s, ok := a[0].(string)
		if !ok {
			return nil, templateErr(subUsage)
		}
		str = s
		m, ok := a[1].(map[string]any)
		if !ok {
			return nil, templateErr(subUsage)
		}
		for k, v := range m {
			x, err := r.resolve(v)
			if err != nil {
				return nil, err
			}
			s, ok := scalarString(x)
			if !ok {
				return nil, templateErr(subUsage)
			}
			vars[k] = s
		}
	default:
		return nil, templateErr(subUsage)
	}
	segs, err := parseSub(str)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, seg := range segs {
		if !seg.isVar {
			b.WriteString(seg.text)
			continue
		}
		if v, ok := vars[seg.text]; ok {
			b.WriteString(v)
			continue
		}
		var x any
		if id, attr, ok := strings.Cut(seg.text, "."); ok {
			x, err = r.getAtt([]any{id, attr})
		} else {
			x, err = r.ref(seg.text)
		}
		if err != nil {
			return nil, err
		}
		s, ok := scalarString(x)
		if !ok {
			return nil, templateErr("variable %s in Fn::Sub expression does not resolve to a string", seg.text)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// args resolves an intrinsic's argument list, which must have n elements.
func (r *resolver) args(arg any, n int) ([]any, bool, error) {
	l, ok := arg.([]any)
	if !ok || len(l) != n {
		return nil, false, nil
	}
	out := make([]any, n)
	for i, e := range l {
		x, err := r.resolve(e)
		if err != nil {
			return nil, false, err
		}
		out[i] = x
	}
	return out, true, nil
}

func (r *resolver) join(arg any) (any, error) {
	const usage = "every Fn::Join object requires two parameters, (1) a string delimiter and (2) a list of strings to be joined or a function that returns a list of strings (such as Fn::GetAZs) to be joined."
	a, ok, err := r.args(arg, 2)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, templateErr(usage)
	}
	delim, ok := a[0].(string)
	list, ok2 := a[1].([]any)
	if !ok || !ok2 {
		return nil, templateErr(usage)
	}
	parts := make([]string, 0, len(list))
	for _, e := range list {
		s, ok := scalarString(e)
		if !ok {
			return nil, templateErr(usage)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, delim), nil
}

func (r *resolver) selectFn(arg any) (any, error) {
	const usage = "every Fn::Select object requires two parameters, (1) an index into the array of values and (2) an array of values to select from"
	a, ok, err := r.args(arg, 2)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, templateErr(usage)
	}
	is, ok := scalarString(a[0])
	list, ok2 := a[1].([]any)
	if !ok || !ok2 {
		return nil, templateErr(usage)
	}
	i, err := strconv.Atoi(is)
	if err != nil {
		return nil, templateErr("Fn::Select requires an integer index; got %s", is)
	}
	if i < 0 || i >= len(list) {
		return nil, templateErr("Fn::Select cannot select nonexistent value at index %d", i)
	}
	return list[i], nil
}

func (r *resolver) split(arg any) (any, error) {
	const usage = "every Fn::Split object requires two parameters, (1) a string delimiter and (2) a string to be split or a function that returns a string to be split."
	a, ok, err := r.args(arg, 2)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, templateErr(usage)
	}
	delim, ok := a[0].(string)
	s, ok2 := scalarString(a[1])
	if !ok || !ok2 || delim == "" {
		return nil, templateErr(usage)
	}
	parts := strings.Split(s, delim)
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

func (r *resolver) ifFn(arg any) (any, error) {
	if err := checkShape("Fn::If", arg); err != nil {
		return nil, err
	}
	l := arg.([]any)
	name := l[0].(string)
	b, err := r.cond(name)
	if err != nil {
		return nil, err
	}
	if b {
		return r.resolve(l[1])
	}
	return r.resolve(l[2])
}

func (r *resolver) equals(arg any) (any, error) {
	a, ok, err := r.args(arg, 2)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, templateErr("every Fn::Equals object requires a list of 2 string parameters.")
	}
	x, okx := scalarString(a[0])
	y, oky := scalarString(a[1])
	if okx && oky {
		return x == y, nil
	}
	return reflect.DeepEqual(a[0], a[1]), nil
}

// boolArg evaluates one operand of Fn::And/Or/Not: a {"Condition": name} reference or a condition function.
func (r *resolver) boolArg(fn string, v any) (bool, error) {
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		if name, ok := m["Condition"].(string); ok {
			return r.cond(name)
		}
	}
	x, err := r.resolve(v)
	if err != nil {
		return false, err
	}
	b, ok := x.(bool)
	if !ok {
		if s, ok := x.(string); ok && (s == "true" || s == "false") {
			return s == "true", nil
		}
		return false, templateErr("every %s object requires a list of conditions", fn)
	}
	return b, nil
}

func (r *resolver) andOr(fn string, arg any) (any, error) {
	l, ok := arg.([]any)
	if !ok || len(l) < 2 || len(l) > 10 {
		return nil, templateErr("every %s object requires a list of at least 2 and at most 10 boolean parameters.", fn)
	}
	and := fn == "Fn::And"
	for _, e := range l {
		b, err := r.boolArg(fn, e)
		if err != nil {
			return nil, err
		}
		if and && !b {
			return false, nil
		}
		if !and && b {
			return true, nil
		}
	}
	return and, nil
}

func (r *resolver) not(arg any) (any, error) {
	l, ok := arg.([]any)
	if !ok || len(l) != 1 {
		return nil, templateErr("every Fn::Not object requires a list of 1 boolean parameter.")
	}
	b, err := r.boolArg("Fn::Not", l[0])
	if err != nil {
		return nil, err
	}
	return !b, nil
}

func (r *resolver) findInMap(arg any) (any, error) {
	a, ok, err := r.args(arg, 3)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, templateErr(findInMapUsage)
	}
	var k [3]string
	for i := range k {
		s, ok := scalarString(a[i])
		if !ok {
			return nil, templateErr(findInMapUsage)
		}
		k[i] = s
	}
	m, ok := r.env.Mappings[k[0]]
	if !ok {
		return nil, templateErr("Mapping named '%s' is not present in the 'Mappings' section of template.", k[0])
	}
	if v, ok := m[k[1]][k[2]]; ok {
		return v, nil
	}
	return nil, templateErr("Unable to get mapping for %s::%s::%s", k[0], k[1], k[2])
}

// AvailabilityZones is what Fn::GetAZs returns for a region: us-east-1 has six
// zones (a to f) as on AWS, every other region three.
func AvailabilityZones(region string) []string {
	letters := "abc"
	if region == "us-east-1" {
		letters = "abcdef"
	}
	out := make([]string, len(letters))
	for i, l := range letters {
		out[i] = region + string(l)
	}
	return out
}

func (r *resolver) getAZs(arg any) (any, error) {
	x, err := r.resolve(arg)
	if err != nil {
		return nil, err
	}
	region, ok := scalarString(x)
	if x == nil {
		region, ok = "", true
	}
	if !ok {
		return nil, templateErr("Fn::GetAZs requires a string region")
	}
	if region == "" {
		region = r.env.Region
	}
	var azs []string
	if r.env.AZs != nil {
		azs = r.env.AZs(region)
	} else {
		azs = AvailabilityZones(region)
	}
	out := make([]any, len(azs))
	for i, az := range azs {
		out[i] = az
	}
	return out, nil
}

func (r *resolver) importValue(arg any) (any, error) {
	name, err := r.stringArg("Fn::ImportValue", arg)
	if err != nil {
		return nil, err
	}
	if r.env.ImportValue == nil {
		return nil, validationf("No export named %s found.", name)
	}
	return r.env.ImportValue(name)
}

func (r *resolver) stringArg(fn string, arg any) (string, error) {
	x, err := r.resolve(arg)
	if err != nil {
		return "", err
	}
	s, ok := scalarString(x)
	if !ok {
		return "", templateErr("every %s object must contain a string or a function that returns a string", fn)
	}
	return s, nil
}

// cidr computes Fn::Cidr [ipBlock, count, cidrBits]: count consecutive subnets with cidrBits host bits
// each, starting at the block's network address.
func (r *resolver) cidr(arg any) (any, error) {
	const usage = "Fn::Cidr requires three parameters: an IP block in CIDR notation, the count of subnets and the number of subnet bits"
	a, ok, err := r.args(arg, 3)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, templateErr(usage)
	}
	var s [3]string
	for i := range s {
		if s[i], ok = scalarString(a[i]); !ok {
			return nil, templateErr(usage)
		}
	}
	prefix, err := netip.ParsePrefix(s[0])
	if err != nil {
		return nil, templateErr("Fn::Cidr: invalid IP block %s", s[0])
	}
	count, err1 := strconv.Atoi(s[1])
	bits, err2 := strconv.Atoi(s[2])
	if err1 != nil || err2 != nil || count < 1 || count > 256 || bits < 1 {
		return nil, templateErr(usage)
	}
	total := prefix.Addr().BitLen()
	if bits > total-prefix.Bits() {
		return nil, templateErr("Fn::Cidr: the number of subnet bits %d is too large for %s", bits, s[0])
	}
	// The block must hold count subnets of 2^bits addresses.
	avail := new(big.Int).Lsh(big.NewInt(1), uint(total-prefix.Bits()-bits))
	if avail.Cmp(big.NewInt(int64(count))) < 0 {
		return nil, templateErr("Fn::Cidr: %s cannot hold %d subnets with %d subnet bits", s[0], count, bits)
	}
	base := new(big.Int).SetBytes(prefix.Masked().Addr().AsSlice())
	step := new(big.Int).Lsh(big.NewInt(1), uint(bits))
	out := make([]any, 0, count)
	for i := 0; i < count; i++ {
		n := new(big.Int).Add(base, new(big.Int).Mul(step, big.NewInt(int64(i))))
		buf := make([]byte, total/8)
		n.FillBytes(buf)
		addr, _ := netip.AddrFromSlice(buf)
		out = append(out, netip.PrefixFrom(addr, total-bits).String())
	}
	return out, nil
}

// EvalConditions evaluates every condition of the Conditions section against env's parameters and pseudo
// parameters, stores the result in env.Conditions and returns it. It also fills env.Mappings from the
// template when unset, so Fn::FindInMap works in later Resolve calls.
func (t *Template) EvalConditions(env *Env) (map[string]bool, error) {
	if env.Mappings == nil {
		env.Mappings = t.Mappings
	}
	result := map[string]bool{}
	visiting := map[string]bool{}
	r := &resolver{env: env, inConditions: true}
	r.cond = func(name string) (bool, error) {
		if b, ok := result[name]; ok {
			return b, nil
		}
		expr, ok := t.Conditions[name]
		if !ok {
			return false, templateErr("unresolved condition dependency %s in Fn::If", name)
		}
		if visiting[name] {
			return false, formatErr("Circular dependency between conditions: [%s]", name)
		}
		visiting[name] = true
		defer delete(visiting, name)
		b, err := r.boolArg(name, expr)
		if err != nil {
			return false, err
		}
		result[name] = b
		return b, nil
	}
	for _, name := range sortedKeys(t.Conditions) {
		if _, err := r.cond(name); err != nil {
			return nil, err
		}
	}
	env.Conditions = result
	return result, nil
}

// ResolveOutputs resolves the outputs whose condition holds, sorted by key. Call EvalConditions first (it
// is called here when env.Conditions is nil).
func (t *Template) ResolveOutputs(env *Env) ([]Output, error) {
	if env.Mappings == nil {
		env.Mappings = t.Mappings
	}
	if env.Conditions == nil {
		if _, err := t.EvalConditions(env); err != nil {
			return nil, err
		}
	}
	var out []Output
	for _, key := range sortedKeys(t.Outputs) {
		o := t.Outputs[key]
		if o.Condition != "" && !env.Conditions[o.Condition] {
			continue
		}
		res := Output{Key: key}
		for _, f := range []struct {
			v   any
			dst *string
		}{{o.Value, &res.Value}, {o.Description, &res.Description}, {o.ExportName, &res.ExportName}} {
			if f.v == nil {
				continue
			}
			x, err := Resolve(f.v, env)
			if err != nil {
				return nil, err
			}
			s, err := outputString(key, x)
			if err != nil {
				return nil, err
			}
			*f.dst = s
		}
		out = append(out, res)
	}
	return out, nil
}

func outputString(key string, v any) (string, error) {
	if s, ok := scalarString(v); ok {
		return s, nil
	}
	if l, ok := v.([]any); ok {
		// Lists such as !GetAZs or a CommaDelimitedList parameter show comma-joined, as CloudFormation does.
		parts := make([]string, 0, len(l))
		for _, e := range l {
			s, ok := scalarString(e)
			if !ok {
				return "", templateErr("The Value of output %s must resolve to a String", key)
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	}
	if v == nil {
		return "", nil
	}
	return "", templateErr("The Value of output %s must resolve to a String", key)
}
