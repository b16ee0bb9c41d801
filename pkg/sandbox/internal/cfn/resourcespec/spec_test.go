package resourcespec

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The embedded table parses, its body matches the digest in its header (the
// generator wrote it, nobody edited it), and it comes from the package version
// and tarball the go:generate line pins, so a changed pin without a rerun of
// the generator fails here.
func TestTableMatchesGenerateDirective(t *testing.T) {
	tb, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("spec.go")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^//go:generate go run \./gen -version (\S+) -integrity (\S+) -o types\.tsv\.gz$`).FindSubmatch(src)
	if m == nil {
		t.Fatal("no go:generate directive in spec.go")
	}
	if tb.Package != "@aws-cdk/aws-service-spec" || tb.Version != string(m[1]) || tb.Integrity != string(m[2]) {
		t.Errorf("table from %s %s %s, go:generate pins %s %s", tb.Package, tb.Version, tb.Integrity, m[1], m[2])
	}
	// The data carries about 1,800 types; far fewer means a broken generator.
	if tb.Len() < 1500 {
		t.Errorf("only %d types", tb.Len())
	}
}

func TestParseRefusesEditedTable(t *testing.T) {
	data := gunzipTable(t)
	edited := strings.Replace(data, "AWS::ECR::Repository\t", "AWS::ECR::Repositories\t", 1)
	if _, err := parse(gzipText(t, edited)); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("edited table: %v", err)
	}
	if _, err := parse([]byte("not gzip")); err == nil {
		t.Error("garbage parsed")
	}
}

func TestKnownTypes(t *testing.T) {
	tb, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	ecr, ok := tb.Lookup("AWS::ECR::Repository")
	if !ok {
		t.Fatal("AWS::ECR::Repository unknown")
	}
	if ecr.ARN != "arn:${Partition}:ecr:${Region}:${Account}:repository/${RepositoryName}" || !cmp.Equal(ecr.RefIDs, []string{"RepositoryName"}) {
		t.Errorf("ECR repository = %+v", ecr)
	}
	for _, tc := range []struct {
		typ, attr string
		kind      Kind
		ok        bool
	}{
		{"AWS::ECR::Repository", "Arn", String, true},
		{"AWS::ECR::Repository", "RepositoryUri", String, true},
		{"AWS::ECR::Repository", "RepositoryName", 0, false},
		{"AWS::RDS::DBInstance", "Endpoint.Address", String, true},
		{"AWS::RDS::DBInstance", "Endpoint", Struct, true},
		{"AWS::EC2::VPC", "CidrBlockAssociations", List, true},
		{"AWS::CloudFormation::Stack", "Outputs.VpcId", String, true}, // a member of a list attribute
		{"AWS::CloudFormation::CustomResource", "Anything", String, true},
		{"Custom::Seeder", "Anything", String, true},
		{"AWS::S3::Bucket", "Nope", 0, false},
	} {
		typ, ok := tb.Lookup(tc.typ)
		if !ok {
			t.Errorf("%s unknown", tc.typ)
			continue
		}
		a, ok := typ.Attribute(tc.attr)
		if ok != tc.ok || ok && a.Kind != tc.kind {
			t.Errorf("%s.%s = %+v, %v; want kind %v, %v", tc.typ, tc.attr, a, ok, tc.kind, tc.ok)
		}
	}
	for name, want := range map[string]bool{
		"AWS::CDK::Metadata":        true, // in every CDK template, not in the data
		"Custom::My-Resource_1@x":   true,
		"Custom::":                  false,
		"Custom::bad name":          false,
		"AWS::Foo::Bar":             false,
		"AWS::Serverless::Function": false, // only with its transform
		"AWS::SQS::Queue":           true,
	} {
		if _, ok := tb.Lookup(name); ok != want {
			t.Errorf("Lookup(%q) = %v, want %v", name, ok, want)
		}
	}
	if p := tb.ServiceARNPrefix("AWS::ECR"); p != "arn:${Partition}:ecr:${Region}:${Account}:" {
		t.Errorf("ECR prefix %q", p)
	}
	if p := tb.ServiceARNPrefix("AWS::IAM"); p != "arn:${Partition}:iam::${Account}:" {
		t.Errorf("IAM prefix %q", p)
	}
}

// BenchmarkLoad measures reading the embedded table, which the first stack
// operation of a sandbox pays once.
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parse(tableGz); err != nil {
			b.Fatal(err)
		}
	}
}

// Stacks of many sandboxes look types up at once; the first lookup of a type
// builds it once for all.
func TestConcurrentLookup(t *testing.T) {
	tb, err := parse(tableGz)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *Type, 8)
	for range 8 {
		go func() {
			typ, _ := tb.Lookup("AWS::SQS::Queue")
			got <- typ
		}()
	}
	first := <-got
	for range 7 {
		if typ := <-got; typ != first {
			t.Fatal("two Types built for one name")
		}
	}
	if _, ok := first.Attribute("QueueUrl"); !ok {
		t.Errorf("queue attributes %+v", first.Attrs)
	}
}
