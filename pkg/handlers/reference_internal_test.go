package handlers

import (
	"testing"
	"time"
)

func TestNextAdvance(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 300e6, time.UTC)
	at := func(s string) time.Time {
		v, err := time.Parse("15:04:05.000", s)
		if err != nil {
			t.Fatal(err)
		}
		return time.Date(2026, 12, 2, v.Hour(), v.Minute(), v.Second(), v.Nanosecond(), time.UTC)
	}
	for _, tc := range []struct {
		name     string
		next     time.Time
		bound    time.Duration
		wantAt   string
		wantWait int
	}{
		{"rounded up to the second", at("10:00:02.100"), 5 * time.Second, "10:00:03.000", 3},
		{"a whole second is kept", at("10:00:02.000"), 5 * time.Second, "10:00:02.000", 2},
		{"due already", at("09:59:59.500"), 5 * time.Second, "10:00:00.000", 0},
		{"due within the second", at("10:00:00.200"), 5 * time.Second, "10:00:01.000", 1},
		{"never past the bound", at("10:00:09.000"), 5 * time.Second, "10:00:05.000", 5},
		{"approval poll", now.Add(60 * time.Second), 60 * time.Second, "10:01:00.000", 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gotAt, gotWait := nextAdvance(now, tc.next, tc.bound)
			if gotAt.Format("15:04:05.000") != tc.wantAt || gotWait != tc.wantWait {
				t.Errorf("nextAdvance(%s) = %s, %d s; want %s, %d s", tc.next.Format("15:04:05.000"),
					gotAt.Format("15:04:05.000"), gotWait, tc.wantAt, tc.wantWait)
			}
			if gotAt.Before(tc.next) && gotAt.Before(now.Add(tc.bound).Truncate(time.Second)) {
				t.Errorf("the next Advance at %s comes before the poll due at %s", gotAt.Format("15:04:05.000"), tc.next.Format("15:04:05.000"))
			}
			if gotWait > int(tc.bound/time.Second) {
				t.Errorf("wait %d s exceeds the bound %s", gotWait, tc.bound)
			}
		})
	}
}
