package lifetime_test

import (
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/lifetime"
)

func TestDue(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name           string
		now            time.Time
		issued, expiry time.Time
		want           bool
	}{
		{"fresh hour token", t0, t0, t0.Add(time.Hour), false},
		{"within leeway", t0.Add(59*time.Minute + 30*time.Second), t0, t0.Add(time.Hour), true},
		{"expired", t0.Add(2 * time.Hour), t0, t0.Add(time.Hour), true},
		{"short token, not yet half", t0.Add(20 * time.Second), t0, t0.Add(60 * time.Second), false},
		{"short token, past half", t0.Add(31 * time.Second), t0, t0.Add(60 * time.Second), true},
		{"unknown issue time", t0.Add(59*time.Minute + 30*time.Second), time.Time{}, t0.Add(time.Hour), true},
		{"no expiry", t0, t0, time.Time{}, false},
	}
	for _, tc := range cases {
		if got := lifetime.Due(tc.now, tc.issued, tc.expiry, time.Minute); got != tc.want {
			t.Errorf("%s: Due = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestUsable(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name           string
		now            time.Time
		issued, expiry time.Time
		want           bool
	}{
		{"hour token, a minute left", t0.Add(59 * time.Minute), t0, t0.Add(time.Hour), true},
		{"hour token, half a second left", t0.Add(time.Hour - 500*time.Millisecond), t0, t0.Add(time.Hour), false},
		{"expired", t0.Add(2 * time.Hour), t0, t0.Add(time.Hour), false},
		{"2 s token, 600 ms left", t0.Add(1400 * time.Millisecond), t0, t0.Add(2 * time.Second), true},
		{"2 s token, 400 ms left", t0.Add(1600 * time.Millisecond), t0, t0.Add(2 * time.Second), false},
		{"unknown issue time, half a second left", t0.Add(time.Hour - 500*time.Millisecond), time.Time{}, t0.Add(time.Hour), false},
		{"no expiry", t0, t0, time.Time{}, true},
	}
	for _, c := range cases {
		if got := lifetime.Usable(c.now, c.issued, c.expiry); got != c.want {
			t.Errorf("%s: Usable = %v, want %v", c.name, got, c.want)
		}
	}
}
