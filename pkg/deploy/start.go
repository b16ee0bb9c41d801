package deploy

import (
	"context"

	"github.com/stackerless/stackerless/pkg/engine"
)

// Start readies a planned run for its first Advance, the same way for the
// CLI and the serverless runtime: it records the run's options, with the
// config's service role, in the run (so the run deploys the same wherever
// it is advanced), and checks a build or diff for what only rendering or a
// look at AWS can tell (Preflight: templates over the inline limit, values
// no parameter can take, required parameters left unset). Its errors are
// config errors (IsConfigError) or AWS's; nothing is deployed either way.
func (p *Project) Start(ctx context.Context, run *engine.Run, opts engine.Options) error {
	opts.ServiceRole = p.Config.ServiceRole
	run.Options = opts
	if run.Action == engine.Destroy {
		return nil
	}
	return p.Preflight(ctx, run)
}
