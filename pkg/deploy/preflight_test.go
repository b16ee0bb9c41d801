package deploy_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackerless/stackerless/pkg/config"
	"github.com/stackerless/stackerless/pkg/deploy"
	"github.com/stackerless/stackerless/pkg/engine"
)

// preflight loads config and runs Preflight on a build of it.
func (w *world) preflight(config string, aws deploy.ConfigSource) error {
	w.t.Helper()
	p, err := deploy.Load(w.options(config, aws))
	if err != nil {
		w.t.Fatalf("load: %v", err)
	}
	run, err := p.Plan(engine.Build, deploy.Selection{})
	if err != nil {
		w.t.Fatal(err)
	}
	return p.Preflight(w.t.Context(), run)
}

func TestPreflight(t *testing.T) {
	w := newWorld(t)
	required, err := os.ReadFile(filepath.Join("testdata", "required.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(w.dir, "req.yaml"), string(required))
	write(t, filepath.Join(w.dir, "req.yaml.j2"), "{% if variables.Extra %}Description: x\n{% endif %}"+string(required))
	head := "namespace: pre\nstacks:\n"

	t.Run("values that cannot be parameters, before any AWS call", func(t *testing.T) {
		err := w.preflight(head+"  - name: a\n    template_path: req.yaml\n    variables:\n      Need: {a: 1}\n      Opt: [[x]]\n"+
			"  - name: b\n    template_path: req.yaml.j2\n    variables:\n      Need: {b: 2}\n      Extra: {fine: in a .j2 template}\n"+
			"  - name: c\n    template_path: req.yaml\n    variables:\n      Need: [a, b, '${output a::Out}']\n", noAWS{t})
		var es config.Errors
		if !errors.As(err, &es) || len(es) != 3 {
			t.Fatalf("err = %v, want 3 config errors", err)
		}
		for i, want := range []string{
			"stacker.yaml:6:7: stacks[0].variables.Need: a map cannot be a CloudFormation parameter value; use a list or a string (the template declares Need as a parameter)",
			"stacker.yaml:7:7: stacks[0].variables.Opt: a nested list or map cannot be a CloudFormation parameter value",
			"stacker.yaml:11:7: stacks[1].variables.Need: a map cannot be a CloudFormation parameter value",
		} {
			if got := strings.TrimPrefix(es[i].Error(), w.dir+"/"); !strings.HasPrefix(got, want) {
				t.Errorf("error %d = %q, want %q", i, es[i], want)
			}
		}
	})

	t.Run("a required parameter of a stack that does not exist yet", func(t *testing.T) {
		err := w.preflight(head+"  - name: new\n    template_path: req.yaml\n    variables:\n      Opt: x\n", w.provider)
		want := "stacker.yaml:5:5: stacks[0].variables: Missing required cloudformation parameters: Need: stack pre-new does not exist yet, so there are no previous values to keep; set them under variables"
		if err == nil || strings.TrimPrefix(err.Error(), w.dir+"/") != want {
			t.Fatalf("err = %v\nwant %s", err, want)
		}
	})

	t.Run("an existing stack keeps its previous value", func(t *testing.T) {
		if s := w.build(head + "  - name: old\n    template_path: req.yaml\n    variables:\n      Need: kept\n").Stack("old"); s.State != engine.Complete {
			t.Fatalf("build: %s", s)
		}
		if err := w.preflight(head+"  - name: old\n    template_path: req.yaml\n", w.provider); err != nil {
			t.Fatalf("preflight: %v", err)
		}
		// The run keeps it too.
		if s := w.build(head + "  - name: old\n    template_path: req.yaml\n").Stack("old"); s.State != engine.Skipped {
			t.Errorf("rebuild without Need: %s", s)
		}
	})

	t.Run("nothing missing, no AWS call", func(t *testing.T) {
		if err := w.preflight(head+"  - name: a\n    template_path: req.yaml\n    variables:\n      Need: x\n", noAWS{t}); err != nil {
			t.Fatal(err)
		}
	})
}

// A blueprint's missing variables are stacker's MissingVariable, found before
// anything runs; one whose variables hold no lookup is rendered, so its own
// checks run too.
func TestPreflightBlueprints(t *testing.T) {
	w := newWorld(t)
	head := "namespace: prebp\nstacks:\n"
	err := w.preflight(head+"  - name: net\n    class_path: stacker_blueprints.network.Network\n    variables:\n      CidrBlock: 10.0.0.0/24\n"+
		"  - name: both\n    class_path: stacker_blueprints.network.Network\n    variables:\n      VpcId: vpc-1\n      AvailabilityZone: us-east-1a\n"+
		"      CidrBlock: 10.0.1.0/24\n      InternetGatewayId: igw-1\n      NatGatewayId: nat-1\n"+
		"  - name: later\n    class_path: stacker_blueprints.network.Network\n    variables:\n      VpcId: ${output both::VpcId}\n"+
		"      AvailabilityZone: us-east-1a\n      CidrBlock: 10.0.2.0/24\n", noAWS{t})
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %v", err)
	}
	var got []string
	for _, e := range es {
		got = append(got, strings.TrimPrefix(e.Error(), w.dir+"/"))
	}
	want := []string{
		`stacker.yaml:5:5: stacks[0].variables: MissingVariable: Variable "AvailabilityZone" in blueprint "net" is missing`,
		`stacker.yaml:5:5: stacks[0].variables: MissingVariable: Variable "VpcId" in blueprint "net" is missing`,
		`stacker.yaml:8:5: stacks[1].class_path: render blueprint stacker_blueprints.network.Network: Cannot specify both NatGatewayId and InternetGatewayId in the same Network stack.`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
