package deploy

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/stackerless/stackerless/pkg/blueprint"
	"github.com/stackerless/stackerless/pkg/config"
	"github.com/stackerless/stackerless/pkg/lookup"
	"github.com/stackerless/stackerless/pkg/rawtemplate"
)

// fileSystem reads the files a config names, by resolved (absolute) path.
type fileSystem interface {
	ReadFile(path string) ([]byte, error)
	IsFile(path string) bool
}

// osFiles reads any file, as stacker does.
type osFiles struct{}

func (osFiles) ReadFile(path string) ([]byte, error) { return os.ReadFile(path) }

func (osFiles) IsFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}

// configDir reads file:// values from the config's directory through the
// project's files (lookup.Dir, confined to a bundle when there is one).
type configDir struct{ p *Project }

func (d configDir) ReadFile(name string) ([]byte, error) {
	return d.p.files.ReadFile(d.p.Config.FilePath(name))
}

// validateStacks checks what each stack names, as far as opts.Checks asks:
// lookups, then files, profile, blueprint, template and stack policy.
func (p *Project) validateStacks() config.Errors {
	var errs config.Errors
	checked := map[string]bool{}
	profiles := map[string]error{}
	for _, s := range p.Config.Stacks {
		if err := lookup.CheckVariables(s.Name, s.Variables); err != nil {
			errs = append(errs, s.Errorf("variables", "%v", err))
		} else if p.opts.Checks != CheckGraph && !p.opts.Bundle {
			// bundle.Check has checked these files in a bundle.
			errs = append(errs, p.checkFileLookups(s)...)
		}
		if p.opts.Checks == CheckGraph {
			continue
		}
		if p.opts.Checks == CheckAll {
			if err := p.checkProfile(s, profiles); err != nil {
				errs = append(errs, err)
			}
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
			if _, err := p.files.ReadFile(p.Config.Path(s.StackPolicyPath)); err != nil {
				errs = append(errs, s.Errorf("stack_policy_path", "read stack policy: %v", err))
			}
		}
	}
	return errs
}

// checkProfile checks the stack's profile, each profile once: known, and
// usable without AWS telling otherwise.
func (p *Project) checkProfile(s *config.Stack, seen map[string]error) *config.Error {
	profile := p.profileOf(s)
	if profile == "" {
		return nil
	}
	err, done := seen[profile]
	if !done {
		switch {
		case p.opts.HasProfile != nil && !p.opts.HasProfile(profile):
			err = fmt.Errorf("profile %q is not defined in the AWS config file (AWS_CONFIG_FILE) or credentials file (AWS_SHARED_CREDENTIALS_FILE)", profile)
		case p.opts.CheckProfile != nil:
			err = p.opts.CheckProfile(profile)
		}
		seen[profile] = err
	}
	if err == nil {
		return nil
	}
	key := "profile"
	if s.Profile == "" {
		key = "name" // the default profile (--profile) applies to this stack
	}
	return s.Errorf(key, "%v", err)
}

// checkFileLookups finds the files that lookups read (file://) and checks,
// before any AWS call, that they exist. Paths computed by nested lookups are
// checked when read.
func (p *Project) checkFileLookups(s *config.Stack) config.Errors {
	var errs config.Errors
	for _, name := range slices.Sorted(maps.Keys(s.Variables)) {
		for _, ref := range lookup.FileRefs(s.Variables[name]) {
			if ref.Path == "" {
				errs = append(errs, s.Errorf("variables."+name, "%s: the file:// path is empty", ref.Lookup.Raw))
			} else if _, err := os.Stat(p.Config.FilePath(ref.Path)); err != nil {
				errs = append(errs, s.Errorf("variables."+name, "%s: %v (file:// paths are relative to the config's directory, %s)", ref.Lookup.Raw, err, p.Config.Dir))
			}
		}
	}
	return errs
}

// templateFile finds a stack's template as stacker's get_template_path: from
// the working directory, then under sys_path.
func (p *Project) templateFile(templatePath string) (string, error) {
	if path, ok := p.templates[templatePath]; ok {
		return path, nil
	}
	search := p.Config.TemplateSearch(templatePath)
	for _, path := range search {
		if p.files.IsFile(path) {
			return path, nil
		}
	}
	//lint:ignore ST1005 stacker's wording, then where it looked
	return "", fmt.Errorf("Could not find template %s (looked for %s)", templatePath, strings.Join(search, ", "))
}

// checkTemplate loads a raw template to prove it exists and parses. Jinja
// templates need resolved variables to render, so only their syntax is checked.
// Stacks often share a template: each file is checked once (checked holds
// the successes, so every stack of a broken file still gets its error).
func (p *Project) checkTemplate(s *config.Stack, checked map[string]bool) error {
	path, err := p.templateFile(s.TemplatePath)
	if err != nil {
		return err
	}
	p.templates[s.TemplatePath] = path
	if checked[path] {
		return nil
	}
	body, err := p.files.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read template %s: %w", path, err)
	}
	if strings.HasSuffix(path, ".j2") {
		// Only the syntax: rendering needs the resolved variables.
		if err := rawtemplate.CheckSyntax(path, body); err != nil {
			return err
		}
		checked[path] = true
		return nil
	}
	t, err := rawtemplate.Load(rawtemplate.Input{Path: path, Body: body, Name: s.Name})
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
