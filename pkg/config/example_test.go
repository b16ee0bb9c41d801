package config_test

import (
	"fmt"
	"os"

	"github.com/stackerless/stackerless/pkg/config"
)

func Example() {
	env, err := config.ParseEnvironment("prod.env", []byte("namespace: prod\ncidr: 10.0.0.0/16\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := env.Set("cidr=10.1.0.0/16"); err != nil { // -e cidr=10.1.0.0/16
		fmt.Println(err)
		return
	}
	src := `
namespace: ${namespace}
stacks:
  - name: vpc
    template_path: templates/vpc.yaml
    variables:
      CidrBlock: ${cidr}
  - name: app
    template_path: templates/app.yaml
    variables:
      VpcId: ${output vpc::VpcId}
`
	c, err := config.ParseIn("/bundle", "stacker.yaml", []byte(src), env)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range c.Stacks {
		fmt.Println(s.Name, "->", s.CFNName(c), s.Variables)
	}
	fmt.Println("bucket:", c.BucketName(), "tags:", c.StackTags())
	// Output:
	// vpc -> prod-vpc map[CidrBlock:10.1.0.0/16]
	// app -> prod-app map[VpcId:${output vpc::VpcId}]
	// bucket: stacker-prod tags: map[stacker_namespace:prod]
}

func ExampleErrors() {
	src := `namespace: test
stacks:
  - name: vpc
    class_path: stacker_blueprints.vpc.VPC
    template_path: templates/vpc.yaml
  - name: app
    template_path: ../elsewhere/app.yaml
    requires: [db]
  - name: data
    stack_name: db_main
    template_path: db.yaml
`
	c, err := config.ParseIn("/bundle", "stacker.yaml", []byte(src), nil)
	fmt.Println(err)
	// Names are checked apart: stacker's graph command does not need them.
	fmt.Println(c.CheckStackNames())
	// Output:
	// stacker.yaml:5:5: stacks[0].template_path: class_path cannot be present when template_path is provided.
	// stacker.yaml:8:16: stacks[1].requires[0]: db is not a stack or target in this config
	// stacker.yaml:10:5: stacks[2].stack_name: stack name "test-db_main" is not valid: CloudFormation stack names start with a letter and hold only letters, digits and hyphens, at most 128 characters
}

func ExampleConfig_Graph() {
	src := `namespace: test
stacks:
  - name: vpc
    template_path: vpc.yaml
  - name: app
    template_path: app.yaml
    requires: [vpc]
`
	c, err := config.ParseIn("/bundle", "stacker.yaml", []byte(src), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Pass lookup.Dependencies to add the edges output lookups imply.
	g, err := c.Graph(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = g.JSON(os.Stdout)
	// Output:
	// {
	//     "steps": {
	//         "vpc": {
	//             "deps": []
	//         },
	//         "app": {
	//             "deps": [
	//                 "vpc"
	//             ]
	//         }
	//     }
	// }
}
