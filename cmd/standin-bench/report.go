package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is one scenario on one backend. Fields that do not apply to a
// scenario are left out of the JSON.
type Result struct {
	Backend  string `json:"backend"`
	Scenario string `json:"scenario"`
	OK       bool   `json:"ok"`
	Error    string `json:"error,omitempty"`

	// Count is the scenario's size: events, jobs, webhooks or deliveries.
	Count      int `json:"count"`
	Received   int `json:"received"`             // distinct deliveries (or jobs) that succeeded
	Duplicates int `json:"duplicates,omitempty"` // successful requests beyond one per delivery
	Requests   int `json:"requests,omitempty"`   // requests the receiver answered, failures included
	// ReceiverConns is how many TCP connections standin opened to the
	// receiver (keep-alive reuse keeps it low).
	ReceiverConns int `json:"receiver_conns,omitempty"`

	DurationSeconds float64 `json:"duration_s,omitempty"`
	// PerSecond is deliveries/s (jobs/s for bare_river).
	PerSecond     float64 `json:"per_second,omitempty"`
	EmitPerSecond float64 `json:"emit_per_second,omitempty"`
	EmitSeconds   float64 `json:"emit_s,omitempty"`
	Emitters      int     `json:"emitters,omitempty"`
	// EmitBatch is how many events each emit request carried (1: POST
	// /standin/v1/events; more: POST /standin/v1/events:batch).
	EmitBatch int `json:"emit_batch,omitempty"`
	// RiverRatio is PerSecond over the same backend's bare-River jobs/s.
	RiverRatio float64 `json:"river_ratio,omitempty"`

	InsertSeconds   float64 `json:"insert_s,omitempty"`
	InsertPerSecond float64 `json:"insert_per_second,omitempty"`

	OfferedRate  float64 `json:"offered_rate,omitempty"`
	AchievedRate float64 `json:"achieved_rate,omitempty"`
	P50Ms        float64 `json:"p50_ms,omitempty"`
	P95Ms        float64 `json:"p95_ms,omitempty"`
	P99Ms        float64 `json:"p99_ms,omitempty"`
	MaxMs        float64 `json:"max_ms,omitempty"`
	MeanMs       float64 `json:"mean_ms,omitempty"`

	TimeScale float64 `json:"time_scale,omitempty"`
	PeakRSSMB float64 `json:"peak_rss_mb,omitempty"`
	// StandinCPUSeconds is the CPU time (user+system) the standin process
	// used in the scenario, after start-up; CPUMsPerDelivery divides it by
	// the deliveries. Unlike rates, these hardly move when other work
	// shares the machine.
	StandinCPUSeconds float64 `json:"standin_cpu_s,omitempty"`
	CPUMsPerDelivery  float64 `json:"standin_cpu_ms_per_delivery,omitempty"`
	// BenchCPUSeconds is the benchmark process's own CPU time in the
	// scenario (emitters and receiver, or bare River).
	BenchCPUSeconds float64 `json:"bench_cpu_s,omitempty"`
	Notes           string  `json:"notes,omitempty"`
	// Stages splits the latency scenario's time by stage (PostgreSQL).
	Stages []Stage `json:"stages,omitempty"`
}

// Target is one goal checked against a result.
type Target struct {
	Backend  string  `json:"backend"`
	Scenario string  `json:"scenario"`
	Metric   string  `json:"metric"`
	Op       string  `json:"op"` // ">=" or "<="
	Goal     float64 `json:"goal"`
	Value    float64 `json:"value"`
	Met      bool    `json:"met"`
}

// Report is the JSON document the benchmark writes.
type Report struct {
	StartedAt time.Time `json:"started_at"`
	Seconds   float64   `json:"seconds"`
	Machine   Machine   `json:"machine"`
	Settings  Settings  `json:"settings"`
	Results   []Result  `json:"results"`
	Targets   []Target  `json:"targets"`
}

// Machine describes where the numbers were measured.
type Machine struct {
	NumCPU    int    `json:"nproc"`
	CPUModel  string `json:"cpu_model"`
	MemTotal  string `json:"mem_total"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Postgres  string `json:"postgres,omitempty"`
}

// Settings are the benchmark's parameters.
type Settings struct {
	Events            int      `json:"events"`
	Emitters          int      `json:"emitters"`
	EmitBatch         int      `json:"emit_batch"`
	LatencyRates      []string `json:"latency_rates"`
	LatencySeconds    float64  `json:"latency_s"`
	Fanout            int      `json:"fanout"`
	RetryDeliveries   int      `json:"retry_deliveries"`
	RetryTimeScale    float64  `json:"retry_time_scale"`
	ServeArgs         []string `json:"serve_args,omitempty"`
	EmitPath          string   `json:"emit_path"`
	LatencyEmitters   int      `json:"latency_emitters"`
	LatencyWarmupSecs float64  `json:"latency_warmup_s"`
}

func machine() Machine {
	m := Machine{NumCPU: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kb int64
				if _, err := fmt.Sscan(strings.TrimSpace(v), &kb); err == nil {
					m.MemTotal = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
				}
				break
			}
		}
	}
	return m
}

// targets are the goals of issue "Benchmarks: end-to-end delivery
// throughput and latency", per backend.
func targets(results []Result) []Target {
	find := func(backend, scenario string) *Result {
		for i := range results {
			if results[i].Backend == backend && results[i].Scenario == scenario {
				return &results[i]
			}
		}
		return nil
	}
	var out []Target
	add := func(backend, scenario, metric, op string, goal float64, value func(r *Result) float64) {
		r := find(backend, scenario)
		if r == nil {
			return
		}
		t := Target{Backend: backend, Scenario: scenario, Metric: metric, Op: op, Goal: goal}
		if r.OK {
			t.Value = value(r)
			if op == ">=" {
				t.Met = t.Value >= goal
			} else {
				t.Met = t.Value <= goal
			}
		}
		out = append(out, t)
	}
	perSecond := func(r *Result) float64 { return r.PerSecond }
	ratio := func(r *Result) float64 { return r.RiverRatio * 100 }
	p50 := func(r *Result) float64 { return r.P50Ms }
	p99 := func(r *Result) float64 { return r.P99Ms }
	duration := func(r *Result) float64 { return r.DurationSeconds * 1000 }

	add("postgres", "throughput", "deliveries/s", ">=", 4000, perSecond)
	if find("postgres", "bare_river") != nil {
		add("postgres", "throughput", "% of bare River", ">=", 50, ratio)
	}
	add("postgres", "latency", "p50 ms", "<=", 5, p50)
	add("postgres", "latency", "p99 ms", "<=", 25, p99)
	add("postgres", "fanout", "ms to receive all", "<=", 1000, duration)
	add("sqlite", "throughput", "deliveries/s", ">=", 800, perSecond)
	if find("sqlite", "bare_river") != nil {
		add("sqlite", "throughput", "% of bare River", ">=", 50, ratio)
	}
	add("sqlite", "latency", "p50 ms", "<=", 20, p50)
	add("sqlite", "latency", "p99 ms", "<=", 60, p99)
	for _, r := range results {
		if r.Scenario == "bare_river" || r.Scenario == "river_latency" {
			continue // runs inside the benchmark process, not standin
		}
		rr := r
		out = append(out, Target{Backend: r.Backend, Scenario: r.Scenario, Metric: "peak RSS MB", Op: "<=", Goal: 150,
			Value: rr.PeakRSSMB, Met: rr.OK && rr.PeakRSSMB > 0 && rr.PeakRSSMB <= 150})
	}
	return out
}

// printTable writes the results and the targets as aligned text.
func printTable(w io.Writer, rep *Report) {
	m := rep.Machine
	machine := fmt.Sprintf("%d CPUs (%s), %s RAM, %s", m.NumCPU, m.CPUModel, m.MemTotal, m.GoVersion)
	if m.Postgres != "" {
		machine += ", " + m.Postgres
	}
	fmt.Fprintf(w, "\nstandin-bench: %s\n", machine)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "backend\tscenario\tsize\tresult\tdetail\tpeak RSS\tstatus\t")
	for _, r := range rep.Results {
		status := "ok"
		if !r.OK {
			status = "FAILED"
		}
		var result, detail string
		switch r.Scenario {
		case "bare_river":
			result = fmt.Sprintf("%.0f jobs/s", r.PerSecond)
			detail = fmt.Sprintf("work %.2fs, insert %.2fs (%.0f/s)", r.DurationSeconds, r.InsertSeconds, r.InsertPerSecond)
		case "drain":
			result = fmt.Sprintf("%.0f deliveries/s", r.PerSecond)
			detail = fmt.Sprintf("%.2fs, %s, emitted first at %.0f/s %s", r.DurationSeconds, ofRiver(r), r.EmitPerSecond, perRequest(r.EmitBatch))
		case "throughput":
			result = fmt.Sprintf("%.0f deliveries/s", r.PerSecond)
			detail = fmt.Sprintf("%.2fs, %s, emit %.0f/s %s, dup %d", r.DurationSeconds, ofRiver(r), r.EmitPerSecond, perRequest(r.EmitBatch), r.Duplicates)
		case "latency":
			result = fmt.Sprintf("p50 %.1f p95 %.1f p99 %.1f max %.1f ms", r.P50Ms, r.P95Ms, r.P99Ms, r.MaxMs)
			detail = fmt.Sprintf("offered %.0f/s (achieved %.0f/s) for %.0fs", r.OfferedRate, r.AchievedRate, r.DurationSeconds)
		case "river_latency":
			result = fmt.Sprintf("p50 %.1f p95 %.1f p99 %.1f max %.1f ms", r.P50Ms, r.P95Ms, r.P99Ms, r.MaxMs)
			detail = fmt.Sprintf("bare River at %.0f/s for %.0fs: insert (1 job/tx) to Work", r.OfferedRate, r.DurationSeconds)
		case "fanout":
			result = fmt.Sprintf("%.0f ms", r.DurationSeconds*1000)
			detail = fmt.Sprintf("emit call %.0f ms, dup %d", r.EmitSeconds*1000, r.Duplicates)
		case "retry":
			result = fmt.Sprintf("%.2f s", r.DurationSeconds)
			detail = fmt.Sprintf("%d requests, %.0f deliveries/s, time scale %.0g", r.Requests, r.PerSecond, r.TimeScale)
		}
		if r.CPUMsPerDelivery > 0 {
			detail += fmt.Sprintf(", %.2f ms CPU/delivery", r.CPUMsPerDelivery)
		}
		rss := ""
		if r.PeakRSSMB > 0 {
			rss = fmt.Sprintf("%.0f MB", r.PeakRSSMB)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t\n", r.Backend, r.Scenario, r.Count, result, detail, rss, status)
	}
	_ = tw.Flush()
	for _, r := range rep.Results {
		if len(r.Stages) > 0 {
			fmt.Fprint(w, formatStages(r))
		}
	}
	for _, r := range rep.Results {
		if r.Error != "" {
			fmt.Fprintf(w, "  %s/%s: %s\n", r.Backend, r.Scenario, r.Error)
		}
	}

	fmt.Fprintln(w, "\ntargets:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	met := 0
	for _, t := range rep.Targets {
		mark := "MISSED"
		if t.Met {
			mark = "met"
			met++
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s %s %g\t%.1f\t%s\n", t.Backend, t.Scenario, t.Metric, t.Op, t.Goal, t.Value, mark)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "%d of %d targets met\n", met, len(rep.Targets))
}

// ofRiver is r's rate as a share of bare River's, when bare River ran.
func ofRiver(r Result) string {
	if r.RiverRatio <= 0 {
		return "bare River not run"
	}
	return fmt.Sprintf("%.0f%% of River", r.RiverRatio*100)
}

// perRequest says how many events each emit request carried.
func perRequest(batch int) string {
	if batch <= 1 {
		return "(1 event/request)"
	}
	return fmt.Sprintf("(%d events/request)", batch)
}

func writeJSON(path string, rep *Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
