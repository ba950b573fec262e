package clock

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"6m": 6 * time.Minute, "24h": 24 * time.Hour, "3d": 72 * time.Hour, "1d12h": 36 * time.Hour,
		"0": 0, "1h45m21.6s": time.Hour + 45*time.Minute + 21600*time.Millisecond,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-6m", "d", "-1d", "3d-1h", "1.5d", "soon"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestManualNeverGoesBack(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 5, 22, 0, 6, 8, 638_999_999, time.FixedZone("x", 3600))
	m := NewManual(start)
	if want := time.Date(2026, 5, 21, 23, 6, 8, 638_000_000, time.UTC); !m.Now().Equal(want) || m.Now().Location() != time.UTC {
		t.Fatalf("NewManual: %v, want %v (UTC, whole milliseconds)", m.Now(), want)
	}
	m.set(m.Now().Add(-time.Second))
	if !m.Now().Equal(start.Truncate(time.Millisecond)) {
		t.Errorf("set to the past moved the clock to %v", m.Now())
	}
}
