package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"
	"github.com/stackerless/stackerless/pkg/cfn"
	"github.com/stackerless/stackerless/pkg/runstate"
)

// defaultDeploymentStack is the master stack's name unless the app was
// deployed with context stackName.
const defaultDeploymentStack = "Stackerless"

// deploymentFlags find a deployment: the master stack, and the profile and
// region to reach it with.
type deploymentFlags struct {
	stack, profile, region string
}

func (f *deploymentFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.stack, "deployment-stack", defaultDeploymentStack, "the master stack whose outputs name the deployment's buckets and state machine")
	fl.StringVarP(&f.profile, "profile", "p", "", "AWS profile to reach the master account with")
	fl.StringVarP(&f.region, "region", "r", "", "AWS region of the deployment")
}

// deployment is what the master stack's outputs name (docs/runtime.md).
type deployment struct {
	cfg             aws.Config
	stack           string
	configBucket    string
	stateBucket     string
	templateBucket  string
	stateMachineARN string
	// configPrefix is where configs are uploaded: the ConfigPrefix output
	// when the app has one.
	configPrefix string
	s3           *s3.Client
	store        *runstate.Store
}

// resolve reads the master stack's outputs. A missing stack or output is a
// usage error (exit 2): the flags name the wrong deployment.
func (f *deploymentFlags) resolve(ctx context.Context, cmd *cobra.Command) (*deployment, error) {
	provider, err := newProvider(cmd)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	cfg, err := provider.Config(ctx, f.profile, f.region)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	out, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(f.stack)})
	if err != nil {
		if cfn.IsNotExist(err) {
			return nil, &exitError{code: 2, err: fmt.Errorf("deployment stack %s not found (deploy the master app, or name its stack with --deployment-stack): %w", f.stack, err)}
		}
		return nil, fmt.Errorf("describe deployment stack %s: %w", f.stack, err)
	}
	if len(out.Stacks) == 0 {
		return nil, &exitError{code: 2, err: fmt.Errorf("deployment stack %s not found", f.stack)}
	}
	outputs := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	d := &deployment{cfg: cfg, stack: f.stack,
		configBucket: outputs["ConfigBucket"], stateBucket: outputs["StateBucket"], templateBucket: outputs["TemplateBucket"],
		stateMachineARN: outputs["StateMachineArn"], configPrefix: outputs["ConfigPrefix"]}
	var missing []string
	for name, v := range map[string]string{"ConfigBucket": d.configBucket, "StateBucket": d.stateBucket} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, &exitError{code: 2, err: fmt.Errorf("deployment stack %s has no output %s: is it a stackerless master stack?", f.stack, strings.Join(missing, ", "))}
	}
	d.s3 = s3.NewFromConfig(cfg)
	d.store = &runstate.Store{S3: d.s3, Bucket: d.stateBucket}
	return d, nil
}

// loadRun reads a run's state; a run that does not exist is a usage error.
func (d *deployment) loadRun(ctx context.Context, runID string) (*runstate.State, error) {
	st, _, err := d.store.LoadState(ctx, runID)
	if errors.Is(err, runstate.ErrNotFound) {
		return nil, &exitError{code: 2, err: fmt.Errorf("run %s not found in s3://%s (see stackerless runs)", runID, d.stateBucket)}
	}
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", runID, err)
	}
	return st, nil
}

// deployed is a command's RunE that first finds the deployment d names.
func deployed(d *deploymentFlags, run func(ctx context.Context, cmd *cobra.Command, dep *deployment, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		dep, err := d.resolve(cmd.Context(), cmd)
		if err != nil {
			return err
		}
		return run(cmd.Context(), cmd, dep, args)
	}
}
