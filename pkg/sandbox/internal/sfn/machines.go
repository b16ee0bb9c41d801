package sfn

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
)

// machine is one state machine; guarded by Service.mu.
type machine struct {
	arn, name, account, region string
	def                        *definition
	roleARN                    string
	typ                        string
	created                    time.Time
	logging                    loggingConfiguration
	tracing                    tracingConfiguration
	revision                   string
	deleting                   bool
	executions                 []*execution // in start order
}

type loggingConfiguration struct {
	Level                string        `json:"level"`
	IncludeExecutionData bool          `json:"includeExecutionData"`
	Destinations         []destination `json:"destinations,omitempty"`
}

type destination struct {
	CloudWatchLogsLogGroup *struct {
		LogGroupArn string `json:"logGroupArn"`
	} `json:"cloudWatchLogsLogGroup,omitempty"`
}

type tracingConfiguration struct {
	Enabled bool `json:"enabled"`
}

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// StateMachineARN is the ARN of a state machine.
func StateMachineARN(region, account, name string) string {
	return "arn:aws:states:" + region + ":" + account + ":stateMachine:" + name
}

// parseStateMachineARN returns the region, account and name of a state machine ARN.
func parseStateMachineARN(arn string) (region, account, name string, err error) {
	parts := strings.Split(arn, ":")
	if len(parts) != 7 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "states" || parts[5] != "stateMachine" || !validName(parts[6]) {
		return "", "", "", awsapi.Errorf(http.StatusBadRequest, "InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'", arn)
	}
	return parts[3], parts[4], parts[6], nil
}

// validName applies the naming rules of state machines and executions.
func validName(name string) bool {
	if len(name) < 1 || len([]rune(name)) > 80 {
		return false
	}
	for _, r := range name {
		if r <= 0x20 || (r >= 0x7f && r <= 0x9f) || strings.ContainsRune("<>{}[]?*\"#%\\^|~`$&,;:/", r) {
			return false
		}
	}
	return true
}

func invalidName(name string) error {
	return awsapi.Errorf(http.StatusBadRequest, "InvalidName", "Invalid Name: '%s'", name)
}

func newRevision() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

type createStateMachineInput struct {
	Name                    *string
	Definition              *string
	RoleArn                 *string
	Type                    string
	LoggingConfiguration    *loggingConfiguration
	TracingConfiguration    *tracingConfiguration
	Tags                    []tag
	Publish                 bool
	VersionDescription      string
	EncryptionConfiguration *struct {
		Type string `json:"type"`
	}
}

func (s *Service) createStateMachine(ctx context.Context, call *awsapi.Call, body []byte) (any, error) {
	var in createStateMachineInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	switch {
	case in.Name == nil:
		return nil, missing("name")
	case in.Definition == nil:
		return nil, missing("definition")
	case in.RoleArn == nil:
		return nil, missing("roleArn")
	}
	if !validName(*in.Name) {
		return nil, invalidName(*in.Name)
	}
	arn := StateMachineARN(call.Region, call.Caller.Account, *in.Name)
	if err := s.authorize(call, "CreateStateMachine", arn, call.Caller.Account); err != nil {
		return nil, err
	}
	typ := in.Type
	if typ == "" {
		typ = "STANDARD"
	}
	switch typ {
	case "STANDARD":
	case "EXPRESS":
		return nil, validationf("EXPRESS state machines are a limit of the sandbox: it runs STANDARD state machines only")
	default:
		return nil, validationf("1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]", typ)
	}
	if in.Publish {
		return nil, validationf("Publishing state machine versions is a limit of the sandbox: it keeps no versions")
	}
	if in.EncryptionConfiguration != nil && in.EncryptionConfiguration.Type != "" && in.EncryptionConfiguration.Type != "AWS_OWNED_KEY" {
		return nil, validationf("Customer managed KMS keys are a limit of the sandbox: use encryptionConfiguration type AWS_OWNED_KEY")
	}
	logging, err := checkLogging(in.LoggingConfiguration)
	if err != nil {
		return nil, err
	}
	if err := s.checkRole(call, *in.RoleArn); err != nil {
		return nil, err
	}
	def, err := s.parseDefinition(ctx, *in.Definition)
	if err != nil {
		return nil, err
	}
	var tracing tracingConfiguration
	if in.TracingConfiguration != nil {
		tracing = *in.TracingConfiguration
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.machines[arn]; m != nil {
		// Creating the same state machine again is idempotent; anything else is a conflict.
		if m.deleting {
			return nil, awsapi.Errorf(http.StatusBadRequest, "StateMachineDeleting", "State machine is being deleted: '%s'", arn)
		}
		if m.def.raw == *in.Definition && m.roleARN == *in.RoleArn && m.typ == typ {
			return map[string]any{"stateMachineArn": arn, "creationDate": epoch(m.created)}, nil
		}
		return nil, awsapi.Errorf(http.StatusBadRequest, "StateMachineAlreadyExists", "State Machine Already Exists: '%s'", arn)
	}
	m := &machine{arn: arn, name: *in.Name, account: call.Caller.Account, region: call.Region, def: def, roleARN: *in.RoleArn,
		typ: typ, created: s.now(), logging: logging, tracing: tracing, revision: newRevision()}
	s.machines[arn] = m
	return map[string]any{"stateMachineArn": arn, "creationDate": epoch(m.created)}, nil
}

// checkLogging validates a LoggingConfiguration; nil is level OFF.
func checkLogging(in *loggingConfiguration) (loggingConfiguration, error) {
	if in == nil {
		return loggingConfiguration{Level: "OFF"}, nil
	}
	out := *in
	if out.Level == "" {
		out.Level = "OFF"
	}
	switch out.Level {
	case "ALL", "ERROR", "FATAL", "OFF":
	default:
		return out, validationf("1 validation error detected: Value '%s' at 'loggingConfiguration.level' failed to satisfy constraint: Member must satisfy enum value set: [ALL, ERROR, FATAL, OFF]", out.Level)
	}
	if len(out.Destinations) > 1 {
		return out, awsapi.Errorf(http.StatusBadRequest, "InvalidLoggingConfiguration", "Invalid Logging Configuration: Must specify exactly one Log Destination.")
	}
	if out.Level != "OFF" && len(out.Destinations) == 0 {
		return out, awsapi.Errorf(http.StatusBadRequest, "InvalidLoggingConfiguration", "Invalid Logging Configuration: Must specify exactly one Log Destination.")
	}
	for _, d := range out.Destinations {
		if d.CloudWatchLogsLogGroup == nil || !strings.HasPrefix(d.CloudWatchLogsLogGroup.LogGroupArn, "arn:aws:logs:") || !strings.HasSuffix(d.CloudWatchLogsLogGroup.LogGroupArn, ":*") {
			return out, awsapi.Errorf(http.StatusBadRequest, "InvalidLoggingConfiguration", "Invalid Logging Configuration: Log Destination not a valid CloudWatch Logs log group ARN (arn:aws:logs:<region>:<account>:log-group:<name>:*).")
		}
	}
	return out, nil
}

// checkRole applies CreateStateMachine's role checks: a role ARN, that the
// caller may pass it to Step Functions, and that Step Functions can assume it.
func (s *Service) checkRole(call *awsapi.Call, roleARN string) error {
	parts := strings.SplitN(roleARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || !strings.HasPrefix(parts[5], "role/") {
		return awsapi.Errorf(http.StatusBadRequest, "InvalidArn", "Invalid Arn: 'Resource type not valid in this context: %s'", roleARN)
	}
	if err := s.opts.Roles.PassRole(call, roleARN, ServicePrincipal); err != nil {
		return err
	}
	if _, ok := s.opts.Roles.AssumeServiceRole(roleARN, ServicePrincipal, "ValidateRole"); !ok {
		return errCannotAssume()
	}
	return nil
}

// lookupMachine finds a state machine by ARN and authorizes action on it.
// s.mu must not be held.
func (s *Service) lookupMachine(call *awsapi.Call, action string, arn *string) (*machine, error) {
	if arn == nil {
		return nil, missing("stateMachineArn")
	}
	_, account, _, err := parseStateMachineARN(*arn)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(call, action, *arn, account); err != nil {
		return nil, err
	}
	s.mu.Lock()
	m := s.machines[*arn]
	s.mu.Unlock()
	if m == nil {
		return nil, awsapi.Errorf(http.StatusBadRequest, "StateMachineDoesNotExist", "State Machine Does Not Exist: '%s'", *arn)
	}
	return m, nil
}

type arnInput struct {
	StateMachineArn *string
}

func (s *Service) describeStateMachine(_ context.Context, call *awsapi.Call, body []byte) (any, error) {
	var in struct {
		StateMachineArn *string
		IncludedData    string
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	m, err := s.lookupMachine(call, "DescribeStateMachine", in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	status := "ACTIVE"
	if m.deleting {
		status = "DELETING"
	}
	return map[string]any{
		"stateMachineArn": m.arn, "name": m.name, "status": status, "definition": m.def.raw, "roleArn": m.roleARN,
		"type": m.typ, "creationDate": epoch(m.created), "loggingConfiguration": m.logging,
		"tracingConfiguration": m.tracing, "revisionId": m.revision,
	}, nil
}

func (s *Service) updateStateMachine(ctx context.Context, call *awsapi.Call, body []byte) (any, error) {
	var in struct {
		StateMachineArn         *string
		Definition              *string
		RoleArn                 *string
		LoggingConfiguration    *loggingConfiguration
		TracingConfiguration    *tracingConfiguration
		Publish                 bool
		VersionDescription      string
		EncryptionConfiguration any
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	m, err := s.lookupMachine(call, "UpdateStateMachine", in.StateMachineArn)
	if err != nil {
		return nil, err
	}
	if in.Definition == nil && in.RoleArn == nil && in.LoggingConfiguration == nil && in.TracingConfiguration == nil && in.EncryptionConfiguration == nil {
		return nil, awsapi.Errorf(http.StatusBadRequest, "MissingRequiredParameter", "Either the definition, the role ARN, the LoggingConfiguration, the EncryptionConfiguration or the TracingConfiguration must be specified")
	}
	if in.Publish {
		return nil, validationf("Publishing state machine versions is a limit of the sandbox: it keeps no versions")
	}
	var def *definition
	if in.Definition != nil {
		if def, err = s.parseDefinition(ctx, *in.Definition); err != nil {
			return nil, err
		}
	}
	if in.RoleArn != nil {
		if err := s.checkRole(call, *in.RoleArn); err != nil {
			return nil, err
		}
	}
	var logging loggingConfiguration
	if in.LoggingConfiguration != nil {
		if logging, err = checkLogging(in.LoggingConfiguration); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.deleting {
		return nil, awsapi.Errorf(http.StatusBadRequest, "StateMachineDeleting", "State machine is being deleted: '%s'", m.arn)
	}
	// Running executions keep the definition and role they started with.
	if def != nil {
		m.def = def
	}
	if in.RoleArn != nil {
		m.roleARN = *in.RoleArn
	}
	if in.LoggingConfiguration != nil {
		m.logging = logging
	}
	if in.TracingConfiguration != nil {
		m.tracing = *in.TracingConfiguration
	}
	m.revision = newRevision()
	return map[string]any{"updateDate": epoch(s.now()), "revisionId": m.revision}, nil
}

// deleteStateMachine marks the state machine DELETING; it is gone once its
// running executions have ended. A state machine that does not exist is
// deleted already.
func (s *Service) deleteStateMachine(_ context.Context, call *awsapi.Call, body []byte) (any, error) {
	var in arnInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	m, err := s.lookupMachine(call, "DeleteStateMachine", in.StateMachineArn)
	if err != nil {
		if awsapi.AsError(err).Code == "StateMachineDoesNotExist" {
			return map[string]any{}, nil
		}
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m.deleting = true
	s.removeIfIdle(m)
	return map[string]any{}, nil
}

// removeIfIdle drops a DELETING state machine once no execution runs. s.mu must be held.
func (s *Service) removeIfIdle(m *machine) {
	if !m.deleting {
		return
	}
	for _, x := range m.executions {
		if x.status == statusRunning {
			return
		}
	}
	if s.machines[m.arn] == m {
		delete(s.machines, m.arn)
	}
}

type pageInput struct {
	MaxResults *int
	NextToken  *string
}

func (s *Service) listStateMachines(_ context.Context, call *awsapi.Call, body []byte) (any, error) {
	var in pageInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := s.authorize(call, "ListStateMachines", "*", call.Caller.Account); err != nil {
		return nil, err
	}
	s.mu.Lock()
	var all []*machine
	for _, m := range s.machines {
		if m.account == call.Caller.Account && m.region == call.Region {
			all = append(all, m)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].name < all[j].name })
	items := make([]any, len(all))
	for i, m := range all {
		items[i] = map[string]any{"stateMachineArn": m.arn, "name": m.name, "type": m.typ, "creationDate": epoch(m.created)}
	}
	s.mu.Unlock()
	page, next, err := s.paginate(items, in, "ListStateMachines")
	if err != nil {
		return nil, err
	}
	out := map[string]any{"stateMachines": page}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// paginate cuts one page out of items. Tokens name the operation and an
// offset; a token from elsewhere is InvalidToken.
func (s *Service) paginate(items []any, in pageInput, op string) ([]any, string, error) {
	size := s.pageSize
	if in.MaxResults != nil {
		switch n := *in.MaxResults; {
		case n < 0 || n > 1000:
			return nil, "", validationf("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000", n)
		case n > 0:
			size = n
		}
	}
	page, next, ok := awsapi.Paginate(items, size, deref(in.NextToken), op)
	if !ok {
		return nil, "", awsapi.Errorf(http.StatusBadRequest, "InvalidToken", "Invalid Token: '%s'", deref(in.NextToken))
	}
	return page, next, nil
}

// deref reads an optional string member.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
