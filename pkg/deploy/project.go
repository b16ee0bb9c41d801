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
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stackerless/stackerless/pkg/bundle"
	"github.com/stackerless/stackerless/pkg/config"
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/graph"
	"github.com/stackerless/stackerless/pkg/lookup"
)

// ConfigSource builds AWS configs for a profile ("" = the default
// credentials) and region ("" = the profile's).
type ConfigSource interface {
	Config(ctx context.Context, profile, region string) (aws.Config, error)
}

// ProfileChecker says whether a profile exists, so unknown profiles are
// config errors before any AWS call. nil skips the check.
type ProfileChecker func(name string) bool

// Checks says how much Load validates beyond the config's schema, its
// environment and its dependency graph, which it always validates.
type Checks int

const (
	// CheckAll validates everything a run needs before its first AWS call:
	// stack names, lookups, the files the config reads, templates,
	// blueprints and profiles (build, diff, destroy, info).
	CheckAll Checks = iota
	// CheckOffline is CheckAll without the profiles: for --dump, which
	// renders templates and makes no AWS call.
	CheckOffline
	// CheckGraph validates the lookups' syntax and no more, as stacker's
	// graph, which loads no template or blueprint: a config whose class_path
	// has no Go port still graphs.
	CheckGraph
)

// Options say where the config comes from and which defaults apply.
type Options struct {
	// ConfigPath is the stacker config; "-" reads Stdin. A relative path is
	// relative to Root.
	ConfigPath string
	Stdin      io.Reader
	// Root is the working directory, as in stacker: template_path (then
	// sys_path) and stack_policy_path resolve from it. file:// values
	// resolve from the config file's directory. Default ".".
	Root string
	// Bundle says Root is a bundle directory (the serverless runtime's): every
	// file the config reads must be inside it (bundle.Check, with the other
	// validation errors), and files are read through os.Root, so that no
	// path or symlink leads outside.
	Bundle bool
	// Checks is how much Load validates; the zero value validates everything.
	Checks Checks
	// EnvFile is the optional environment file; Env the -e key=value overrides.
	EnvFile string
	Env     []string
	// Profile and Region are the defaults (-p, -r) for stacks that set none.
	Profile, Region string
	// AWS builds credentials; HasProfile validates profile names.
	AWS        ConfigSource
	HasProfile ProfileChecker
	// CheckProfile, when set, validates a profile the config uses without
	// calling AWS (unknown source profiles, loops, missing credentials:
	// awsprofile.Provider.Check), so a broken one is a config error before
	// anything is deployed.
	CheckProfile func(name string) error
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
	// files reads what the config names: any file, as stacker, or only the
	// bundle's.
	files fileSystem
	// templates maps each template_path to the file it names, found at Load.
	templates map[string]string

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

// Load reads the environment and the config and validates what opts.Checks
// asks for without calling AWS (by default everything: schema, names,
// dependencies and cycles, lookups, profiles, files, templates and
// blueprints). Every problem found comes back at once, as config.Errors
// sorted by line: its errors are config errors.
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
		path := opts.ConfigPath
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, path)
		}
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, &UsageError{Err: fmt.Errorf("read config %s: %w", opts.ConfigPath, err)}
	}
	cfg, err := config.ParseIn(root, name, data, env)
	var errs config.Errors
	if err != nil && (cfg == nil || !errors.As(err, &errs)) {
		return nil, err
	}
	if opts.Checks == CheckGraph {
		// What runs Python at deploy time does not change the dependencies:
		// the graph is drawn anyway, and the problem is said.
		errs = slices.DeleteFunc(errs, func(e *config.Error) bool {
			if config.RunsPython(e.Key) {
				cfg.Warnings = append(cfg.Warnings, e.Error())
				return true
			}
			return false
		})
	}
	if opts.Warn != nil {
		for _, w := range cfg.Warnings {
			opts.Warn(w)
		}
	}
	p := &Project{Config: cfg, Env: env, opts: opts, files: osFiles{}, templates: map[string]string{},
		cfnClients: map[[2]string]engine.CloudFormation{}}
	var outside config.Errors
	if opts.Bundle {
		p.files = bundle.Files{Dir: root}
		if err := bundle.Check(root, cfg); err != nil && !errors.As(err, &outside) {
			return nil, err
		}
	}
	errs = append(errs, outside...)
	if opts.Checks != CheckGraph {
		if err := cfg.CheckStackNames(); err != nil {
			errs = append(errs, err.(config.Errors)...)
		}
	}
	for _, e := range p.validateStacks() {
		// A file outside the bundle is reported once, as bundle.Check says it.
		if !slices.ContainsFunc(outside, func(o *config.Error) bool { return o.Key == e.Key }) {
			errs = append(errs, e)
		}
	}
	g, err := cfg.Graph(lookup.Dependencies)
	var graphErrs config.Errors
	switch {
	case err == nil:
	case errors.As(err, &graphErrs):
		errs = append(errs, withoutReported(graphErrs, errs)...)
	default:
		return nil, err
	}
	if len(errs) > 0 {
		errs.Sort()
		return nil, errs
	}
	p.Graph = g
	return p, nil
}

// withoutReported drops the graph's errors about requires and required_by
// when the config already has errors: its own validation reported the
// unknown names, item by item.
func withoutReported(graphErrs, reported config.Errors) config.Errors {
	if len(reported) == 0 {
		return graphErrs
	}
	var out config.Errors
	for _, e := range graphErrs {
		if !strings.HasSuffix(e.Key, ".requires") && !strings.HasSuffix(e.Key, ".required_by") {
			out = append(out, e)
		}
	}
	return out
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
// add the selection's dependencies, destroy its dependents. The stacks come
// in stacker's step order (see Steps).
func (p *Project) Plan(action engine.Action, sel Selection) (*engine.Run, error) {
	for _, f := range sel.Force {
		if p.Config.Stack(f) == nil {
			return nil, &UsageError{Err: fmt.Errorf("--force %s: no such stack in the config", f)}
		}
	}
	order, err := p.Steps(action, sel)
	if err != nil {
		return nil, err
	}
	run := &engine.Run{ID: newRunID(), Action: action, Started: time.Now().UTC()}
	for _, name := range order {
		s := p.Config.Stack(name)
		if s == nil {
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
			body, err := p.files.ReadFile(p.Config.Path(s.StackPolicyPath))
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

// Steps lists the steps of stacker's plan for action, stacks and targets
// alike, in the order stacker's outline prints them and diff names them
// ("Diffing stacks: ..."): build and diff walk the dependency graph, destroy
// its transpose, both narrowed to the selection (its dependencies, or for
// destroy its dependents). Unknown names in the selection are a UsageError.
func (p *Project) Steps(action engine.Action, sel Selection) ([]string, error) {
	for _, name := range sel.Stacks {
		if !p.Graph.Has(name) {
			return nil, &UsageError{Err: fmt.Errorf("--stacks %s: no such stack or target in the config", name)}
		}
	}
	return p.Graph.StepOrder(sel.Stacks, action == engine.Destroy)
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
