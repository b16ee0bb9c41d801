// Package cfn is the local sandbox's CloudFormation: the Query/XML API, stacks
// per (account, region) with asynchronous status transitions, change sets,
// events, outputs and exports, stack policies, termination protection, and the
// resource providers that create real sandbox resources (IAM roles, S3 buckets,
// SSM parameters) or plausible physical IDs for the rest. Operations act as
// the caller, or as the stack's service role (RoleARN): naming one takes the
// caller's iam:PassRole, and the role must trust cloudformation.amazonaws.com.
//
// Fault hook: when Options.Faults reports a stack failure for a stack, the first
// resource action of each create or update of that stack fails with the given
// reason. A reason starting with RollbackFailurePrefix also makes the rollback
// fail, so the stack ends in ROLLBACK_FAILED (create) or UPDATE_ROLLBACK_FAILED
// (update), from which ContinueUpdateRollback recovers.
package cfn

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/iam"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/s3"
)

// Namespace is the XML namespace of CloudFormation responses.
const Namespace = "http://cloudformation.amazonaws.com/doc/2010-05-15/"

// RollbackFailurePrefix, at the start of an injected stack failure reason, makes
// the rollback that follows the failure fail too.
const RollbackFailurePrefix = "ROLLBACK_FAILED:"

// maxRequestBody bounds what the service reads of a request: a TemplateBody of
// 51,200 bytes URL-encoded plus the other parameters fits well within it.
const maxRequestBody = 2 << 20

// IAMStore is what the AWS::IAM::* providers need from the sandbox's IAM.
type IAMStore interface {
	CreateRole(account string, spec iam.RoleSpec) (arn, roleID string, err error)
	UpdateRole(account string, spec iam.RoleSpec) error
	DeleteRole(account, name string) error
	PutRolePolicy(account, role, policyName, document string) error
	DeleteRolePolicy(account, role, policyName string) error
	CreatePolicy(account, name, path, document string) (arn string, err error)
	UpdatePolicy(account, arn, document string) error
	DeletePolicy(account, arn string) error
	AttachRolePolicy(account, role, policyARN string) error
	DetachRolePolicy(account, role, policyARN string) error
}

// BucketStore is what the AWS::S3::* providers and TemplateURL need from the sandbox's S3.
type BucketStore interface {
	CreateBucketFor(account, region, name string, settings s3.BucketSettings) error
	UpdateBucketSettings(account, name string, settings s3.BucketSettings) error
	DeleteBucketFor(account, name string) error
	SetBucketPolicy(account, name, policy string) error
	ReadObject(call *awsapi.Call, bucket, key, versionID string) ([]byte, error)
}

// ParameterStore is what AWS::SSM::Parameter and SSM parameter types need from the sandbox's SSM.
type ParameterStore interface {
	PutParameterFor(account, region, name, typ, value, description string, overwrite bool) (version int64, err error)
	DeleteParameterFor(account, region, name string) error
	GetParameterFor(account, region, name string) (value, typ string, err error)
}

// Keys is what AWS::KMS::Key needs from the sandbox's KMS.
type Keys interface {
	CreateKeyFor(account, region, description, keyPolicy string, rotation bool) (id, arn string, err error)
	UpdateKeyFor(arn, description, keyPolicy string, rotation bool) error
	ScheduleDeletionFor(arn string, days int) error
	// AuthorizeKey decides an action on a key through its key policy.
	AuthorizeKey(call *awsapi.Call, action, arn string) error
	// CheckLockout refuses a key policy that would lock the caller out.
	CheckLockout(call *awsapi.Call, account, region, keyPolicy string) error
}

// StateMachines is what AWS::StepFunctions::StateMachine needs from the
// sandbox's Step Functions: its API actions, performed as a caller.
type StateMachines interface {
	Do(ctx context.Context, call *awsapi.Call, action string, input any) (map[string]any, error)
}

// EventBuses is what AWS::Events::Rule and AWS::Events::EventBus need from
// the sandbox's EventBridge: its API actions, performed as a caller.
type EventBuses interface {
	Do(call *awsapi.Call, action string, input any) (map[string]any, error)
}

// FaultSource injects stack failures by stack name.
type FaultSource interface {
	StackFailure(stackName string) (reason string, ok bool)
}

// Options configure a Service. Authorizer is required; the stores may be nil, in
// which case the resources that need them fail to create.
type Options struct {
	Authorizer awsapi.Authorizer
	IAM        IAMStore
	S3         BucketStore
	SSM        ParameterStore
	Lambda     LambdaStore
	Logs       LogStore
	Faults     FaultSource
	// Roles lets stack operations run as a service role (RoleARN); without
	// it every RoleARN is refused.
	Roles ServiceRoles
	// StepFunctions backs AWS::StepFunctions::StateMachine; without it they are generic resources.
	StepFunctions StateMachines
	// Events backs AWS::Events::Rule and AWS::Events::EventBus; without it they are generic resources.
	Events EventBuses
	// Scheduler backs AWS::Scheduler::Schedule and ScheduleGroup; without it they are generic resources.
	Scheduler Schedules
	// KMS backs AWS::KMS::Key; without it keys are generic resources.
	KMS Keys
	// StackDuration is how long one stack operation takes (default 2s); the tag
	// sandbox:duration overrides it per stack.
	StackDuration time.Duration
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// DurationTag is the stack tag that overrides Options.StackDuration.
const DurationTag = "sandbox:duration"

// Service is the CloudFormation Query API; it implements http.Handler.
type Service struct {
	opts     Options
	now      func() time.Time
	pageSize int

	mu      sync.Mutex
	regions map[regionKey]*region
	closed  bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

type regionKey struct{ account, region string }

// New returns a CloudFormation service with no stacks.
func New(opts Options) *Service {
	if opts.StackDuration <= 0 {
		opts.StackDuration = 2 * time.Second
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Service{opts: opts, now: now, pageSize: 100, regions: map[regionKey]*region{}, stop: make(chan struct{})}
}

// Close stops the running stack operations and waits for their goroutines.
// Stacks stay in whatever status they had reached.
func (s *Service) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.stop)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

type handler func(s *Service, call *awsapi.Call, f awsapi.Form) (any, error)

var handlers = map[string]handler{
	"CreateStack":                 (*Service).createStack,
	"UpdateStack":                 (*Service).updateStack,
	"DeleteStack":                 (*Service).deleteStack,
	"DescribeStacks":              (*Service).describeStacks,
	"ListStacks":                  (*Service).listStacks,
	"DescribeStackEvents":         onStack((*region).mustLookup, (*Service).describeStackEvents),
	"DescribeStackResources":      (*Service).describeStackResources,
	"DescribeStackResource":       onStack((*region).mustLookup, (*Service).describeStackResource),
	"ListStackResources":          onStack((*region).mustLookup, (*Service).listStackResources),
	"GetTemplate":                 (*Service).getTemplate,
	"GetTemplateSummary":          (*Service).getTemplateSummary,
	"ValidateTemplate":            (*Service).validateTemplate,
	"CreateChangeSet":             (*Service).createChangeSet,
	"DescribeChangeSet":           onChangeSet((*Service).describeChangeSet),
	"ExecuteChangeSet":            (*Service).executeChangeSet,
	"DeleteChangeSet":             onChangeSet((*Service).deleteChangeSet),
	"ListChangeSets":              onStack((*region).mustLookup, (*Service).listChangeSets),
	"UpdateTerminationProtection": (*Service).updateTerminationProtection,
	"SetStackPolicy":              (*Service).setStackPolicy,
	"GetStackPolicy":              onStack((*region).mustLookup, (*Service).getStackPolicy),
	"ListExports":                 (*Service).listExports,
	"ListImports":                 (*Service).listImports,
	"CancelUpdateStack":           onStack((*region).live, (*Service).cancelUpdateStack),
	"ContinueUpdateRollback":      (*Service).continueUpdateRollback,
}

// onStack serves an action on the one stack a request names (StackName): it
// authorizes the call on that stack and, holding s.mu, finds the stack with find
// (mustLookup, which finds deleted stacks by ID too, or live) before running it.
func onStack(find func(r *region, nameOrID string) (*stack, error), action func(s *Service, call *awsapi.Call, f awsapi.Form, st *stack) (any, error)) handler {
	return func(s *Service, call *awsapi.Call, f awsapi.Form) (any, error) {
		name := f.Get("StackName")
		if err := s.authorize(call, name); err != nil {
			return nil, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		st, err := find(s.regionFor(call), name)
		if err != nil {
			return nil, err
		}
		return action(s, call, f, st)
	}
}

// onChangeSet serves an action on the change set a request names
// (ChangeSetName, with StackName when it is not an ARN), as onStack does.
func onChangeSet(action func(s *Service, call *awsapi.Call, f awsapi.Form, st *stack, cs *changeSet) (any, error)) handler {
	return func(s *Service, call *awsapi.Call, f awsapi.Form) (any, error) {
		if err := s.authorize(call, f.Get("StackName")); err != nil {
			return nil, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		st, cs, err := s.regionFor(call).findChangeSet(f.Get("ChangeSetName"), f.Get("StackName"))
		if err != nil {
			return nil, err
		}
		return action(s, call, f, st, cs)
	}
}

// ServeHTTP serves one authenticated CloudFormation Query request.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	awsapi.ServeQuery(w, r, Namespace, "2010-05-15", maxRequestBody, func(action string) (awsapi.QueryHandler, bool) {
		h, ok := handlers[action]
		if !ok {
			return nil, false
		}
		return func(call *awsapi.Call, form awsapi.Form) (any, error) {
			if err := checkListIndexes(form); err != nil {
				return nil, err
			}
			return h(s, call, form)
		}, true
	})
}

// stackARNPattern is the resource ARN CloudFormation actions are authorized on.
func stackResourceARN(call *awsapi.Call, name string) string {
	if name == "" {
		return "*"
	}
	if strings.HasPrefix(name, "arn:") {
		if n, _, ok := parseStackID(name); ok {
			name = n
		}
	}
	return "arn:aws:cloudformation:" + call.Region + ":" + call.Caller.Account + ":stack/" + name + "/*"
}

// authorize checks cloudformation:<Action> for the call on the named stack ("" = any).
func (s *Service) authorize(call *awsapi.Call, stackName string) error {
	if s.opts.Authorizer == nil {
		return nil
	}
	return s.opts.Authorizer.Authorize(call, "cloudformation:"+call.Action, awsapi.Resource{ARN: stackResourceARN(call, stackName), Account: call.Caller.Account}, nil)
}

// regionFor returns the stacks of the call's account and region, creating the set.
// s.mu must be held.
func (s *Service) regionFor(call *awsapi.Call) *region {
	k := regionKey{call.Caller.Account, call.Region}
	r := s.regions[k]
	if r == nil {
		r = newRegion(call.Caller.Account, call.Region)
		s.regions[k] = r
	}
	return r
}
