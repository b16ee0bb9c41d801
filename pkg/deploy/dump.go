package deploy

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/lookup"
)

// placeholder stands in for lookups that would read AWS, so --dump renders
// templates without credentials: the value shows the lookup it replaces.
type placeholder struct{ kind string }

func (h placeholder) Resolve(_ context.Context, in lookup.LookupCall) (any, error) {
	return fmt.Sprintf("<%s %s>", h.kind, in.Input), nil
}

// Dump renders the templates of run's stacks into dir, under the keys they
// would have in the stacker bucket, without calling AWS.
func (p *Project) Dump(ctx context.Context, run *engine.Run, dir string, w io.Writer) error {
	reg := p.registry(nil)
	for _, kind := range []string{"output", "xref", "rxref", "ssmstore", "kms", "ami", "dynamodb"} {
		reg[kind] = placeholder{kind: kind}
	}
	for _, st := range run.Stacks {
		s := p.Config.Stack(st.Name)
		if s.ClassPath == "" && s.TemplatePath == "" {
			continue
		}
		r, err := p.Render(ctx, reg, s, st.Profile, st.Region, nil)
		if err != nil {
			return fmt.Errorf("render %s: %w", st.Name, err)
		}
		path := filepath.Join(dir, filepath.FromSlash(r.Key))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("dump %s: %w", st.Name, err)
		}
		if err := os.WriteFile(path, r.Body, 0o644); err != nil {
			return fmt.Errorf("dump %s: %w", st.Name, err)
		}
		fmt.Fprintf(w, "Writing stack %q -> %s\n", st.Name, path)
	}
	return nil
}
