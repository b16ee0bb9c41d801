package cfn

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// noChanges is CloudFormation's status reason for a change set without changes.
const noChanges = "The submitted information didn't contain changes. Submit different information to create a change set."

// changeSetDelay is how long a change set takes to compute, given the stack duration.
func changeSetDelay(d time.Duration) time.Duration {
	return min(d/4, time.Second)
}

func (s *Service) createChangeSet(call *awsapi.Call, f awsapi.Form) (any, error) {
	name, csName, typ := f.Get("StackName"), f.Get("ChangeSetName"), f.Get("ChangeSetType")
	if typ == "" {
		typ = "UPDATE"
	}
	if err := s.authorize(call, name); err != nil {
		return nil, err
	}
	if err := validateStackName(name); err != nil && !strings.HasPrefix(name, "arn:") {
		return nil, err
	}
	if csName == "" || len(csName) > 128 || !stackNamePattern.MatchString(csName) {
		return nil, awsapi.ValidationError("1 validation error detected: Value '%s' at 'changeSetName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*", csName)
	}
	if typ != "CREATE" && typ != "UPDATE" {
		return nil, awsapi.ValidationError("1 validation error detected: Value '%s' at 'changeSetType' failed to satisfy constraint: Member must satisfy enum value set: [UPDATE, CREATE]", typ)
	}
	req, err := parseRequest(s, call, f)
	if err != nil {
		return nil, err
	}
	if err := s.passRole(call, req.roleARN); err != nil {
		return nil, err
	}
	token := f.Get("ClientToken")
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.regionFor(call)
	st := r.lookup(name)
	if st != nil && st.status == statusDeleteComplete {
		st = nil
	}
	var prev *config
	switch typ {
	case "CREATE":
		if st != nil && st.status != statusReviewInProgress {
			return nil, awsapi.ValidationError("Stack [%s] already exists and cannot be created again with the changeSet [%s].", name, csName)
		}
	default:
		if st == nil {
			return nil, awsapi.ValidationError("Stack [%s] does not exist", name)
		}
		if st.status == statusReviewInProgress {
			return nil, awsapi.ValidationError("Stack:%s is in REVIEW_IN_PROGRESS state and can not be updated.", st.id)
		}
		if err := notUpdatable(st); err != nil {
			return nil, err
		}
		prev = st.cfg
	}
	if st != nil {
		for _, cs := range st.changeSets {
			if cs.name == csName {
				if token != "" && cs.token == token {
					return struct{ Id, StackId string }{cs.id, st.id}, nil
				}
				return nil, awsapi.Errorf(http.StatusBadRequest, "AlreadyExistsException", "ChangeSet %s already exists", csName)
			}
		}
	}
	id := stackID(r.account, r.name, name)
	if st != nil {
		id = st.id
	}
	cfg, err := s.buildConfig(call, r, name, id, req, prev)
	if err != nil {
		return nil, err
	}
	if _, err := s.assumeRole(cfg.roleARN); err != nil {
		return nil, err
	}
	changes, _, err := s.planChanges(r, st, name, id, cfg)
	if err != nil {
		return nil, err
	}
	if st == nil {
		st = s.newStack(r, id, name, &config{})
		s.setStackStatus(st, statusReviewInProgress, "User Initiated", "")
	}
	now := s.now().UTC()
	cs := &changeSet{
		id:   fmt.Sprintf("arn:aws:cloudformation:%s:%s:changeSet/%s/%s", r.name, r.account, csName, newUUID()),
		name: csName, description: f.Get("Description"), typ: typ, created: now,
		readyAt: now.Add(changeSetDelay(cfg.duration)), status: "CREATE_COMPLETE", execStatus: "AVAILABLE",
		cfg: cfg, changes: changes, token: token,
	}
	if typ == "UPDATE" && len(changes) == 0 && sameConfig(st.cfg, cfg) {
		cs.status, cs.execStatus, cs.reason = "FAILED", "UNAVAILABLE", noChanges
	}
	cs.onFailure = f.Get("OnStackFailure")
	st.changeSets = append(st.changeSets, cs)
	return struct{ Id, StackId string }{cs.id, st.id}, nil
}

// findChangeSet finds a change set by ARN, or by name within a stack. s.mu must be held.
func (r *region) findChangeSet(csName, stackName string) (*stack, *changeSet, error) {
	notFound := awsapi.Errorf(http.StatusNotFound, "ChangeSetNotFound", "ChangeSet [%s] does not exist", csName)
	if strings.HasPrefix(csName, "arn:") {
		for _, st := range r.stacks {
			for _, cs := range st.changeSets {
				if cs.id == csName {
					return st, cs, nil
				}
			}
		}
		return nil, nil, notFound
	}
	if stackName == "" {
		return nil, nil, awsapi.ValidationError("StackName must be specified if ChangeSetName is not specified as an ARN.")
	}
	st := r.lookup(stackName)
	if st == nil {
		return nil, nil, awsapi.ValidationError("Stack [%s] does not exist", stackName)
	}
	for _, cs := range st.changeSets {
		if cs.name == csName {
			return st, cs, nil
		}
	}
	return nil, nil, notFound
}

func (s *Service) describeChangeSet(call *awsapi.Call, f awsapi.Form, st *stack, cs *changeSet) (any, error) {
	status, exec, reason := cs.currentStatus(s.now())
	var changes []xChange
	if status == "CREATE_COMPLETE" {
		for _, c := range cs.changes {
			changes = append(changes, xChange{Type: "Resource", ResourceChange: changeXML(c)})
		}
	}
	pg, next, err := page(s, f, changes)
	if err != nil {
		return nil, err
	}
	var tags []xTag
	for _, t := range cs.cfg.tags {
		tags = append(tags, xTag(t))
	}
	return struct {
		ChangeSetName    string
		ChangeSetId      string
		StackId          string
		StackName        string
		Description      string `xml:",omitempty"`
		Parameters       *members[xParameter]
		CreationTime     string
		ExecutionStatus  string
		Status           string
		StatusReason     string `xml:",omitempty"`
		NotificationARNs *members[string]
		Capabilities     *members[string]
		Tags             *members[xTag]
		Changes          *members[xChange]
		NextToken        string `xml:",omitempty"`
		OnStackFailure   string `xml:",omitempty"`
	}{cs.name, cs.id, st.id, st.name, cs.description, list(paramsXML(cs.cfg)), ts(cs.created), exec, status, reason,
		list(cs.cfg.notification), list(cs.cfg.capabilities), list(tags), list(pg), next, cs.onFailure}, nil
}

func changeXML(c resourceChange) xResourceChange {
	x := xResourceChange{Action: c.action, LogicalResourceId: c.logicalID, PhysicalResourceId: c.physicalID, ResourceType: c.typ}
	if c.action == "Modify" {
		x.Replacement = c.replacement
	}
	x.Scope = list(c.scope)
	var ds []xDetail
	for _, d := range c.details {
		var xd xDetail
		xd.Target.Attribute, xd.Target.Name, xd.Target.RequiresRecreation = d.attribute, d.name, d.requiresRecreation
		xd.Evaluation, xd.ChangeSource, xd.CausingEntity = d.evaluation, d.changeSource, d.causingEntity
		ds = append(ds, xd)
	}
	x.Details = list(ds)
	return x
}

func (s *Service) executeChangeSet(call *awsapi.Call, f awsapi.Form) (any, error) {
	if err := s.authorize(call, f.Get("StackName")); err != nil {
		return nil, err
	}
	token := f.Get("ClientRequestToken")
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.regionFor(call)
	st, cs, err := r.findChangeSet(f.Get("ChangeSetName"), f.Get("StackName"))
	if err != nil {
		if token != "" && strings.HasPrefix(f.Get("ChangeSetName"), "arn:") {
			if _, ok := r.tokens[tokenKey{"ExecuteChangeSet", f.Get("ChangeSetName"), token}]; ok {
				return struct{}{}, nil
			}
		}
		return nil, err
	}
	if token != "" {
		if _, ok := r.tokens[tokenKey{"ExecuteChangeSet", cs.id, token}]; ok {
			return struct{}{}, nil
		}
	}
	status, exec, _ := cs.currentStatus(s.now())
	if status != "CREATE_COMPLETE" || exec != "AVAILABLE" {
		return nil, awsapi.Errorf(http.StatusBadRequest, "InvalidChangeSetStatus", "ChangeSet [%s] cannot be executed in its current execution status of [%s]", cs.id, exec)
	}
	if cs.typ == "UPDATE" {
		if err := notUpdatable(st); err != nil {
			return nil, err
		}
	}
	as, err := s.assumeRole(cs.cfg.roleARN)
	if err != nil {
		return nil, err
	}
	cs.executed = true
	cs.execStatus = "EXECUTE_IN_PROGRESS"
	// Executing a change set deletes the stack's other change sets, as on AWS.
	st.changeSets = []*changeSet{cs}
	st.lastChangeSetID = cs.id
	op := newOperation(call, as, token)
	op.changeSet = cs
	if token != "" {
		r.tokens[tokenKey{"ExecuteChangeSet", cs.id, token}] = st.id
	}
	if cs.typ == "CREATE" {
		onFailure := cs.onFailure
		if f.Get("DisableRollback") == "true" {
			onFailure = "DO_NOTHING"
		}
		st.cfg = cs.cfg
		st.created = s.now().UTC()
		st.disableRollback = onFailure == "DO_NOTHING"
		st.op = op
		s.setStackStatus(st, statusCreateInProgress, "User Initiated", token)
		s.spawn(func() { s.runCreate(r, st, op, onFailure) })
		return struct{}{}, nil
	}
	s.startUpdate(r, st, op, cs.cfg, len(cs.changes), "")
	return struct{}{}, nil
}

func (s *Service) deleteChangeSet(call *awsapi.Call, f awsapi.Form, st *stack, cs *changeSet) (any, error) {
	if cs.execStatus == "EXECUTE_IN_PROGRESS" {
		return nil, awsapi.Errorf(http.StatusBadRequest, "InvalidChangeSetStatus", "ChangeSet [%s] cannot be deleted in its current status of [EXECUTE_IN_PROGRESS]", cs.id)
	}
	for i, c := range st.changeSets {
		if c == cs {
			st.changeSets = append(st.changeSets[:i:i], st.changeSets[i+1:]...)
			break
		}
	}
	return struct{}{}, nil
}

func (s *Service) listChangeSets(call *awsapi.Call, f awsapi.Form, st *stack) (any, error) {
	now := s.now()
	var out []xChangeSetSummary
	for _, cs := range st.changeSets {
		status, exec, reason := cs.currentStatus(now)
		out = append(out, xChangeSetSummary{StackId: st.id, StackName: st.name, ChangeSetId: cs.id, ChangeSetName: cs.name,
			ExecutionStatus: exec, Status: status, StatusReason: reason, CreationTime: ts(cs.created), Description: cs.description})
	}
	pg, next, err := page(s, f, out)
	if err != nil {
		return nil, err
	}
	return struct {
		Summaries *members[xChangeSetSummary]
		NextToken string `xml:",omitempty"`
	}{list(pg), next}, nil
}
