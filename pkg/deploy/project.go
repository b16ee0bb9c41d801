// Package deploy joins the pieces of a stacker run: it loads and validates a
// config with everything it names (templates, blueprints, profiles) before any
// AWS call, plans runs for the engine, and gives the engine what it needs per
// stack: resolved lookups, rendered templates and account credentials.
package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stackerless/stackerless/pkg/blueprint"
	"github.com/stackerless/stackerless/pkg/config"
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/graph"
	"github.com/stackerless/stackerless/pkg/lookup"
	"github.com/stackerless/stackerless/pkg/rawtemplate"
)

// ConfigSource builds AWS configs for a profile ("" = the default
// credentials) and region ("" = the profile's).
type ConfigSource interface {
	Config(ctx context.Context, profile, region string) (aws.Config, error)
}

// ProfileChecker says whether a profile exists, so unknown profiles are
// config errors before any AWS call. nil skips the check.
type ProfileChecker func(name string) bool

// Options say where the config comes from and which defaults apply.
type Options struct {
	// ConfigPath is the stacker config; "-" reads Stdin.
	ConfigPath string
	Stdin      io.Reader
	// Root is the directory template and policy paths resolve from (the
	// working directory, as in stacker, and the bundle root). Default ".".
	Root string
	// EnvFile is the optional environment file; Env the -e key=value overrides.
	EnvFile string
	Env     []string
	// Profile and Region are the defaults (-p, -r) for stacks that set none.
	Profile, Region string
	// AWS builds credentials; HasProfile validates profile names.
	AWS        ConfigSource
	HasProfile ProfileChecker
	// Warn receives non-fatal findings (dropped variables, ...).
	Warn func(msg string)
	// Getenv is the process environment for envvar lookups; nil = os.LookupEnv.
	Getenv func(string) (string, bool)
}

// Project is a loaded, validated config ready to plan runs.
type Project struct {
	Config *config.Config
	Env    config.Environment
	Graph  *graph.Graph
	opts   Options

	mu         sync.Mutex
	cfnClients map[[2]string]engine.CloudFormation
	// outputs indexes the outputs of outputsRun's finished stacks.
	outputs    map[stackKey]map[string]string
	outputsRun *engine.Run
	// uploadMu guards templateKeys, the stacker bucket's template keys
	// (nil until listed).
	uploadMu     sync.Mutex
	templateKeys map[string]bool
}

// UsageError is a problem with how stackerless was called (exit code 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Load reads the environment and the config and validates everything that
// can be checked without AWS: schema, names, dependencies and cycles,
// lookups, profiles, templates and blueprints. Its errors are config errors.
func Load(opts Options) (*Project, error) {
	if opts.Root == "" {
		opts.Root = "."
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", opts.Root, err)
	}
	opts.Root = root
	env := config.Environment{}
	if opts.EnvFile != "" {
		if env, err = config.LoadEnvironment(opts.EnvFile); err != nil {
			return nil, err
		}
	}
	for _, kv := range opts.Env {
		if err := env.Set(kv); err != nil {
			return nil, &UsageError{Err: err}
		}
	}
	var data []byte
	name := opts.ConfigPath
	if opts.ConfigPath == "-" {
		name = "<stdin>"
		if opts.Stdin == nil {
			opts.Stdin = os.Stdin
		}
		data, err = io.ReadAll(opts.Stdin)
	} else {
		data, err = os.ReadFile(opts.ConfigPath)
	}
	if err != nil {
		return nil, &UsageError{Err: fmt.Errorf("read config %s: %w", opts.ConfigPath, err)}
	}
	cfg, err := config.ParseIn(root, name, data, env)
	if err != nil {
		return nil, err
	}
	if opts.Warn != nil {
		for _, w := range cfg.Warnings {
			opts.Warn(w)
		}
	}
	g, err := cfg.Graph(lookup.Dependencies)
	if err != nil {
		return nil, err
	}
	p := &Project{Config: cfg, Env: env, Graph: g, opts: opts, cfnClients: map[[2]string]engine.CloudFormation{}}
	if err := p.validateStacks(); err != nil {
		return nil, err
	}
	return p, nil
}

// validateStacks checks what each stack names: lookups, profile, template.
func (p *Project) validateStacks() error {
	var errs config.Errors
	checked := map[string]bool{}
	for _, s := range p.Config.Stacks {
		if err := lookup.CheckVariables(s.Name, s.Variables); err != nil {
			errs = append(errs, s.Errorf("variables", "%v", err))
		} else {
			errs = append(errs, p.checkFileLookups(s)...)
		}
		profile := p.profileOf(s)
		if profile != "" && p.opts.HasProfile != nil && !p.opts.HasProfile(profile) {
			key := "profile"
			if s.Profile == "" {
				key = "name"
			}
			errs = append(errs, s.Errorf(key, "profile %q is not defined in the AWS config file (AWS_CONFIG_FILE) or credentials file (AWS_SHARED_CREDENTIALS_FILE)", profile))
		}
		switch {
		case s.ClassPath != "":
			if _, err := blueprint.Lookup(s.ClassPath); err != nil {
				errs = append(errs, s.Errorf("class_path", "%v", err))
			}
		case s.TemplatePath != "":
			if err := p.checkTemplate(s, checked); err != nil {
				errs = append(errs, s.Errorf("template_path", "%v", err))
			}
		}
		if s.StackPolicyPath != "" {
			if _, err := os.ReadFile(p.Config.Path(s.StackPolicyPath)); err != nil {
				errs = append(errs, s.Errorf("stack_policy_path", "read stack policy: %v", err))
			}
		}
	}
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b *config.Error) int { return a.Pos.Line - b.Pos.Line })
		return errs
	}
	return nil
}

// checkFileLookups finds the files that lookups read (file://) and checks,
// before any AWS call, that they exist inside the bundle root: the runtime
// has nothing else. Paths computed by nested lookups are checked when read.
func (p *Project) checkFileLookups(s *config.Stack) config.Errors {
	var errs config.Errors
	for _, name := range slices.Sorted(maps.Keys(s.Variables)) {
		lookups, err := lookup.Lookups(s.Variables[name])
		if err != nil {
			continue // CheckVariables reported it
		}
		for _, l := range lookups {
			input, ok := l.Input.Literal()
			if !ok {
				continue
			}
			if l.Type == "file" {
				_, input, _ = strings.Cut(input, ":") // codec:path
			}
			path, ok := strings.CutPrefix(input, "file://")
			if !ok {
				continue
			}
			if _, err := os.Stat(p.Config.FilePath(path)); err != nil {
				errs = append(errs, s.Errorf("variables."+name, "%s: %v", l.Raw, err))
			}
		}
	}
	return errs
}

// checkTemplate loads a raw template to prove it exists and parses. Jinja
// templates need resolved variables to render, so only their syntax is checked.
// Stacks often share a template: each file is checked once (checked holds
// the successes, so every stack of a broken file still gets its error).
func (p *Project) checkTemplate(s *config.Stack, checked map[string]bool) error {
	path := p.Config.Path(s.TemplatePath)
	if checked[path] {
		return nil
	}
	if strings.HasSuffix(path, ".j2") {
		// Only the syntax: rendering needs the resolved variables.
		if err := rawtemplate.CheckSyntax(path); err != nil {
			return err
		}
		checked[path] = true
		return nil
	}
	t, err := rawtemplate.Load(rawtemplate.Input{Path: path, Name: s.Name})
	if err != nil {
		return err
	}
	if !p.Config.UploadTemplates() {
		// Beyond stacker: a body CloudFormation would refuse inline is a
		// config error before any call, not a failed stack.
		if err := rawtemplate.CheckInlineSize(s.Name, t.Body); err != nil {
			return err
		}
	}
	checked[path] = true
	return nil
}

func (p *Project) profileOf(s *config.Stack) string {
	if s.Profile != "" {
		return s.Profile
	}
	return p.opts.Profile
}

func (p *Project) regionOf(s *config.Stack) string {
	if s.Region != "" {
		return s.Region
	}
	return p.opts.Region
}

// Selection narrows a run to some stacks or targets (stacker's --stacks and
// --targets, which are the same option) and names the locked stacks to
// update anyway (--force).
type Selection struct {
	Stacks, Force []string
}

// Plan builds the run of action over the selected stacks: build and diff
// add the selection's dependencies, destroy its dependents, and destroy
// orders the steps in reverse.
func (p *Project) Plan(action engine.Action, sel Selection) (*engine.Run, error) {
	names, err := p.selected(action, sel)
	if err != nil {
		return nil, err
	}
	for _, f := range sel.Force {
		if p.Config.Stack(f) == nil {
			return nil, &UsageError{Err: fmt.Errorf("--force %s: no such stack in the config", f)}
		}
	}
	order, err := p.Graph.TopoOrder()
	if err != nil {
		return nil, err
	}
	if action == engine.Destroy {
		slices.Reverse(order)
	}
	run := &engine.Run{ID: newRunID(), Action: action, Started: time.Now().UTC()}
	for _, name := range order {
		s := p.Config.Stack(name)
		if s == nil || !names[name] {
			continue // targets are graph nodes only
		}
		st := &engine.StackState{
			Name: s.Name, FQN: s.CFNName(p.Config), Profile: p.profileOf(s), Region: p.regionOf(s),
			State: engine.Pending,
			Spec: engine.Spec{
				Enabled: s.Enabled, Locked: s.Locked, Forced: slices.Contains(sel.Force, s.Name),
				Protected: s.Protected, WaitInProgress: s.InProgressBehavior == "wait",
				TerminationProtection: s.TerminationProtection,
				HasTemplate:           s.ClassPath != "" || s.TemplatePath != "",
				Tags:                  s.AllTags(p.Config),
			},
		}
		if s.StackPolicyPath != "" {
			body, err := os.ReadFile(p.Config.Path(s.StackPolicyPath))
			if err != nil {
				return nil, fmt.Errorf("read stack policy of %s: %w", s.Name, err)
			}
			st.Spec.StackPolicy = string(body)
		}
		if action == engine.Destroy {
			st.Requires = p.stackNeighbours(name, p.Graph.Dependents)
		} else {
			st.Requires = p.stackNeighbours(name, p.Graph.Deps)
		}
		run.Stacks = append(run.Stacks, st)
	}
	return run, nil
}

// selected returns the stacks a run covers: every stack, or the named
// stacks and targets with their dependencies (build, diff) or dependents
// (destroy).
func (p *Project) selected(action engine.Action, sel Selection) (map[string]bool, error) {
	out := map[string]bool{}
	if len(sel.Stacks) == 0 {
		for _, s := range p.Config.Stacks {
			out[s.Name] = true
		}
		return out, nil
	}
	for _, name := range sel.Stacks {
		if !p.Graph.Has(name) {
			return nil, &UsageError{Err: fmt.Errorf("--stacks %s: no such stack or target in the config", name)}
		}
	}
	var names []string
	var err error
	if action == engine.Destroy {
		names, err = p.Graph.TransitiveDependents(sel.Stacks)
	} else {
		names, err = p.Graph.TransitiveDeps(sel.Stacks)
	}
	if err != nil {
		return nil, err
	}
	for _, n := range append(names, sel.Stacks...) {
		out[n] = true
	}
	return out, nil
}

// stackNeighbours follows edges from name through targets (virtual nodes)
// to the nearest stacks.
func (p *Project) stackNeighbours(name string, next func(string) []string) []string {
	seen := map[string]bool{}
	var out []string
	var walk func(string)
	walk = func(n string) {
		for _, m := range next(n) {
			if seen[m] {
				continue
			}
			seen[m] = true
			if p.Config.Stack(m) != nil {
				out = append(out, m)
				continue
			}
			walk(m)
		}
	}
	walk(name)
	slices.Sort(out)
	return out
}

func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// IsConfigError reports whether err is a usage or config error (exit code 2).
func IsConfigError(err error) bool {
	var ce *config.Error
	var ces config.Errors
	var ue *UsageError
	return errors.As(err, &ce) || errors.As(err, &ces) || errors.As(err, &ue)
}
