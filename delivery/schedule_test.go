package delivery

import (
	"slices"
	"testing"
	"time"
)

func TestScheduleFor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p    Profile
		want Schedule
	}{
		{ProfileFivetran, Schedule{Initial: 6 * time.Minute, Multiplier: 3.6, Window: 24 * time.Hour}},
		{"", Schedule{Initial: 6 * time.Minute, Multiplier: 3.6, Window: 24 * time.Hour}},
		{ProfilePortable, Schedule{Initial: 30 * time.Second, Multiplier: 4, Window: 24 * time.Hour, MaxInterval: d("12h37m30s")}},
	} {
		if got := ScheduleFor(tc.p); got != tc.want {
			t.Errorf("ScheduleFor(%q) = %+v, want %+v", tc.p, got, tc.want)
		}
	}
}

func d(s string) time.Duration {
	v, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return v
}

func TestScheduleOffsets(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		s    Schedule
		want []time.Duration
	}{
		{
			// docs/fidelity.md: +6 min, +27 min, +1 h 45 min, +6 h 25 min, +23 h 13 min.
			"fivetran", ScheduleFor(ProfileFivetran),
			[]time.Duration{d("6m"), d("27m36s"), d("1h45m21.6s"), d("6h25m17.76s"), d("23h13m3.936s")},
		},
		{
			// Portable retries "until the 24-hour limit is reached": the
			// last retry is at +24h.
			"portable", ScheduleFor(ProfilePortable),
			[]time.Duration{d("30s"), d("2m30s"), d("10m30s"), d("42m30s"), d("2h50m30s"), d("11h22m30s"), d("24h")},
		},
		{
			"max interval caps each interval", Schedule{Initial: time.Hour, Multiplier: 3, Window: 24 * time.Hour, MaxInterval: 5 * time.Hour},
			[]time.Duration{d("1h"), d("4h"), d("9h"), d("14h"), d("19h"), d("24h")},
		},
		{
			// elapsed + next == Window is still inside the window.
			"constant, last retry exactly at the window", Schedule{Initial: 6 * time.Hour, Multiplier: 1, Window: 24 * time.Hour},
			[]time.Duration{d("6h"), d("12h"), d("18h"), d("24h")},
		},
		{
			"multiplier below 1 is 1", Schedule{Initial: 10 * time.Hour, Multiplier: 0.5, Window: 24 * time.Hour},
			[]time.Duration{d("10h"), d("20h")},
		},
		{"first retry outside the window", Schedule{Initial: 2 * time.Hour, Multiplier: 2, Window: time.Hour}, nil},
		{"zero value", Schedule{}, nil},
		{"no window", Schedule{Initial: time.Minute, Multiplier: 2}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.s.Offsets()
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Offsets() = %v, want %v", got, tc.want)
			}
			for i, want := range tc.want {
				off, ok := tc.s.Offset(i + 1)
				if !ok || off != want {
					t.Errorf("Offset(%d) = %v, %v; want %v, true", i+1, off, ok, want)
				}
			}
			for _, n := range []int{len(tc.want) + 1, len(tc.want) + 2, 0, -1} {
				if off, ok := tc.s.Offset(n); ok || off != 0 {
					t.Errorf("Offset(%d) = %v, %v; want 0, false", n, off, ok)
				}
			}
		})
	}
}

func TestScheduleFivetranSixthRetryFails(t *testing.T) {
	t.Parallel()
	if off, ok := ScheduleFor(ProfileFivetran).Offset(6); ok {
		t.Fatalf("Offset(6) = %v, true; Fivetran makes only five retries", off)
	}
}

func TestScheduleDegenerateIsBounded(t *testing.T) {
	t.Parallel()
	s := Schedule{Initial: time.Nanosecond, Multiplier: 1, Window: 24 * time.Hour}
	if got := len(s.Offsets()); got != maxRetries {
		t.Fatalf("len(Offsets()) = %d, want the %d cap", got, maxRetries)
	}
	if _, ok := s.Offset(maxRetries + 1); ok {
		t.Fatal("Offset beyond the cap reported ok")
	}
}
