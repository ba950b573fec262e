package worker

import (
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
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
