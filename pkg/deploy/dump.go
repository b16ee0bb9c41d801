package deploy

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/stackerless/stackerless/pkg/config"
	"github.com/stackerless/stackerless/pkg/rawtemplate"

	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/lookup"
)

// placeholder stands in for lookups that would read AWS, so --dump renders
// templates without credentials: the value shows the lookup it replaces.
type placeholder struct{ kind string }

func (h placeholder) Resolve(_ context.Context, in lookup.LookupCall) (any, error) {
	return fmt.Sprintf("<%s %s>", h.kind, in.Input), nil
}

// offlineRegistry resolves lookups without AWS: those that would read AWS
// become placeholders.
func (p *Project) offlineRegistry() lookup.Registry {
	reg := p.registry(nil)
	for _, kind := range []string{"output", "xref", "rxref", "ssmstore", "kms", "ami", "dynamodb"} {
		reg[kind] = placeholder{kind: kind}
	}
	return reg
}

// CheckInline renders, without AWS, the templates of run's stacks that go
// inline and whose variables need no lookup, and fails when one is over
// CloudFormation's inline limit: raw templates are checked by Load already,
// blueprints and .j2 templates need rendering. Its errors are config errors.
func (p *Project) CheckInline(ctx context.Context, run *engine.Run) error {
	if p.Config.UploadTemplates() {
		return nil
	}
	reg := p.offlineRegistry()
	var errs config.Errors
	for _, st := range run.Stacks {
		s := p.Config.Stack(st.Name)
		if s.ClassPath == "" && !strings.HasSuffix(s.TemplatePath, ".j2") {
			continue
		}
		if lookups, err := lookup.Lookups(s.Variables); err != nil || len(lookups) > 0 {
			continue // rendered at run time, with the lookups' values
		}
		b, err := p.render(ctx, reg, s, st.Profile, st.Region)
		if err != nil {
			continue // Preflight or the run reports it for this stack
		}
		if err := rawtemplate.CheckInlineSize(s.Name, b.bytes); err != nil {
			key := "template_path"
			if s.ClassPath != "" {
				key = "class_path"
			}
			errs = append(errs, s.Errorf(key, "%v", err))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Dump renders the templates of run's stacks into dir, under the keys they
// would have in the stacker bucket, without calling AWS, and says so on w as
// stacker does (its log: stderr).
func (p *Project) Dump(ctx context.Context, run *engine.Run, dir string, w io.Writer) error {
	reg := p.offlineRegistry()
	fmt.Fprintf(w, "Dumping %q...\n", "Create/Update stacks")
	for _, st := range run.Stacks {
		s := p.Config.Stack(st.Name)
		if s.ClassPath == "" && s.TemplatePath == "" {
			continue
		}
		b, err := p.render(ctx, reg, s, st.Profile, st.Region)
		if err != nil {
			return fmt.Errorf("render %s: %w", st.Name, err)
		}
		path := filepath.Join(dir, filepath.FromSlash(b.key))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("dump %s: %w", st.Name, err)
		}
		if err := os.WriteFile(path, b.bytes, 0o644); err != nil {
			return fmt.Errorf("dump %s: %w", st.Name, err)
		}
		fmt.Fprintf(w, "Writing stack %q -> %s\n", st.Name, path)
	}
	return nil
}
