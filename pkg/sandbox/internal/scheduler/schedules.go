package scheduler

import (
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/stackerless/stackerless/pkg/sandbox/internal/awsapi"
	"github.com/stackerless/stackerless/pkg/sandbox/internal/schedexpr"
)

// groupKey names a schedule group: account, region and name.
type groupKey struct{ account, region, name string }

func (k groupKey) arn() string {
	return "arn:aws:scheduler:" + k.region + ":" + k.account + ":schedule-group/" + k.name
}

func (k groupKey) scheduleARN(name string) string {
	return "arn:aws:scheduler:" + k.region + ":" + k.account + ":schedule/" + k.name + "/" + name
}

// group is a schedule group and its schedules; guarded by Service.mu.
type group struct {
	key       groupKey
	created   time.Time
	schedules map[string]*schedule
}

// schedule is one schedule; guarded by Service.mu.
type schedule struct {
	group *group
	name  string
	arn   string
	in    scheduleInput
	expr  *schedexpr.Expr
	loc   *time.Location
	// created anchors rates without a StartDate.
	created, modified time.Time
	// stop ends the schedule's timer goroutine; nil without one.
	stop chan struct{}
}

// target is a schedule's target as the API takes and gives it.
type target struct {
	Arn              string          `json:"Arn"`
	RoleArn          string          `json:"RoleArn"`
	Input            *string         `json:"Input,omitempty"`
	RetryPolicy      json.RawMessage `json:"RetryPolicy,omitempty"`
	DeadLetterConfig json.RawMessage `json:"DeadLetterConfig,omitempty"`
	// The parameters of target types the sandbox does not deliver to; kept
	// so that an unsupported target is refused by name.
	EcsParameters               json.RawMessage `json:"EcsParameters,omitempty"`
	EventBridgeParameters       json.RawMessage `json:"EventBridgeParameters,omitempty"`
	KinesisParameters           json.RawMessage `json:"KinesisParameters,omitempty"`
	SageMakerPipelineParameters json.RawMessage `json:"SageMakerPipelineParameters,omitempty"`
	SqsParameters               json.RawMessage `json:"SqsParameters,omitempty"`
}

type flexibleTimeWindow struct {
	Mode                   string `json:"Mode"`
	MaximumWindowInMinutes *int   `json:"MaximumWindowInMinutes,omitempty"`
}

// scheduleInput is CreateSchedule's and UpdateSchedule's body.
type scheduleInput struct {
	ActionAfterCompletion      string              `json:"ActionAfterCompletion,omitempty"`
	ClientToken                string              `json:"ClientToken,omitempty"`
	Description                string              `json:"Description,omitempty"`
	EndDate                    *float64            `json:"EndDate,omitempty"`
	FlexibleTimeWindow         *flexibleTimeWindow `json:"FlexibleTimeWindow,omitempty"`
	GroupName                  string              `json:"GroupName,omitempty"`
	KmsKeyArn                  string              `json:"KmsKeyArn,omitempty"`
	ScheduleExpression         *string             `json:"ScheduleExpression,omitempty"`
	ScheduleExpressionTimezone string              `json:"ScheduleExpressionTimezone,omitempty"`
	StartDate                  *float64            `json:"StartDate,omitempty"`
	State                      string              `json:"State,omitempty"`
	Target                     *target             `json:"Target,omitempty"`
}

var (
	nameRE    = regexp.MustCompile(`^[0-9a-zA-Z-_.]{1,64}$`)
	roleARNRE = regexp.MustCompile(`^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@\/-]+$`)
	// The targets the sandbox delivers to: Step Functions StartExecution and
	// Lambda Invoke (templated targets).
	machineARNRE  = regexp.MustCompile(`^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:]+$`)
	functionARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?$`)
)

func memberError(value, member, constraint string) error {
	return validationf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, member, constraint)
}

func missing(member string) error {
	return validationf("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", member)
}

func checkName(name, member string) error {
	if !nameRE.MatchString(name) {
		return memberError(name, member, "Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$")
	}
	return nil
}

func noSuchSchedule(name string) error { return notFound("Schedule %s does not exist.", name) }
func noSuchGroup(name string) error    { return notFound("Schedule group %s does not exist.", name) }

// groupFor returns a group, creating an account's default group on first
// use; nil for another group that does not exist. s.mu must be held.
func (s *Service) groupFor(k groupKey) *group {
	if g := s.groups[k]; g != nil {
		return g
	}
	if k.name != "default" {
		return nil
	}
	g := &group{key: k, created: s.now(), schedules: map[string]*schedule{}}
	s.groups[k] = g
	return g
}

func groupKeyOf(call *awsapi.Call, name string) groupKey {
	if name == "" {
		name = "default"
	}
	return groupKey{account: call.Caller.Account, region: call.Region, name: name}
}

// check validates a schedule's input as Scheduler does and returns its
// parsed expression and time zone.
func (s *Service) check(call *awsapi.Call, name string, in *scheduleInput) (*schedexpr.Expr, *time.Location, error) {
	if err := checkName(name, "name"); err != nil {
		return nil, nil, err
	}
	if in.GroupName != "" {
		if err := checkName(in.GroupName, "groupName"); err != nil {
			return nil, nil, err
		}
	}
	switch {
	case in.ScheduleExpression == nil:
		return nil, nil, missing("scheduleExpression")
	case in.FlexibleTimeWindow == nil:
		return nil, nil, missing("flexibleTimeWindow")
	case in.Target == nil:
		return nil, nil, missing("target")
	case in.Target.Arn == "":
		return nil, nil, missing("target.arn")
	case in.Target.RoleArn == "":
		return nil, nil, missing("target.roleArn")
	}
	expr, err := schedexpr.Parse(*in.ScheduleExpression, true)
	var limit *schedexpr.LimitError
	switch {
	case errors.As(err, &limit):
		return nil, nil, validationf("Invalid Schedule Expression %s: %v", *in.ScheduleExpression, limit)
	case err != nil:
		return nil, nil, validationf("Invalid Schedule Expression %s.", *in.ScheduleExpression)
	}
	loc := time.UTC
	if tz := in.ScheduleExpressionTimezone; tz != "" {
		if loc, err = time.LoadLocation(tz); err != nil || tz == "Local" {
			return nil, nil, validationf("Invalid time zone: %s.", tz)
		}
	}
	switch fw := in.FlexibleTimeWindow; fw.Mode {
	case "OFF":
		if fw.MaximumWindowInMinutes != nil {
			return nil, nil, validationf("MaximumWindowInMinutes must not be provided when FlexibleTimeWindow mode is OFF.")
		}
	case "FLEXIBLE":
		if fw.MaximumWindowInMinutes == nil {
			return nil, nil, validationf("MaximumWindowInMinutes must be provided when FlexibleTimeWindow mode is FLEXIBLE.")
		}
		if m := *fw.MaximumWindowInMinutes; m < 1 || m > 1440 {
			return nil, nil, memberError(itoa(m), "flexibleTimeWindow.maximumWindowInMinutes", "Member must have value between 1 and 1440")
		}
	default:
		return nil, nil, memberError(fw.Mode, "flexibleTimeWindow.mode", "Member must satisfy enum value set: [OFF, FLEXIBLE]")
	}
	if !slices.Contains([]string{"", "ENABLED", "DISABLED"}, in.State) {
		return nil, nil, memberError(in.State, "state", "Member must satisfy enum value set: [ENABLED, DISABLED]")
	}
	if !slices.Contains([]string{"", "NONE", "DELETE"}, in.ActionAfterCompletion) {
		return nil, nil, memberError(in.ActionAfterCompletion, "actionAfterCompletion", "Member must satisfy enum value set: [NONE, DELETE]")
	}
	if len(in.Description) > 512 {
		return nil, nil, validationf("1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 512")
	}
	if in.StartDate != nil && in.EndDate != nil && *in.EndDate <= *in.StartDate {
		return nil, nil, validationf("The EndDate must be after the StartDate.")
	}
	t := in.Target
	if !roleARNRE.MatchString(t.RoleArn) {
		return nil, nil, memberError(t.RoleArn, "target.roleArn", `Member must satisfy regular expression pattern: ^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@\/-]+$`)
	}
	if len(t.RetryPolicy) > 0 {
		var rp struct{ MaximumEventAgeInSeconds, MaximumRetryAttempts *int }
		if err := json.Unmarshal(t.RetryPolicy, &rp); err != nil {
			return nil, nil, validationf("Invalid value for member target.retryPolicy: %v", err)
		}
		if a := rp.MaximumEventAgeInSeconds; a != nil && (*a < 60 || *a > 86400) {
			return nil, nil, memberError(itoa(*a), "target.retryPolicy.maximumEventAgeInSeconds", "Member must have value between 60 and 86400")
		}
		if n := rp.MaximumRetryAttempts; n != nil && (*n < 0 || *n > 185) {
			return nil, nil, memberError(itoa(*n), "target.retryPolicy.maximumRetryAttempts", "Member must have value between 0 and 185")
		}
	}
	if t.Input != nil && *t.Input == "" {
		return nil, nil, validationf("1 validation error detected: Value at 'target.input' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	switch {
	case machineARNRE.MatchString(t.Arn), functionARNRE.MatchString(t.Arn):
	case strings.HasPrefix(t.Arn, "arn:"):
		return nil, nil, validationf("The sandbox's Scheduler delivers to Step Functions state machines and Lambda functions only, not %s: a limit of the sandbox, not of AWS.", t.Arn)
	default:
		return nil, nil, validationf("Invalid target ARN %s.", t.Arn)
	}
	if machineARNRE.MatchString(t.Arn) && t.Input != nil && !json.Valid([]byte(*t.Input)) {
		return nil, nil, validationf("The Input of a Step Functions target must be valid JSON.")
	}
	// Scheduler takes the role only from callers allowed to pass it.
	if err := s.opts.Roles.PassRole(call, t.RoleArn, ServicePrincipal); err != nil {
		return nil, nil, err
	}
	return expr, loc, nil
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func (s *Service) createSchedule(call *awsapi.Call, q request) (any, error) {
	return s.putSchedule(call, q, true)
}

func (s *Service) updateSchedule(call *awsapi.Call, q request) (any, error) {
	return s.putSchedule(call, q, false)
}

// putSchedule creates a schedule (create) or replaces every setting of an
// existing one (update), as UpdateSchedule does.
func (s *Service) putSchedule(call *awsapi.Call, q request, create bool) (any, error) {
	var in scheduleInput
	if err := decode(q.body, &in); err != nil {
		return nil, err
	}
	action := "UpdateSchedule"
	if create {
		action = "CreateSchedule"
	}
	k := groupKeyOf(call, in.GroupName)
	if err := s.authorize(call, action, k.scheduleARN(q.name), k.account); err != nil {
		return nil, err
	}
	expr, loc, err := s.check(call, q.name, &in)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groupFor(k)
	if g == nil {
		return nil, noSuchGroup(k.name)
	}
	sc := g.schedules[q.name]
	now := s.now()
	switch {
	case create && sc != nil:
		return nil, conflict("Schedule %s already exists.", q.name)
	case !create && sc == nil:
		return nil, noSuchSchedule(q.name)
	case create:
		sc = &schedule{group: g, name: q.name, arn: k.scheduleARN(q.name), created: now}
		g.schedules[q.name] = sc
	}
	if in.State == "" {
		in.State = "ENABLED"
	}
	if in.ActionAfterCompletion == "" {
		in.ActionAfterCompletion = "NONE"
	}
	in.GroupName, in.ClientToken = k.name, ""
	sc.in, sc.expr, sc.loc, sc.modified = in, expr, loc, now
	s.reschedule(sc)
	return map[string]any{"ScheduleArn": sc.arn}, nil
}

// lookup finds a schedule by name in the group of the groupName query
// parameter and authorizes action on it; it takes s.mu, which the caller
// must release.
func (s *Service) lookup(call *awsapi.Call, action string, q request) (*schedule, error) {
	if err := checkName(q.name, "name"); err != nil {
		return nil, err
	}
	k := groupKeyOf(call, q.query.Get("groupName"))
	if err := s.authorize(call, action, k.scheduleARN(q.name), k.account); err != nil {
		return nil, err
	}
	g, err := s.lockGroup(k)
	if err != nil {
		return nil, err
	}
	sc := g.schedules[q.name]
	if sc == nil {
		s.mu.Unlock()
		return nil, noSuchSchedule(q.name)
	}
	return sc, nil
}

func (s *Service) getSchedule(call *awsapi.Call, q request) (any, error) {
	sc, err := s.lookup(call, "GetSchedule", q)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	return sc.describe(), nil
}

func (sc *schedule) describe() map[string]any {
	in := sc.in
	out := map[string]any{
		"Arn": sc.arn, "Name": sc.name, "GroupName": in.GroupName, "State": in.State, "ScheduleExpression": *in.ScheduleExpression,
		"ScheduleExpressionTimezone": sc.loc.String(), "FlexibleTimeWindow": in.FlexibleTimeWindow, "Target": in.Target,
		"ActionAfterCompletion": in.ActionAfterCompletion, "CreationDate": epoch(sc.created), "LastModificationDate": epoch(sc.modified),
	}
	if in.Description != "" {
		out["Description"] = in.Description
	}
	if in.KmsKeyArn != "" {
		out["KmsKeyArn"] = in.KmsKeyArn
	}
	if in.StartDate != nil {
		out["StartDate"] = *in.StartDate
	}
	if in.EndDate != nil {
		out["EndDate"] = *in.EndDate
	}
	return out
}

func (s *Service) deleteSchedule(call *awsapi.Call, q request) (any, error) {
	sc, err := s.lookup(call, "DeleteSchedule", q)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	s.remove(sc)
	return map[string]any{}, nil
}

// remove deletes a schedule and stops its timer. s.mu must be held.
func (s *Service) remove(sc *schedule) {
	if sc.group.schedules[sc.name] == sc {
		delete(sc.group.schedules, sc.name)
	}
	if sc.stop != nil {
		close(sc.stop)
		sc.stop = nil
	}
}

// page cuts one page of a listing from MaxResults and NextToken.
func (s *Service) page(items []any, q request, op string) (map[string]any, []any, error) {
	size := s.pageSize
	if m := q.query.Get("MaxResults"); m != "" {
		n, err := jsonInt(m)
		if err != nil || n < 1 || n > 100 {
			return nil, nil, memberError(m, "maxResults", "Member must have value between 1 and 100")
		}
		size = n
	}
	page, next, ok := awsapi.Paginate(items, size, q.query.Get("NextToken"), op)
	if !ok {
		return nil, nil, validationf("Invalid NextToken.")
	}
	out := map[string]any{}
	if next != "" {
		out["NextToken"] = next
	}
	if page == nil {
		page = []any{}
	}
	return out, page, nil
}

func jsonInt(s string) (int, error) {
	var n int
	err := json.Unmarshal([]byte(s), &n)
	return n, err
}

func (s *Service) listSchedules(call *awsapi.Call, q request) (any, error) {
	if err := s.authorize(call, "ListSchedules", "*", call.Caller.Account); err != nil {
		return nil, err
	}
	state := q.query.Get("State")
	if !slices.Contains([]string{"", "ENABLED", "DISABLED"}, state) {
		return nil, memberError(state, "state", "Member must satisfy enum value set: [ENABLED, DISABLED]")
	}
	only, prefix := q.query.Get("ScheduleGroup"), q.query.Get("NamePrefix")
	s.mu.Lock()
	var all []*schedule
	for k, g := range s.groups {
		if k.account != call.Caller.Account || k.region != call.Region || only != "" && k.name != only {
			continue
		}
		for _, sc := range g.schedules {
			if strings.HasPrefix(sc.name, prefix) && (state == "" || sc.in.State == state) {
				all = append(all, sc)
			}
		}
	}
	slices.SortFunc(all, func(a, b *schedule) int { return strings.Compare(a.arn, b.arn) })
	items := make([]any, len(all))
	for i, sc := range all {
		items[i] = map[string]any{"Arn": sc.arn, "Name": sc.name, "GroupName": sc.group.key.name, "State": sc.in.State,
			"CreationDate": epoch(sc.created), "LastModificationDate": epoch(sc.modified), "Target": map[string]string{"Arn": sc.in.Target.Arn}}
	}
	s.mu.Unlock()
	out, page, err := s.page(items, q, "ListSchedules")
	if err != nil {
		return nil, err
	}
	out["Schedules"] = page
	return out, nil
}

func (s *Service) createGroup(call *awsapi.Call, q request) (any, error) {
	if err := checkName(q.name, "name"); err != nil {
		return nil, err
	}
	k := groupKeyOf(call, q.name)
	if err := s.authorize(call, "CreateScheduleGroup", k.arn(), k.account); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k.name == "default" || s.groups[k] != nil {
		return nil, conflict("Schedule group %s already exists.", k.name)
	}
	s.groups[k] = &group{key: k, created: s.now(), schedules: map[string]*schedule{}}
	return map[string]any{"ScheduleGroupArn": k.arn()}, nil
}

func (s *Service) findGroup(call *awsapi.Call, action string, q request) (*group, error) {
	if err := checkName(q.name, "name"); err != nil {
		return nil, err
	}
	k := groupKeyOf(call, q.name)
	if err := s.authorize(call, action, k.arn(), k.account); err != nil {
		return nil, err
	}
	return s.lockGroup(k)
}

// lockGroup takes s.mu and finds a group; the caller must release s.mu
// unless an error is returned.
func (s *Service) lockGroup(k groupKey) (*group, error) {
	s.mu.Lock()
	g := s.groupFor(k)
	if g == nil {
		s.mu.Unlock()
		return nil, noSuchGroup(k.name)
	}
	return g, nil
}

func (g *group) describe() map[string]any {
	return map[string]any{"Arn": g.key.arn(), "Name": g.key.name, "State": "ACTIVE", "CreationDate": epoch(g.created), "LastModificationDate": epoch(g.created)}
}

func (s *Service) getGroup(call *awsapi.Call, q request) (any, error) {
	g, err := s.findGroup(call, "GetScheduleGroup", q)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	return g.describe(), nil
}

// deleteGroup deletes a group with its schedules, as Scheduler does.
func (s *Service) deleteGroup(call *awsapi.Call, q request) (any, error) {
	g, err := s.findGroup(call, "DeleteScheduleGroup", q)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if g.key.name == "default" {
		return nil, validationf("The default schedule group cannot be deleted.")
	}
	for _, sc := range g.schedules {
		s.remove(sc)
	}
	delete(s.groups, g.key)
	return map[string]any{}, nil
}

func (s *Service) listGroups(call *awsapi.Call, q request) (any, error) {
	if err := s.authorize(call, "ListScheduleGroups", "*", call.Caller.Account); err != nil {
		return nil, err
	}
	prefix := q.query.Get("NamePrefix")
	s.mu.Lock()
	s.groupFor(groupKeyOf(call, "default"))
	var keys []groupKey
	for k := range s.groups {
		if k.account == call.Caller.Account && k.region == call.Region && strings.HasPrefix(k.name, prefix) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b groupKey) int { return strings.Compare(a.name, b.name) })
	items := make([]any, len(keys))
	for i, k := range keys {
		items[i] = s.groups[k].describe()
	}
	s.mu.Unlock()
	out, page, err := s.page(items, q, "ListScheduleGroups")
	if err != nil {
		return nil, err
	}
	out["ScheduleGroups"] = page
	return out, nil
}
