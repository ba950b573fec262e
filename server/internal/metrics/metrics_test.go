package metrics_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/standin-dev/standin/server/client"
	"github.com/standin-dev/standin/server/internal/metrics"
	"github.com/standin-dev/standin/store"
)

// fakeStats answers fixed counts and records the bounds it was asked for.
type fakeStats struct {
	stats  *store.Stats
	err    error
	bounds []time.Duration
}

func (f *fakeStats) StatsGet(_ context.Context, p store.StatsParams) (*store.Stats, error) {
	f.bounds = p.LatencyBounds
	if f.err != nil {
		return nil, f.err
	}
	st := *f.stats
	st.Latency.Bounds = p.LatencyBounds
	return &st, nil
}

func sample() *store.Stats {
	cum := make([]int64, len(metrics.LatencyBuckets))
	for i, b := range metrics.LatencyBuckets {
		switch {
		case b >= 50*time.Millisecond:
			cum[i] = 3
		case b >= 10*time.Millisecond:
			cum[i] = 2
		}
	}
	return &store.Stats{
		Events:     7,
		Deliveries: map[string]int64{"pending": 1, "retrying": 2, "succeeded": 5, "failed": 3, "cancelled": 4},
		Attempts: []store.AttemptCount{
			{Succeeded: false, StatusClass: "5xx", Count: 6},
			{Succeeded: false, StatusClass: "none", Count: 1},
			{Succeeded: true, StatusClass: "2xx", Count: 5},
		},
		Latency:             store.LatencyHistogram{Cumulative: cum, Count: 3, Sum: 70 * time.Millisecond},
		Webhooks:            4,
		WebhooksActive:      3,
		WebhooksDeactivated: 1,
		Jobs: map[string]int64{"available": 1, "cancelled": 0, "completed": 9, "discarded": 0, "pending": 0,
			"retryable": 0, "running": 2, "scheduled": 3},
	}
}

func TestLint(t *testing.T) {
	t.Parallel()
	c := metrics.NewCollector(&fakeStats{stats: sample()}, nil)
	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	require.Empty(t, problems)

	reg := metrics.NewRegistry(&fakeStats{stats: sample()}, nil)
	problems, err = testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems, "the whole registry (runtime and process collectors too) lints clean")
}

// TestMetrics checks each metric's exposition, one case per metric.
func TestMetrics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, want string
	}{
		{"standin_events_emitted_total", `
# HELP standin_events_emitted_total Events emitted (by the API, the sync simulator or Portable flow runs).
# TYPE standin_events_emitted_total counter
standin_events_emitted_total 7
`},
		{"standin_deliveries_finished_total", `
# HELP standin_deliveries_finished_total Deliveries that reached a final state: succeeded, failed (retry window ran out) or cancelled.
# TYPE standin_deliveries_finished_total counter
standin_deliveries_finished_total{state="cancelled"} 4
standin_deliveries_finished_total{state="failed"} 3
standin_deliveries_finished_total{state="succeeded"} 5
`},
		{"standin_deliveries_open", `
# HELP standin_deliveries_open Deliveries not finished: pending (no attempt yet) or retrying (a retry is scheduled).
# TYPE standin_deliveries_open gauge
standin_deliveries_open{state="pending"} 1
standin_deliveries_open{state="retrying"} 2
`},
		{"standin_delivery_attempts_total", `
# HELP standin_delivery_attempts_total Delivery attempts by outcome (succeeded, failed) and response status class (2xx … 5xx, none when no response).
# TYPE standin_delivery_attempts_total counter
standin_delivery_attempts_total{outcome="failed",status_class="5xx"} 6
standin_delivery_attempts_total{outcome="failed",status_class="none"} 1
standin_delivery_attempts_total{outcome="succeeded",status_class="2xx"} 5
`},
		{"standin_delivery_attempt_duration_seconds", `
# HELP standin_delivery_attempt_duration_seconds Latency of delivery attempts: request sent to response read, or to the error.
# TYPE standin_delivery_attempt_duration_seconds histogram
standin_delivery_attempt_duration_seconds_bucket{le="0.005"} 0
standin_delivery_attempt_duration_seconds_bucket{le="0.01"} 2
standin_delivery_attempt_duration_seconds_bucket{le="0.025"} 2
standin_delivery_attempt_duration_seconds_bucket{le="0.05"} 3
standin_delivery_attempt_duration_seconds_bucket{le="0.1"} 3
standin_delivery_attempt_duration_seconds_bucket{le="0.25"} 3
standin_delivery_attempt_duration_seconds_bucket{le="0.5"} 3
standin_delivery_attempt_duration_seconds_bucket{le="1"} 3
standin_delivery_attempt_duration_seconds_bucket{le="2.5"} 3
standin_delivery_attempt_duration_seconds_bucket{le="5"} 3
standin_delivery_attempt_duration_seconds_bucket{le="10"} 3
standin_delivery_attempt_duration_seconds_bucket{le="+Inf"} 3
standin_delivery_attempt_duration_seconds_sum 0.07
standin_delivery_attempt_duration_seconds_count 3
`},
		{"standin_webhooks", `
# HELP standin_webhooks Webhooks by state: active or inactive.
# TYPE standin_webhooks gauge
standin_webhooks{state="active"} 3
standin_webhooks{state="inactive"} 1
`},
		{"standin_webhooks_deactivated", `
# HELP standin_webhooks_deactivated Webhooks that standin deactivated because every delivery failed for the deactivation window.
# TYPE standin_webhooks_deactivated gauge
standin_webhooks_deactivated 1
`},
		{"standin_river_jobs", `
# HELP standin_river_jobs River delivery jobs by state.
# TYPE standin_river_jobs gauge
standin_river_jobs{state="available"} 1
standin_river_jobs{state="cancelled"} 0
standin_river_jobs{state="completed"} 9
standin_river_jobs{state="discarded"} 0
standin_river_jobs{state="pending"} 0
standin_river_jobs{state="retryable"} 0
standin_river_jobs{state="running"} 2
standin_river_jobs{state="scheduled"} 3
`},
		{"standin_stats_scrape_errors_total", `
# HELP standin_stats_scrape_errors_total Scrapes whose database read failed (their database metrics are missing).
# TYPE standin_stats_scrape_errors_total counter
standin_stats_scrape_errors_total 0
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeStats{stats: sample()}
			c := metrics.NewCollector(f, nil)
			require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(tt.want), tt.name))
			require.Equal(t, metrics.LatencyBuckets, f.bounds, "the histogram's buckets are read from the store")
		})
	}
}

func TestBuildInfo(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.BuildInfo())
	mfs, err := reg.Gather()
	require.NoError(t, err)
	require.Len(t, mfs, 1)
	require.Equal(t, "standin_build_info", mfs[0].GetName())
	m := mfs[0].GetMetric()[0]
	require.Equal(t, 1.0, m.GetGauge().GetValue())
	labels := map[string]string{}
	for _, l := range m.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	require.Contains(t, labels["goversion"], "go1.")
	require.Contains(t, labels, "version")
	require.Contains(t, labels, "revision")
}

// A failed database read reports the error counter only, and counts up.
func TestScrapeError(t *testing.T) {
	t.Parallel()
	c := metrics.NewCollector(&fakeStats{err: errors.New("database is down")}, slog.New(slog.DiscardHandler))
	require.Equal(t, 1, testutil.CollectAndCount(c), "only the error counter")
	require.Equal(t, 2.0, testutil.ToFloat64(c), "the second failed scrape")
}

func TestNewStats(t *testing.T) {
	t.Parallel()
	got := metrics.NewStats(sample())
	require.Equal(t, int64(7), got.EventsEmitted)
	require.Equal(t, int64(2), got.Deliveries[string(store.DeliveryRetrying)])
	require.Equal(t, []client.StatsAttempts{
		{Outcome: "failed", StatusClass: "5xx", Count: 6},
		{Outcome: "failed", StatusClass: "none", Count: 1},
		{Outcome: "succeeded", StatusClass: "2xx", Count: 5},
	}, got.Attempts)
	require.Equal(t, client.StatsWebhooks{Total: 4, Active: 3, Deactivated: 1}, got.Webhooks)
	require.InDelta(t, 0.07/3, got.AttemptDuration.MeanSeconds, 1e-9)
	require.Equal(t, int64(9), got.RiverJobs["completed"])
}
