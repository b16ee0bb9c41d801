package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"
	"github.com/stackerless/stackerless/pkg/awsprofile"
	"github.com/stackerless/stackerless/pkg/bundle"
	"github.com/stackerless/stackerless/pkg/bundle/s3bundle"
	"github.com/stackerless/stackerless/pkg/config"
	"github.com/stackerless/stackerless/pkg/deploy"
	"github.com/stackerless/stackerless/pkg/engine"
	"github.com/stackerless/stackerless/pkg/handlers"
	"github.com/stackerless/stackerless/pkg/runrequest"
	"github.com/stackerless/stackerless/pkg/runstate"
)

type submitFlags struct {
	deploymentFlags
	watchFlags
	wait         bool
	env          []string
	key          string
	startTimeout time.Duration
}

func newSubmitCommand() *cobra.Command {
	f := &submitFlags{}
	cmd := &cobra.Command{
		Use:   "submit [--wait] [-e KEY=VALUE] DIR|stacker.yaml",
		Short: "Check a config locally, upload it to the deployment's config bucket and print the run it starts",
		Long: `submit checks the config as the deployment's Prepare does (bundle, config, profiles, templates),
packs it with its directory's files (.aws/config, templates, the environment file stacker.env) and uploads the
bundle to the config bucket, which starts a run. -e values are written into the bundle's environment file.
A config that fails the check is not uploaded.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return &exitError{code: 2, err: fmt.Errorf("submit takes DIR or a stacker.yaml, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runSubmit(cmd.Context(), cmd, f, args[0]) },
	}
	f.deploymentFlags.register(cmd)
	f.watchFlags.register(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&f.wait, "wait", false, "follow the run (as watch) and exit as build does")
	fl.StringArrayVarP(&f.env, "env", "e", nil, "environment value KEY=VALUE for the run (repeatable); written into the bundle's environment file")
	fl.StringVar(&f.key, "key", "", "object key to upload to (default: <ConfigPrefix output><directory name>.tar.gz)")
	fl.DurationVar(&f.startTimeout, "start-timeout", 2*time.Minute, "how long to wait for the upload's run to appear")
	return cmd
}

func runSubmit(ctx context.Context, cmd *cobra.Command, f *submitFlags, arg string) error {
	log := cmd.ErrOrStderr()
	stage, err := os.MkdirTemp("", "stackerless-submit-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	name, err := stageBundle(arg, stage)
	if err != nil {
		return err
	}
	if err := applyEnv(stage, f.env); err != nil {
		return err
	}
	var packed bytes.Buffer
	if err := bundle.Pack(stage, &packed); err != nil {
		return fmt.Errorf("pack %s: %w", arg, err)
	}
	d, err := f.resolve(ctx, cmd)
	if err != nil {
		return err
	}
	key := f.key
	if key == "" {
		key = d.configPrefix + name + ".tar.gz"
	}
	if !bundle.IsArchive(key) {
		return &exitError{code: 2, err: fmt.Errorf("--key %s: submit uploads a .tar.gz bundle, so the key must end in .tar.gz or .tgz", key)}
	}
	if err := checkBundle(ctx, d.cfg, key, packed.Bytes(), log); err != nil {
		return err
	}
	if err := d.store.CheckFreeze(ctx); err != nil {
		return &exitError{code: 1, err: fmt.Errorf("not uploaded: %w (stackerless unfreeze)", err)}
	}
	// Prepare refuses an upload while another run holds its config (unless
	// that run's execution has ended): say so before the wait for a run.
	if lock, _, err := d.store.ReadLock(ctx, runstate.LockKey(d.configBucket, key)); err == nil {
		fmt.Fprintf(log, "warning: s3://%s/%s is locked by run %s since %s: the upload's run is refused while that run goes on (stackerless watch %s)\n",
			d.configBucket, key, lock.RunID, lock.Acquired.Format(time.RFC3339), lock.RunID)
	}
	put, err := d.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(d.configBucket), Key: aws.String(key),
		Body: bytes.NewReader(packed.Bytes()), ContentType: aws.String("application/gzip")})
	if err != nil {
		return fmt.Errorf("upload s3://%s/%s: %w", d.configBucket, key, err)
	}
	version := aws.ToString(put.VersionId)
	fmt.Fprintf(log, "Uploaded s3://%s/%s (version %s)\n", d.configBucket, key, version)
	if version == "" || version == "null" {
		return fmt.Errorf("config bucket %s is not versioned: no run can be pinned to the upload", d.configBucket)
	}
	deadline := time.Now().Add(f.startTimeout)
	rec, err := awaitRun(ctx, d, runstate.Source{Bucket: d.configBucket, Key: key, VersionID: version}, deadline)
	if err != nil {
		return err
	}
	if err := awaitState(ctx, d, rec, deadline); err != nil {
		return err
	}
	fmt.Fprintf(log, "Started run %s\n", rec.RunID)
	fmt.Fprintln(cmd.OutOrStdout(), rec.RunID)
	if !f.wait {
		return nil
	}
	return watchRun(ctx, cmd, d, rec.RunID, &f.watchFlags)
}

// configNames are the names an archive's config may have at its root.
var configNames = []string{"stacker.yaml", "stacker.yml"}

// stageBundle copies into stage the bundle of arg: a directory holding
// stacker.yaml, or a config file and its directory's other files (the
// config written as stacker.yaml). Hidden files and directories stay out,
// but .aws/config. It returns the name the upload takes.
func stageBundle(arg, stage string) (string, error) {
	abs, err := filepath.Abs(arg)
	if err != nil {
		return "", err
	}
	info, err := os.Stat(abs)
	if err != nil {
		return "", &exitError{code: 2, err: fmt.Errorf("submit %s: %w", arg, err)}
	}
	root, configFile := abs, ""
	if info.IsDir() {
		for _, n := range configNames {
			if fi, err := os.Stat(filepath.Join(root, n)); err == nil && fi.Mode().IsRegular() {
				configFile = n
				break
			}
		}
		if configFile == "" {
			return "", &exitError{code: 2, err: fmt.Errorf("submit %s: the directory has no %s", arg, strings.Join(configNames, " or "))}
		}
	} else {
		root, configFile = filepath.Dir(abs), filepath.Base(abs)
	}
	name := filepath.Base(root)
	if !info.IsDir() && !slices.Contains(configNames, configFile) {
		name = strings.TrimSuffix(configFile, filepath.Ext(configFile))
	}
	err = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		// Hidden files stay out (.git), and of .aws only the profiles: never
		// the credentials file beside them.
		inAWS := strings.HasPrefix(rel, ".aws/")
		if (strings.HasPrefix(e.Name(), ".") && rel != ".aws") || (inAWS && rel != ".aws/config") {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() || !e.Type().IsRegular() {
			return nil
		}
		target := rel
		switch {
		case rel == configFile:
			target = configNames[0]
			if slices.Contains(configNames, configFile) {
				target = configFile
			}
		case !strings.Contains(rel, "/") && slices.Contains(configNames, rel):
			return nil // another config beside the one submitted
		}
		return copyFile(p, filepath.Join(stage, filepath.FromSlash(target)))
	})
	if err != nil {
		return "", fmt.Errorf("read %s: %w", root, err)
	}
	return name, nil
}

func copyFile(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// envNames are the environment files a bundle may hold, at its root.
var envNames = []string{"stacker.env", "stacker.env.yaml", "stacker.env.yml"}

// applyEnv writes -e values into the staged bundle's environment file (a
// new stacker.env when it has none), so the run the upload starts sees them.
func applyEnv(stage string, pairs []string) error {
	if len(pairs) == 0 {
		return nil
	}
	overrides := config.Environment{}
	for _, kv := range pairs {
		if err := overrides.Set(kv); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("-e %s", err)}
		}
	}
	file := envNames[0]
	for _, n := range envNames {
		if _, err := os.Stat(filepath.Join(stage, n)); err == nil {
			file = n
			break
		}
	}
	p := filepath.Join(stage, file)
	if file == envNames[0] {
		// stacker's key: value lines; the last one of a key wins.
		var b strings.Builder
		for _, k := range overrides.Keys() {
			v := overrides[k].(string)
			if strings.Contains(k, ":") || strings.TrimSpace(k) != k || k == "" || strings.ContainsAny(v, "\r\n") || strings.TrimSpace(v) != v {
				return &exitError{code: 2, err: fmt.Errorf("-e %s=%s cannot be written to %s (key: value lines): no colon in the key, no line break or surrounding spaces", k, v, file)}
			}
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
		old, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if len(old) > 0 && !bytes.HasSuffix(old, []byte("\n")) {
			old = append(old, '\n')
		}
		return os.WriteFile(p, append(old, b.String()...), 0o644)
	}
	env, err := config.LoadEnvironment(p)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	values := map[string]any{}
	for _, k := range env.Keys() {
		values[k] = env[k]
	}
	for _, k := range overrides.Keys() {
		values[k] = overrides[k]
	}
	data, err := yaml.Marshal(values)
	if err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return os.WriteFile(p, data, 0o644)
}

// checkBundle runs on the packed bundle what the deployment's Prepare runs
// on an upload: unpacked within the bounds, the bundle's files found, the
// config loaded and validated with the runtime's rules, planned and
// preflighted. Config problems are exit code 2 and nothing is uploaded.
// Preflight's look at existing stacks needs the accounts' roles; when they
// cannot be reached from here, Prepare checks it and this only warns.
func checkBundle(ctx context.Context, base aws.Config, key string, packed []byte, log io.Writer) error {
	dir, err := os.MkdirTemp("", "stackerless-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	src := runrequest.Object{Bucket: "local", Key: key, VersionID: "local"}
	m, err := s3bundle.Fetch(ctx, localObject(packed), src, nil, dir, bundle.DefaultLimits)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	allowed, err := roleAccounts(dir, m)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	proj, err := handlers.LoadBundle(ctx, handlers.Bundle{Dir: dir, Manifest: m, Base: base, AllowedAccounts: allowed})
	if err != nil {
		return bundleConfigExit(err)
	}
	run, err := proj.Plan(engine.Build, deploy.Selection{})
	if err != nil {
		return bundleConfigExit(err)
	}
	if err := proj.Preflight(ctx, run); err != nil {
		if deploy.IsConfigError(err) {
			return bundleConfigExit(err)
		}
		fmt.Fprintf(log, "warning: could not look at the existing stacks from here (the run's Prepare will): %v\n", err)
	}
	return nil
}

// bundleConfigExit gives a config error exit code 2; the messages of a
// handlers.ConfigError already name the bundle's files.
func bundleConfigExit(err error) error {
	var ce *handlers.ConfigError
	if errors.As(err, &ce) || deploy.IsConfigError(err) {
		return &exitError{code: 2, err: err}
	}
	return err
}

// roleAccounts are the accounts the bundle's profiles assume roles in. The
// local check admits them all: which accounts the deployment allows only
// its Prepare knows, and it refuses the others before any AssumeRole.
func roleAccounts(dir string, m *s3bundle.Manifest) ([]string, error) {
	if m.AWSConfig == "" {
		return nil, nil
	}
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(m.AWSConfig)))
	if err != nil {
		return nil, err
	}
	f, err := awsprofile.Parse(m.AWSConfig, data)
	if err != nil {
		return nil, err
	}
	var accounts []string
	for _, p := range f.Profiles {
		// arn:partition:iam::ACCOUNT:role/NAME
		if parts := strings.Split(p.RoleARN, ":"); len(parts) >= 6 {
			accounts = append(accounts, parts[4])
		}
	}
	return accounts, nil
}

// localObject serves the packed bundle as the one object s3bundle.Fetch
// reads, so the local check goes through Prepare's own unpacking.
type localObject []byte

func (o localObject) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(o)), ContentLength: aws.Int64(int64(len(o))),
		VersionId: in.VersionId}, nil
}

// awaitRun waits for the run the upload of src starts: Prepare records it
// under runs/by-version before anything else.
func awaitRun(ctx context.Context, d *deployment, src runstate.Source, deadline time.Time) (runstate.VersionRecord, error) {
	key := runstate.VersionKey(src.Bucket, src.Key, src.VersionID)
	timeout := time.Until(deadline).Round(time.Millisecond)
	for {
		obj, err := d.store.Get(ctx, key)
		if err == nil {
			var rec runstate.VersionRecord
			if err := json.Unmarshal(obj.Body, &rec); err != nil {
				return rec, fmt.Errorf("read s3://%s/%s: %w", d.stateBucket, key, err)
			}
			return rec, nil
		}
		if !errors.Is(err, runstate.ErrNotFound) {
			return runstate.VersionRecord{}, err
		}
		if time.Now().After(deadline) {
			return runstate.VersionRecord{}, fmt.Errorf("no run started for s3://%s/%s within %s: the upload may not match the deployment's prefix and suffixes, or Prepare refused it (see the state machine's executions)",
				src.Bucket, path.Clean(src.Key), timeout)
		}
		if err := pause(ctx); err != nil {
			return runstate.VersionRecord{}, err
		}
	}
}

// awaitState waits for the state of the run Prepare recorded: Prepare
// claims the version before it takes the config's lock, so a run refused
// for the lock (or failing after the claim) has a record and no state.
func awaitState(ctx context.Context, d *deployment, rec runstate.VersionRecord, deadline time.Time) error {
	for {
		_, _, err := d.store.LoadState(ctx, rec.RunID)
		if err == nil {
			return nil
		}
		if !errors.Is(err, runstate.ErrNotFound) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no run started: Prepare named the upload's run %s but did not start it (another run holds the config, or it failed): see execution %s",
				rec.RunID, rec.ExecutionARN)
		}
		if err := pause(ctx); err != nil {
			return err
		}
	}
}

// pause waits between two reads of the state bucket.
func pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(250 * time.Millisecond):
		return nil
	}
}
