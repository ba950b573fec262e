package worker

import (
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/standin-dev/standin/store"
)

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

// TestDelivererNextRetry checks that a failed run is retried after
// retryDelay counted from when it failed, not from when it started: a run
// that waited out a failing store would otherwise get a retry time in the
// past, and River's slower default policy instead.
func TestDelivererNextRetry(t *testing.T) {
	t.Parallel()
	d := &Deliverer{}
	for attempt, want := range map[int]time.Duration{1: time.Second, 3: 4 * time.Second, 9: 30 * time.Second} {
		before := time.Now()
		got := d.NextRetry(&river.Job[store.DeliverArgs]{JobRow: &rivertype.JobRow{Attempt: attempt, AttemptedAt: new(before.Add(-time.Minute))}})
		if got.Before(before.Add(want)) || got.After(time.Now().Add(want)) {
			t.Errorf("attempt %d: retry %v from now, want %v", attempt, got.Sub(before), want)
		}
	}
}
