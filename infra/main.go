// Command infra is the CDK app that deploys stackerless into the master
// account (package master). The CDK CLI runs it (cdk.json); it reads one
// settings file, named by the context value "settings" or by
// STACKERLESS_SETTINGS (default settings.json), and refuses to synthesise
// when a setting is wrong.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/stackerless/stackerless/infra/master"
	"github.com/stackerless/stackerless/infra/nag"
)

func main() {
	os.Exit(run())
}

func run() int {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	// cdk-nag's AwsSolutions rules check every stack of the app at synth.
	nag.Apply(app)
	path := contextString(app, "settings", os.Getenv("STACKERLESS_SETTINGS"), "settings.json")
	s, err := master.LoadSettings(path)
	if err == nil {
		if verr := s.Validate(); verr != nil {
			err = fmt.Errorf("settings %s:\n%w", path, verr)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	name := contextString(app, "stackName", os.Getenv("STACKERLESS_STACK_NAME"), master.DefaultStackName)
	master.NewStack(app, name, &master.StackProps{
		StackProps: awscdk.StackProps{Description: jsii.String("stackerless: deploys stacker configs from the config bucket")},
		Settings:   s,
	})
	app.Synth(nil)
	return 0
}

// contextString is the CDK context value key (cdk -c key=value), else env,
// else def.
func contextString(app awscdk.App, key, env, def string) string {
	if v, ok := app.Node().TryGetContext(jsii.String(key)).(string); ok && v != "" {
		return v
	}
	if env != "" {
		return env
	}
	return def
}
