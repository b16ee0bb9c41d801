package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func load(t *testing.T, file, envFile string) *Config {
	t.Helper()
	var env Environment
	if envFile != "" {
		var err error
		if env, err = LoadEnvironment(envFile); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Load(file, env)
	if err != nil {
		t.Fatalf("Load(%s): %v", file, err)
	}
	return c
}

func TestSeedConfig(t *testing.T) {
	c := load(t, "testdata/seed/stacker.yaml", "")
	if c.Namespace != "" || c.StackerBucket == nil || *c.StackerBucket != "" || c.UploadTemplates() || c.BucketName() != "" {
		t.Fatalf("bucket settings wrong: ns %q bucket %v", c.Namespace, c.StackerBucket)
	}
	type row struct{ Name, CFN, Profile, Class, Template string }
	var got []row
	for _, s := range c.Stacks {
		got = append(got, row{s.Name, s.CFNName(c), s.Profile, s.ClassPath, s.TemplatePath})
	}
	want := []row{
		{"stacker-bucket", "stacker-bucket", "master", "", "templates/stacker-bucket.yaml"},
		{"prod/vpc", "vpc", "prod", "stacker_blueprints.vpc.VPC", ""},
		{"stage/vpc", "vpc", "stage", "stacker_blueprints.vpc.VPC", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"Roles": []any{"arn:aws:iam::222222222222:role/Stacker", "arn:aws:iam::333333333333:role/Stacker"}},
		c.Stacks[0].Variables); diff != "" {
		t.Errorf("variables (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{}, c.StackTags()); diff != "" {
		t.Errorf("no namespace means no default tags (-want +got):\n%s", diff)
	}
	if got := c.Path("templates/stacker-bucket.yaml"); got != filepath.Join(c.Root, "templates/stacker-bucket.yaml") {
		t.Errorf("Path = %s", got)
	}
}

func TestFunctionalConfig(t *testing.T) {
	c := load(t, "testdata/functional.yaml", "testdata/functional.env")
	if c.Namespace != "stacker-functional" {
		t.Fatalf("namespace %q", c.Namespace)
	}
	s := c.Stack("bastion1")
	if s == nil || s.CFNName(c) != "stacker-functional-bastionx" {
		t.Fatalf("bastion1 = %+v", s)
	}
	want := map[string]any{"StringVariable": "${output vpc::DummyId}", "InstanceType": "t2.micro"}
	if diff := cmp.Diff(want, s.Variables); diff != "" {
		t.Errorf("variables (-want +got):\n%s", diff)
	}
	if got := c.Stack("vpc").Variables["PublicSubnets"]; got != "10.128.0.0/24,10.128.1.0/24,10.128.2.0/24,10.128.3.0/24" {
		t.Errorf("PublicSubnets = %v", got)
	}
	if pos := s.KeyPos["variables.StringVariable"]; pos.Line != 15 || pos.Column != 7 {
		t.Errorf("variable position = %v", pos)
	}
	if c.Stack("nope") != nil {
		t.Error("Stack(nope) found something")
	}
	g, err := c.Graph(outputDeps)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := g.Dot(&b); err != nil {
		t.Fatal(err)
	}
	// stacker's functional test 08.
	for _, line := range []string{`"bastion1" -> "vpc";`, `"bastion2" -> "vpc";`, `"app1" -> "bastion1";`, `"app2" -> "bastion2";`} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("dot output lacks %s:\n%s", line, b.String())
		}
	}
}

func TestMapFormConfig(t *testing.T) {
	c := load(t, "testdata/map_form.yaml", "")
	var names []string
	for _, s := range c.Stacks {
		names = append(names, s.Name)
	}
	if diff := cmp.Diff([]string{"vpc", "db", "app", "edge"}, names); diff != "" {
		t.Fatalf("stack order (-want +got):\n%s", diff)
	}
	vpc, db, app, edge := c.Stacks[0], c.Stacks[1], c.Stacks[2], c.Stacks[3]
	if vpc.TemplatePath != "templates/vpc.yaml" || vpc.Profile != "prod" || vpc.Region != "us-west-2" {
		t.Errorf("merge key not applied: %+v", vpc)
	}
	if diff := cmp.Diff(map[string]any{"Environment": "prod", "Owner": "platform", "CidrBlock": "10.0.0.0/16"}, vpc.Variables); diff != "" {
		t.Errorf("merged variables (-want +got):\n%s", diff)
	}
	if app.TemplatePath != "templates/app.yaml" || app.Profile != "prod" {
		t.Errorf("explicit key must override merged one: %+v", app)
	}
	if !db.Locked || edge.Enabled || !vpc.Enabled {
		t.Errorf("locked: yes / enabled: false not read: db.Locked=%v edge.Enabled=%v", db.Locked, edge.Enabled)
	}
	if vpc.Key != "stacks.vpc" || vpc.Pos.Line != 16 {
		t.Errorf("map-form key/pos = %s %v", vpc.Key, vpc.Pos)
	}
	if got := vpc.CFNName(c); got != "mapped.vpc" {
		t.Errorf("CFNName with '.' delimiter = %s", got)
	}
	if diff := cmp.Diff(map[string]string{"team": "platform", "cost_center": "1234"}, c.StackTags()); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if len(c.Targets) != 2 || c.Targets[1].Name != "everything" {
		t.Fatalf("targets = %+v", c.Targets)
	}
	g, err := c.Graph(outputDeps)
	if err != nil {
		t.Fatal(err)
	}
	deps, err := g.TransitiveDeps([]string{"backend"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"vpc", "db", "app", "backend"}, deps); diff != "" {
		t.Errorf("--targets backend (-want +got):\n%s", diff)
	}
	if got := g.Deps("edge"); !cmp.Equal(got, []string{"app"}) {
		t.Errorf("required_by edge: Deps(edge) = %v", got)
	}
}

func TestFullConfig(t *testing.T) {
	c := load(t, "testdata/full.yaml", "")
	if c.FQN("x") != "my-team-x" || c.BucketName() != "my-templates" || !c.UploadTemplates() {
		t.Errorf("names: fqn %s bucket %s", c.FQN("x"), c.BucketName())
	}
	if c.StackerBucketRegion != "eu-west-1" || c.ServiceRole != "arn:aws:iam::111111111111:role/cfn" || c.TemplateIndent != 2 {
		t.Errorf("top-level strings: %+v", c)
	}
	if diff := cmp.Diff(map[string]string{"owner": "ops", "enabled": "True"}, c.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	wantMappings := map[string]map[string]map[string]any{"AmiMap": {
		"us-east-1": {"NAT": "ami-ad227cc4", "Bastion": "ami-ad227cc4"},
		"us-west-2": {"NAT": "ami-290f4119", "Ports": []any{22, 443}},
	}}
	if diff := cmp.Diff(wantMappings, c.Mappings); diff != "" {
		t.Errorf("mappings (-want +got):\n%s", diff)
	}
	if c.LogFormats["info"] != "[%(asctime)s] %(message)s" {
		t.Errorf("log_formats = %v", c.LogFormats)
	}
	net := c.Stacks[0]
	want := &Stack{
		Name: "network", StackName: "net", TemplatePath: "templates/network.json", Description: "The network",
		Profile: "prod", Region: "us-east-1",
		Variables: map[string]any{"Cidr": "10.0.0.0/16", "Azs": 3, "Public": true, "Tags": map[string]any{"a": "b"},
			"List": []any{"a", "b"}, "Secret": "${kms us-east-1@CiD6bC8t}"},
		Requires: []string{}, RequiredBy: []string{"app"}, Enabled: true, Protected: true, TerminationProtection: true,
		Tags: map[string]string{"tier": "network"}, StackPolicyPath: "policies/network.json", InProgressBehavior: "wait",
		NotificationARNs: []string{"arn:aws:sns:us-east-1:111111111111:cfn"}, Key: "stacks[0]",
	}
	if diff := cmp.Diff(want, net, cmpIgnorePositions); diff != "" {
		t.Errorf("network (-want +got):\n%s", diff)
	}
	if got := net.CFNName(c); got != "my-team-net" {
		t.Errorf("CFNName = %s", got)
	}
	if diff := cmp.Diff(map[string]string{"owner": "ops", "enabled": "True", "tier": "network"}, net.AllTags(c)); diff != "" {
		t.Errorf("AllTags (-want +got):\n%s", diff)
	}
	app, legacy := c.Stacks[1], c.Stacks[2]
	if !app.Locked || !app.Enabled || app.Protected {
		t.Errorf(`"True" / 1 / off not read as booleans: %+v`, app)
	}
	if !legacy.Locked || legacy.ClassPath != "" || legacy.TemplatePath != "" {
		t.Errorf("locked stack without a template must be accepted: %+v", legacy)
	}
}

var cmpIgnorePositions = cmp.FilterPath(func(p cmp.Path) bool {
	name := p.Last().String()
	return name == ".Pos" || name == ".KeyPos"
}, cmp.Ignore())

func TestYAMLEnvConfig(t *testing.T) {
	c := load(t, "testdata/yaml_env.yaml", "testdata/yaml_env.env.yaml")
	want := map[string]any{
		"PublicSubnets": []any{"10.128.0.0/24", "10.128.1.0/24"},
		"Tags":          map[string]any{"team": "net"},
		"Name":          "vpc-prod",
		"Count":         3,
		"Lookup":        "${output other::Id}",
	}
	if diff := cmp.Diff(want, c.Stacks[0].Variables); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestDefaults(t *testing.T) {
	c, err := ParseIn("/b", "c.yaml", []byte("namespace: ns\nstacks:\n  - name: a\n    class_path: x.Y\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.NamespaceDelimiter != "-" || c.TemplateIndent != 4 || c.StackerBucket != nil || c.Tags != nil {
		t.Errorf("defaults: %+v", c)
	}
	s := c.Stacks[0]
	if !s.Enabled || s.Locked || s.Protected || s.TerminationProtection {
		t.Errorf("stack defaults: %+v", s)
	}
	if c.BucketName() != "stacker-ns" {
		t.Errorf("BucketName = %s", c.BucketName())
	}
	if diff := cmp.Diff(map[string]string{"stacker_namespace": "ns"}, c.StackTags()); diff != "" {
		t.Errorf("default tags (-want +got):\n%s", diff)
	}
	// No stacks is valid (stacker warns at build time).
	if c, err := ParseIn("/b", "c.yaml", []byte("namespace: ns\n"), nil); err != nil || len(c.Stacks) != 0 {
		t.Errorf("config without stacks: %v", err)
	}
}

func TestNamespaceFromEnvironment(t *testing.T) {
	c, err := ParseIn("/b", "c.yaml", []byte("stacks: []\n"), Environment{"namespace": "legacy"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Namespace != "legacy" || len(c.Warnings) != 1 || !strings.HasPrefix(c.Warnings[0], "DEPRECATION WARNING: specifying namespace in the environment") {
		t.Fatalf("namespace %q warnings %q", c.Namespace, c.Warnings)
	}
}

func TestNames(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := []struct {
		name                string
		cfg                 Config
		stack               Stack
		wantFQN, wantBucket string
		wantTags            map[string]string
	}{
		{"plain", Config{Namespace: "ns", NamespaceDelimiter: "-"}, Stack{Name: "vpc"}, "ns-vpc", "stacker-ns", map[string]string{"stacker_namespace": "ns"}},
		{"stack_name", Config{Namespace: "ns", NamespaceDelimiter: "-"}, Stack{Name: "vpc", StackName: "vpcx"}, "ns-vpcx", "stacker-ns", map[string]string{"stacker_namespace": "ns"}},
		{"already qualified", Config{Namespace: "ns", NamespaceDelimiter: "-"}, Stack{Name: "vpc", StackName: "ns-vpc"}, "ns-vpc", "stacker-ns", map[string]string{"stacker_namespace": "ns"}},
		{"dots and case", Config{Namespace: "My.NS", NamespaceDelimiter: "-"}, Stack{Name: "Vpc"}, "my-ns-Vpc", "stacker-my-ns", map[string]string{"stacker_namespace": "My.NS"}},
		{"empty delimiter", Config{Namespace: "ns", NamespaceDelimiter: ""}, Stack{Name: "vpc"}, "nsvpc", "stacker-ns", map[string]string{"stacker_namespace": "ns"}},
		{"no namespace (15)", Config{NamespaceDelimiter: "-"}, Stack{Name: "vpc", StackName: "functional-vpc"}, "functional-vpc", "", map[string]string{}},
		{"no namespace, bucket", Config{NamespaceDelimiter: "-", StackerBucket: str("b")}, Stack{Name: "vpc"}, "vpc", "b", map[string]string{}},
		{"explicit no bucket", Config{Namespace: "ns", NamespaceDelimiter: "-", StackerBucket: str("")}, Stack{Name: "vpc"}, "ns-vpc", "", map[string]string{"stacker_namespace": "ns"}},
		{"tags off", Config{Namespace: "ns", NamespaceDelimiter: "-", Tags: map[string]string{}}, Stack{Name: "vpc"}, "ns-vpc", "stacker-ns", map[string]string{}},
		{"stack tags", Config{Namespace: "ns", NamespaceDelimiter: "-", Tags: map[string]string{"a": "1", "b": "1"}}, Stack{Name: "vpc", Tags: map[string]string{"b": "2"}}, "ns-vpc", "stacker-ns", map[string]string{"a": "1", "b": "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.stack.CFNName(&tt.cfg); got != tt.wantFQN {
				t.Errorf("CFNName = %q, want %q", got, tt.wantFQN)
			}
			if got := tt.cfg.BucketName(); got != tt.wantBucket {
				t.Errorf("BucketName = %q, want %q", got, tt.wantBucket)
			}
			if diff := cmp.Diff(tt.wantTags, tt.stack.AllTags(&tt.cfg)); diff != "" {
				t.Errorf("AllTags (-want +got):\n%s", diff)
			}
		})
	}
	c := Config{Namespace: "ns", NamespaceDelimiter: "-", Tags: map[string]string{"a": "1"}}
	c.StackTags()["a"] = "changed"
	if c.Tags["a"] != "1" {
		t.Error("StackTags returned the config's own map")
	}
}

// outputDeps is a stand-in for lookup.Dependencies: the stacks named by
// ${output stack::Output} in a value.
func outputDeps(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		for _, m := range outputRE.FindAllStringSubmatch(x, -1) {
			out = append(out, m[1])
		}
	case []any:
		for _, it := range x {
			out = append(out, outputDeps(it)...)
		}
	case map[string]any:
		for _, it := range x {
			out = append(out, outputDeps(it)...)
		}
	}
	return out
}

var outputRE = regexp.MustCompile(`\$\{output ([^:}]+)::`)

func TestGraphErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"self lookup", "namespace: x\nstacks:\n  - name: a\n    class_path: a.B\n    variables:\n      V: ${output a::O}\n",
			"c.yaml:6:7: stacks[0].variables.V: Variable V in stack a has a circular reference (it looks up an output of its own stack)"},
		{"unknown lookup stack", "namespace: x\nstacks:\n  - name: a\n    class_path: a.B\n    variables:\n      V: ${output nope::O}\n",
			"c.yaml:6:7: stacks[0].variables.V: output lookup of nope, which is not a stack in this config"},
		{"cycle", "namespace: x\nstacks:\n  - name: a\n    class_path: a.B\n    requires: [b]\n  - name: b\n    class_path: a.B\n    variables:\n      V: ${output c::O}\n" +
			"  - name: c\n    class_path: a.B\n    requires: [a]\n",
			"c.yaml:3:5: stacks[0]: dependency cycle: a -> b -> c -> a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseIn("/b", "c.yaml", []byte(tt.src), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Graph(outputDeps)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Graph() = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func BenchmarkParse10k(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("namespace: bench\nstacks:\n")
	for i := range 10000 {
		fmt.Fprintf(&sb, "  - name: stack%d\n    template_path: templates/t.yaml\n    variables:\n      Vpc: ${output stack%d::VpcId}\n      Size: %d\n", i, i/2, i)
		if i > 0 {
			fmt.Fprintf(&sb, "    requires: [stack%d]\n", i-1)
		}
	}
	data := []byte(strings.ReplaceAll(sb.String(), "${output stack0::VpcId}\n      Size: 0", "x\n      Size: 0"))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		c, err := ParseIn("/b", "c.yaml", data, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Graph(outputDeps); err != nil {
			b.Fatal(err)
		}
	}
}

// Paths resolve from two bases, as in stacker: template_path and
// stack_policy_path from the working directory (then sys_path for
// templates), file:// values from the config file's directory.
func TestPathBases(t *testing.T) {
	tests := []struct {
		name, file, sysPath, template string
		dir                           string
		search                        []string
	}{
		{"config in the working directory", "stacker.yaml", "", "t.yaml", "/work", []string{"/work/t.yaml"}},
		{"config in a subdirectory", "conf/prod.yaml", "", "../templates/t.yaml", "/work/conf", []string{"/templates/t.yaml"}},
		{"absolute config", "/etc/stacker/c.yaml", "", "/srv/t.yaml", "/etc/stacker", []string{"/srv/t.yaml"}},
		{"stdin", "<stdin>", "", "t.yaml", "/work", []string{"/work/t.yaml"}},
		{"sys_path ./ adds nothing", "stacker.yaml", "./", "t.yaml", "/work", []string{"/work/t.yaml"}},
		{"sys_path searched second", "stacker.yaml", "lib", "templates/t.yaml", "/work", []string{"/work/templates/t.yaml", "/work/lib/templates/t.yaml"}},
		{"absolute sys_path", "stacker.yaml", "/opt/bp", "t.yaml", "/work", []string{"/work/t.yaml", "/opt/bp/t.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "namespace: x\nstacks:\n  - name: a\n    template_path: " + tt.template + "\n"
			if tt.sysPath != "" {
				src += "sys_path: " + tt.sysPath + "\n"
			}
			c, err := ParseIn("/work", tt.file, []byte(src), nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.Dir != tt.dir {
				t.Errorf("Dir = %q, want %q", c.Dir, tt.dir)
			}
			if got := c.TemplateSearch(tt.template); !slices.Equal(got, tt.search) {
				t.Errorf("TemplateSearch = %q, want %q", got, tt.search)
			}
			if got, want := c.FilePath("v.txt"), filepath.Join(tt.dir, "v.txt"); got != want {
				t.Errorf("FilePath = %q, want %q", got, want)
			}
			if got := c.FilePath("/abs/v.txt"); got != "/abs/v.txt" {
				t.Errorf("FilePath(abs) = %q", got)
			}
			if got := c.Path("../p.json"); got != "/p.json" {
				t.Errorf("Path(../p.json) = %q, want /p.json", got)
			}
		})
	}
}

func TestCheckStackNames(t *testing.T) {
	const rule = "CloudFormation stack names start with a letter and hold only letters, digits and hyphens, at most 128 characters"
	long := strings.Repeat("a", 126)
	stack := func(lines ...string) string {
		return "  - template_path: t.yaml\n" + strings.Join(lines, "")
	}
	tests := []struct {
		name, src string
		want      []string
	}{
		{"valid", "namespace: My.Corp\nstacks:\n" + stack("    name: vpc\n") + stack("    name: x\n    stack_name: Custom-1\n"), nil},
		{"empty namespace", "namespace: ''\nstacks:\n" + stack("    name: vpc\n"), nil},
		{"a name of 128 characters", "namespace: ab\nstacks:\n" + stack("    name: "+long[:125]+"\n"), nil},
		{"underscore, slash, NUL and length", "namespace: ns\nstacks:\n" + stack("    name: my_app\n") + stack("    name: prod/vpc\n") +
			stack("    name: ok\n    stack_name: \"a\\0b\"\n") + stack("    name: "+long+"\n"), []string{
			`stacker.yaml:4:5: stacks[0].name: stack name "ns-my_app" is not valid: ` + rule,
			`stacker.yaml:6:5: stacks[1].name: stack name "ns-prod/vpc" is not valid: ` + rule,
			`stacker.yaml:9:5: stacks[2].stack_name: stack name "ns-a\x00b" is not valid: ` + rule,
			`stacker.yaml:11:5: stacks[3].name: stack name "ns-` + long + `" is not valid: ` + rule,
		}},
		{"a digit first", "namespace: ''\nstacks:\n" + stack("    name: 1vpc\n"), []string{
			`stacker.yaml:4:5: stacks[0].name: stack name "1vpc" is not valid: ` + rule,
		}},
		{"namespace reported once", "namespace: my_corp\nstacks:\n" + stack("    name: a\n") + stack("    name: b\n"), []string{
			`stacker.yaml:1:1: namespace: stack names "my_corp-name" would not be valid: ` + rule,
		}},
		{"delimiter reported once", "namespace: corp\nnamespace_delimiter: _\nstacks:\n" + stack("    name: a\n"), []string{
			`stacker.yaml:2:1: namespace_delimiter: stack names "corp_name" would not be valid: ` + rule,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseIn("/b", "stacker.yaml", []byte(tt.src), nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			if err := c.CheckStackNames(); err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// `Key: !!str` with nothing after it is the empty string, as PyYAML reads it,
// also when an environment value rendered empty left the tag alone.
func TestEmptyStrTag(t *testing.T) {
	src := "namespace: x\nstacks:\n  - name: a\n    template_path: t.yaml\n    variables:\n" +
		"      Empty: !!str\n      FromEnv: !!str ${blank}\n      Kept: !!str 0123\n      Indented: !!str\n        continued\n" +
		"      List:\n        - !!str\n        - x\n    tags:\n      team: !!str\n"
	c, err := ParseIn("/b", "stacker.yaml", []byte(src), Environment{"blank": ""})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"Empty": "", "FromEnv": "", "Kept": "0123", "Indented": "continued", "List": []any{"", "x"}}
	if diff := cmp.Diff(want, c.Stacks[0].Variables); diff != "" {
		t.Errorf("variables (-want +got):\n%s", diff)
	}
	if got, ok := c.Stacks[0].Tags["team"]; !ok || got != "" {
		t.Errorf("tag team = %q, %v", got, ok)
	}
	if pos := c.Stacks[0].KeyPos["tags"]; pos.Line != 14 {
		t.Errorf("tags at line %d, want 14 (positions must not move)", pos.Line)
	}
}
