package lookup_test

import (
	"context"
	"fmt"
	"testing/fstest"

	"github.com/stackerless/stackerless/pkg/lookup"
)

func ExampleParse() {
	e, err := lookup.Parse("${split ,::${output vpc::PrivateSubnets}}")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range e.Lookups() {
		fmt.Printf("%s %q\n", l.Type, l.Input)
	}

	_, err = lookup.Parse("${outptu vpc::VpcId}")
	fmt.Println(err)
	// Output:
	// split ",::${output vpc::PrivateSubnets}"
	// output "vpc::PrivateSubnets"
	// Unknown lookup type: "outptu" in "${outptu vpc::VpcId}"
}

func ExampleDependencies() {
	vars := map[string]any{
		"VpcId":   "${output vpc::VpcId}",
		"Subnets": "${split ,::${output vpc::PrivateSubnets}}",
		"DbUrl":   "postgres://${output db::Host}/app",
		"Shared":  "${xref corp-dns::ZoneId}", // outside this config: no dependency
	}
	fmt.Println(lookup.Dependencies(vars))
	// Output: [db vpc]
}

// outputs is a stand-in for the engine's OutputReader.
type outputs map[string]map[string]string

func (o outputs) Outputs(_ context.Context, profile, region, stack string) (map[string]string, error) {
	outs, ok := o[stack]
	if !ok {
		return nil, lookup.ErrStackNotFound
	}
	return outs, nil
}

func ExampleResolve() {
	reg := lookup.NewRegistry(lookup.Options{
		Stacks: func(name string) (lookup.StackRef, bool) {
			return lookup.StackRef{FQN: "acme-" + name, Profile: "prod", Region: "us-east-1"}, true
		},
		Outputs:     outputs{"acme-vpc": {"PrivateSubnets": "subnet-a,subnet-b", "VpcId": "vpc-1"}},
		Environment: map[string]any{"environment": "prod"},
		Files:       fstest.MapFS{"userdata.sh": {Data: []byte("sync s3://{{Bucket}}/x")}},
	})
	consumer := lookup.Consumer{Stack: "app", Profile: "prod", Region: "us-east-1"}
	vars := map[string]any{
		"Subnets":  "${split ,::${output vpc::PrivateSubnets}}",
		"Name":     "app-${default environment::dev}-${output vpc::VpcId}",
		"UserData": "${file parameterized:file://userdata.sh}",
	}
	got, err := lookup.ResolveVariables(context.Background(), vars, reg, consumer)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%#v\n", got["Subnets"])
	fmt.Println(got["Name"])
	fmt.Println(got["UserData"])

	_, err = lookup.Resolve(context.Background(), "${output vpc::Nope}", reg, consumer)
	fmt.Println(err)
	// Output:
	// []string{"subnet-a", "subnet-b"}
	// app-prod-vpc-1
	// map[Fn::Join:[ [sync s3:// map[Ref:Bucket] /x]]]
	// Couldn't resolve lookup ${output vpc::Nope}: Output Nope does not exist on stack acme-vpc
}
