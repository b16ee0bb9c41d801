package cfn

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/cfn/template"
)

// operation is a running stack operation.
type operation struct {
	token     string
	call      *awsapi.Call // identity the providers act as
	cancel    bool
	changeSet *changeSet
	imports   map[string]bool
}

// newOperation prepares an operation acting as the caller, or, when as is
// not nil, as the stack's service role.
func newOperation(call *awsapi.Call, as *awsapi.Caller, token string) *operation {
	actor := *call
	if as != nil {
		actor.Caller = as
	}
	return &operation{token: token, call: &actor, imports: map[string]bool{}}
}

// spawn runs fn in a goroutine Close waits for. s.mu must be held.
func (s *Service) spawn(fn func()) {
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

// sleep waits d, or returns false when the service is closing.
func (s *Service) sleep(d time.Duration) bool {
	if d <= 0 {
		select {
		case <-s.stop:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stop:
		return false
	}
}

func (s *Service) fault(stackName string) (string, bool) {
	if s.opts.Faults == nil {
		return "", false
	}
	return s.opts.Faults.StackFailure(stackName)
}

// env is the full intrinsic environment of a running operation. s.mu must be held while it is used.
func (s *Service) env(r *region, st *stack, op *operation, cfg *config) *template.Env {
	env := s.baseEnv(r, st.name, st.id, cfg)
	base := env.ImportValue
	env.ImportValue = func(n string) (string, error) {
		op.imports[n] = true
		return base(n)
	}
	env.Ref = func(lid string) (string, error) {
		if res := st.resources[lid]; res != nil && res.physicalID != "" && res.status != statusDeleteComplete {
			return res.physicalID, nil
		}
		return "", reasonf("Unresolved resource dependency [%s]", lid)
	}
	env.GetAtt = func(lid, attr string) (any, error) {
		res := st.resources[lid]
		if res == nil || res.physicalID == "" || res.status == statusDeleteComplete {
			return nil, reasonf("Unresolved resource dependency [%s]", lid)
		}
		if v, ok := res.attrs[attr]; ok {
			return v, nil
		}
		if v, ok := specAttr(s.pctx(r, st, op), res, attr); ok {
			return v, nil
		}
		if p := providers[res.typ]; p != nil {
			return nil, reasonf("Template error: resource %s does not support attribute type %s in Fn::GetAtt", lid, attr)
		}
		return res.physicalID, nil
	}
	return env
}

func (s *Service) resolveProps(r *region, st *stack, op *operation, cfg *config, decl *template.Resource) (map[string]any, error) {
	v, err := template.Resolve(decl.Properties, s.env(r, st, op, cfg))
	if err != nil {
		return nil, err
	}
	props, _ := v.(map[string]any)
	if props == nil {
		props = map[string]any{}
	}
	return props, nil
}

func (s *Service) pctx(r *region, st *stack, op *operation) *pctx {
	return &pctx{s: s, st: st, call: op.call, account: r.account, region: r.name}
}

// errorText is an error as a resource status reason.
func errorText(err error) string {
	var e *awsapi.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// finish ends an operation. s.mu must be held. LastUpdatedTime is not
// touched: as on AWS, it is when the last update started, and a stack never
// updated has none.
func (s *Service) finish(st *stack, op *operation, execStatus string) {
	if op.changeSet != nil {
		op.changeSet.execStatus = execStatus
	}
	if st.op == op {
		st.op = nil
	}
}

// runCreate creates the stack's resources in order; on failure it rolls back
// (or stops, or deletes the stack) as onFailure says.
func (s *Service) runCreate(r *region, st *stack, op *operation, onFailure string) {
	s.mu.Lock()
	cfg := st.cfg
	order := activeResources(cfg)
	step := cfg.duration / time.Duration(len(order)+1)
	faultReason, faulted := s.fault(st.name)
	s.mu.Unlock()

	var done []string
	failed := ""
	for i, lid := range order {
		s.mu.Lock()
		decl := cfg.tmpl.Resources[lid]
		res := &resource{logicalID: lid, typ: decl.Type, deletionPolicy: decl.DeletionPolicy, attrs: map[string]any{}}
		st.resources[lid] = res
		st.order = append(st.order, lid)
		s.setResourceStatus(st, res, statusCreateInProgress, "", op.token)
		var err error
		if i == 0 && faulted {
			err = reasonf("%s", strings.TrimSpace(strings.TrimPrefix(faultReason, RollbackFailurePrefix)))
		} else {
			err = s.createResource(r, st, op, cfg, res, decl)
		}
		if err == nil {
			s.addEvent(st, lid, res.physicalID, res.typ, statusCreateInProgress, "Resource creation Initiated", op.token)
		}
		s.mu.Unlock()
		if !s.sleep(step) {
			return
		}
		s.mu.Lock()
		if err != nil {
			s.setResourceStatus(st, res, statusCreateFailed, errorText(err), op.token)
			failed = lid
			s.mu.Unlock()
			break
		}
		s.setResourceStatus(st, res, statusCreateComplete, "", op.token)
		done = append(done, lid)
		s.mu.Unlock()
	}
	if failed == "" && !s.sleep(step) {
		return
	}
	s.mu.Lock()
	reason := ""
	if failed == "" {
		err := s.commitOutputs(r, st, op, cfg)
		if err == nil {
			s.setStackStatus(st, statusCreateComplete, "", op.token)
			s.finish(st, op, "EXECUTE_COMPLETE")
			s.mu.Unlock()
			return
		}
		reason = errorText(err) + ". "
	} else {
		reason = fmt.Sprintf("The following resource(s) failed to create: [%s]. ", failed)
		done = append(done, failed)
	}
	switch onFailure {
	case "DO_NOTHING":
		s.setStackStatus(st, statusCreateFailed, reason, op.token)
		s.finish(st, op, "EXECUTE_FAILED")
		s.mu.Unlock()
		return
	case "DELETE":
		s.setStackStatus(st, statusDeleteInProgress, reason+"Delete requested by user.", op.token)
	default:
		s.setStackStatus(st, statusRollbackInProgress, reason+"Rollback requested by user.", op.token)
	}
	s.mu.Unlock()

	reverse(done)
	forced := ""
	if faulted && strings.HasPrefix(faultReason, RollbackFailurePrefix) {
		forced = strings.TrimSpace(strings.TrimPrefix(faultReason, RollbackFailurePrefix))
	}
	failedDeletes, ok := s.deleteResources(r, st, op, done, step, forced)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case len(failedDeletes) > 0 && onFailure == "DELETE":
		s.setStackStatus(st, statusDeleteFailed, fmt.Sprintf("The following resource(s) failed to delete: [%s]. ", strings.Join(failedDeletes, ", ")), op.token)
	case len(failedDeletes) > 0:
		s.setStackStatus(st, statusRollbackFailed, fmt.Sprintf("The following resource(s) failed to delete: [%s]. ", strings.Join(failedDeletes, ", ")), op.token)
	case onFailure == "DELETE":
		s.markDeleted(r, st, op)
	default:
		s.setStackStatus(st, statusRollbackComplete, "", op.token)
	}
	s.finish(st, op, "EXECUTE_FAILED")
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

// createResource resolves a resource's properties and creates it. s.mu must be held.
func (s *Service) createResource(r *region, st *stack, op *operation, cfg *config, res *resource, decl *template.Resource) error {
	props, err := s.resolveProps(r, st, op, cfg, decl)
	if err != nil {
		return err
	}
	res.props = props
	if err := providerFor(res.typ).create(s.pctx(r, st, op), res, props); err != nil {
		res.physicalID = ""
		return err
	}
	if res.attrs == nil {
		res.attrs = map[string]any{}
	}
	return nil
}

// deleteResources deletes the named resources in the given order. forced, when
// set, makes the first deletion fail with that reason. ok is false when the
// service closed meanwhile.
func (s *Service) deleteResources(r *region, st *stack, op *operation, ids []string, step time.Duration, forced string) (failed []string, ok bool) {
	for _, lid := range ids {
		s.mu.Lock()
		res := st.resources[lid]
		s.mu.Unlock()
		if res == nil {
			continue
		}
		f, ok := s.deleteOne(r, st, op, res, step, forced)
		if !ok {
			return nil, false
		}
		if f {
			failed = append(failed, lid)
			forced = ""
		}
	}
	return failed, true
}

// deleteOne deletes one resource, with its events; failed reports a DELETE_FAILED.
func (s *Service) deleteOne(r *region, st *stack, op *operation, res *resource, step time.Duration, forced string) (failed, ok bool) {
	s.mu.Lock()
	if res.status == statusDeleteComplete || res.status == statusDeleteSkipped {
		s.mu.Unlock()
		return false, true
	}
	if res.physicalID == "" {
		s.setResourceStatus(st, res, statusDeleteComplete, "", op.token)
		s.mu.Unlock()
		return false, true
	}
	if res.deletionPolicy == "Retain" {
		s.setResourceStatus(st, res, statusDeleteSkipped, "", op.token)
		s.mu.Unlock()
		return false, true
	}
	s.setResourceStatus(st, res, statusDeleteInProgress, "", op.token)
	var err error
	if forced != "" {
		err = errors.New(forced)
	} else {
		err = providerFor(res.typ).delete(s.pctx(r, st, op), res)
	}
	s.mu.Unlock()
	if !s.sleep(step) {
		return false, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.setResourceStatus(st, res, statusDeleteFailed, errorText(err), op.token)
		return true, true
	}
	s.setResourceStatus(st, res, statusDeleteComplete, "", op.token)
	return false, true
}

// runDelete deletes the stack's resources in reverse creation order.
func (s *Service) runDelete(r *region, st *stack, op *operation, retain map[string]bool) {
	s.mu.Lock()
	ids := append([]string(nil), st.order...)
	reverse(ids)
	step := st.cfg.duration / time.Duration(len(ids)+1)
	for _, lid := range ids {
		if res := st.resources[lid]; res != nil && retain[lid] && res.status != statusDeleteComplete {
			s.setResourceStatus(st, res, statusDeleteSkipped, "", op.token)
		}
	}
	s.mu.Unlock()
	failed, ok := s.deleteResources(r, st, op, ids, step, "")
	if !ok || !s.sleep(step) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(failed) > 0 {
		s.setStackStatus(st, statusDeleteFailed, fmt.Sprintf("The following resource(s) failed to delete: [%s]. ", strings.Join(failed, ", ")), op.token)
		s.finish(st, op, "")
		return
	}
	s.markDeleted(r, st, op)
	s.finish(st, op, "")
}

// markDeleted completes a deletion: the stack leaves the name index, its
// exports and change sets go. s.mu must be held.
func (s *Service) markDeleted(r *region, st *stack, op *operation) {
	s.setStackStatus(st, statusDeleteComplete, "", op.token)
	st.deleted = s.now().UTC()
	if r.byName[st.name] == st {
		delete(r.byName, st.name)
	}
	for n, e := range r.exports {
		if e.stackID == st.id {
			delete(r.exports, n)
		}
	}
	st.changeSets = nil
	st.imports = nil
}

// importers lists the live stacks other than st that import an export.
func importers(r *region, name string, st *stack) []string {
	var out []string
	for _, o := range r.byName {
		if o != st && o.imports[name] {
			out = append(out, o.name)
		}
	}
	sort.Strings(out)
	return out
}

// joinNames lists stack names as CloudFormation does in export reasons
// ("in use by a and b").
func joinNames(names []string) string {
	return strings.Join(names, " and ")
}

// commitOutputs resolves the outputs of cfg and publishes its exports,
// enforcing uniqueness and imports. s.mu must be held.
func (s *Service) commitOutputs(r *region, st *stack, op *operation, cfg *config) error {
	outs, err := cfg.tmpl.ResolveOutputs(s.env(r, st, op, cfg))
	if err != nil {
		return err
	}
	newExports := map[string]string{}
	for _, o := range outs {
		if o.ExportName == "" {
			continue
		}
		if e := r.exports[o.ExportName]; e != nil && e.stackID != st.id {
			return reasonf("Export with name %s is already exported by stack %s", o.ExportName, e.stackName)
		}
		newExports[o.ExportName] = o.Value
	}
	for _, n := range sortedKeys(r.exports) {
		e := r.exports[n]
		if e.stackID != st.id {
			continue
		}
		v, kept := newExports[n]
		if kept && v == e.value {
			continue
		}
		if users := importers(r, n, st); len(users) > 0 {
			verb := "delete"
			if kept {
				verb = "update"
			}
			return reasonf("Cannot %s export %s as it is in use by %s", verb, n, joinNames(users))
		}
	}
	for n, e := range r.exports {
		if e.stackID == st.id {
			delete(r.exports, n)
		}
	}
	for n, v := range newExports {
		r.exports[n] = &export{name: n, value: v, stackID: st.id, stackName: st.name}
	}
	st.outputs = outs
	st.imports = op.imports
	return nil
}

// applied is one resource action of an update, kept for the rollback.
type applied struct {
	lid  string
	kind string // add, modify, replace
	old  *resource
	cur  *resource
}

// runUpdate moves the stack to cfg; planned is the number of resource changes
// expected, over which the stack duration is spread.
func (s *Service) runUpdate(r *region, st *stack, op *operation, cfg *config, planned int, policy string) {
	s.mu.Lock()
	order := activeResources(cfg)
	step := cfg.duration / time.Duration(planned+1)
	faultReason, faulted := s.fault(st.name)
	if policy == "" {
		policy = st.policy
	}
	s.mu.Unlock()

	var done []applied
	failed, verb, stackReason := "", "update", ""
	first := true
	for _, lid := range order {
		s.mu.Lock()
		if op.cancel {
			stackReason = "Resource update cancelled"
			s.mu.Unlock()
			break
		}
		decl := cfg.tmpl.Resources[lid]
		cur := st.resources[lid]
		if cur != nil && (cur.status == statusDeleteComplete || cur.physicalID == "") {
			cur = nil
		}
		props, rerr := s.resolveProps(r, st, op, cfg, decl)
		kind := "add"
		if cur != nil {
			if rerr != nil {
				kind = "modify"
			} else {
				rc, changed := diffResource(cur, decl.Type, props)
				if !changed {
					s.mu.Unlock()
					continue
				}
				kind = "modify"
				if rc.replacement != "False" {
					kind = "replace"
				}
			}
		}
		var err error = rerr
		if err == nil && kind != "add" {
			action := "Update:Modify"
			if kind == "replace" {
				action = "Update:Replace"
			}
			err = checkStackPolicy(policy, lid, decl.Type, action)
		}
		if err == nil && first && faulted {
			err = reasonf("%s", strings.TrimSpace(strings.TrimPrefix(faultReason, RollbackFailurePrefix)))
		}
		first = false
		a := applied{lid: lid, kind: kind}
		target := cur
		switch kind {
		case "add":
			res := &resource{logicalID: lid, typ: decl.Type, deletionPolicy: decl.DeletionPolicy, attrs: map[string]any{}}
			st.resources[lid] = res
			a.cur, target = res, res
			s.setResourceStatus(st, res, statusCreateInProgress, "", op.token)
			if err == nil {
				res.props = props
				if err = providerFor(res.typ).create(s.pctx(r, st, op), res, props); err != nil {
					res.physicalID = ""
				} else {
					s.addEvent(st, lid, res.physicalID, res.typ, statusCreateInProgress, "Resource creation Initiated", op.token)
				}
			}
		case "modify":
			old := *cur
			a.old, a.cur = &old, cur
			s.setResourceStatus(st, cur, statusUpdateInProgress, "", op.token)
			if err == nil {
				if p := providerFor(decl.Type); p.update != nil {
					err = p.update(s.pctx(r, st, op), cur, cur.props, props)
				}
				if err == nil {
					cur.props = props
				}
			}
		case "replace":
			a.old = cur
			s.setResourceStatus(st, cur, statusUpdateInProgress, "Requested update requires the creation of a new physical resource; hence creating one.", op.token)
			if err == nil {
				res := &resource{logicalID: lid, typ: decl.Type, deletionPolicy: decl.DeletionPolicy, attrs: map[string]any{}, props: props}
				if err = providerFor(res.typ).create(s.pctx(r, st, op), res, props); err == nil {
					st.resources[lid] = res
					res.status, res.updated = statusUpdateInProgress, s.now().UTC()
					a.cur, target = res, res
					s.addEvent(st, lid, res.physicalID, res.typ, statusUpdateInProgress, "Resource creation Initiated", op.token)
				}
			}
		}
		s.mu.Unlock()
		if !s.sleep(step) {
			return
		}
		s.mu.Lock()
		if err != nil {
			// The failed action is rolled back too, so that its resource ends
			// deleted (add) or UPDATE_COMPLETE again (modify, replace).
			done = append(done, a)
			if kind == "add" {
				verb = "create"
				s.setResourceStatus(st, target, statusCreateFailed, errorText(err), op.token)
			} else {
				s.setResourceStatus(st, target, statusUpdateFailed, errorText(err), op.token)
			}
			failed = lid
			s.mu.Unlock()
			break
		}
		if kind == "add" {
			s.setResourceStatus(st, target, statusCreateComplete, "", op.token)
		} else {
			s.setResourceStatus(st, target, statusUpdateComplete, "", op.token)
		}
		done = append(done, a)
		s.mu.Unlock()
	}

	if failed == "" && stackReason == "" {
		if !s.sleep(step) {
			return
		}
		s.mu.Lock()
		if err := s.commitOutputs(r, st, op, cfg); err != nil {
			stackReason = errorText(err)
		} else {
			s.setStackStatus(st, statusUpdateCleanup, "", op.token)
			oldOrder := st.order
			st.order = order
			st.cfg = cfg
			inNew := map[string]bool{}
			for _, lid := range order {
				inNew[lid] = true
			}
			var cleanup []*resource
			for _, a := range done {
				if a.kind == "replace" {
					cleanup = append(cleanup, a.old)
				}
			}
			var removed []string
			for i := len(oldOrder) - 1; i >= 0; i-- {
				if lid := oldOrder[i]; !inNew[lid] && st.resources[lid] != nil {
					cleanup = append(cleanup, st.resources[lid])
					removed = append(removed, lid)
				}
			}
			s.mu.Unlock()
			for _, res := range cleanup {
				if _, ok := s.deleteOne(r, st, op, res, step/2, ""); !ok {
					return
				}
			}
			s.mu.Lock()
			for _, lid := range removed {
				delete(st.resources, lid)
			}
			s.setStackStatus(st, statusUpdateComplete, "", op.token)
			s.finish(st, op, "EXECUTE_COMPLETE")
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}

	s.mu.Lock()
	reason := stackReason
	switch {
	case op.cancel:
		reason = "User Initiated"
	case failed != "":
		reason = fmt.Sprintf("The following resource(s) failed to %s: [%s]. ", verb, failed)
	}
	s.setStackStatus(st, statusUpdateRollbackProgress, reason, op.token)
	rollback := func(op *operation) { s.rollbackUpdate(r, st, op, done, step) }
	if faulted && strings.HasPrefix(faultReason, RollbackFailurePrefix) {
		s.setStackStatus(st, statusUpdateRollbackFailed, strings.TrimSpace(strings.TrimPrefix(faultReason, RollbackFailurePrefix)), op.token)
		st.pendingRollback = rollback
		s.finish(st, op, "EXECUTE_FAILED")
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	rollback(op)
}

// rollbackUpdate reverts the applied actions of an update, newest first, then
// deletes the resources the update created. The stack must be in
// UPDATE_ROLLBACK_IN_PROGRESS.
func (s *Service) rollbackUpdate(r *region, st *stack, op *operation, done []applied, step time.Duration) {
	var created []*resource
	for i := len(done) - 1; i >= 0; i-- {
		a := done[i]
		s.mu.Lock()
		switch a.kind {
		case "add":
			created = append(created, a.cur)
		case "replace":
			if a.cur != nil {
				created = append(created, a.cur)
			}
			st.resources[a.lid] = a.old
			s.setResourceStatus(st, a.old, statusUpdateComplete, "", op.token)
		case "modify":
			s.setResourceStatus(st, a.cur, statusUpdateInProgress, "", op.token)
			if p := providerFor(a.cur.typ); p.update != nil && canonical(a.cur.props) != canonical(a.old.props) {
				_ = p.update(s.pctx(r, st, op), a.cur, a.cur.props, a.old.props)
			}
			a.cur.props, a.cur.attrs = a.old.props, a.old.attrs
			s.mu.Unlock()
			if !s.sleep(step) {
				return
			}
			s.mu.Lock()
			s.setResourceStatus(st, a.cur, statusUpdateComplete, "", op.token)
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.setStackStatus(st, statusUpdateRollbackCleanup, "", op.token)
	s.mu.Unlock()
	for _, res := range created {
		if _, ok := s.deleteOne(r, st, op, res, step/2, ""); !ok {
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, res := range created {
		if cur := st.resources[res.logicalID]; cur == res {
			delete(st.resources, res.logicalID)
		}
	}
	st.pendingRollback = nil
	s.setStackStatus(st, statusUpdateRollbackComplete, "", op.token)
	s.finish(st, op, "EXECUTE_FAILED")
}
