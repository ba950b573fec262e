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

// TestWorkerShares checks how Config.MaxWorkers is split between the jobs
// of single deliveries and the batch jobs: together they send at most
// MaxWorkers at once (two when it is 1), each queue has at least one
// worker, and the batch queue runs a few jobs that each send many.
func TestWorkerShares(t *testing.T) {
	for _, tt := range []struct{ max, single, batchJobs, batchSends int }{
		{1, 1, 1, 1},
		{2, 1, 1, 1},
		{5, 3, 2, 1},
		{10, 6, 4, 1},
		{200, 100, 4, 25},
		{10000, 5000, 4, 1250},
	} {
		single, jobs, sends := workerShares(tt.max)
		if single != tt.single || jobs != tt.batchJobs || sends != tt.batchSends {
			t.Errorf("workerShares(%d) = %d, %d, %d; want %d, %d, %d", tt.max, single, jobs, sends, tt.single, tt.batchJobs, tt.batchSends)
		}
		if total := single + jobs*sends; tt.max > 1 && total != tt.max {
			t.Errorf("workerShares(%d): %d in flight at most, want %d", tt.max, total, tt.max)
		}
	}
}
