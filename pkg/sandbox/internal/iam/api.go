package iam

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

const namespace = "https://iam.amazonaws.com/doc/2010-05-08/"

// maxBody bounds a Query request body; IAM's largest inputs are 10 KiB policies.
const maxBody = 1 << 20

// API serves the IAM Query API. Every action is authorized as
// iam:<Action> on the role or policy it names.
type API struct{ store *Store }

// NewAPI returns the IAM Query API handler.
func NewAPI(store *Store) *API { return &API{store: store} }

type handlerFunc func(a *API, call *awsapi.Call, f awsapi.Form) (any, error)

var actions = map[string]handlerFunc{
	"CreateRole":               (*API).createRole,
	"GetRole":                  (*API).getRole,
	"DeleteRole":               (*API).deleteRole,
	"ListRoles":                (*API).listRoles,
	"UpdateAssumeRolePolicy":   (*API).updateAssumeRolePolicy,
	"PutRolePolicy":            (*API).putRolePolicy,
	"GetRolePolicy":            (*API).getRolePolicy,
	"DeleteRolePolicy":         (*API).deleteRolePolicy,
	"ListRolePolicies":         (*API).listRolePolicies,
	"AttachRolePolicy":         (*API).attachRolePolicy,
	"DetachRolePolicy":         (*API).detachRolePolicy,
	"ListAttachedRolePolicies": (*API).listAttachedRolePolicies,
	"CreatePolicy":             (*API).createPolicy,
	"GetPolicy":                (*API).getPolicy,
	"GetPolicyVersion":         (*API).getPolicyVersion,
	"DeletePolicy":             (*API).deletePolicy,
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	awsapi.ServeQuery(w, r, namespace, "2010-05-08", maxBody, func(action string) (awsapi.QueryHandler, bool) {
		h, ok := actions[action]
		if !ok {
			return nil, false
		}
		return func(call *awsapi.Call, form awsapi.Form) (any, error) { return h(a, call, form) }, true
	})
}

func required(f awsapi.Form, param, field string) (string, error) {
	v := f.Get(param)
	if v == "" {
		return "", awsapi.ValidationError("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", field)
	}
	return v, nil
}

// encodeDocument URL-encodes a policy document as IAM returns it.
func encodeDocument(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

type tagXML struct {
	Key   string
	Value string
}

type roleXML struct {
	Path                     string
	RoleName                 string
	RoleId                   string
	Arn                      string
	CreateDate               string
	AssumeRolePolicyDocument string
	Description              string `xml:",omitempty"`
	MaxSessionDuration       int32
	Tags                     *[]tagXML `xml:"Tags>member,omitempty"`
}

func roleToXML(r *role) roleXML {
	x := roleXML{Path: r.path, RoleName: r.name, RoleId: r.id, Arn: r.arn, CreateDate: isoTime(r.created),
		AssumeRolePolicyDocument: encodeDocument(r.trust), Description: r.description, MaxSessionDuration: r.maxSession}
	if len(r.tags) > 0 {
		keys := make([]string, 0, len(r.tags))
		for k := range r.tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		tags := make([]tagXML, 0, len(keys))
		for _, k := range keys {
			tags = append(tags, tagXML{Key: k, Value: r.tags[k]})
		}
		x.Tags = &tags
	}
	return x
}

type policyXML struct {
	PolicyName       string
	PolicyId         string
	Arn              string
	Path             string
	DefaultVersionId string
	AttachmentCount  int
	IsAttachable     bool
	Description      string `xml:",omitempty"`
	CreateDate       string
	UpdateDate       string
}

func (a *API) policyToXML(p *managedPolicy) policyXML {
	return policyXML{PolicyName: p.name, PolicyId: p.id, Arn: p.arn, Path: p.path, DefaultVersionId: "v" + strconv.Itoa(p.version),
		AttachmentCount: a.store.attachments(p.arn), IsAttachable: true, Description: p.description,
		CreateDate: isoTime(p.created), UpdateDate: isoTime(p.updated)}
}

// authorize checks iam:<Action> on resource, owned by the caller's account.
func (a *API) authorize(call *awsapi.Call, resource string) error {
	return a.store.Authorize(call, "iam:"+call.Action, awsapi.Resource{ARN: resource, Account: call.Caller.Account}, nil)
}

// roleARN returns the ARN a role of the caller's account has (or would have).
func (a *API) roleARN(call *awsapi.Call, name, path string) string {
	a.store.mu.RLock()
	defer a.store.mu.RUnlock()
	if acct, ok := a.store.accounts[call.Caller.Account]; ok {
		if r, ok := acct.roles[strings.ToLower(name)]; ok {
			return r.arn
		}
	}
	if path == "" {
		path = "/"
	}
	return "arn:aws:iam::" + call.Caller.Account + ":role" + path + name
}

// roleParam reads RoleName and authorizes the action on that role.
func (a *API) roleParam(call *awsapi.Call, f awsapi.Form) (string, error) {
	name, err := required(f, "RoleName", "roleName")
	if err != nil {
		return "", err
	}
	if err := validateName("roleName", name, 64); err != nil {
		return "", err
	}
	return name, a.authorize(call, a.roleARN(call, name, ""))
}

func (a *API) withRole(call *awsapi.Call, name string, fn func(r *role)) error {
	a.store.mu.RLock()
	defer a.store.mu.RUnlock()
	_, r, err := a.store.role(call.Caller.Account, name)
	if err != nil {
		return err
	}
	fn(r)
	return nil
}

func (a *API) createRole(call *awsapi.Call, f awsapi.Form) (any, error) {
	name, err := required(f, "RoleName", "roleName")
	if err != nil {
		return nil, err
	}
	if err := validateName("roleName", name, 64); err != nil {
		return nil, err
	}
	doc, err := required(f, "AssumeRolePolicyDocument", "assumeRolePolicyDocument")
	if err != nil {
		return nil, err
	}
	if err := a.authorize(call, a.roleARN(call, name, f.Get("Path"))); err != nil {
		return nil, err
	}
	spec := RoleSpec{Name: name, Path: f.Get("Path"), AssumeRolePolicy: doc, Description: f.Get("Description")}
	if v := f.Get("MaxSessionDuration"); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return nil, awsapi.ValidationError("1 validation error detected: Value '%s' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200", v)
		}
		spec.MaxSessionDuration = int32(n)
	}
	for _, t := range f.Structs("Tags") {
		if spec.Tags == nil {
			spec.Tags = map[string]string{}
		}
		spec.Tags[t["Key"]] = t["Value"]
	}
	if _, _, err := a.store.CreateRole(call.Caller.Account, spec); err != nil {
		return nil, err
	}
	return a.roleResult(call, name)
}

func (a *API) getRole(call *awsapi.Call, f awsapi.Form) (any, error) {
	name, err := a.roleParam(call, f)
	if err != nil {
		return nil, err
	}
	return a.roleResult(call, name)
}

// roleResult is the Role element CreateRole and GetRole answer with.
func (a *API) roleResult(call *awsapi.Call, name string) (any, error) {
	var out struct{ Role roleXML }
	err := a.withRole(call, name, func(r *role) { out.Role = roleToXML(r) })
	return out, err
}

func (a *API) deleteRole(call *awsapi.Call, f awsapi.Form) (any, error) {
	name, err := a.roleParam(call, f)
	if err != nil {
		return nil, err
	}
	var inline, attached int
	if err := a.withRole(call, name, func(r *role) { inline, attached = len(r.inline), len(r.attached) }); err != nil {
		return nil, err
	}
	switch {
	case inline > 0:
		return nil, awsapi.Errorf(http.StatusConflict, "DeleteConflict", "Cannot delete entity, must delete policies first.")
	case attached > 0:
		return nil, awsapi.Errorf(http.StatusConflict, "DeleteConflict", "Cannot delete entity, must detach all policies first.")
	}
	return nil, a.store.DeleteRole(call.Caller.Account, name)
}

// page applies Marker/MaxItems to n items sorted by the caller.
func page(f awsapi.Form, n int) (start, end int, next string, err error) {
	maxItems := 100
	if v := f.Get("MaxItems"); v != "" {
		maxItems, err = strconv.Atoi(v)
		if err != nil || maxItems < 1 || maxItems > 1000 {
			return 0, 0, "", awsapi.ValidationError("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000", v)
		}
	}
	if m := f.Get("Marker"); m != "" {
		start, err = strconv.Atoi(m)
		if err != nil || start < 0 || start > n {
			return 0, 0, "", awsapi.ValidationError("Invalid Marker.")
		}
	}
	end = min(start+maxItems, n)
	if end < n {
		next = strconv.Itoa(end)
	}
	return start, end, next, nil
}

type listRolesResult struct {
	Roles       []roleXML `xml:"Roles>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

func (a *API) listRoles(call *awsapi.Call, f awsapi.Form) (any, error) {
	if err := a.authorize(call, "arn:aws:iam::"+call.Caller.Account+":role/"); err != nil {
		return nil, err
	}
	prefix := f.Get("PathPrefix")
	if prefix == "" {
		prefix = "/"
	}
	a.store.mu.RLock()
	var roles []roleXML
	if acct, ok := a.store.accounts[call.Caller.Account]; ok {
		for _, r := range acct.roles {
			if strings.HasPrefix(r.path, prefix) {
				roles = append(roles, roleToXML(r))
			}
		}
	}
	a.store.mu.RUnlock()
	sort.Slice(roles, func(i, j int) bool { return strings.ToLower(roles[i].RoleName) < strings.ToLower(roles[j].RoleName) })
	start, end, next, err := page(f, len(roles))
	if err != nil {
		return nil, err
	}
	return listRolesResult{Roles: roles[start:end], IsTruncated: next != "", Marker: next}, nil
}

func (a *API) updateAssumeRolePolicy(call *awsapi.Call, f awsapi.Form) (any, error) {
	name, err := a.roleParam(call, f)
	if err != nil {
		return nil, err
	}
	doc, err := required(f, "PolicyDocument", "policyDocument")
	if err != nil {
		return nil, err
	}
	if _, err := a.store.parseTrustLocked(doc); err != nil {
		return nil, err
	}
	a.store.mu.Lock()
	defer a.store.mu.Unlock()
	_, r, err := a.store.role(call.Caller.Account, name)
	if err != nil {
		return nil, err
	}
	r.trust = doc
	return nil, nil
}

// rolePolicyParams are the RoleName (authorized) and PolicyName of an inline role policy action.
func (a *API) rolePolicyParams(call *awsapi.Call, f awsapi.Form) (role, policyName string, err error) {
	if role, err = a.roleParam(call, f); err != nil {
		return "", "", err
	}
	policyName, err = required(f, "PolicyName", "policyName")
	return role, policyName, err
}

func (a *API) putRolePolicy(call *awsapi.Call, f awsapi.Form) (any, error) {
	name, policyName, err := a.rolePolicyParams(call, f)
	if err != nil {
		return nil, err
	}
	doc, err := required(f, "PolicyDocument", "policyDocument")
	if err != nil {
		return nil, err
	}
	return nil, a.store.PutRolePolicy(call.Caller.Account, name, policyName, doc)
}

func (a *API) getRolePolicy(call *awsapi.Call, f awsapi.Form) (any, error) {
	name, policyName, err := a.rolePolicyParams(call, f)
	if err != nil {
		return nil, err
	}
	var out struct {
		RoleName       string
		PolicyName     string
		PolicyDocument string
	}
	var found bool
	if err := a.withRole(call, name, func(r *role) {
		if ip, ok := r.inline[policyName]; ok {
			found = true
			out.RoleName, out.PolicyName, out.PolicyDocument = r.name, ip.name, encodeDocument(ip.doc)
		}
	}); err != nil {
		return nil, err
	}
	if !found {
		return nil, awsapi.Errorf(http.StatusNotFound, "NoSuchEntity", "The role policy with name %s cannot be found.", policyName)
	}
	return out, nil
}

func (a *API) deleteRolePolicy(call *awsapi.Call, f awsapi.Form) (any, error) {
	name, policyName, err := a.rolePolicyParams(call, f)
	if err != nil {
		return nil, err
	}
	return nil, a.store.DeleteRolePolicy(call.Caller.Account, name, policyName)
}

type listRolePoliciesResult struct {
	PolicyNames []string `xml:"PolicyNames>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

func (a *API) listRolePolicies(call *awsapi.Call, f awsapi.Form) (any, error) {
	name, err := a.roleParam(call, f)
	if err != nil {
		return nil, err
	}
	var names []string
	if err := a.withRole(call, name, func(r *role) {
		for n := range r.inline {
			names = append(names, n)
		}
	}); err != nil {
		return nil, err
	}
	sort.Strings(names)
	start, end, next, err := page(f, len(names))
	if err != nil {
		return nil, err
	}
	return listRolePoliciesResult{PolicyNames: names[start:end], IsTruncated: next != "", Marker: next}, nil
}

func (a *API) policyARNParam(call *awsapi.Call, f awsapi.Form) (string, error) {
	arn, err := required(f, "PolicyArn", "policyArn")
	if err != nil {
		return "", err
	}
	if len(arn) < 20 || !strings.HasPrefix(arn, "arn:") {
		return "", awsapi.Errorf(http.StatusBadRequest, "InvalidInput", "ARN %s is not valid.", arn)
	}
	return arn, nil
}

func (a *API) attachRolePolicy(call *awsapi.Call, f awsapi.Form) (any, error) {
	name, err := a.roleParam(call, f)
	if err != nil {
		return nil, err
	}
	arn, err := a.policyARNParam(call, f)
	if err != nil {
		return nil, err
	}
	return nil, a.store.AttachRolePolicy(call.Caller.Account, name, arn)
}

func (a *API) detachRolePolicy(call *awsapi.Call, f awsapi.Form) (any, error) {
	name, err := a.roleParam(call, f)
	if err != nil {
		return nil, err
	}
	arn, err := a.policyARNParam(call, f)
	if err != nil {
		return nil, err
	}
	return nil, a.store.DetachRolePolicy(call.Caller.Account, name, arn)
}

type attachedPolicyXML struct {
	PolicyName string
	PolicyArn  string
}

type listAttachedResult struct {
	AttachedPolicies []attachedPolicyXML `xml:"AttachedPolicies>member"`
	IsTruncated      bool
	Marker           string `xml:",omitempty"`
}

func (a *API) listAttachedRolePolicies(call *awsapi.Call, f awsapi.Form) (any, error) {
	name, err := a.roleParam(call, f)
	if err != nil {
		return nil, err
	}
	prefix := f.Get("PathPrefix")
	var out []attachedPolicyXML
	if err := a.withRole(call, name, func(r *role) {
		acct := a.store.accounts[call.Caller.Account]
		for _, arn := range r.attached {
			if p := a.store.findManaged(acct, arn); p != nil && strings.HasPrefix(p.path, prefix) {
				out = append(out, attachedPolicyXML{PolicyName: p.name, PolicyArn: p.arn})
			}
		}
	}); err != nil {
		return nil, err
	}
	start, end, next, err := page(f, len(out))
	if err != nil {
		return nil, err
	}
	return listAttachedResult{AttachedPolicies: out[start:end], IsTruncated: next != "", Marker: next}, nil
}

type policyResult struct {
	Policy policyXML
}

func (a *API) createPolicy(call *awsapi.Call, f awsapi.Form) (any, error) {
	name, err := required(f, "PolicyName", "policyName")
	if err != nil {
		return nil, err
	}
	doc, err := required(f, "PolicyDocument", "policyDocument")
	if err != nil {
		return nil, err
	}
	path := f.Get("Path")
	if path == "" {
		path = "/"
	}
	if err := a.authorize(call, "arn:aws:iam::"+call.Caller.Account+":policy"+path+name); err != nil {
		return nil, err
	}
	p, err := a.store.createPolicy(call.Caller.Account, name, path, doc, f.Get("Description"))
	if err != nil {
		return nil, err
	}
	a.store.mu.RLock()
	defer a.store.mu.RUnlock()
	return policyResult{Policy: a.policyToXML(p)}, nil
}

// managedPolicy finds a policy the caller's account can see, after authorizing.
func (a *API) managedParam(call *awsapi.Call, f awsapi.Form) (string, error) {
	arn, err := a.policyARNParam(call, f)
	if err != nil {
		return "", err
	}
	return arn, a.authorize(call, arn)
}

func (a *API) getPolicy(call *awsapi.Call, f awsapi.Form) (any, error) {
	arn, err := a.managedParam(call, f)
	if err != nil {
		return nil, err
	}
	a.store.mu.RLock()
	defer a.store.mu.RUnlock()
	p, err := a.store.visiblePolicy(call.Caller.Account, arn)
	if err != nil {
		return nil, err
	}
	return policyResult{Policy: a.policyToXML(p)}, nil
}

func (a *API) getPolicyVersion(call *awsapi.Call, f awsapi.Form) (any, error) {
	arn, err := a.managedParam(call, f)
	if err != nil {
		return nil, err
	}
	version, err := required(f, "VersionId", "versionId")
	if err != nil {
		return nil, err
	}
	a.store.mu.RLock()
	defer a.store.mu.RUnlock()
	p, err := a.store.visiblePolicy(call.Caller.Account, arn)
	if err != nil {
		return nil, err
	}
	// Only the default version is kept.
	if version != "v"+strconv.Itoa(p.version) {
		return nil, awsapi.Errorf(http.StatusNotFound, "NoSuchEntity", "Policy %s version %s does not exist or is not attachable.", arn, version)
	}
	var out struct {
		PolicyVersion struct {
			Document         string
			VersionId        string
			IsDefaultVersion bool
			CreateDate       string
		}
	}
	out.PolicyVersion.Document = encodeDocument(p.doc)
	out.PolicyVersion.VersionId = version
	out.PolicyVersion.IsDefaultVersion = true
	out.PolicyVersion.CreateDate = isoTime(p.updated)
	return out, nil
}

func (a *API) deletePolicy(call *awsapi.Call, f awsapi.Form) (any, error) {
	arn, err := a.managedParam(call, f)
	if err != nil {
		return nil, err
	}
	a.store.mu.RLock()
	n := a.store.attachments(arn)
	a.store.mu.RUnlock()
	if n > 0 {
		return nil, awsapi.Errorf(http.StatusConflict, "DeleteConflict", "Cannot delete a policy attached to entities.")
	}
	return nil, a.store.DeletePolicy(call.Caller.Account, arn)
}
