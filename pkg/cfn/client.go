package cfn

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"

	"github.com/stackerless/stackerless/pkg/reqbody"
)

// ErrNoChanges is returned when CloudFormation finds nothing to update.
var ErrNoChanges = errors.New("no changes")

// Stack is the part of a CloudFormation stack a deployer reads.
type Stack struct {
	Name, ID     string
	Status       StackStatus
	StatusReason string
	Parameters   map[string]string
	Outputs      map[string]string
	// OutputKeys are the output names in CloudFormation's order.
	OutputKeys            []string
	Tags                  map[string]string
	TerminationProtection bool
	LastUpdated           time.Time
	// Created is when the stack was created.
	Created time.Time
}

// Parameter is one stack parameter; UsePrevious keeps the stack's current value.
type Parameter struct {
	Key, Value  string
	UsePrevious bool
}

// StackInput is what Create, Update and CreateChangeSet send.
type StackInput struct {
	Name                  string
	TemplateBody          string
	TemplateURL           string
	Parameters            []Parameter
	Tags                  map[string]string
	Capabilities          []string
	NotificationARNs      []string
	RoleARN               string
	StackPolicyBody       string
	TerminationProtection bool
	// Token deduplicates retries of the same call (ClientRequestToken).
	Token string
}

// ChangeSet is a described change set.
type ChangeSet struct {
	ID, Name        string
	Status          string
	StatusReason    string
	ExecutionStatus string
	Changes         []ResourceChange
}

// NoChanges reports whether CloudFormation rejected the change set for having nothing to do.
func (c *ChangeSet) NoChanges() bool {
	return c.Status == "FAILED" && (strings.Contains(c.StatusReason, "didn't contain changes") ||
		strings.Contains(c.StatusReason, "No updates are to be performed"))
}

// Ready reports whether the change set finished computing (successfully or not).
func (c *ChangeSet) Ready() bool { return c.Status == "CREATE_COMPLETE" || c.Status == "FAILED" }

// ResourceChange is one entry of a change set.
type ResourceChange struct {
	Action, LogicalID, PhysicalID, ResourceType, Replacement string
	Scope                                                    []string
	Details                                                  []ChangeDetail
}

// ChangeDetail says what changes in a resource and why.
type ChangeDetail struct {
	Attribute, Name, RequiresRecreation     string
	Evaluation, ChangeSource, CausingEntity string
}

// Event is one stack event.
type Event struct {
	ID, LogicalID, ResourceType, Status, Reason string
	Time                                        time.Time
}

// Client calls CloudFormation in one account and region.
type Client struct {
	api *cloudformation.Client
}

// New returns a Client for cfg's credentials, region, endpoint and retries.
func New(cfg aws.Config) *Client {
	return &Client{api: cloudformation.NewFromConfig(cfg, func(o *cloudformation.Options) {
		// Large responses (events, templates) must not lose their
		// connection to the SDK's request body handling.
		o.APIOptions = append(slices.Clip(o.APIOptions), reqbody.HideWriteTo)
	})}
}

// Describe returns the stack, or nil when it does not exist.
func (c *Client) Describe(ctx context.Context, name string) (*Stack, error) {
	out, err := c.api.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		if IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("describe stack %s: %w", name, err)
	}
	if len(out.Stacks) == 0 {
		return nil, nil
	}
	return toStack(out.Stacks[0]), nil
}

// Stacks returns every stack of the account and region, from
// DescribeStacks without a name read page by page (CloudFormation leaves
// deleted stacks out), and how many pages that took: one call per page, where
// Describe costs one per stack.
func (c *Client) Stacks(ctx context.Context) ([]*Stack, int, error) {
	var stacks []*Stack
	pages := 0
	p := cloudformation.NewDescribeStacksPaginator(c.api, &cloudformation.DescribeStacksInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, pages, fmt.Errorf("describe stacks: %w", err)
		}
		pages++
		for _, s := range out.Stacks {
			stacks = append(stacks, toStack(s))
		}
	}
	return stacks, pages, nil
}

func toStack(s types.Stack) *Stack {
	st := &Stack{
		Name:                  aws.ToString(s.StackName),
		ID:                    aws.ToString(s.StackId),
		Status:                StackStatus(s.StackStatus),
		StatusReason:          aws.ToString(s.StackStatusReason),
		Parameters:            map[string]string{},
		Outputs:               map[string]string{},
		Tags:                  map[string]string{},
		TerminationProtection: aws.ToBool(s.EnableTerminationProtection),
	}
	if s.CreationTime != nil {
		st.Created = *s.CreationTime
	}
	if s.LastUpdatedTime != nil {
		st.LastUpdated = *s.LastUpdatedTime
	} else if s.CreationTime != nil {
		st.LastUpdated = *s.CreationTime
	}
	for _, p := range s.Parameters {
		st.Parameters[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue)
	}
	for _, o := range s.Outputs {
		st.Outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
		st.OutputKeys = append(st.OutputKeys, aws.ToString(o.OutputKey))
	}
	for _, t := range s.Tags {
		st.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return st
}

func sdkParams(in []Parameter) []types.Parameter {
	out := make([]types.Parameter, 0, len(in))
	for _, p := range in {
		if p.UsePrevious {
			out = append(out, types.Parameter{ParameterKey: aws.String(p.Key), UsePreviousValue: aws.Bool(true)})
			continue
		}
		out = append(out, types.Parameter{ParameterKey: aws.String(p.Key), ParameterValue: aws.String(p.Value)})
	}
	return out
}

func sdkTags(in map[string]string) []types.Tag {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]types.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(in[k])})
	}
	return out
}

func sdkCapabilities(in []string) []types.Capability {
	out := make([]types.Capability, 0, len(in))
	for _, c := range in {
		out = append(out, types.Capability(c))
	}
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// Create starts creating a stack and returns its ID.
func (c *Client) Create(ctx context.Context, in StackInput) (string, error) {
	out, err := c.api.CreateStack(ctx, &cloudformation.CreateStackInput{
		StackName:                   aws.String(in.Name),
		TemplateBody:                optional(in.TemplateBody),
		TemplateURL:                 optional(in.TemplateURL),
		Parameters:                  sdkParams(in.Parameters),
		Tags:                        sdkTags(in.Tags),
		Capabilities:                sdkCapabilities(in.Capabilities),
		NotificationARNs:            in.NotificationARNs,
		RoleARN:                     optional(in.RoleARN),
		StackPolicyBody:             optional(in.StackPolicyBody),
		EnableTerminationProtection: aws.Bool(in.TerminationProtection),
		ClientRequestToken:          optional(in.Token),
	})
	if err != nil {
		return "", fmt.Errorf("create stack %s: %w", in.Name, err)
	}
	return aws.ToString(out.StackId), nil
}

// Update starts updating a stack; ErrNoChanges when there is nothing to do.
func (c *Client) Update(ctx context.Context, in StackInput) error {
	_, err := c.api.UpdateStack(ctx, &cloudformation.UpdateStackInput{
		StackName:          aws.String(in.Name),
		TemplateBody:       optional(in.TemplateBody),
		TemplateURL:        optional(in.TemplateURL),
		Parameters:         sdkParams(in.Parameters),
		Tags:               sdkTags(in.Tags),
		Capabilities:       sdkCapabilities(in.Capabilities),
		NotificationARNs:   in.NotificationARNs,
		RoleARN:            optional(in.RoleARN),
		StackPolicyBody:    optional(in.StackPolicyBody),
		ClientRequestToken: optional(in.Token),
	})
	if err != nil {
		if isNoUpdates(err) {
			return ErrNoChanges
		}
		return fmt.Errorf("update stack %s: %w", in.Name, err)
	}
	return nil
}

// Delete starts deleting a stack.
func (c *Client) Delete(ctx context.Context, name, roleARN, token string) error {
	_, err := c.api.DeleteStack(ctx, &cloudformation.DeleteStackInput{
		StackName: aws.String(name), RoleARN: optional(roleARN), ClientRequestToken: optional(token),
	})
	if err != nil {
		return fmt.Errorf("delete stack %s: %w", name, err)
	}
	return nil
}

// CreateChangeSet starts computing a change set of type CREATE or UPDATE.
func (c *Client) CreateChangeSet(ctx context.Context, in StackInput, name, changeSetType string) (string, error) {
	out, err := c.api.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{
		StackName:        aws.String(in.Name),
		ChangeSetName:    aws.String(name),
		ChangeSetType:    types.ChangeSetType(changeSetType),
		TemplateBody:     optional(in.TemplateBody),
		TemplateURL:      optional(in.TemplateURL),
		Parameters:       sdkParams(in.Parameters),
		Tags:             sdkTags(in.Tags),
		Capabilities:     sdkCapabilities(in.Capabilities),
		NotificationARNs: in.NotificationARNs,
		RoleARN:          optional(in.RoleARN),
		ClientToken:      optional(in.Token),
	})
	if err != nil {
		return "", fmt.Errorf("create change set %s for %s: %w", name, in.Name, err)
	}
	return aws.ToString(out.Id), nil
}

// DescribeChangeSet returns a change set with all its changes.
func (c *Client) DescribeChangeSet(ctx context.Context, stack, name string) (*ChangeSet, error) {
	cs := &ChangeSet{}
	var token *string
	for {
		out, err := c.api.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{
			StackName: aws.String(stack), ChangeSetName: aws.String(name), NextToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("describe change set %s of %s: %w", name, stack, err)
		}
		cs.ID, cs.Name = aws.ToString(out.ChangeSetId), aws.ToString(out.ChangeSetName)
		cs.Status, cs.StatusReason = string(out.Status), aws.ToString(out.StatusReason)
		cs.ExecutionStatus = string(out.ExecutionStatus)
		for _, ch := range out.Changes {
			rc := ch.ResourceChange
			if rc == nil {
				continue
			}
			change := ResourceChange{
				Action: string(rc.Action), LogicalID: aws.ToString(rc.LogicalResourceId),
				PhysicalID: aws.ToString(rc.PhysicalResourceId), ResourceType: aws.ToString(rc.ResourceType),
				Replacement: string(rc.Replacement),
			}
			for _, s := range rc.Scope {
				change.Scope = append(change.Scope, string(s))
			}
			for _, d := range rc.Details {
				detail := ChangeDetail{Evaluation: string(d.Evaluation), ChangeSource: string(d.ChangeSource), CausingEntity: aws.ToString(d.CausingEntity)}
				if d.Target != nil {
					detail.Attribute, detail.Name = string(d.Target.Attribute), aws.ToString(d.Target.Name)
					detail.RequiresRecreation = string(d.Target.RequiresRecreation)
				}
				change.Details = append(change.Details, detail)
			}
			cs.Changes = append(cs.Changes, change)
		}
		if out.NextToken == nil {
			return cs, nil
		}
		token = out.NextToken
	}
}

// ExecuteChangeSet starts executing a computed change set.
func (c *Client) ExecuteChangeSet(ctx context.Context, stack, name, token string) error {
	_, err := c.api.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{
		StackName: aws.String(stack), ChangeSetName: aws.String(name), ClientRequestToken: optional(token),
	})
	if err != nil {
		return fmt.Errorf("execute change set %s of %s: %w", name, stack, err)
	}
	return nil
}

// DeleteChangeSet removes a change set; one that is already gone is not an error.
func (c *Client) DeleteChangeSet(ctx context.Context, stack, name string) error {
	_, err := c.api.DeleteChangeSet(ctx, &cloudformation.DeleteChangeSetInput{
		StackName: aws.String(stack), ChangeSetName: aws.String(name),
	})
	if err != nil && !IsNotExist(err) && !hasCode(err, "ChangeSetNotFound") {
		return fmt.Errorf("delete change set %s of %s: %w", name, stack, err)
	}
	return nil
}

// Events returns the stack's events newer than since, oldest first.
func (c *Client) Events(ctx context.Context, stack string, since time.Time) ([]Event, error) {
	var events []Event
	p := cloudformation.NewDescribeStackEventsPaginator(c.api, &cloudformation.DescribeStackEventsInput{StackName: aws.String(stack)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe events of %s: %w", stack, err)
		}
		done := false
		for _, e := range out.StackEvents {
			ts := aws.ToTime(e.Timestamp)
			if !ts.After(since) {
				done = true // newest first: the rest is older
				break
			}
			events = append(events, Event{
				ID: aws.ToString(e.EventId), LogicalID: aws.ToString(e.LogicalResourceId),
				ResourceType: aws.ToString(e.ResourceType), Status: string(e.ResourceStatus),
				Reason: aws.ToString(e.ResourceStatusReason), Time: ts,
			})
		}
		if done {
			break
		}
	}
	for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
		events[i], events[j] = events[j], events[i]
	}
	return events, nil
}

// Template returns the stack's current template body.
func (c *Client) Template(ctx context.Context, stack string) (string, error) {
	out, err := c.api.GetTemplate(ctx, &cloudformation.GetTemplateInput{StackName: aws.String(stack)})
	if err != nil {
		return "", fmt.Errorf("get template of %s: %w", stack, err)
	}
	return aws.ToString(out.TemplateBody), nil
}

// ContinueUpdateRollback resumes a rollback that failed (UPDATE_ROLLBACK_FAILED).
func (c *Client) ContinueUpdateRollback(ctx context.Context, stack, roleARN, token string) error {
	_, err := c.api.ContinueUpdateRollback(ctx, &cloudformation.ContinueUpdateRollbackInput{
		StackName: aws.String(stack), RoleARN: optional(roleARN), ClientRequestToken: optional(token),
	})
	if err != nil {
		return fmt.Errorf("continue update rollback of %s: %w", stack, err)
	}
	return nil
}

// SetStackPolicy replaces the stack policy; change sets cannot carry one.
func (c *Client) SetStackPolicy(ctx context.Context, stack, body string) error {
	_, err := c.api.SetStackPolicy(ctx, &cloudformation.SetStackPolicyInput{StackName: aws.String(stack), StackPolicyBody: aws.String(body)})
	if err != nil {
		return fmt.Errorf("set stack policy of %s: %w", stack, err)
	}
	return nil
}

// SetTerminationProtection turns termination protection on or off.
func (c *Client) SetTerminationProtection(ctx context.Context, stack string, on bool) error {
	_, err := c.api.UpdateTerminationProtection(ctx, &cloudformation.UpdateTerminationProtectionInput{
		StackName: aws.String(stack), EnableTerminationProtection: aws.Bool(on),
	})
	if err != nil {
		return fmt.Errorf("set termination protection of %s: %w", stack, err)
	}
	return nil
}

// IsNotExist reports whether err says the stack (or change set) does not exist.
func IsNotExist(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "ValidationError" &&
		strings.Contains(apiErr.ErrorMessage(), "does not exist")
}

func isNoUpdates(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && strings.Contains(apiErr.ErrorMessage(), "No updates are to be performed")
}

func hasCode(err error, code string) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == code
}
