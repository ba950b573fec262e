package worker

import (
	"log/slog"
	"testing"
	"time"

	"github.com/standin-dev/standin/delivery"
)

// TestRiverConfigRescueHorizon checks the job timeout and the rescue
// horizon RiverConfig gives River: River rescues a job only once it has run
// for longer than its timeout and requires the timeout not to exceed the
// horizon, so a short horizon must shorten the job timeout rather than be
// overridden, or a crashed process's deliveries wait longer than asked.
func TestRiverConfigRescueHorizon(t *testing.T) {
	t.Parallel()
	type anyStore struct{ Store } // never called
	tests := []struct {
		name                    string
		send, rescue            time.Duration
		wantTimeout, wantRescue time.Duration
	}{
		{"defaults", 0, 0, 30 * time.Second, time.Minute},
		{"long horizon: full storage margin", 10 * time.Second, 5 * time.Minute, 30 * time.Second, 5 * time.Minute},
		{"horizon at send timeout plus margin", 10 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second},
		{"short horizon: shorter margin", 2 * time.Second, 3 * time.Second, 3 * time.Second, 3 * time.Second},
		{"horizon below the send timeout: raised", 10 * time.Second, 3 * time.Second, 11 * time.Second, 11 * time.Second},
	}
	for _, tt := range tests {
		rc, err := RiverConfig(Config{
			Store:                anyStore{},
			Sender:               &delivery.Sender{Timeout: tt.send},
			RescueStuckJobsAfter: tt.rescue,
			Logger:               slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if rc.JobTimeout != tt.wantTimeout || rc.RescueStuckJobsAfter != tt.wantRescue {
			t.Errorf("%s: JobTimeout %v, RescueStuckJobsAfter %v; want %v, %v",
				tt.name, rc.JobTimeout, rc.RescueStuckJobsAfter, tt.wantTimeout, tt.wantRescue)
		}
	}
}
