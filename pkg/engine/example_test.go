package engine_test

import (
	"context"
	"encoding/json"
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
// against a local sandbox. The driver loop is the whole contract: call
// Advance until the run is done, pausing for the poll interval in between.
// The run is plain JSON, so a serverless driver keeps it in S3 between steps.
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
	e := &engine.Engine{Clients: project, Preparer: project, Reporter: printer{}}
	for !run.Done {
		// An error is transient (throttling, network): the run is
		// unchanged and the same step can be tried again.
		if err := e.Advance(ctx, run); err == nil {
			state, _ := json.Marshal(run) // what a Lambda would save
			run = &engine.Run{}
			_ = json.Unmarshal(state, run)
		}
		time.Sleep(10 * time.Millisecond)
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
