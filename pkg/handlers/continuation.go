package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"

	"github.com/stackerless/stackerless/pkg/runstate"
)

// Starter is the part of the Step Functions API a continuation uses.
type Starter interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, opts ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// ContinueInput is the run reference of an execution that nears Step
// Functions' history limit, and its state machine.
type ContinueInput struct {
	Reference
	StateMachineARN string `json:"state_machine_arn"`
}

// ContinueOutput ends the old execution: where the run goes on.
type ContinueOutput struct {
	RunID       string `json:"run_id"`
	Status      string `json:"status"`
	Steps       int    `json:"steps"`
	ContinuedIn string `json:"continued_in"`
}

// StatusContinued is ContinueOutput's status.
const StatusContinued = "continued"

// Continuation is a continued execution's input: {"continue": <ref>}.
type Continuation struct {
	Continue ContinuedRef `json:"continue"`
}

// ContinuedRef is the run reference a continued execution resumes from.
type ContinuedRef struct {
	RunID    string `json:"run_id"`
	StateKey string `json:"state_key"`
	Steps    int    `json:"steps"`
	// From is the execution that handed the run over.
	From string `json:"continued_from"`
}

// Continue hands a run to a new execution of the same state machine before
// the old one reaches 25,000 history events: it starts the new execution
// (named for the run and its step, so a retried Continue finds it instead
// of starting a second), then moves the config's lock to it with If-Match.
// The old execution is still running meanwhile, so nobody can take the
// lock over as stale in between.
type Continue struct {
	Store      *runstate.Store
	Executions Starter
	Log        *slog.Logger
}

// Handle continues the run in ref. Its errors are the contract's types,
// unwrapped.
func (h *Continue) Handle(ctx context.Context, in ContinueInput) (*ContinueOutput, error) {
	out, err := h.handle(ctx, in)
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err != nil {
		err = classify(err)
		log.ErrorContext(ctx, "continue failed", "run_id", in.RunID, "error_type", fmt.Sprintf("%T", err), "error", err.Error())
		return nil, err
	}
	log.InfoContext(ctx, "continued", "run_id", out.RunID, "steps", out.Steps, "continued_in", out.ContinuedIn)
	return out, nil
}

func (h *Continue) handle(ctx context.Context, in ContinueInput) (*ContinueOutput, error) {
	if in.RunID == "" || in.StateMachineARN == "" {
		return nil, &ConfigError{Err: errors.New("continue: the input names no run_id or state_machine_arn")}
	}
	st, _, err := h.Store.LoadState(ctx, in.RunID)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(Continuation{Continue: ContinuedRef{
		RunID: in.RunID, StateKey: runstate.StateKey(in.RunID), Steps: in.Steps, From: in.ExecutionARN,
	}})
	if err != nil {
		return nil, fmt.Errorf("continue %s: %w", in.RunID, err)
	}
	arn, err := h.start(ctx, in.StateMachineARN, ContinuationName(in.RunID, in.Steps), string(body))
	if err != nil {
		return nil, fmt.Errorf("continue %s: %w", in.RunID, err)
	}
	if st.LockKey != "" {
		// A lock already gone was released by the new execution's Report:
		// the run has ended there.
		if err := h.Store.Handover(ctx, st.LockKey, in.RunID, arn); err != nil && !errors.Is(err, runstate.ErrNotFound) {
			return nil, err
		}
	}
	return &ContinueOutput{RunID: in.RunID, Status: StatusContinued, Steps: in.Steps, ContinuedIn: arn}, nil
}

// ContinuationName is the name of the execution that continues run at step
// steps: one per hand-over, whatever the retries.
func ContinuationName(runID string, steps int) string {
	return runID + "-at-" + strconv.Itoa(steps)
}

// start starts the named execution, or finds the one an earlier attempt
// started: StartExecution returns a running one with the same input, and
// says ExecutionAlreadyExists once it has ended.
func (h *Continue) start(ctx context.Context, machine, name, input string) (string, error) {
	out, err := h.Executions.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(machine), Name: aws.String(name), Input: aws.String(input),
	})
	if err == nil {
		return aws.ToString(out.ExecutionArn), nil
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ExecutionAlreadyExists" {
		return "", fmt.Errorf("start execution %s: %w", name, err)
	}
	arn := strings.Replace(machine, ":stateMachine:", ":execution:", 1) + ":" + name
	desc, derr := h.Executions.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if derr != nil {
		return "", fmt.Errorf("describe execution %s: %w", arn, derr)
	}
	if aws.ToString(desc.Input) != input {
		return "", fmt.Errorf("start execution %s: %w (with another input)", name, err)
	}
	return arn, nil
}
