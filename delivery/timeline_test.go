package delivery

import (
	"math"
	"strings"
	"testing"
	"time"
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

func TestNewTimeline(t *testing.T) {
	t.Parallel()
	for _, scale := range []float64{0, 1, 0.5, 3600, 1e6} {
		tl, err := NewTimeline(scale)
		if err != nil {
			t.Errorf("NewTimeline(%v): %v", scale, err)
			continue
		}
		want := scale
		if scale == 0 {
			want = DefaultTimeScale
		}
		if tl.TimeScale() != want || tl.Scale != want {
			t.Errorf("NewTimeline(%v) runs at %v (Scale %v), want %v", scale, tl.TimeScale(), tl.Scale, want)
		}
	}
	for _, scale := range []float64{-1, math.NaN(), math.Inf(1), math.Inf(-1), 1e-300, 1e308, 0.0009, 1.1e6} {
		_, err := NewTimeline(scale)
		if err == nil || !strings.Contains(err.Error(), "TimeScale") {
			t.Errorf("NewTimeline(%v) = %v, want an error naming TimeScale", scale, err)
		}
	}
}
