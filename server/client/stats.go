package client

import (
	"context"
	"net/http"
)

// Stats are the counts of GET /standin/v1/stats: the numbers /metrics
// exports, read from the database.
type Stats struct {
	// EventsEmitted is the number of events emitted.
	EventsEmitted int64 `json:"events_emitted"`
	// Deliveries counts deliveries by state (pending, retrying, succeeded,
	// failed, cancelled).
	Deliveries map[string]int64 `json:"deliveries"`
	// Attempts counts attempts by outcome and status class.
	Attempts []StatsAttempts `json:"attempts"`
	// AttemptDuration summarizes attempt latencies.
	AttemptDuration StatsDuration `json:"attempt_duration"`
	// Webhooks counts webhooks.
	Webhooks StatsWebhooks `json:"webhooks"`
	// RiverJobs counts River delivery jobs by state.
	RiverJobs map[string]int64 `json:"river_jobs"`
	// Faults counts the attempts that faults asked on purpose changed, by
	// kind (delay, bad_signature, extra_fields, duplicate, reorder); these attempts
	// are also in Attempts, but their failures do not count toward a
	// webhook's deactivation.
	Faults map[string]int64 `json:"faults"`
	// TimeScale is the deployment's time scale (emulated seconds per real
	// second): the one its database records, which every process of the
	// deployment, its delivery workers included, schedules retries with.
	TimeScale float64 `json:"time_scale"`
}

// StatsAttempts is the number of attempts with one outcome ("succeeded" or
// "failed") and status class ("2xx" … "5xx", "none" without a response).
type StatsAttempts struct {
	// Outcome is "succeeded" or "failed".
	Outcome string `json:"outcome"`
	// StatusClass is "2xx" … "5xx", or "none" without a response.
	StatusClass string `json:"status_class"`
	// Count is the number of such attempts.
	Count int64 `json:"count"`
}

// StatsDuration is the count, total and mean of attempt latencies.
type StatsDuration struct {
	// Count is the number of attempts.
	Count int64 `json:"count"`
	// SumSeconds is their total latency.
	SumSeconds float64 `json:"sum_seconds"`
	// MeanSeconds is SumSeconds / Count, 0 without attempts.
	MeanSeconds float64 `json:"mean_seconds"`
}

// StatsWebhooks counts webhooks: all, active, and deactivated by standin.
type StatsWebhooks struct {
	// Total is the number of webhooks.
	Total int64 `json:"total"`
	// Active is the number of active webhooks.
	Active int64 `json:"active"`
	// Deactivated is the number that standin deactivated.
	Deactivated int64 `json:"deactivated"`
}

// Stats returns standin's counts (GET /standin/v1/stats).
func (c *Client) Stats(ctx context.Context) (*Response[Stats], error) {
	return call[Stats](ctx, c, http.MethodGet, "/standin/v1/stats", nil, nil)
}
