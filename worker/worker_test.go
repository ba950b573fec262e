package worker

import (
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
)

func TestTimeline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scale          float64
		emulated, real time.Duration
	}{
		{0, 6 * time.Minute, 6 * time.Minute}, // zero means real time
		{1, 6 * time.Minute, 6 * time.Minute},
		{60, 6 * time.Minute, 6 * time.Second},
		{3600, 27*time.Minute + 36*time.Second, 460 * time.Millisecond},
		{1e6, 24 * time.Hour, 86400 * time.Microsecond},
		{0.5, time.Minute, 2 * time.Minute},
	}
	for _, tt := range tests {
		tl := Timeline{Scale: tt.scale}
		if got := tl.Real(tt.emulated); got != tt.real {
			t.Errorf("scale %v: Real(%v) = %v, want %v", tt.scale, tt.emulated, got, tt.real)
		}
		if got := tl.Emulated(tt.real); got != tt.emulated {
			t.Errorf("scale %v: Emulated(%v) = %v, want %v", tt.scale, tt.real, got, tt.emulated)
		}
	}
}

func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 22, 0, 0, 0, 0, time.UTC)
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second}
	for i, w := range want {
		job := &rivertype.JobRow{Attempt: i + 1, AttemptedAt: &at}
		if got := (RetryPolicy{}).NextRetry(job).Sub(at); got != w {
			t.Errorf("attempt %d: retry after %v, want %v", i+1, got, w)
		}
	}
}
