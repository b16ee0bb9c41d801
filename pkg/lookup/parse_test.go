package lookup

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// render prints an expression compactly: literals quoted, lookups as
// type(input), parts joined by " + ".
func render(e *Expr) string {
	var parts []string
	for _, p := range e.Parts {
		if p.Lookup != nil {
			parts = append(parts, fmt.Sprintf("%s(%s)", p.Lookup.Type, render(p.Lookup.Input)))
		} else {
			parts = append(parts, fmt.Sprintf("%q", p.Text))
		}
	}
	return strings.Join(parts, " + ")
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"literal", "vpc-123", `"vpc-123"`},
		{"lone closing brace is literal", `{"a": 1}`, `"{\"a\": 1}"`},
		{"dollar without brace is literal", "$HOME and $", `"$HOME and $"`},
		{"single lookup", "${output vpc::VpcId}", `output("vpc::VpcId")`},
		{"text around lookups", "url://${output a::Host}@${output b::Port}/x",
			`"url://" + output("a::Host") + "@" + output("b::Port") + "/x"`},
		{"nested", "${split ,::${output vpc::Subnets}}", `split(",::" + output("vpc::Subnets"))`},
		{"deeply nested", "${split ,::${default subnets::${output vpc::Subnets}}}",
			`split(",::" + default("subnets::" + output("vpc::Subnets")))`},
		{"lookup as stack name", "${output ${default src::vpc}::Id}", `output(default("src::vpc") + "::Id")`},
		{"several spaces and tabs after type", "${output \t  vpc::Id}", `output("vpc::Id")`},
		{"newline after type", "${output\nvpc::Id}", `output("vpc::Id")`},
		{"spaces inside input kept", "${default key::a b  c }", `default("key::a b  c ")`},
		{"empty input", "${output}", `output()`},
		{"input with braces of json", `{"k": "${output a::B}"}`, `"{\"k\": \"" + output("a::B") + "\"}"`},
		{"file lookup", "${file parameterized-b64:file://userdata.sh}", `file("parameterized-b64:file://userdata.sh")`},
		{"ami lookup", "${ami us-west-2@owners:self,amazon name_regex:app-[0-9]+ architecture:x86_64}",
			`ami("us-west-2@owners:self,amazon name_regex:app-[0-9]+ architecture:x86_64")`},
		{"unicode literal", "héllo ${envvar USER} ✓", `"héllo " + envvar("USER") + " ✓"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := render(e); got != tt.want {
				t.Errorf("Parse(%q) = %s, want %s", tt.in, got, tt.want)
			}
			if got := e.String(); got != tt.in {
				t.Errorf("String() = %q, want the input back", got)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string // substrings of the message
		unknown  bool     // *UnknownTypeError
		hookData bool
	}{
		{name: "unclosed", in: "x ${output vpc::Id", want: []string{`unclosed lookup "${output vpc::Id"`, `missing "}"`, "offset 2"}},
		{name: "unclosed after a good lookup", in: "${output a::B} ${", want: []string{"unclosed lookup", "offset 15"}},
		{name: "unclosed nested", in: "${split ,::${output a::B}", want: []string{`unclosed lookup "${split ,::${output a::B}"`}},
		{name: "unclosed type only", in: "${output", want: []string{`unclosed lookup "${output"`}},
		{name: "empty", in: "${}", want: []string{`missing lookup type in "${}"`}},
		{name: "space before type", in: "${ output a::B}", want: []string{`missing lookup type in "${ output a::B}"`}},
		{name: "type glued to nested lookup", in: "${output${default a::b}}", want: []string{`lookup type "output" must be followed by a space`}},
		{name: "unknown type", in: "${outptu vpc::Id}", want: []string{`Unknown lookup type: "outptu" in "${outptu vpc::Id}"`}, unknown: true},
		{name: "cloudformation sub syntax", in: "arn:aws:s3:::${AWS::AccountId}-bucket",
			want: []string{`Unknown lookup type: "AWS::AccountId"`, `did you mean "${output AWS::AccountId}"?`}, unknown: true},
		{name: "legacy untyped output", in: "${vpc::VpcId}", want: []string{`Unknown lookup type: "vpc::VpcId"`, `did you mean "${output vpc::VpcId}"`}, unknown: true},
		{name: "unknown nested type", in: "${split ,::${nope a}}", want: []string{`Unknown lookup type: "nope" in "${nope a}"`}, unknown: true},
		{name: "hook_data", in: "${hook_data myhook::key}", want: []string{"${hook_data myhook::key}", "not supported in stackerless"}, hookData: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want an error", tt.in)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var ut *UnknownTypeError
			if got := errors.As(err, &ut); got != tt.unknown {
				t.Errorf("errors.As(*UnknownTypeError) = %v, want %v", got, tt.unknown)
			}
			if got := errors.Is(err, ErrHookData); got != tt.hookData {
				t.Errorf("errors.Is(ErrHookData) = %v, want %v", got, tt.hookData)
			}
			var se *SyntaxError
			if !tt.unknown && !tt.hookData && !errors.As(err, &se) {
				t.Errorf("error %T is not a *SyntaxError", err)
			}
		})
	}
}

func TestExprLookupsOrder(t *testing.T) {
	e, err := Parse("${split ,::${output a::B}}-${default k::${envvar X}}")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range e.Lookups() {
		got = append(got, l.Raw)
	}
	want := []string{"${split ,::${output a::B}}", "${output a::B}", "${default k::${envvar X}}", "${envvar X}"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Lookups() = %q, want %q", got, want)
	}
	if _, ok := e.Literal(); ok {
		t.Error("Literal() = true for an expression with lookups")
	}
}

func TestTypesMatchParserAndRegistry(t *testing.T) {
	reg := NewRegistry(Options{})
	if len(reg) != len(Types) {
		t.Errorf("registry has %d handlers, Types lists %d", len(reg), len(Types))
	}
	for _, typ := range Types {
		if _, err := Parse("${" + typ + " x}"); err != nil {
			t.Errorf("Parse of type %s: %v", typ, err)
		}
		if reg[typ] == nil {
			t.Errorf("NewRegistry has no handler for %s", typ)
		}
	}
}
