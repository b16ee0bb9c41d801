package cfn

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/cfn/template"
)

var stackNamePattern = regexp.MustCompile(`^[a-zA-Z][-a-zA-Z0-9]*$`)

func validateStackName(name string) error {
	if name == "" {
		return awsapi.ValidationError("1 validation error detected: Value null at 'stackName' failed to satisfy constraint: Member must not be null")
	}
	if len(name) > 128 || !stackNamePattern.MatchString(name) {
		return awsapi.ValidationError("1 validation error detected: Value '%s' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*", name)
	}
	return nil
}

type stackIDResult struct {
	StackId string
}

// stackPolicy reads StackPolicyBody / StackPolicyURL (or the given prefix's variants).
func (s *Service) stackPolicy(call *awsapi.Call, f awsapi.Form, prefix string) (string, bool, error) {
	body, url := f.Get(prefix+"Body"), f.Get(prefix+"URL")
	if body != "" && url != "" {
		return "", false, awsapi.ValidationError("You cannot specify both %sURL and %sBody", prefix, prefix)
	}
	if url != "" {
		data, err := s.fetchTemplate(call, url)
		if err != nil {
			return "", false, err
		}
		body = string(data)
	}
	if body == "" {
		return "", false, nil
	}
	var doc struct {
		Statement []map[string]any
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.Statement == nil {
		return "", false, awsapi.ValidationError("Error validating stack policy: Invalid stack policy")
	}
	return body, true, nil
}

func (s *Service) createStack(call *awsapi.Call, f awsapi.Form) (any, error) {
	name := f.Get("StackName")
	if err := s.authorize(call, name); err != nil {
		return nil, err
	}
	if err := validateStackName(name); err != nil {
		return nil, err
	}
	onFailure := f.Get("OnFailure")
	if f.Has("OnFailure") && f.Has("DisableRollback") {
		return nil, awsapi.ValidationError("You cannot specify both DisableRollback and OnFailure.")
	}
	if f.Get("DisableRollback") == "true" {
		onFailure = "DO_NOTHING"
	}
	switch onFailure {
	case "", "ROLLBACK", "DELETE", "DO_NOTHING":
	default:
		return nil, awsapi.ValidationError("1 validation error detected: Value '%s' at 'onFailure' failed to satisfy constraint: Member must satisfy enum value set: [DO_NOTHING, ROLLBACK, DELETE]", onFailure)
	}
	req, err := parseRequest(s, call, f)
	if err != nil {
		return nil, err
	}
	if err := s.passRole(call, req.roleARN); err != nil {
		return nil, err
	}
	as, err := s.assumeRole(req.roleARN)
	if err != nil {
		return nil, err
	}
	policy, _, err := s.stackPolicy(call, f, "StackPolicy")
	if err != nil {
		return nil, err
	}
	token := f.Get("ClientRequestToken")
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.regionFor(call)
	if token != "" {
		if id, ok := r.tokens[tokenKey{"CreateStack", name, token}]; ok {
			return stackIDResult{id}, nil
		}
	}
	if r.byName[name] != nil {
		return nil, awsapi.Errorf(http.StatusBadRequest, "AlreadyExistsException", "Stack [%s] already exists", name)
	}
	id := stackID(r.account, r.name, name)
	cfg, err := s.buildConfig(call, r, name, id, req, nil)
	if err != nil {
		return nil, err
	}
	if _, _, err := s.planChanges(r, nil, name, id, cfg); err != nil {
		return nil, err
	}
	st := s.newStack(r, id, name, cfg)
	st.policy = policy
	st.termProtection = f.Get("EnableTerminationProtection") == "true"
	st.disableRollback = onFailure == "DO_NOTHING"
	st.timeoutMinutes = atoi(f.Get("TimeoutInMinutes"))
	s.setStackStatus(st, statusCreateInProgress, "User Initiated", token)
	op := newOperation(call, as, token)
	st.op = op
	if token != "" {
		r.tokens[tokenKey{"CreateStack", name, token}] = id
	}
	s.spawn(func() { s.runCreate(r, st, op, onFailure) })
	return stackIDResult{id}, nil
}

// newStack registers a stack. s.mu must be held.
func (s *Service) newStack(r *region, id, name string, cfg *config) *stack {
	st := &stack{id: id, name: name, account: r.account, region: r.name, created: s.now().UTC(), cfg: cfg, resources: map[string]*resource{}}
	r.stacks = append(r.stacks, st)
	r.byName[name] = st
	r.byID[id] = st
	return st
}

// notUpdatable is the error for updates of a stack whose status forbids them.
func notUpdatable(st *stack) error {
	switch {
	case inProgress(st.status), st.status == statusRollbackComplete, st.status == statusRollbackFailed,
		st.status == statusCreateFailed, st.status == statusDeleteFailed, st.status == statusUpdateRollbackFailed:
		return awsapi.ValidationError("Stack:%s is in %s state and can not be updated.", st.id, st.status)
	}
	return nil
}

func (s *Service) updateStack(call *awsapi.Call, f awsapi.Form) (any, error) {
	name := f.Get("StackName")
	if err := s.authorize(call, name); err != nil {
		return nil, err
	}
	req, err := parseRequest(s, call, f)
	if err != nil {
		return nil, err
	}
	if err := s.passRole(call, req.roleARN); err != nil {
		return nil, err
	}
	policy, policyGiven, err := s.stackPolicy(call, f, "StackPolicy")
	if err != nil {
		return nil, err
	}
	during, _, err := s.stackPolicy(call, f, "StackPolicyDuringUpdate")
	if err != nil {
		return nil, err
	}
	token := f.Get("ClientRequestToken")
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.regionFor(call)
	st := r.lookup(name)
	if st == nil || st.status == statusDeleteComplete {
		return nil, awsapi.ValidationError("Stack [%s] does not exist", name)
	}
	if token != "" {
		if id, ok := r.tokens[tokenKey{"UpdateStack", st.id, token}]; ok {
			return stackIDResult{id}, nil
		}
	}
	if err := notUpdatable(st); err != nil {
		return nil, err
	}
	cfg, err := s.buildConfig(call, r, st.name, st.id, req, st.cfg)
	if err != nil {
		return nil, err
	}
	// The role named now, or the stack's own, which the caller need not be able to pass.
	as, err := s.assumeRole(cfg.roleARN)
	if err != nil {
		return nil, err
	}
	changes, _, err := s.planChanges(r, st, st.name, st.id, cfg)
	if err != nil {
		return nil, err
	}
	if len(changes) == 0 && sameConfig(st.cfg, cfg) {
		if policyGiven {
			st.policy = policy
		}
		return nil, awsapi.ValidationError("No updates are to be performed.")
	}
	if policyGiven {
		st.policy = policy
	}
	s.startUpdate(r, st, newOperation(call, as, token), cfg, len(changes), during)
	if token != "" {
		r.tokens[tokenKey{"UpdateStack", st.id, token}] = st.id
	}
	return stackIDResult{st.id}, nil
}

// startUpdate moves a stack to UPDATE_IN_PROGRESS and runs the update. s.mu must be held.
func (s *Service) startUpdate(r *region, st *stack, op *operation, cfg *config, planned int, during string) {
	s.setStackStatus(st, statusUpdateInProgress, "User Initiated", op.token)
	st.op = op
	st.updated = s.now().UTC()
	s.spawn(func() { s.runUpdate(r, st, op, cfg, planned, during) })
}

func (s *Service) deleteStack(call *awsapi.Call, f awsapi.Form) (any, error) {
	name := f.Get("StackName")
	if err := s.authorizeAs(call, name, f.Get("RoleARN")); err != nil {
		return nil, err
	}
	token := f.Get("ClientRequestToken")
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.regionFor(call)
	st := r.lookup(name)
	if st == nil || st.status == statusDeleteComplete || st.status == statusDeleteInProgress {
		return nil, nil
	}
	if token != "" {
		if _, ok := r.tokens[tokenKey{"DeleteStack", st.id, token}]; ok {
			return nil, nil
		}
	}
	if st.termProtection {
		return nil, awsapi.ValidationError("Stack [%s] cannot be deleted while TerminationProtection is enabled", st.name)
	}
	if inProgress(st.status) && st.status != statusReviewInProgress {
		return nil, awsapi.ValidationError("Stack [%s] cannot be deleted while in status %s", st.name, st.status)
	}
	retain := map[string]bool{}
	for _, lid := range f.List("RetainResources") {
		if st.status != statusDeleteFailed {
			return nil, awsapi.ValidationError("Invalid operation on stack %s. RetainResources can only be specified when the stack is in the DELETE_FAILED state", st.id)
		}
		retain[lid] = true
	}
	as, err := s.assumeRole(cmp.Or(f.Get("RoleARN"), st.cfg.roleARN))
	if err != nil {
		return nil, err
	}
	op := newOperation(call, as, token)
	st.op = op
	if token != "" {
		r.tokens[tokenKey{"DeleteStack", st.id, token}] = st.id
	}
	if reason := exportInUse(r, st); reason != "" {
		// AWS accepts the call and only then finds the export in use: the
		// stack shows DELETE_IN_PROGRESS briefly and goes back to the status
		// it had, with the reason. The call itself never fails.
		prev := st.status
		s.setStackStatus(st, statusDeleteInProgress, "User Initiated", token)
		s.spawn(func() { s.refuseDelete(st, op, prev, reason) })
		return nil, nil
	}
	st.changeSets = nil
	s.setStackStatus(st, statusDeleteInProgress, "User Initiated", token)
	s.spawn(func() { s.runDelete(r, st, op, retain) })
	return nil, nil
}

// exportInUse is CloudFormation's reason for refusing to delete st, or "" when
// none of its exports is imported by another stack. s.mu must be held.
func exportInUse(r *region, st *stack) string {
	for _, n := range sortedKeys(r.exports) {
		if e := r.exports[n]; e.stackID == st.id {
			if users := importers(r, n, st); len(users) > 0 {
				return fmt.Sprintf("Export %s cannot be deleted as it is in use by %s", n, joinNames(users))
			}
		}
	}
	return ""
}

// refuseDelete puts a stack whose deletion was refused back in its previous
// status after a short while, as CloudFormation does within a second or two.
func (s *Service) refuseDelete(st *stack, op *operation, prev, reason string) {
	s.mu.Lock()
	step := st.cfg.duration / 4
	s.mu.Unlock()
	if !s.sleep(step) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setStackStatus(st, prev, reason, op.token)
	if st.op == op {
		st.op = nil
	}
}

// stackXML renders a stack for DescribeStacks. s.mu must be held.
func stackXML(st *stack) xStack {
	x := xStack{
		StackId: st.id, StackName: st.name, CreationTime: ts(st.created), LastUpdatedTime: ts(st.updated),
		DeletionTime: ts(st.deleted), StackStatus: st.status, StackStatusReason: st.reason,
		DisableRollback: st.disableRollback, TimeoutInMinutes: st.timeoutMinutes, RoleARN: st.cfg.roleARN,
		EnableTerminationProtection: st.termProtection, ChangeSetId: st.lastChangeSetID,
	}
	x.DriftInformation.StackDriftStatus = "NOT_CHECKED"
	if st.cfg.tmpl != nil {
		x.Description = st.cfg.tmpl.Description
		x.Parameters = list(paramsXML(st.cfg))
	}
	x.NotificationARNs = list(st.cfg.notification)
	x.Capabilities = list(st.cfg.capabilities)
	var outs []xOutput
	for _, o := range st.outputs {
		outs = append(outs, xOutput{OutputKey: o.Key, OutputValue: o.Value, Description: o.Description, ExportName: o.ExportName})
	}
	x.Outputs = list(outs)
	var tags []xTag
	for _, t := range st.cfg.tags {
		tags = append(tags, xTag(t))
	}
	x.Tags = list(tags)
	return x
}

// paramsXML renders a configuration's parameters, NoEcho values masked.
func paramsXML(cfg *config) []xParameter {
	var out []xParameter
	for _, d := range cfg.tmpl.Parameters {
		v, ok := cfg.paramDisplay[d.Name]
		if !ok {
			continue
		}
		p := xParameter{ParameterKey: d.Name, ParameterValue: v}
		if b, ok := cfg.params[d.Name]; ok {
			if b.NoEcho || d.NoEcho {
				p.ParameterValue = template.MaskNoEcho(b)
			} else if strings.HasPrefix(d.Type, "AWS::SSM::Parameter::Value<") {
				p.ResolvedValue = b.ResolvedFromSSM
			}
		}
		out = append(out, p)
	}
	return out
}

func (s *Service) describeStacks(call *awsapi.Call, f awsapi.Form) (any, error) {
	name := f.Get("StackName")
	if err := s.authorize(call, name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.regionFor(call)
	var stacks []*stack
	if name != "" {
		st, err := r.mustLookup(name)
		if err != nil {
			return nil, err
		}
		stacks = []*stack{st}
	} else {
		for i := len(r.stacks) - 1; i >= 0; i-- {
			if st := r.stacks[i]; st.status != statusDeleteComplete {
				stacks = append(stacks, st)
			}
		}
	}
	pg, next, err := page(s, f, stacks)
	if err != nil {
		return nil, err
	}
	out := make([]xStack, len(pg))
	for i, st := range pg {
		out[i] = stackXML(st)
	}
	return struct {
		Stacks    *members[xStack]
		NextToken string `xml:",omitempty"`
	}{list(out), next}, nil
}

func (s *Service) listStacks(call *awsapi.Call, f awsapi.Form) (any, error) {
	if err := s.authorize(call, ""); err != nil {
		return nil, err
	}
	filter := map[string]bool{}
	for _, v := range f.List("StackStatusFilter") {
		filter[v] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.regionFor(call)
	var sums []xStackSummary
	for i := len(r.stacks) - 1; i >= 0; i-- {
		st := r.stacks[i]
		if len(filter) > 0 && !filter[st.status] {
			continue
		}
		x := xStackSummary{StackId: st.id, StackName: st.name, CreationTime: ts(st.created), LastUpdatedTime: ts(st.updated),
			DeletionTime: ts(st.deleted), StackStatus: st.status, StackStatusReason: st.reason}
		x.DriftInformation.StackDriftStatus = "NOT_CHECKED"
		if st.cfg.tmpl != nil {
			x.TemplateDescription = st.cfg.tmpl.Description
		}
		sums = append(sums, x)
	}
	pg, next, err := page(s, f, sums)
	if err != nil {
		return nil, err
	}
	return struct {
		StackSummaries *members[xStackSummary]
		NextToken      string `xml:",omitempty"`
	}{list(pg), next}, nil
}

func (s *Service) describeStackEvents(call *awsapi.Call, f awsapi.Form, st *stack) (any, error) {
	evs := make([]xEvent, 0, len(st.events))
	for i := len(st.events) - 1; i >= 0; i-- {
		e := st.events[i]
		evs = append(evs, xEvent{StackId: st.id, EventId: e.id, StackName: st.name, LogicalResourceId: e.logicalID,
			PhysicalResourceId: e.physicalID, ResourceType: e.typ, Timestamp: ts(e.at), ResourceStatus: e.status,
			ResourceStatusReason: e.reason, ClientRequestToken: e.token})
	}
	pg, next, err := page(s, f, evs)
	if err != nil {
		return nil, err
	}
	return struct {
		StackEvents *members[xEvent]
		NextToken   string `xml:",omitempty"`
	}{list(pg), next}, nil
}

// orderedResources lists a stack's resources in creation order. s.mu must be held.
func orderedResources(st *stack) []*resource {
	pos := map[string]int{}
	for i, lid := range st.order {
		pos[lid] = i
	}
	out := make([]*resource, 0, len(st.resources))
	for _, res := range st.resources {
		out = append(out, res)
	}
	sort.Slice(out, func(i, j int) bool {
		pi, iok := pos[out[i].logicalID]
		pj, jok := pos[out[j].logicalID]
		if iok != jok {
			return iok
		}
		if pi != pj {
			return pi < pj
		}
		return out[i].logicalID < out[j].logicalID
	})
	return out
}

func resourceXML(st *stack, res *resource) xStackResource {
	x := xStackResource{StackName: st.name, StackId: st.id, LogicalResourceId: res.logicalID, PhysicalResourceId: res.physicalID,
		ResourceType: res.typ, Timestamp: ts(res.updated), ResourceStatus: res.status, ResourceStatusReason: res.reason}
	x.DriftInformation.StackResourceDriftStatus = "NOT_CHECKED"
	return x
}

// findByPhysicalID finds the stack owning a physical resource ID. s.mu must be held.
func (r *region) findByPhysicalID(id string) *stack {
	for _, st := range r.byName {
		for _, res := range st.resources {
			if res.physicalID == id {
				return st
			}
		}
	}
	return nil
}

func (s *Service) describeStackResources(call *awsapi.Call, f awsapi.Form) (any, error) {
	name, phys, logical := f.Get("StackName"), f.Get("PhysicalResourceId"), f.Get("LogicalResourceId")
	if err := s.authorize(call, name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.regionFor(call)
	var st *stack
	switch {
	case name != "":
		var err error
		if st, err = r.mustLookup(name); err != nil {
			return nil, err
		}
	case phys != "":
		if st = r.findByPhysicalID(phys); st == nil {
			return nil, awsapi.ValidationError("Stack for %s does not exist", phys)
		}
	default:
		return nil, awsapi.ValidationError("Either StackName or PhysicalResourceId must be specified.")
	}
	var out []xStackResource
	for _, res := range orderedResources(st) {
		if logical != "" && res.logicalID != logical {
			continue
		}
		out = append(out, resourceXML(st, res))
	}
	return struct{ StackResources *members[xStackResource] }{list(out)}, nil
}

func (s *Service) describeStackResource(call *awsapi.Call, f awsapi.Form, st *stack) (any, error) {
	name, logical := f.Get("StackName"), f.Get("LogicalResourceId")
	res := st.resources[logical]
	if res == nil {
		return nil, awsapi.ValidationError("Resource %s does not exist for stack %s", logical, name)
	}
	x := resourceXML(st, res)
	x.LastUpdatedTimestamp, x.Timestamp = x.Timestamp, ""
	return struct{ StackResourceDetail xStackResource }{x}, nil
}

func (s *Service) listStackResources(call *awsapi.Call, f awsapi.Form, st *stack) (any, error) {
	type summary struct {
		LogicalResourceId    string
		PhysicalResourceId   string `xml:",omitempty"`
		ResourceType         string
		LastUpdatedTimestamp string
		ResourceStatus       string
		ResourceStatusReason string `xml:",omitempty"`
	}
	var out []summary
	for _, res := range orderedResources(st) {
		out = append(out, summary{res.logicalID, res.physicalID, res.typ, ts(res.updated), res.status, res.reason})
	}
	pg, next, err := page(s, f, out)
	if err != nil {
		return nil, err
	}
	return struct {
		StackResourceSummaries *members[summary]
		NextToken              string `xml:",omitempty"`
	}{list(pg), next}, nil
}

func (s *Service) updateTerminationProtection(call *awsapi.Call, f awsapi.Form) (any, error) {
	name := f.Get("StackName")
	if err := s.authorize(call, name); err != nil {
		return nil, err
	}
	if !f.Has("EnableTerminationProtection") {
		return nil, awsapi.ValidationError("1 validation error detected: Value null at 'enableTerminationProtection' failed to satisfy constraint: Member must not be null")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.regionFor(call).live(name)
	if err != nil {
		return nil, err
	}
	st.termProtection = f.Get("EnableTerminationProtection") == "true"
	return stackIDResult{st.id}, nil
}

func (s *Service) setStackPolicy(call *awsapi.Call, f awsapi.Form) (any, error) {
	name := f.Get("StackName")
	if err := s.authorize(call, name); err != nil {
		return nil, err
	}
	policy, _, err := s.stackPolicy(call, f, "StackPolicy")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.regionFor(call).live(name)
	if err != nil {
		return nil, err
	}
	st.policy = policy
	return nil, nil
}

func (s *Service) getStackPolicy(call *awsapi.Call, f awsapi.Form, st *stack) (any, error) {
	return struct {
		StackPolicyBody string `xml:",omitempty"`
	}{st.policy}, nil
}

func (s *Service) listExports(call *awsapi.Call, f awsapi.Form) (any, error) {
	if err := s.authorize(call, ""); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.regionFor(call)
	var out []xExport
	for _, n := range sortedKeys(r.exports) {
		e := r.exports[n]
		out = append(out, xExport{ExportingStackId: e.stackID, Name: e.name, Value: e.value})
	}
	pg, next, err := page(s, f, out)
	if err != nil {
		return nil, err
	}
	return struct {
		Exports   *members[xExport]
		NextToken string `xml:",omitempty"`
	}{list(pg), next}, nil
}

func (s *Service) listImports(call *awsapi.Call, f awsapi.Form) (any, error) {
	if err := s.authorize(call, ""); err != nil {
		return nil, err
	}
	name := f.Get("ExportName")
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.regionFor(call)
	if r.exports[name] == nil {
		return nil, awsapi.ValidationError("Export '%s' is not imported by any stack.", name)
	}
	users := importers(r, name, nil)
	if len(users) == 0 {
		return nil, awsapi.ValidationError("Export '%s' is not imported by any stack.", name)
	}
	pg, next, err := page(s, f, users)
	if err != nil {
		return nil, err
	}
	return struct {
		Imports   *members[string]
		NextToken string `xml:",omitempty"`
	}{list(pg), next}, nil
}

func (s *Service) cancelUpdateStack(call *awsapi.Call, f awsapi.Form, st *stack) (any, error) {
	if st.status != statusUpdateInProgress || st.op == nil {
		return nil, awsapi.ValidationError("CancelUpdateStack cannot be called from current stack status")
	}
	st.op.cancel = true
	return nil, nil
}

func (s *Service) continueUpdateRollback(call *awsapi.Call, f awsapi.Form) (any, error) {
	name := f.Get("StackName")
	if err := s.authorizeAs(call, name, f.Get("RoleARN")); err != nil {
		return nil, err
	}
	token := f.Get("ClientRequestToken")
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.regionFor(call)
	st, err := r.live(name)
	if err != nil {
		return nil, err
	}
	if token != "" {
		if _, ok := r.tokens[tokenKey{"ContinueUpdateRollback", st.id, token}]; ok {
			return struct{}{}, nil
		}
	}
	if st.status != statusUpdateRollbackFailed {
		return nil, awsapi.ValidationError("Stack %s is in %s state and can not continue update rollback.", st.id, st.status)
	}
	as, err := s.assumeRole(cmp.Or(f.Get("RoleARN"), st.cfg.roleARN))
	if err != nil {
		return nil, err
	}
	rollback := st.pendingRollback
	st.pendingRollback = nil
	op := newOperation(call, as, token)
	st.op = op
	s.setStackStatus(st, statusUpdateRollbackProgress, "User Initiated", token)
	if token != "" {
		r.tokens[tokenKey{"ContinueUpdateRollback", st.id, token}] = st.id
	}
	s.spawn(func() {
		if rollback != nil {
			rollback(op)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.setStackStatus(st, statusUpdateRollbackComplete, "", op.token)
		s.finish(st, op, "")
	})
	return struct{}{}, nil
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
		if n > 1<<30 {
			return 0
		}
	}
	return n
}
