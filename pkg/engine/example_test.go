package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/stackerless/stackerless/pkg/awsprofile"
	"github.com/stackerless/stackerless/pkg/cfn"
	"github.com/stackerless/stackerless/pkg/deploy"
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/sandbox"
)

// printer prints stacker's status lines.
type printer struct{}

func (printer) Status(s *engine.StackState)         { fmt.Println(s) }
func (printer) Event(*engine.StackState, cfn.Event) {}
func (printer) Message(*engine.StackState, string)  {}

// Example builds two stacks, the second fed by an output of the first,
// against a local sandbox. A Driver calls Advance until the run is done,
// pausing for the poll interval in between. The run is plain JSON, so the
// serverless runtime keeps it in S3 between steps instead (pkg/handlers).
func Example() {
	ctx := context.Background()
	opts := sandbox.DefaultOptions()
	opts.Listen, opts.StackDuration = "127.0.0.1:0", 20*time.Millisecond
	sb, err := sandbox.Start(ctx, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = sb.Close() }()

	dir, err := os.MkdirTemp("", "engine-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = os.RemoveAll(dir) }()
	files := map[string]string{
		"echo.yaml": "Parameters: {In: {Type: String}}\n" +
			"Resources: {Handle: {Type: AWS::CloudFormation::WaitConditionHandle}}\n" +
			"Outputs: {Out: {Value: !Ref In}}\n",
		"stacker.yaml": "namespace: example\nstacker_bucket: ''\nstacks:\n" +
			"  - name: network\n    template_path: echo.yaml\n    variables: {In: vpc-1}\n" +
			"  - name: app\n    template_path: echo.yaml\n    variables: {In: '${output network::Out}'}\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			fmt.Println(err)
			return
		}
	}

	// The sandbox's master account stands in for the default credentials.
	creds, err := awsprofile.NewProvider("", awsprofile.WithBaseConfig(sb.AWSConfig("master")))
	if err != nil {
		fmt.Println(err)
		return
	}
	project, err := deploy.Load(deploy.Options{ConfigPath: filepath.Join(dir, "stacker.yaml"), Root: dir, AWS: creds})
	if err != nil {
		fmt.Println(err)
		return
	}
	run, err := project.Plan(engine.Build, deploy.Selection{})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Start records the run's options and checks it before anything deploys.
	if err := project.Start(ctx, run, engine.Options{}); err != nil {
		fmt.Println(err)
		return
	}
	e := &engine.Engine{Clients: project, Preparer: project, Reporter: printer{}}
	d := &engine.Driver{Engine: e, Interval: 10 * time.Millisecond}
	if err := d.Drive(ctx, run); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("app's output:", run.Stack("app").Outputs["Out"])
	fmt.Println("failed:", run.Failed())
	// Output:
	// network: submitted (creating new stack)
	// network: complete (creating new stack)
	// app: submitted (creating new stack)
	// app: complete (creating new stack)
	// app's output: vpc-1
	// failed: []
}
