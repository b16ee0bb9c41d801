package master_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackerless/stackerless/infra/master"
)

func TestSettingsDefaults(t *testing.T) {
	s, err := master.ParseSettings([]byte(`{"allowed_accounts": ["111111111111"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.PollSeconds != master.DefaultPollSeconds || s.Architecture != "arm64" || s.LoopsPerExecution != master.DefaultLoopsPerExecution ||
		strings.Join(s.Suffixes, ",") != strings.Join(master.DefaultSuffixes, ",") || s.StackerRoleName != "Stacker" {
		t.Errorf("defaults %+v", s)
	}
}

func TestSettingsErrors(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		want       []string
	}{
		{"no accounts", `{}`, []string{"allowed_accounts: list the account ids"}},
		{"bad account", `{"allowed_accounts": ["12345", "111111111111", "111111111111"]}`,
			[]string{`allowed_accounts[0]: "12345" is not a 12-digit account id`, "allowed_accounts[2]: 111111111111 is listed twice"}},
		{"poll", `{"allowed_accounts": ["111111111111"], "poll_seconds": -1, "approval_poll_seconds": 4000}`,
			[]string{"poll_seconds: -1 is outside 1..3600", "approval_poll_seconds: 4000 is outside 1..3600"}},
		{"loops", `{"allowed_accounts": ["111111111111"], "loops_per_execution": 100000}`,
			[]string{fmt.Sprintf("loops_per_execution: 100000 is outside 1..%d (an execution must end before 25,000 history events", master.MaxLoopsPerExecution())}},
		{"architecture", `{"allowed_accounts": ["111111111111"], "architecture": "amd64"}`,
			[]string{`architecture: "amd64" must be arm64 or x86_64`}},
		{"schedule", `{"allowed_accounts": ["111111111111"], "schedules": [
			{"name": "a b", "expression": "every day", "action": "destroy", "config": "s3://x/y"},
			{"name": "n", "expression": "rate(1 day)", "time_zone": "UTC", "action": "build", "config": "c.yaml"},
			{"name": "n", "expression": "rate(1 hour)", "action": "diff", "config": "c.yaml"}]}`,
			[]string{`schedules[0].name: "a b"`, `schedules[0].expression: "every day" is neither`, `schedules[0].action: "destroy" must be build or diff`,
				`schedules[0].config: "s3://x/y" must be a key`, "schedules[1].time_zone: applies to cron expressions only", `schedules[2].name: "n" is used twice`}},
		{"prefix and suffixes", `{"allowed_accounts": ["111111111111"], "prefix": "a*", "suffixes": ["", "x\\"]}`,
			[]string{`prefix: "a*" may not hold`, `suffixes[0]: "" must be non-empty`, `suffixes[1]: "x\\" must be non-empty`}},
		{"no suffixes", `{"allowed_accounts": ["111111111111"], "suffixes": []}`, []string{"suffixes: list at least one"}},
		{"principals", `{"allowed_accounts": ["111111111111"], "config_writers": ["ci"], "approvers": ["alice"]}`,
			[]string{`config_writers[0]: "ci" is not an IAM principal ARN`, `approvers[0]: "alice" is not a principal id`}},
		{"role name", `{"allowed_accounts": ["111111111111"], "stacker_role_name": "a/b"}`, []string{`stacker_role_name: "a/b"`}},
		// A writer is matched by aws:PrincipalArn: a role, never one session.
		{"writer session", `{"allowed_accounts": ["111111111111"], "config_writers": ["arn:aws:sts::111111111111:assumed-role/ci/s", "arn:aws:iam::111111111111:role/ci"]}`,
			[]string{`config_writers[0]: "arn:aws:sts::111111111111:assumed-role/ci/s" is not an IAM principal ARN`}},
		{"reserved concurrency", `{"allowed_accounts": ["111111111111"], "reserved_concurrency": -1}`, []string{"reserved_concurrency: -1 is outside 0..1000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := master.ParseSettings([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			err = s.Validate()
			if err == nil {
				t.Fatal("Validate passed")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if got, want := strings.Count(err.Error(), "\n")+1, len(tc.want); got != want {
				t.Errorf("%d problems, want %d:\n%v", got, want, err)
			}
		})
	}
}

func TestLoadSettingsErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "settings.json")
	for _, tc := range []struct{ body, want string }{
		{`{"allowed_accounts": ["111111111111"], "poll": 5}`, `settings ` + path + `: json: unknown field "poll"`},
		{"{\n  \"allowed_accounts\": [\"111111111111\",]\n}", `settings ` + path + `: line 2: invalid character ']'`},
		{`{"poll_seconds": "5"}`, "cannot unmarshal string into Go struct field Settings.poll_seconds of type int"},
	} {
		if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := master.LoadSettings(path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadSettings(%s) = %v, want %q", tc.body, err, tc.want)
		}
	}
	if _, err := master.LoadSettings(filepath.Join(dir, "none.json")); err == nil || !strings.Contains(err.Error(), "none.json") {
		t.Errorf("missing file: %v", err)
	}
}

// The bound leaves room for every retry of every Advance.
func TestMaxLoopsPerExecution(t *testing.T) {
	if n := master.MaxLoopsPerExecution(); n < master.DefaultLoopsPerExecution || n*(11+3*17)+400 > 25000 {
		t.Errorf("MaxLoopsPerExecution %d", n)
	}
}
