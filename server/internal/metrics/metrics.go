// Package metrics exposes standin's counts in the Prometheus text format
// and as the JSON of GET /standin/v1/stats.
//
// Every count comes from the database at scrape time (store.Store.StatsGet),
// so every process of a multi-process deployment reports the same numbers
// and a restart loses none. The metrics:
//
//	standin_events_emitted_total                       counter
//	standin_deliveries_finished_total{state}           counter: succeeded, failed, cancelled
//	standin_deliveries_open{state}                     gauge: pending, retrying
//	standin_delivery_attempts_total{outcome,status_class} counter
//	standin_delivery_attempt_duration_seconds          histogram of attempt latency
//	standin_webhooks{state}                            gauge: active, inactive
//	standin_webhooks_deactivated                       gauge: deactivated by standin
//	standin_river_jobs{state}                          gauge: River jobs by state
//	standin_delivery_faults_total{kind}                counter: attempts changed by faults asked on purpose
//	standin_build_info{version,revision,goversion}     gauge, always 1
//	standin_stats_scrape_errors_total                  counter: failed database reads
//
// plus the Go runtime's and the process's collectors.
package metrics

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/standin-dev/standin/store"
)

// LatencyBuckets are the upper bounds of the attempt duration histogram:
// Prometheus's default buckets, 5 ms to 10 s (the senders' timeout).
var LatencyBuckets = []time.Duration{
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// Stater reads the counts; store.Store has it.
type Stater interface {
	StatsGet(ctx context.Context, params store.StatsParams) (*store.Stats, error)
}

// scrapeTimeout bounds the database read of one scrape.
const scrapeTimeout = 10 * time.Second

var (
	descEvents = prometheus.NewDesc("standin_events_emitted_total",
		"Events emitted (by the API, the sync simulator or Portable flow runs).", nil, nil)
	descFinished = prometheus.NewDesc("standin_deliveries_finished_total",
		"Deliveries that reached a final state: succeeded, failed (retry window ran out) or cancelled.", []string{"state"}, nil)
	descOpen = prometheus.NewDesc("standin_deliveries_open",
		"Deliveries not finished: pending (no attempt yet) or retrying (a retry is scheduled).", []string{"state"}, nil)
	descAttempts = prometheus.NewDesc("standin_delivery_attempts_total",
		"Delivery attempts by outcome (succeeded, failed) and response status class (2xx … 5xx, none when no response).",
		[]string{"outcome", "status_class"}, nil)
	descDuration = prometheus.NewDesc("standin_delivery_attempt_duration_seconds",
		"Latency of delivery attempts: request sent to response read, or to the error.", nil, nil)
	descWebhooks = prometheus.NewDesc("standin_webhooks",
		"Webhooks by state: active or inactive.", []string{"state"}, nil)
	descDeactivated = prometheus.NewDesc("standin_webhooks_deactivated",
		"Webhooks that standin deactivated because every delivery failed for the deactivation window.", nil, nil)
	descJobs = prometheus.NewDesc("standin_river_jobs",
		"River delivery jobs by state.", []string{"state"}, nil)
	descFaults = prometheus.NewDesc("standin_delivery_faults_total",
		"Delivery attempts changed by a fault asked on purpose (webhook or emit faults), by kind: delay, bad_signature, extra_fields, duplicate, reorder.",
		[]string{"kind"}, nil)
	descErrors = prometheus.NewDesc("standin_stats_scrape_errors_total",
		"Scrapes whose database read failed (their database metrics are missing).", nil, nil)
)

// Collector is a prometheus.Collector that reads standin's counts from the
// database on every scrape.
type Collector struct {
	stater Stater
	logger *slog.Logger
	errors atomic.Int64
}

// NewCollector returns a Collector reading from st; errors are logged to
// logger (slog.Default() when nil).
func NewCollector(st Stater, logger *slog.Logger) *Collector {
	if logger == nil {
		logger = slog.Default()
	}
	return &Collector{stater: st, logger: logger}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descEvents, descFinished, descOpen, descAttempts, descDuration,
		descWebhooks, descDeactivated, descJobs, descFaults, descErrors} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. When the database cannot be
// read, only standin_stats_scrape_errors_total is reported.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	st, err := c.stater.StatsGet(ctx, store.StatsParams{LatencyBounds: LatencyBuckets})
	if err != nil {
		c.errors.Add(1)
		c.logger.Error("read metrics from the database", slog.String("error", err.Error()))
	}
	ch <- prometheus.MustNewConstMetric(descErrors, prometheus.CounterValue, float64(c.errors.Load()))
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(descEvents, prometheus.CounterValue, float64(st.Events))
	for _, s := range []store.DeliveryState{store.DeliverySucceeded, store.DeliveryFailed, store.DeliveryCancelled} {
		ch <- prometheus.MustNewConstMetric(descFinished, prometheus.CounterValue, float64(st.Deliveries[string(s)]), string(s))
	}
	for _, s := range []store.DeliveryState{store.DeliveryPending, store.DeliveryRetrying} {
		ch <- prometheus.MustNewConstMetric(descOpen, prometheus.GaugeValue, float64(st.Deliveries[string(s)]), string(s))
	}
	for _, a := range st.Attempts {
		ch <- prometheus.MustNewConstMetric(descAttempts, prometheus.CounterValue, float64(a.Count), Outcome(a.Succeeded), a.StatusClass)
	}
	buckets := make(map[float64]uint64, len(st.Latency.Bounds))
	for i, b := range st.Latency.Bounds {
		buckets[b.Seconds()] = uint64(st.Latency.Cumulative[i])
	}
	ch <- prometheus.MustNewConstHistogram(descDuration, uint64(st.Latency.Count), st.Latency.Sum.Seconds(), buckets)
	ch <- prometheus.MustNewConstMetric(descWebhooks, prometheus.GaugeValue, float64(st.WebhooksActive), "active")
	ch <- prometheus.MustNewConstMetric(descWebhooks, prometheus.GaugeValue, float64(st.Webhooks-st.WebhooksActive), "inactive")
	ch <- prometheus.MustNewConstMetric(descDeactivated, prometheus.GaugeValue, float64(st.WebhooksDeactivated))
	for _, s := range store.JobStates {
		ch <- prometheus.MustNewConstMetric(descJobs, prometheus.GaugeValue, float64(st.Jobs[s]), s)
	}
	for _, k := range slices.Sorted(maps.Keys(st.Faults)) { // every kind is present
		ch <- prometheus.MustNewConstMetric(descFaults, prometheus.CounterValue, float64(st.Faults[k]), k)
	}
}

// Outcome names an attempt's outcome: "succeeded" or "failed".
func Outcome(succeeded bool) string {
	if succeeded {
		return "succeeded"
	}
	return "failed"
}

// BuildInfo returns the standin_build_info gauge: 1, labelled with the
// module version, VCS revision and Go version of the binary.
func BuildInfo() prometheus.Collector {
	version, revision, goVersion := "(devel)", "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "standin_build_info",
		Help:        "Build information of the standin binary; always 1.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": goVersion},
	}, func() float64 { return 1 })
}

// NewRegistry returns a registry with the Collector of st, BuildInfo, and
// the Go runtime and process collectors.
func NewRegistry(st Stater, logger *slog.Logger) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(st, logger), BuildInfo(),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves GET /metrics from NewRegistry(st, logger).
func Handler(st Stater, logger *slog.Logger) http.Handler {
	return promhttp.HandlerFor(NewRegistry(st, logger), promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
