package cfn

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/cfn/template"
)

// Stack statuses CloudFormation reports.
const (
	statusCreateInProgress       = "CREATE_IN_PROGRESS"
	statusCreateComplete         = "CREATE_COMPLETE"
	statusCreateFailed           = "CREATE_FAILED"
	statusRollbackInProgress     = "ROLLBACK_IN_PROGRESS"
	statusRollbackComplete       = "ROLLBACK_COMPLETE"
	statusRollbackFailed         = "ROLLBACK_FAILED"
	statusDeleteInProgress       = "DELETE_IN_PROGRESS"
	statusDeleteComplete         = "DELETE_COMPLETE"
	statusDeleteFailed           = "DELETE_FAILED"
	statusDeleteSkipped          = "DELETE_SKIPPED"
	statusUpdateInProgress       = "UPDATE_IN_PROGRESS"
	statusUpdateCleanup          = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
	statusUpdateComplete         = "UPDATE_COMPLETE"
	statusUpdateFailed           = "UPDATE_FAILED"
	statusUpdateRollbackProgress = "UPDATE_ROLLBACK_IN_PROGRESS"
	statusUpdateRollbackCleanup  = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
	statusUpdateRollbackComplete = "UPDATE_ROLLBACK_COMPLETE"
	statusUpdateRollbackFailed   = "UPDATE_ROLLBACK_FAILED"
	statusReviewInProgress       = "REVIEW_IN_PROGRESS"
)

// stackType is the ResourceType of stack-level events.
const stackType = "AWS::CloudFormation::Stack"

// region holds the stacks and exports of one (account, region).
type region struct {
	account, name string
	stacks        []*stack          // every stack ever created, oldest first
	byName        map[string]*stack // stacks that are not DELETE_COMPLETE
	byID          map[string]*stack
	exports       map[string]*export
	tokens        map[tokenKey]string // ClientRequestToken -> StackId of the first call
}

type tokenKey struct{ action, stack, token string }

type export struct {
	name, value, stackID, stackName string
}

func newRegion(account, name string) *region {
	return &region{account: account, name: name, byName: map[string]*stack{}, byID: map[string]*stack{},
		exports: map[string]*export{}, tokens: map[tokenKey]string{}}
}

type tag struct{ Key, Value string }

// config is everything a stack operation sets: the template and its inputs.
type config struct {
	body         string
	tmpl         *template.Template
	params       map[string]template.Value
	paramDisplay map[string]string // what DescribeStacks shows (SSM parameter names, not values)
	conditions   map[string]bool
	capabilities []string
	tags         []tag
	notification []string
	roleARN      string
	duration     time.Duration
}

type stack struct {
	id, name        string
	account, region string
	status, reason  string
	created         time.Time
	updated         time.Time
	deleted         time.Time
	cfg             *config
	disableRollback bool
	timeoutMinutes  int
	termProtection  bool
	policy          string
	outputs         []template.Output
	imports         map[string]bool // export names this stack's template imports
	resources       map[string]*resource
	order           []string // creation order of the current resources
	events          []*event // oldest first
	changeSets      []*changeSet
	op              *operation // the running operation, nil when settled
	lastChangeSetID string
	// pendingRollback finishes an update rollback that failed (UPDATE_ROLLBACK_FAILED);
	// ContinueUpdateRollback runs it.
	pendingRollback func(op *operation)
}

type resource struct {
	logicalID, typ, physicalID string
	status, reason             string
	updated                    time.Time
	props                      map[string]any // resolved
	attrs                      map[string]any
	deletionPolicy             string
}

type event struct {
	id, logicalID, physicalID, typ, status, reason, token string
	at                                                    time.Time
}

type changeSet struct {
	id, name, description string
	typ                   string // CREATE or UPDATE
	created, readyAt      time.Time
	status, reason        string // final creation status once readyAt has passed
	execStatus            string
	cfg                   *config
	changes               []resourceChange
	executed              bool
	token                 string // ClientToken of CreateChangeSet
	onFailure             string // OnStackFailure of CREATE change sets
}

// currentStatus returns the change set's status as of now: creation takes until readyAt.
func (c *changeSet) currentStatus(now time.Time) (status, exec, reason string) {
	if c.executed || !now.Before(c.readyAt) {
		return c.status, c.execStatus, c.reason
	}
	if now.Before(c.created.Add(c.readyAt.Sub(c.created) / 2)) {
		return "CREATE_PENDING", "UNAVAILABLE", ""
	}
	return "CREATE_IN_PROGRESS", "UNAVAILABLE", ""
}

type resourceChange struct {
	action, logicalID, physicalID, typ, replacement string
	scope                                           []string
	details                                         []changeDetail
}

type changeDetail struct {
	attribute, name, requiresRecreation, evaluation, changeSource, causingEntity string
}

// inProgress reports whether a stack status is transitional.
func inProgress(status string) bool {
	return strings.HasSuffix(status, "_IN_PROGRESS")
}

func newUUID() string { return awsapi.NewUUID() }

const upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomSuffix returns n characters like CloudFormation's generated name suffixes.
func randomSuffix(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = upperAlnum[int(b[i])%len(upperAlnum)]
	}
	return string(b)
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

func stackID(account, regionName, name string) string {
	return fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%s", regionName, account, name, newUUID())
}

// parseStackID splits arn:aws:cloudformation:<region>:<acct>:stack/<name>/<uuid>.
func parseStackID(id string) (name, uuid string, ok bool) {
	parts := strings.SplitN(id, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "cloudformation" {
		return "", "", false
	}
	rest, found := strings.CutPrefix(parts[5], "stack/")
	if !found {
		return "", "", false
	}
	name, uuid, ok = strings.Cut(rest, "/")
	return name, uuid, ok && name != ""
}

// lookup finds a stack by name (live stacks only) or by stack ID (deleted ones too).
func (r *region) lookup(nameOrID string) *stack {
	if strings.HasPrefix(nameOrID, "arn:") {
		return r.byID[nameOrID]
	}
	return r.byName[nameOrID]
}

// mustLookup is lookup with CloudFormation's error for a missing stack.
func (r *region) mustLookup(nameOrID string) (*stack, error) {
	if nameOrID == "" {
		return nil, awsapi.ValidationError("1 validation error detected: Value null at 'stackName' failed to satisfy constraint: Member must not be null")
	}
	st := r.lookup(nameOrID)
	if st == nil {
		return nil, awsapi.ValidationError("Stack with id %s does not exist", nameOrID)
	}
	return st, nil
}

// live looks a stack up for an operation that needs it not deleted.
func (r *region) live(nameOrID string) (*stack, error) {
	st, err := r.mustLookup(nameOrID)
	if err != nil {
		return nil, err
	}
	if st.status == statusDeleteComplete {
		return nil, awsapi.ValidationError("Stack [%s] does not exist", nameOrID)
	}
	return st, nil
}

// addEvent records a stack event. s.mu must be held. A stack's events are
// at least a millisecond apart, as CloudFormation's are: resource events'
// IDs hold the time to the millisecond and must be unique (the CDK CLI stops
// reading events at one it has seen), and clients order events by time.
func (s *Service) addEvent(st *stack, logicalID, physicalID, typ, status, reason, token string) {
	now := s.now().UTC().Truncate(time.Millisecond)
	if n := len(st.events); n > 0 && !now.After(st.events[n-1].at) {
		now = st.events[n-1].at.Add(time.Millisecond)
	}
	id := newUUID()
	if logicalID != st.name || typ != stackType {
		id = logicalID + "-" + status + "-" + now.Format("2006-01-02T15:04:05.000Z")
	}
	st.events = append(st.events, &event{id: id, logicalID: logicalID, physicalID: physicalID, typ: typ,
		status: status, reason: reason, token: token, at: now})
}

// setStackStatus changes a stack's status and records the stack-level event. s.mu must be held.
func (s *Service) setStackStatus(st *stack, status, reason, token string) {
	st.status = status
	st.reason = reason
	s.addEvent(st, st.name, st.id, stackType, status, reason, token)
}

// setResourceStatus changes a resource's status and records its event. s.mu must be held.
func (s *Service) setResourceStatus(st *stack, r *resource, status, reason, token string) {
	r.status = status
	r.reason = reason
	r.updated = s.now().UTC()
	s.addEvent(st, r.logicalID, r.physicalID, r.typ, status, reason, token)
}

// reasonError is a failure reason worded as CloudFormation words it (capitalised sentences).
type reasonError string

func (e reasonError) Error() string { return string(e) }

// reasonf formats a resource or stack status reason as an error.
func reasonf(format string, args ...any) error { return reasonError(fmt.Sprintf(format, args...)) }
