package metrics

import (
	"github.com/standin-dev/standin/store"
)

// Stats is the data of GET /standin/v1/stats: the counts of /metrics as
// JSON.
type Stats struct {
	// EventsEmitted is standin_events_emitted_total.
	EventsEmitted int64 `json:"events_emitted"`
	// Deliveries counts deliveries by state, every state listed.
	Deliveries map[string]int64 `json:"deliveries"`
	// Attempts counts attempts by outcome and status class.
	Attempts []AttemptCount `json:"attempts"`
	// AttemptDuration summarizes standin_delivery_attempt_duration_seconds.
	AttemptDuration Duration `json:"attempt_duration"`
	// Webhooks counts webhooks.
	Webhooks Webhooks `json:"webhooks"`
	// RiverJobs counts River jobs by state, every state listed.
	RiverJobs map[string]int64 `json:"river_jobs"`
}

// AttemptCount is one row of Stats.Attempts.
type AttemptCount struct {
	// Outcome is "succeeded" or "failed".
	Outcome string `json:"outcome"`
	// StatusClass is "2xx" … "5xx", or "none" without a response.
	StatusClass string `json:"status_class"`
	// Count is the number of such attempts.
	Count int64 `json:"count"`
}

// Duration is the count and mean of attempt latencies.
type Duration struct {
	// Count is the number of attempts.
	Count int64 `json:"count"`
	// SumSeconds is their total latency.
	SumSeconds float64 `json:"sum_seconds"`
	// MeanSeconds is SumSeconds / Count, 0 without attempts.
	MeanSeconds float64 `json:"mean_seconds"`
}

// Webhooks counts webhooks.
type Webhooks struct {
	// Total is the number of webhooks.
	Total int64 `json:"total"`
	// Active is the number of active webhooks.
	Active int64 `json:"active"`
	// Deactivated is the number that standin deactivated.
	Deactivated int64 `json:"deactivated"`
}

// NewStats converts the store's counts.
func NewStats(st *store.Stats) Stats {
	out := Stats{
		EventsEmitted: st.Events,
		Deliveries:    st.Deliveries,
		Attempts:      make([]AttemptCount, 0, len(st.Attempts)),
		AttemptDuration: Duration{
			Count:      st.Latency.Count,
			SumSeconds: st.Latency.Sum.Seconds(),
		},
		Webhooks:  Webhooks{Total: st.Webhooks, Active: st.WebhooksActive, Deactivated: st.WebhooksDeactivated},
		RiverJobs: st.Jobs,
	}
	if st.Latency.Count > 0 {
		out.AttemptDuration.MeanSeconds = st.Latency.Sum.Seconds() / float64(st.Latency.Count)
	}
	for _, a := range st.Attempts {
		out.Attempts = append(out.Attempts, AttemptCount{Outcome: Outcome(a.Succeeded), StatusClass: a.StatusClass, Count: a.Count})
	}
	return out
}
