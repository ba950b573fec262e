package delivery

import (
	"math"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Schedule is a retry schedule: after the first attempt at offset 0, retry n
// is due at the sum of the first n intervals Initial, Initial×Multiplier,
// Initial×Multiplier², … (each capped at MaxInterval when set), as long as
// that sum stays within Window. It is computed with
// backoff.ExponentialBackOff (RandomizationFactor 0, MaxInterval,
// MaxElapsedTime = Window) driven by a fake clock, so it is
// a pure function: a delivery's next retry time depends only on the
// schedule, the retry number and the first attempt's time, and survives
// restarts.
//
// Offsets are emulated time; the worker divides them by its time scale.
type Schedule struct {
	// Initial is the interval between the first attempt and the first retry.
	Initial time.Duration
	// Multiplier scales each interval to the next; values below 1 are
	// treated as 1.
	Multiplier float64
	// Window bounds the offset of the last retry; a retry that would fall
	// after it is not made and the delivery has failed.
	Window time.Duration
	// MaxInterval, when positive, caps every interval (backoff's
	// MaxInterval); zero means no cap.
	MaxInterval time.Duration
}

// maxRetries bounds the number of retries a Schedule can yield, so that a
// degenerate schedule (tiny Initial, Multiplier 1, long Window) stays cheap.
const maxRetries = 1000

// ScheduleFor returns p's default retry schedule (the empty Profile means
// ProfileFivetran).
//
// Fivetran (docs/fidelity.md §2): Initial 6 min, Multiplier 3.6, Window 24 h, so
// retries at +6m, +27m36s, +1h45m21.6s, +6h25m17.76s and +23h13m3.936s
// after the first attempt ("+6 min, +27 min, +1 h 45 min, +6 h 25 min,
// +23 h 13 min" in Fivetran's docs): five retries.
//
// Portable publishes no numbers ("exponential backoff for up to 24 hours;
// first retry after seconds, then minutes, growing each time, until the
// 24-hour limit is reached"), so this is standin's own choice: Initial 30 s,
// Multiplier 4, Window 24 h and MaxInterval 12h37m30s, the interval that
// makes the last retry fall exactly at the limit. Retries at +30s, +2m30s,
// +10m30s, +42m30s, +2h50m30s, +11h22m30s and +24h: seven retries, the
// intervals 30s, 2m, 8m, 32m, 2h8m, 8h32m and 12h37m30s (the uncapped one
// would be 34h8m, past the limit).
func ScheduleFor(p Profile) Schedule {
	if p == ProfilePortable {
		return PortableSchedule
	}
	return Schedule{Initial: 6 * time.Minute, Multiplier: 3.6, Window: 24 * time.Hour}
}

// PortableSchedule is ProfilePortable's default retry schedule (see
// ScheduleFor): its last retry is at the 24-hour limit.
var PortableSchedule = Schedule{
	Initial:     30 * time.Second,
	Multiplier:  4,
	Window:      24 * time.Hour,
	MaxInterval: 24*time.Hour - (30*time.Second + 2*time.Minute + 8*time.Minute + 32*time.Minute + 128*time.Minute + 512*time.Minute),
}

// Offset returns the emulated offset from the first attempt at which retry n
// (n ≥ 1) is due, and false when retry n falls outside the window: then the
// delivery has failed for good. n < 1 is not a retry and yields (0, false),
// as does a schedule with a non-positive Initial or Window.
func (s Schedule) Offset(n int) (time.Duration, bool) {
	if n < 1 || n > maxRetries {
		return 0, false
	}
	var off time.Duration
	ok := s.walk(func(i int, o time.Duration) bool {
		off = o
		return i < n
	})
	if !ok {
		return 0, false
	}
	return off, true
}

// Offsets lists the offset of every retry inside the window, in order.
func (s Schedule) Offsets() []time.Duration {
	var offs []time.Duration
	s.walk(func(_ int, o time.Duration) bool {
		offs = append(offs, o)
		return true
	})
	return offs
}

// walk calls yield with each retry number (from 1) and its offset until
// yield returns false (then walk returns true) or the window is exhausted
// (then walk returns false).
func (s Schedule) walk(yield func(n int, offset time.Duration) bool) bool {
	if s.Initial <= 0 || s.Window <= 0 {
		return false
	}
	mult := s.Multiplier
	if mult < 1 || math.IsNaN(mult) {
		mult = 1
	}
	maxInterval := time.Duration(math.MaxInt64)
	if s.MaxInterval > 0 {
		maxInterval = s.MaxInterval
	}
	clock := &fakeClock{}
	b := &backoff.ExponentialBackOff{
		InitialInterval:     s.Initial,
		RandomizationFactor: 0,
		Multiplier:          mult,
		MaxInterval:         maxInterval,
		MaxElapsedTime:      s.Window,
		Stop:                backoff.Stop,
		Clock:               clock,
	}
	b.Reset()
	for n := 1; n <= maxRetries; n++ {
		next := b.NextBackOff()
		if next == backoff.Stop {
			return false
		}
		clock.now = clock.now.Add(next)
		if !yield(n, clock.now.Sub(time.Time{})) {
			return true
		}
	}
	return false
}

// fakeClock is a backoff.Clock that only moves when told to.
type fakeClock struct{ now time.Time }

// Now implements backoff.Clock.
func (c *fakeClock) Now() time.Time { return c.now }
