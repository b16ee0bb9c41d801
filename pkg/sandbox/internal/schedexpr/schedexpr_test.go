package schedexpr

import (
	"errors"
	"testing"
	"time"
)

func TestNextInTimeZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		expr  string
		loc   *time.Location
		after time.Time
		want  string // RFC 3339 in UTC; "" when it never fires again
	}{
		// 06:00 in Berlin is 05:00 UTC in winter (CET) and 04:00 UTC after 29 March (CEST).
		{"cron(0 6 * * ? *)", berlin, time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC), "2026-03-28T05:00:00Z"},
		{"cron(0 6 * * ? *)", berlin, time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC), "2026-03-29T04:00:00Z"},
		{"cron(0 6 ? * MON *)", time.UTC, time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC), "2026-03-30T06:00:00Z"},
		{"at(2026-04-01T09:30:00)", berlin, created, "2026-04-01T07:30:00Z"},
		{"at(2026-03-01T09:30:00)", berlin, created, ""},
		{"rate(1 hour)", berlin, created.Add(90 * time.Minute), "2026-03-27T14:00:00Z"},
		{"rate(1 hour)", berlin, created.Add(-time.Hour), "2026-03-27T13:00:00Z"},
	}
	for _, tt := range tests {
		e, err := Parse(tt.expr, true)
		if err != nil {
			t.Fatalf("%s: %v", tt.expr, err)
		}
		next, ok := e.Next(created, tt.after, tt.loc, time.Minute)
		got := ""
		if ok {
			got = next.UTC().Format(time.RFC3339)
		}
		if got != tt.want {
			t.Errorf("%s in %s after %s = %q, want %q", tt.expr, tt.loc, tt.after.Format(time.RFC3339), got, tt.want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, expr := range []string{"at(2026-04-01T09:30)", "at(2026-04-01 09:30:00)", "rate(2 minute)", "cron(0 6 * * * *)", "cron(0 25 * * ? *)", "daily"} {
		if _, err := Parse(expr, true); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", expr, err)
		}
	}
	if _, err := Parse("at(2026-04-01T09:30:00)", false); !errors.Is(err, ErrInvalid) {
		t.Errorf("at() where only rate and cron are allowed: %v", err)
	}
	var limit *LimitError
	if _, err := Parse("cron(0 6 L * ? *)", true); !errors.As(err, &limit) {
		t.Errorf("L: %v, want a LimitError", err)
	}
}
