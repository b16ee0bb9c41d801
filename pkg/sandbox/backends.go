package sandbox

import (
	"strings"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/asl"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/cfn"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/events"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/iam"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/kms"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/lambda"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/logs"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/s3"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/scheduler"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/sfn"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/ssm"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/sts"
)

// backends wires the service packages together.
type backends struct {
	services services
	keys     keyring
	rootKeys func(account string) (akid, secret string)
	close    func()
	ssm      *ssm.Service
	kms      *kms.Service
	events   *events.Service
	sfn      *sfn.Service
	logs     *logs.Service
	lambda   *lambda.Service
	// scheduler is EventBridge Scheduler.
	scheduler *scheduler.Service
}

func newBackends(s *Sandbox) *backends {
	b := &backends{services: services{}, close: func() {}}

	accts := make([]iam.Account, 0, len(s.opts.Accounts))
	for _, a := range s.opts.Accounts {
		accts = append(accts, iam.Account{Name: a.Name, ID: a.ID})
	}
	store := iam.NewStore(iam.Options{Accounts: accts, OrgID: s.opts.OrgID, Now: s.opts.Now})
	// The identity store issues every key and authorizes every call.
	var authz awsapi.Authorizer = store
	b.keys = storeKeyring{store}
	b.rootKeys = store.RootKeys
	b.services.add(sts.Descriptor, sts.New(store))
	b.services.add(iam.Descriptor, iam.NewAPI(store))

	b.kms = kms.New(authz, s.opts.Now)
	b.services.add(kms.Descriptor, b.kms)
	s3svc := s3.New(s3.Options{Authorizer: authz, KMS: b.kms, Notify: func(ev s3.ObjectCreated) {
		if ev.EventBridge {
			publishToEventBridge(b.events, ev)
		}
		s.publishObjectCreated(ev)
	}})
	b.services.add(s3.Descriptor, s3svc)
	b.ssm = ssm.New(authz)
	b.services.add(ssm.Descriptor, b.ssm)
	b.logs = logs.New(authz, s.opts.Now)
	b.services.add(logs.Descriptor, b.logs)
	b.lambda = lambda.New(lambda.Options{Authorizer: authz, Roles: store, Code: s3svc, Logs: b.logs, Faults: s.faults,
		Endpoint: s.httpsURL, CAFile: s.caFile, StateDelay: s.opts.LambdaStateDelay, Logger: s.opts.Logger, Now: s.opts.Now})
	b.services.add(lambda.Descriptor, b.lambda)
	interp := asl.New(asl.Options{Logger: s.opts.Logger})
	tasks := s.opts.Tasks
	if tasks == nil {
		tasks = lambdaTasks{b.lambda}
	}
	b.sfn = sfn.New(sfn.Options{Authorizer: authz, Roles: store, Tasks: tasks, Interpreter: interp, Now: s.opts.Now})
	b.services.add(sfn.Descriptor, b.sfn)
	b.events = events.New(events.Options{Authorizer: authz, Roles: store, StepFunctions: b.sfn, Functions: lambdaTargets{b.lambda},
		Logger: s.opts.Logger, Now: s.opts.Now})
	b.services.add(events.Descriptor, b.events)
	b.scheduler = scheduler.New(scheduler.Options{Authorizer: authz, Roles: store, StepFunctions: b.sfn, Functions: lambdaAsRole{b.lambda},
		Logger: s.opts.Logger, Now: s.opts.Now})
	b.services.add(scheduler.Descriptor, b.scheduler)
	b.services.add(adminDescriptor, adminService{s})
	cfnsvc := cfn.New(cfn.Options{Authorizer: authz, IAM: store, Roles: store, S3: s3svc, SSM: b.ssm, StepFunctions: b.sfn, Events: b.events, Scheduler: b.scheduler,
		Lambda: b.lambda, Logs: b.logs, KMS: b.kms, Faults: s.faults, StackDuration: s.opts.StackDuration, Now: s.opts.Now})
	b.services.add(cfn.Descriptor, cfnsvc)
	b.close = func() {
		b.lambda.Close()
		cfnsvc.Close()
		b.events.Close()
		b.scheduler.Close()
		b.sfn.Close()
		interp.Close()
	}
	return b
}

// storeKeyring adapts the identity store to the core's keyring.
type storeKeyring struct{ store *iam.Store }

func (k storeKeyring) lookupKey(akid string) (credential, bool) {
	c, ok := k.store.LookupAccessKey(akid)
	if !ok {
		return credential{}, false
	}
	return credential{Secret: c.SecretAccessKey, Token: c.SessionToken, Caller: c.Caller}, true
}

// publishToEventBridge sends S3's "Object Created" event to the bucket
// owner's default bus, with the detail fields S3 gives it.
func publishToEventBridge(bus *events.Service, ev s3.ObjectCreated) {
	object := map[string]any{"key": ev.Key, "size": ev.Size, "etag": ev.ETag, "sequencer": ev.Sequencer}
	if ev.VersionID != "null" {
		object["version-id"] = ev.VersionID
	}
	requester := ev.RequesterARN
	if parts := strings.SplitN(requester, ":", 6); len(parts) == 6 {
		requester = parts[4]
	}
	detail := map[string]any{
		"version": "0", "bucket": map[string]any{"name": ev.Bucket}, "object": object,
		"request-id": ev.RequestID, "requester": requester, "source-ip-address": ev.SourceIP, "reason": ev.Reason,
	}
	_, _ = bus.Publish(ev.Account, ev.Region, "aws.s3", "Object Created", []string{"arn:aws:s3:::" + ev.Bucket}, detail, ev.Time)
}
