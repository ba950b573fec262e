package sqlrow

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/store"
)

// The queries of StatsGet. They take no parameters and are the same SQL on
// SQLite and PostgreSQL; the latency bounds are integer literals.
const (
	StatsEventsQuery     = `SELECT count(*) FROM standin_event`
	StatsDeliveriesQuery = `SELECT state, count(*) FROM standin_delivery GROUP BY state`
	StatsWebhooksQuery   = `SELECT count(*), count(CASE WHEN active THEN 1 END),
		count(CASE WHEN disabled_reason <> '' THEN 1 END) FROM standin_webhook`
	StatsJobsQuery = `SELECT state, count(*) FROM river_job GROUP BY state`
	// StatsFaultsQuery yields an attempt's fault text and count(*), for
	// attempts a fault changed; SplitFaults counts them by kind.
	StatsFaultsQuery = `SELECT fault, count(*) FROM standin_attempt WHERE fault <> '' GROUP BY fault`
	// StatsAttemptsQuery yields succeeded, status_code / 100, count(*).
	StatsAttemptsQuery = `SELECT succeeded, status_code / 100, count(*) FROM standin_attempt
		GROUP BY succeeded, status_code / 100`
)

// AttemptLastIDQuery reads the largest attempt id (an index lookup).
const AttemptLastIDQuery = `SELECT coalesce(max(id), 0) FROM standin_attempt`

// CheckStats rejects latency bounds that are not positive and ascending.
func CheckStats(p store.StatsParams) error {
	for i, b := range p.LatencyBounds {
		if b <= 0 || (i > 0 && b <= p.LatencyBounds[i-1]) {
			return errors.New("latency bounds must be positive and ascending")
		}
	}
	return nil
}

// StatsLatencyQuery yields count(*), the sum of latency_ns, then one count
// per bound of the attempts whose latency is at most that bound.
func StatsLatencyQuery(bounds []time.Duration) string {
	var b strings.Builder
	b.WriteString(`SELECT count(*), CAST(coalesce(sum(latency_ns), 0) AS BIGINT)`)
	for _, d := range bounds {
		b.WriteString(`, count(CASE WHEN latency_ns <= ` + strconv.FormatInt(int64(d), 10) + ` THEN 1 END)`)
	}
	b.WriteString(` FROM standin_attempt`)
	return b.String()
}

// NewStats returns Stats with every delivery and job state at zero.
func NewStats(p store.StatsParams) *store.Stats {
	st := &store.Stats{
		Deliveries: make(map[string]int64, len(delivery.DeliveryStates())),
		Jobs:       make(map[string]int64, len(store.JobStates)),
		Faults:     make(map[string]int64, len(delivery.FaultKinds)),
		Attempts:   []store.AttemptCount{},
		Latency: store.LatencyHistogram{
			Bounds:     slices.Clone(p.LatencyBounds),
			Cumulative: make([]int64, len(p.LatencyBounds)),
		},
	}
	for _, s := range delivery.DeliveryStates() {
		st.Deliveries[string(s)] = 0
	}
	for _, s := range store.JobStates {
		st.Jobs[s] = 0
	}
	for _, k := range delivery.FaultKinds {
		st.Faults[k] = 0
	}
	return st
}

// AddFaults adds a row of StatsFaultsQuery: n attempts whose fault text is
// text ("bad_signature,duplicate") count n for each kind.
func AddFaults(st *store.Stats, text string, n int64) {
	for k := range strings.SplitSeq(text, ",") {
		if k != "" {
			st.Faults[k] += n
		}
	}
}

// AddAttempts adds a row of StatsAttemptsQuery, merging rows of one class
// (status codes outside 100..599 fall into "none" or their own class).
func AddAttempts(st *store.Stats, succeeded bool, class int64, n int64) {
	name := "none"
	if class > 0 {
		name = strconv.FormatInt(class, 10) + "xx"
	}
	for i := range st.Attempts {
		if st.Attempts[i].Succeeded == succeeded && st.Attempts[i].StatusClass == name {
			st.Attempts[i].Count += n
			return
		}
	}
	st.Attempts = append(st.Attempts, store.AttemptCount{Succeeded: succeeded, StatusClass: name, Count: n})
	slices.SortFunc(st.Attempts, func(a, b store.AttemptCount) int {
		if a.Succeeded != b.Succeeded {
			if !a.Succeeded {
				return -1
			}
			return 1
		}
		return strings.Compare(a.StatusClass, b.StatusClass)
	})
}
