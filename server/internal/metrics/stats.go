package metrics

import (
	"github.com/standin-dev/standin/server/client"
	"github.com/standin-dev/standin/store"
)

// NewStats converts the store's counts to the data of GET
// /standin/v1/stats, whose type is the client's: one definition of the
// JSON for the server and its clients.
func NewStats(st *store.Stats) client.Stats {
	out := client.Stats{
		EventsEmitted: st.Events,
		Deliveries:    st.Deliveries,
		Attempts:      make([]client.StatsAttempts, 0, len(st.Attempts)),
		AttemptDuration: client.StatsDuration{
			Count:      st.Latency.Count,
			SumSeconds: st.Latency.Sum.Seconds(),
		},
		Webhooks:  client.StatsWebhooks{Total: st.Webhooks, Active: st.WebhooksActive, Deactivated: st.WebhooksDeactivated},
		RiverJobs: st.Jobs,
		Faults:    st.Faults,
	}
	if st.Latency.Count > 0 {
		out.AttemptDuration.MeanSeconds = st.Latency.Sum.Seconds() / float64(st.Latency.Count)
	}
	for _, a := range st.Attempts {
		out.Attempts = append(out.Attempts, client.StatsAttempts{Outcome: Outcome(a.Succeeded), StatusClass: a.StatusClass, Count: a.Count})
	}
	return out
}
