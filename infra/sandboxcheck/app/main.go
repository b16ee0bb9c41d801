// Command app synthesizes the sandbox check stack (stack.go); the CDK CLI
// runs it as its --app. SANDBOXCHECK_HANDLER_DIR names the directory holding the
// Lambda's bootstrap, built for the architecture this app was built for.
package main

import (
	"fmt"
	"os"
	"runtime"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	dir := os.Getenv("SANDBOXCHECK_HANDLER_DIR")
	if dir == "" {
		fmt.Fprintln(os.Stderr, "SANDBOXCHECK_HANDLER_DIR must name the directory holding the Lambda's bootstrap")
		os.Exit(2)
	}
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	arch := awslambda.Architecture_X86_64()
	if runtime.GOARCH == "arm64" {
		arch = awslambda.Architecture_ARM_64()
	}
	NewStack(app, "SandboxCheck", &StackProps{HandlerDir: dir, Architecture: arch})
	app.Synth(nil)
}
