package faults

import (
	"strings"
	"testing"
	"time"
)

func TestParseShare(t *testing.T) {
	tests := []struct {
		spec    string
		api     string
		share   float64
		wantErr string
	}{
		{spec: "cloudformation:DescribeStacks=0.5", api: "cloudformation:DescribeStacks", share: 0.5},
		{spec: "s3:*=25%", api: "s3:*", share: 0.25},
		{spec: "*=1", api: "*", share: 1},
		{spec: "cloudformation=0.5", wantErr: "want service:Action"},
		{spec: "s3:*", wantErr: "want API=share"},
		{spec: "s3:*=1.5", wantErr: "not a fraction"},
		{spec: "s3:*=abc", wantErr: "not a fraction"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			api, share, err := ParseShare(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || api != tt.api || share != tt.share {
				t.Fatalf("ParseShare(%q) = %q %v %v", tt.spec, api, share, err)
			}
		})
	}
	if api, d, err := ParseLatency("sts:*=20ms"); err != nil || api != "sts:*" || d != 20*time.Millisecond {
		t.Errorf("ParseLatency = %q %v %v", api, d, err)
	}
	if _, _, err := ParseLatency("sts:*=-1s"); err == nil {
		t.Error("negative latency accepted")
	}
	if name, reason, err := ParseStackFailure("vpc=boom"); err != nil || name != "vpc" || reason != "boom" {
		t.Errorf("ParseStackFailure = %q %q %v", name, reason, err)
	}
	if _, _, err := ParseStackFailure("=x"); err == nil {
		t.Error("empty stack name accepted")
	}
}

func TestDecide(t *testing.T) {
	f := New(1)
	if d := f.Decide("s3", "GetObject"); d.Fault != None || d.Delay != 0 {
		t.Fatalf("no rules: %+v", d)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.Throttle("*", 1))
	must(f.ServerErrors("s3:*", 1))
	must(f.Throttle("s3:*", 0)) // removes nothing specific; "*" still throttles s3
	must(f.Latency("s3:GetObject", time.Second))
	if d := f.Decide("s3", "GetObject"); d.Fault != Throttle || d.Delay != time.Second {
		t.Fatalf("s3:GetObject = %+v", d)
	}
	must(f.Throttle("*", 0))
	if d := f.Decide("s3", "PutObject"); d.Fault != ServerError || d.Delay != 0 {
		t.Fatalf("s3:PutObject = %+v", d)
	}
	// The most specific key wins: an exact rule with share 0.0001 overrides "s3:*".
	must(f.ServerErrors("s3:HeadObject", 0.0001))
	if d := f.Decide("s3", "HeadObject"); d.Fault != None {
		t.Fatalf("s3:HeadObject = %+v", d)
	}
	if err := f.Throttle("bad", 0.5); err == nil {
		t.Error("bad API key accepted")
	}
	if err := f.Throttle("*", 2); err == nil {
		t.Error("share 2 accepted")
	}

	// After-rules: the call is served, then its answer replaced; a rule
	// before the call wins over one after it.
	f.Reset()
	must(f.ServerErrorsAfter("cloudformation:CreateStack", 1))
	must(f.ThrottleAfter("cloudformation:ExecuteChangeSet", 1))
	if d := f.Decide("cloudformation", "CreateStack"); d.Fault != ServerError || !d.After {
		t.Fatalf("cloudformation:CreateStack = %+v, want a server error after the call", d)
	}
	if d := f.Decide("cloudformation", "ExecuteChangeSet"); d.Fault != Throttle || !d.After {
		t.Fatalf("cloudformation:ExecuteChangeSet = %+v, want throttling after the call", d)
	}
	if d := f.Decide("cloudformation", "DescribeStacks"); d.Fault != None || d.After {
		t.Fatalf("cloudformation:DescribeStacks = %+v", d)
	}
	must(f.Throttle("cloudformation:*", 1))
	if d := f.Decide("cloudformation", "CreateStack"); d.Fault != Throttle || d.After {
		t.Fatalf("with a throttle rule before the call, CreateStack = %+v", d)
	}
	must(f.ServerErrorsAfter("cloudformation:CreateStack", 0))
	if err := f.ServerErrorsAfter("cloudformation", 0.5); err == nil {
		t.Error("bad API key accepted for an after-rule")
	}
	f.Reset()
	if d := f.Decide("cloudformation", "ExecuteChangeSet"); d.Fault != None {
		t.Fatalf("after Reset: %+v", d)
	}

	f.FailStack("vpc", "")
	if reason, ok := f.StackFailure("vpc"); !ok || reason == "" {
		t.Fatalf("StackFailure(vpc) = %q %v", reason, ok)
	}
	f.ClearStackFailure("vpc")
	if _, ok := f.StackFailure("vpc"); ok {
		t.Fatal("cleared stack still fails")
	}
	f.Reset()
	if d := f.Decide("s3", "PutObject"); d.Fault != None {
		t.Fatalf("after Reset: %+v", d)
	}
}

func TestDecideShareIsDeterministic(t *testing.T) {
	run := func() (n int) {
		f := New(99)
		if err := f.Throttle("sts:*", 0.3); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 1000; i++ {
			if f.Decide("sts", "AssumeRole").Fault == Throttle {
				n++
			}
		}
		return n
	}
	a, b := run(), run()
	if a != b {
		t.Fatalf("same seed gave %d and %d throttles", a, b)
	}
	if a < 220 || a > 380 {
		t.Fatalf("share 0.3 throttled %d of 1000", a)
	}
}

func TestFlagsApply(t *testing.T) {
	f := New(1)
	fl := Flags{
		Throttle:          []string{"sts:AssumeRole=100%"},
		ServerErrors:      []string{"s3:*=1"},
		ThrottleAfter:     []string{"iam:CreateRole=1"},
		ServerErrorsAfter: []string{"cloudformation:CreateStack=100%"},
		Latency:           []string{"ssm:*=30ms"},
		FailStacks:        []string{"vpc=kaboom", "plain"},
	}
	if err := fl.Apply(f); err != nil {
		t.Fatal(err)
	}
	if d := f.Decide("sts", "AssumeRole"); d.Fault != Throttle {
		t.Errorf("sts:AssumeRole = %+v", d)
	}
	if d := f.Decide("sts", "GetCallerIdentity"); d.Fault != None {
		t.Errorf("sts:GetCallerIdentity = %+v", d)
	}
	if d := f.Decide("s3", "GetObject"); d.Fault != ServerError {
		t.Errorf("s3:GetObject = %+v", d)
	}
	if d := f.Decide("iam", "CreateRole"); d.Fault != Throttle || !d.After {
		t.Errorf("iam:CreateRole = %+v", d)
	}
	if d := f.Decide("cloudformation", "CreateStack"); d.Fault != ServerError || !d.After {
		t.Errorf("cloudformation:CreateStack = %+v", d)
	}
	if d := f.Decide("ssm", "GetParameter"); d.Delay != 30*time.Millisecond {
		t.Errorf("ssm:GetParameter = %+v", d)
	}
	if reason, ok := f.StackFailure("vpc"); !ok || reason != "kaboom" {
		t.Errorf("vpc = %q %v", reason, ok)
	}
	if reason, ok := f.StackFailure("plain"); !ok || reason == "" {
		t.Errorf("plain = %q %v", reason, ok)
	}
	for _, tc := range []struct {
		name string
		fl   Flags
		want string
	}{
		{"throttle", Flags{Throttle: []string{"sts=1"}}, "--throttle: "},
		{"server errors", Flags{ServerErrors: []string{"s3:*=2"}}, "--server-errors: "},
		{"throttle after", Flags{ThrottleAfter: []string{"s3:*"}}, "--throttle-after: "},
		{"server errors after", Flags{ServerErrorsAfter: []string{"s3=1"}}, "--server-errors-after: "},
		{"latency", Flags{Latency: []string{"s3:*=soon"}}, "--latency: "},
		{"fail stack", Flags{FailStacks: []string{"=why"}}, "--fail-stack: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.fl.Apply(New(1)); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to start with %q", err, tc.want)
			}
		})
	}
}
