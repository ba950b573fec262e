package store

import (
	"strconv"
	"time"
)

// JobStates lists every River job state (River v0.31.0's rivertype.JobState
// values), so that counts by state list the states with no job too.
var JobStates = []string{"available", "cancelled", "completed", "discarded", "pending", "retryable", "running", "scheduled"}

// StatsParams selects what StatsGet computes.
type StatsParams struct {
	// LatencyBounds are the upper bounds (inclusive) of the attempt latency
	// histogram's buckets, ascending. Empty: no buckets, only the count and
	// the sum.
	LatencyBounds []time.Duration
}

// Stats are counts read from the database, so every process of a
// deployment reports the same numbers.
type Stats struct {
	// Events is the number of events emitted.
	Events int64
	// Deliveries counts deliveries by state; every state of delivery.DeliveryStates()
	// is present.
	Deliveries map[string]int64
	// Attempts counts attempts by outcome and status class, ordered by
	// Succeeded (false first), then StatusClass.
	Attempts []AttemptCount
	// Latency is the histogram of attempt latencies.
	Latency LatencyHistogram
	// Webhooks is the number of webhooks, WebhooksActive those that are
	// active and WebhooksDeactivated those that standin deactivated (a
	// DisabledReason is set).
	Webhooks, WebhooksActive, WebhooksDeactivated int64
	// Jobs counts River jobs by state; every state of JobStates is present.
	Jobs map[string]int64
	// Faults counts the attempts that faults asked on purpose changed, by
	// kind (an attempt with two kinds counts once for each); every kind of
	// delivery.FaultKinds is present. They are counted in Attempts too.
	Faults map[string]int64
}

// AttemptCount is the number of attempts with one outcome and status class.
type AttemptCount struct {
	// Succeeded is the attempt's outcome.
	Succeeded bool
	// StatusClass is "2xx", "4xx" … from the response status, or "none" when
	// no response was received (a network error or timeout).
	StatusClass string
	// Count is the number of such attempts.
	Count int64
}

// LatencyHistogram is a cumulative histogram of attempt latencies.
type LatencyHistogram struct {
	// Bounds are StatsParams.LatencyBounds.
	Bounds []time.Duration
	// Cumulative[i] is the number of attempts whose latency is at most
	// Bounds[i].
	Cumulative []int64
	// Count is the number of attempts and Sum their total latency.
	Count int64
	Sum   time.Duration
}

// StatusClass returns the class of an HTTP status code: "2xx" for 200 to
// 299 and so on, "none" for 0 (no response).
func StatusClass(code int) string {
	if code <= 0 {
		return "none"
	}
	return strconv.Itoa(code/100) + "xx"
}
