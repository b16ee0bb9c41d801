package lambda

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// functionConfiguration is Lambda's FunctionConfiguration.
type functionConfiguration struct {
	FunctionName               string
	FunctionArn                string
	Runtime                    string
	Role                       string
	Handler                    string
	CodeSize                   int64
	Description                string
	Timeout                    int
	MemorySize                 int
	LastModified               string
	CodeSha256                 string
	Version                    string
	Environment                *environment `json:",omitempty"`
	TracingConfig              struct{ Mode string }
	RevisionId                 string
	State                      string
	StateReason                string `json:",omitempty"`
	StateReasonCode            string `json:",omitempty"`
	LastUpdateStatus           string
	LastUpdateStatusReason     string `json:",omitempty"`
	LastUpdateStatusReasonCode string `json:",omitempty"`
	PackageType                string
	Architectures              []string
	EphemeralStorage           struct{ Size int }
	LoggingConfig              struct{ LogFormat, LogGroup string }
	SnapStart                  struct{ ApplyOn, OptimizationStatus string }
	RuntimeVersionConfig       struct{ RuntimeVersionArn string }
}

type environment struct {
	Variables map[string]string
}

func (s *Service) configOut(v *version) functionConfiguration {
	now := s.now()
	c := v.cfg
	out := functionConfiguration{
		FunctionName: v.fn.name, FunctionArn: v.fn.arn, Runtime: c.runtime, Role: c.role, Handler: c.handler,
		CodeSize: v.code.size(), Description: c.description, Timeout: c.timeout, MemorySize: c.memory,
		LastModified: lastModified(v.lastModified), CodeSha256: v.code.sha256, Version: v.number, RevisionId: v.revisionID,
		State: "Active", LastUpdateStatus: "Successful", PackageType: "Zip", Architectures: []string{c.arch},
	}
	if v.number != latest {
		out.FunctionArn = v.arn()
		out.Description = v.description
	}
	if len(c.env) > 0 {
		out.Environment = &environment{Variables: c.env}
	}
	out.TracingConfig.Mode = c.tracingMode
	out.EphemeralStorage.Size = c.ephemeral
	out.LoggingConfig.LogFormat, out.LoggingConfig.LogGroup = c.logFormat, c.logGroup
	out.SnapStart.ApplyOn, out.SnapStart.OptimizationStatus = "None", "Off"
	out.RuntimeVersionConfig.RuntimeVersionArn = "arn:aws:lambda:" + v.fn.region + "::runtime:" + runtimeVersionID(c.runtime)
	if now.Before(v.activeAt) {
		out.State, out.StateReason, out.StateReasonCode = "Pending", "The function is being created.", "Creating"
	}
	if now.Before(v.updateDoneAt) {
		out.LastUpdateStatus, out.LastUpdateStatusReason, out.LastUpdateStatusReasonCode = "InProgress", "The function is being created.", "Creating"
		if !now.Before(v.activeAt) {
			out.LastUpdateStatusReason, out.LastUpdateStatusReasonCode = "The function is being updated.", "Updating"
		}
	}
	return out
}

// runtimeVersionID is a stable stand-in for the runtime version hash Lambda
// reports (64 hex digits).
func runtimeVersionID(runtime string) string {
	sum := sha256.Sum256([]byte(runtime))
	return hex.EncodeToString(sum[:])
}

// toConfig turns a validated spec into a version's configuration.
func (sp *FunctionSpec) toConfig() config {
	return config{runtime: sp.Runtime, role: sp.Role, handler: sp.Handler, description: sp.Description, timeout: sp.Timeout,
		memory: sp.MemorySize, env: sp.Environment, arch: sp.Architecture, logGroup: sp.LogGroup, logFormat: sp.LogFormat,
		tracingMode: sp.TracingMode, ephemeral: sp.EphemeralStorage}
}

// spec is the definition a configuration came from, for merging updates.
func (v *version) spec() FunctionSpec {
	c := v.cfg
	return FunctionSpec{Name: v.fn.name, Runtime: c.runtime, Role: c.role, Handler: c.handler, Description: c.description,
		Timeout: c.timeout, MemorySize: c.memory, Environment: c.env, Architecture: c.arch, LogGroup: c.logGroup,
		LogFormat: c.logFormat, TracingMode: c.tracingMode, EphemeralStorage: c.ephemeral, PackageType: "Zip"}
}

type codeInput struct {
	ZipFile         []byte
	S3Bucket        string
	S3Key           string
	S3ObjectVersion string
	ImageUri        string
}

func (c codeInput) source() CodeSource {
	return CodeSource{ZipFile: c.ZipFile, S3Bucket: c.S3Bucket, S3Key: c.S3Key, S3ObjectVersion: c.S3ObjectVersion, ImageURI: c.ImageUri}
}

type loggingConfig struct {
	LogFormat, LogGroup, ApplicationLogLevel, SystemLogLevel string
}

// functionInput holds the definition members CreateFunction and
// UpdateFunctionConfiguration share.
type functionInput struct {
	Runtime          *string
	Role             *string
	Handler          *string
	Description      *string
	Timeout          *int
	MemorySize       *int
	Environment      *environment
	TracingConfig    *struct{ Mode string }
	Layers           []string
	EphemeralStorage *struct{ Size int }
	LoggingConfig    *loggingConfig
}

// apply merges the given members into sp.
func (in *functionInput) apply(sp *FunctionSpec) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&sp.Runtime, in.Runtime)
	set(&sp.Role, in.Role)
	set(&sp.Handler, in.Handler)
	set(&sp.Description, in.Description)
	if in.Timeout != nil {
		sp.Timeout = *in.Timeout
		if sp.Timeout == 0 {
			sp.Timeout = -1 // an explicit 0 is out of range, not "default"
		}
	}
	if in.MemorySize != nil {
		sp.MemorySize = *in.MemorySize
		if sp.MemorySize == 0 {
			sp.MemorySize = -1
		}
	}
	if in.Environment != nil {
		sp.Environment = in.Environment.Variables
	}
	if in.TracingConfig != nil {
		sp.TracingMode = in.TracingConfig.Mode
	}
	if in.Layers != nil {
		sp.Layers = in.Layers
	}
	if in.EphemeralStorage != nil {
		sp.EphemeralStorage = in.EphemeralStorage.Size
	}
	if in.LoggingConfig != nil {
		if in.LoggingConfig.LogFormat != "" {
			sp.LogFormat = in.LoggingConfig.LogFormat
		}
		if in.LoggingConfig.LogGroup != "" {
			sp.LogGroup = in.LoggingConfig.LogGroup
		}
	}
}

type createFunctionInput struct {
	functionInput
	FunctionName  string
	Code          *codeInput
	Publish       bool
	PackageType   string
	Tags          map[string]string
	Architectures []string
}

func architecture(list []string) (string, error) {
	switch len(list) {
	case 0:
		return "", nil
	case 1:
		return list[0], nil
	}
	return "", validation("1 validation error detected: Value '[%s]' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1", strings.Join(list, ", "))
}

func (s *Service) createFunction(call *awsapi.Call, q *request) (result, error) {
	var in createFunctionInput
	if err := q.decode(&in); err != nil {
		return result{}, err
	}
	r, err := parseRef(call, in.FunctionName, "", 140)
	if err != nil {
		return result{}, err
	}
	if r.qualifier != "" {
		return result{}, invalidParam("Function name cannot contain a qualifier: %s", in.FunctionName)
	}
	if r.account != call.Caller.Account || r.region != call.Region {
		return result{}, invalidParam("The function ARN must be in the account and region of the request.")
	}
	arch, err := architecture(in.Architectures)
	if err != nil {
		return result{}, err
	}
	spec := FunctionSpec{Name: r.name, PackageType: in.PackageType, Tags: in.Tags, Architecture: arch}
	in.functionInput.apply(&spec)
	if err := s.authorize(call, "CreateFunction", r.arn(), r.account, ""); err != nil {
		return result{}, err
	}
	if in.Code == nil {
		return result{}, validation("1 validation error detected: Value null at 'code' failed to satisfy constraint: Member must not be null")
	}
	v, err := s.create(call, r.account, r.region, spec, in.Code.source(), s.opts.StateDelay, in.Publish)
	if err != nil {
		return result{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := v
	if in.Publish {
		out = v.fn.versions[strconv.Itoa(v.fn.nextVersion)]
	}
	return result{body: s.configOut(out)}, nil
}

// create makes a function: validated, its role checked, its code read.
// delay is how long it stays Pending.
func (s *Service) create(call *awsapi.Call, account, region string, spec FunctionSpec, src CodeSource, delay time.Duration, publish bool) (*version, error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	arn := functionARN(region, account, spec.Name)
	if err := s.checkRole(call, account, arn, spec.Role); err != nil {
		return nil, err
	}
	c, err := s.readCode(call, src)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, awsapi.Errorf(http.StatusServiceUnavailable, "ServiceException", "The sandbox is shutting down.")
	}
	k := fnKey{account, region, spec.Name}
	if s.functions[k] != nil {
		return nil, conflict("Function already exist: %s", spec.Name)
	}
	if spec.ReservedConcurrency != nil {
		if err := s.checkReservation(account, region, "", *spec.ReservedConcurrency); err != nil {
			return nil, err
		}
	}
	f := &function{account: account, region: region, name: spec.Name, arn: arn, versions: map[string]*version{},
		aliases: map[string]*alias{}, tags: spec.Tags, reserved: spec.ReservedConcurrency, policyRevision: newUUID()}
	now := s.now()
	f.latest = &version{fn: f, number: latest, cfg: spec.toConfig(), code: c, lastModified: now, revisionID: newUUID(),
		activeAt: now.Add(delay), updateDoneAt: now.Add(delay)}
	c.acquire()
	s.functions[k] = f
	if publish {
		f.publish("")
	}
	return f.latest, nil
}

// publish snapshots $LATEST as a new version, or returns the last published
// version when neither code nor configuration changed since. s.mu must be held.
func (f *function) publish(description string) *version {
	cur := f.latest
	if last := f.versions[strconv.Itoa(f.nextVersion)]; last != nil && last.code.sha256 == cur.code.sha256 && reflect.DeepEqual(last.cfg, cur.cfg) {
		return last
	}
	f.nextVersion++
	n := strconv.Itoa(f.nextVersion)
	v := &version{fn: f, number: n, cfg: cur.cfg, code: cur.code, lastModified: cur.lastModified, revisionID: newUUID(), description: description}
	v.code.acquire()
	f.versions[n] = v
	return v
}

// functionFor looks up the function and version a request names and
// authorizes action on it. s.mu must be held.
func (s *Service) functionFor(call *awsapi.Call, action, fnName, qualifier string) (*function, *version, error) {
	r, err := parseRef(call, fnName, qualifier, 170)
	if err != nil {
		return nil, nil, err
	}
	f := s.functions[r.key()]
	policy := ""
	if f != nil {
		policy = f.policyDocument(r.qualifier)
	}
	if err := s.authorize(call, action, r.arn(), r.account, policy); err != nil {
		return nil, nil, err
	}
	if f == nil {
		return nil, nil, functionNotFound(r)
	}
	v, err := f.resolve(r)
	if err != nil {
		return nil, nil, err
	}
	return f, v, nil
}

func (s *Service) getFunctionConfiguration(call *awsapi.Call, q *request) (result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, v, err := s.functionFor(call, "GetFunctionConfiguration", q.labels["FunctionName"], q.query("Qualifier"))
	if err != nil {
		return result{}, err
	}
	return result{body: s.configOut(v)}, nil
}

func (s *Service) getFunction(call *awsapi.Call, q *request) (result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, v, err := s.functionFor(call, "GetFunction", q.labels["FunctionName"], q.query("Qualifier"))
	if err != nil {
		return result{}, err
	}
	out := map[string]any{
		"Configuration": s.configOut(v),
		"Code":          map[string]string{"RepositoryType": "S3", "Location": s.codeLocation(v)},
	}
	if len(f.tags) > 0 {
		out["Tags"] = f.tags
	}
	if f.reserved != nil {
		out["Concurrency"] = map[string]int{"ReservedConcurrentExecutions": *f.reserved}
	}
	return result{body: out}, nil
}

type updateCodeInput struct {
	codeInput
	Publish       bool
	DryRun        bool
	RevisionId    string
	Architectures []string
}

func (s *Service) updateFunctionCode(call *awsapi.Call, q *request) (result, error) {
	var in updateCodeInput
	if err := q.decode(&in); err != nil {
		return result{}, err
	}
	arch, err := architecture(in.Architectures)
	if err != nil {
		return result{}, err
	}
	if arch != "" && arch != "x86_64" && arch != "arm64" {
		return result{}, validation("1 validation error detected: Value '[%s]' at 'architectures' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]", arch)
	}
	s.mu.Lock()
	_, v, err := s.functionFor(call, "UpdateFunctionCode", q.labels["FunctionName"], "")
	if err == nil {
		err = s.checkUpdatable(v, in.RevisionId)
	}
	s.mu.Unlock()
	if err != nil {
		return result{}, err
	}
	c, err := s.readCode(call, in.source())
	if err != nil {
		return result{}, err
	}
	if in.DryRun {
		s.mu.Lock()
		defer s.mu.Unlock()
		out := s.configOut(v)
		out.CodeSha256, out.CodeSize = c.sha256, c.size()
		return result{status: http.StatusOK, body: out}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkUpdatable(v, in.RevisionId); err != nil {
		return result{}, err
	}
	cfg := v.cfg
	if arch != "" {
		cfg.arch = arch
	}
	s.update(v, cfg, c, s.opts.StateDelay)
	out := v
	if in.Publish {
		out = v.fn.publish("")
	}
	return result{status: http.StatusOK, body: s.configOut(out)}, nil
}

// checkUpdatable refuses updates while one is in progress, or against a
// stale revision. s.mu must be held.
func (s *Service) checkUpdatable(v *version, revision string) error {
	if v.fn.deleted {
		return notFound("Function not found: %s", v.fn.arn)
	}
	if s.now().Before(v.updateDoneAt) {
		return conflict("The operation cannot be performed at this time. An update is in progress for resource: %s", v.fn.arn)
	}
	if revision != "" && revision != v.revisionID {
		return staleRevision()
	}
	return nil
}

// update changes $LATEST; its instances of the old generation retire.
// s.mu must be held.
func (s *Service) update(v *version, cfg config, c *code, delay time.Duration) {
	now := s.now()
	if c != nil && c != v.code {
		c.acquire()
		v.code.release()
		v.code = c
	}
	v.cfg = cfg
	v.lastModified, v.revisionID, v.updateDoneAt = now, newUUID(), now.Add(delay)
	v.generation++
	s.retireIdle(v.fn)
}

type updateConfigInput struct {
	functionInput
	RevisionId string
}

func (s *Service) updateFunctionConfiguration(call *awsapi.Call, q *request) (result, error) {
	var in updateConfigInput
	if err := q.decode(&in); err != nil {
		return result{}, err
	}
	s.mu.Lock()
	_, v, err := s.functionFor(call, "UpdateFunctionConfiguration", q.labels["FunctionName"], "")
	var spec FunctionSpec
	if err == nil {
		err = s.checkUpdatable(v, in.RevisionId)
		spec = v.spec()
	}
	s.mu.Unlock()
	if err != nil {
		return result{}, err
	}
	oldRole := spec.Role
	in.functionInput.apply(&spec)
	if err := spec.validate(); err != nil {
		return result{}, err
	}
	if spec.Role != oldRole {
		if err := s.checkRole(call, v.fn.account, v.fn.arn, spec.Role); err != nil {
			return result{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkUpdatable(v, in.RevisionId); err != nil {
		return result{}, err
	}
	s.update(v, spec.toConfig(), nil, s.opts.StateDelay)
	return result{status: http.StatusOK, body: s.configOut(v)}, nil
}

func (s *Service) deleteFunction(call *awsapi.Call, q *request) (result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, v, err := s.functionFor(call, "DeleteFunction", q.labels["FunctionName"], q.query("Qualifier"))
	if err != nil {
		return result{}, err
	}
	qual := q.query("Qualifier")
	if qual == "" {
		_, _, qual, _ = splitQualified(q.labels["FunctionName"])
	}
	switch {
	case qual == latest:
		err = invalidParam("$LATEST version cannot be deleted without deleting the function.")
	case qual != "" && !versionNumber(qual):
		err = invalidParam("Deletion of aliases is not supported.")
	case qual != "":
		err = f.deleteVersion(v)
	default:
		s.removeFunction(f)
	}
	if err != nil {
		return result{}, err
	}
	return result{status: http.StatusNoContent}, nil
}

// splitQualified reads the qualifier off a qualified name or ARN.
func splitQualified(fnName string) (account, name, qualifier string, ok bool) {
	m := functionRef.FindStringSubmatch(fnName)
	if m == nil {
		return "", "", "", false
	}
	return m[2], m[3], m[4], true
}

// deleteVersion deletes a published version no alias points at. s.mu must be held.
func (f *function) deleteVersion(v *version) error {
	var users []string
	for name, a := range f.aliases {
		if a.version == v.number || a.routing[v.number] > 0 {
			users = append(users, name)
		}
	}
	if len(users) > 0 {
		slices.Sort(users)
		return conflict("Unable to delete version because the following aliases reference it: [%s]", strings.Join(users, ", "))
	}
	delete(f.versions, v.number)
	for _, in := range slices.Clone(f.instances) { // retiring edits the list
		if in.ver == v {
			in.retire()
		}
	}
	v.code.release()
	return nil
}

// removeFunction deletes a function with its versions and instances.
// s.mu must be held.
func (s *Service) removeFunction(f *function) {
	f.deleted = true
	delete(s.functions, fnKey{f.account, f.region, f.name})
	for _, in := range slices.Clone(f.instances) { // retiring edits the list
		in.retire()
	}
	f.latest.code.release()
	for _, v := range f.versions {
		v.code.release()
	}
}

func (s *Service) listFunctions(call *awsapi.Call, q *request) (result, error) {
	maxItems, err := maxItemsParam(q.query("MaxItems"))
	if err != nil {
		return result{}, err
	}
	all := q.query("FunctionVersion")
	if all != "" && all != "ALL" {
		return result{}, validation("1 validation error detected: Value '%s' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]", all)
	}
	if err := s.authorize(call, "ListFunctions", "*", call.Caller.Account, ""); err != nil {
		return result{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for k := range s.functions {
		if k.account == call.Caller.Account && k.region == call.Region {
			names = append(names, k.name)
		}
	}
	slices.Sort(names)
	page, next, err := pageOf(names, maxItems, q.query("Marker"), "ListFunctions")
	if err != nil {
		return result{}, err
	}
	out := struct {
		Functions  []functionConfiguration
		NextMarker string `json:",omitempty"`
	}{Functions: []functionConfiguration{}, NextMarker: next}
	for _, name := range page {
		f := s.functions[fnKey{call.Caller.Account, call.Region, name}]
		out.Functions = append(out.Functions, s.configOut(f.latest))
		if all == "ALL" {
			for _, v := range f.sortedVersions() {
				out.Functions = append(out.Functions, s.configOut(v))
			}
		}
	}
	return result{body: out}, nil
}

func (f *function) sortedVersions() []*version {
	out := make([]*version, 0, len(f.versions))
	for _, v := range f.versions {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b *version) int {
		x, _ := strconv.Atoi(a.number)
		y, _ := strconv.Atoi(b.number)
		return x - y
	})
	return out
}

func maxItemsParam(v string) (int, error) {
	if v == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 10000 {
		return 0, validation("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000", v)
	}
	return n, nil
}

// pageOf cuts the page a Marker starts.
func pageOf[T any](items []T, size int, marker, op string) (page []T, next string, err error) {
	page, next, ok := awsapi.Paginate(items, size, marker, op)
	if !ok {
		return nil, "", invalidParam("Invalid marker: %s", marker)
	}
	return page, next, nil
}
