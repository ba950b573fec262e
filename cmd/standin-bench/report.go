package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
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
	// DBCPUSeconds is the local PostgreSQL server's CPU time in the
	// scenario, all its processes (0 for SQLite or a remote server).
	DBCPUSeconds float64 `json:"db_cpu_s,omitempty"`
	Notes        string  `json:"notes,omitempty"`
	// Stages splits the latency scenario's time by stage (PostgreSQL).
	Stages []Stage `json:"stages,omitempty"`
}

// cpuDetail is the CPU time per delivery (per job for bare River) of each
// process: standin, the local PostgreSQL server and the benchmark itself
// (receiver and emitters, or bare River's client), or "" when unknown.
func cpuDetail(r Result) string {
	n, per := r.Received, "delivery"
	if r.Scenario == "bare_river" {
		n, per = r.Count, "job"
	}
	if n <= 0 || (r.StandinCPUSeconds == 0 && r.DBCPUSeconds == 0) {
		return ""
	}
	ms := func(s float64) float64 { return s * 1000 / float64(n) }
	var parts []string
	if r.StandinCPUSeconds > 0 {
		parts = append(parts, fmt.Sprintf("standin %.3f", ms(r.StandinCPUSeconds)))
	}
	if r.DBCPUSeconds > 0 {
		parts = append(parts, fmt.Sprintf("postgres %.3f", ms(r.DBCPUSeconds)))
	}
	if r.BenchCPUSeconds > 0 {
		parts = append(parts, fmt.Sprintf("bench %.3f", ms(r.BenchCPUSeconds)))
	}
	return fmt.Sprintf(", CPU ms/%s: %s", per, strings.Join(parts, " + "))
}

// Target is one performance goal checked against the results of one run.
// Relative goals are computed from bare River's figure in the same run
// (River), and Ratio sets the value beside it.
type Target struct {
	Backend  string `json:"backend"`
	Scenario string `json:"scenario"`
	Metric   string `json:"metric"`
	Op       string `json:"op"` // ">=" or "<="
	// Rule says how Goal is set, e.g. "50% of bare River".
	Rule  string  `json:"rule"`
	Goal  float64 `json:"goal"`
	Value float64 `json:"value"`
	// River is bare River's figure the goal derives from (jobs/s, or
	// river_latency's p50 or p99), 0 when the goal is absolute.
	River float64 `json:"river,omitempty"`
	// Ratio is Value / River (0 without River).
	Ratio float64 `json:"ratio,omitempty"`
	// Measured is false when the scenario, or the bare River scenario its
	// goal derives from, did not run or failed; Note says which.
	Measured bool   `json:"measured"`
	Met      bool   `json:"met"`
	Note     string `json:"note,omitempty"`
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

// The performance goals: drain and throughput at half of bare River,
// latency close to it, single emits at 2,500/s, RSS under 150 MB.
const (
	goalShareOfRiver    = 0.5  // drain, throughput: share of bare River's jobs/s
	goalP50OverRiverMs  = 3.0  // PostgreSQL latency p50: bare River's p50 + this
	goalP99TimesRiver   = 2.0  // PostgreSQL latency p99: this × bare River's p99
	goalSinglePerSecond = 2500 // PostgreSQL throughput_single, deliveries/s
	goalPeakRSSMB       = 150  // every standin scenario
)

// targets checks the performance goals against one run's results: for each
// backend with results, every goal of that backend, relative ones against
// bare River measured in the same run (bare_river for rates, river_latency
// for latency). A goal whose scenario or bare River reference did not run
// or failed is listed as not measured, never as met.
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
	// check completes t from r (its scenario) and ref (the bare River
	// scenario its goal derives from, nil for an absolute goal): value reads
	// r, river reads ref, and goal turns river's figure into t's goal.
	check := func(t Target, r, ref *Result, refName string, value, river func() float64, goal func(river float64) float64) {
		switch {
		case r == nil:
			t.Note = t.Scenario + " not run"
		case !r.OK:
			t.Note = t.Scenario + " failed"
		case refName != "" && ref == nil:
			t.Note = refName + " not run"
		case refName != "" && !ref.OK:
			t.Note = refName + " failed"
		default:
			t.Measured = true
			t.Value = value()
			if ref != nil {
				t.River = river()
				t.Goal = goal(t.River)
				if t.River > 0 {
					t.Ratio = t.Value / t.River
				}
			}
			if t.Op == ">=" {
				t.Met = t.Value >= t.Goal
			} else {
				t.Met = t.Value <= t.Goal
			}
		}
		out = append(out, t)
	}
	half := func(river float64) float64 { return river * goalShareOfRiver }
	for _, backend := range backendsOf(results) {
		jobs := find(backend, "bare_river")
		jobsPerSecond := func() float64 { return jobs.PerSecond }
		for _, sc := range []string{"drain", "throughput"} {
			r := find(backend, sc)
			check(Target{Backend: backend, Scenario: sc, Metric: "deliveries/s", Op: ">=",
				Rule: fmt.Sprintf("%.0f%% of bare River", goalShareOfRiver*100)},
				r, jobs, "bare_river", func() float64 { return r.PerSecond }, jobsPerSecond, half)
		}
		if backend == "postgres" {
			lat, rlat := find(backend, "latency"), find(backend, "river_latency")
			check(Target{Backend: backend, Scenario: "latency", Metric: "p50 ms", Op: "<=",
				Rule: fmt.Sprintf("bare River's p50 + %g ms", goalP50OverRiverMs)},
				lat, rlat, "river_latency", func() float64 { return lat.P50Ms }, func() float64 { return rlat.P50Ms },
				func(river float64) float64 { return river + goalP50OverRiverMs })
			check(Target{Backend: backend, Scenario: "latency", Metric: "p99 ms", Op: "<=",
				Rule: fmt.Sprintf("%g × bare River's p99", goalP99TimesRiver)},
				lat, rlat, "river_latency", func() float64 { return lat.P99Ms }, func() float64 { return rlat.P99Ms },
				func(river float64) float64 { return river * goalP99TimesRiver })
			single := find(backend, "throughput_single")
			check(Target{Backend: backend, Scenario: "throughput_single", Metric: "deliveries/s", Op: ">=",
				Rule: fmt.Sprintf("%d/s, one event per request", goalSinglePerSecond), Goal: goalSinglePerSecond},
				single, nil, "", func() float64 { return single.PerSecond }, nil, nil)
			// The goal is absolute; the ratio to bare River is shown all the same.
			if t := &out[len(out)-1]; t.Measured && jobs != nil && jobs.OK && jobs.PerSecond > 0 {
				t.River, t.Ratio = jobs.PerSecond, t.Value/jobs.PerSecond
			}
		}
		// Peak RSS: the worst standin scenario of the backend (bare River
		// runs inside the benchmark process).
		var worst *Result
		for i := range results {
			r := &results[i]
			if r.Backend != backend || r.Scenario == "bare_river" || r.Scenario == "river_latency" || !r.OK {
				continue
			}
			if worst == nil || r.PeakRSSMB > worst.PeakRSSMB {
				worst = r
			}
		}
		t := Target{Backend: backend, Scenario: "(worst)", Metric: "peak RSS MB", Op: "<=",
			Rule: "worst standin scenario", Goal: goalPeakRSSMB}
		if worst != nil {
			t.Scenario = worst.Scenario
		}
		check(t, worst, nil, "", func() float64 { return worst.PeakRSSMB }, nil, nil)
		if t := &out[len(out)-1]; t.Measured && t.Value <= 0 {
			t.Measured, t.Met, t.Note = false, false, "peak RSS not read"
		}
	}
	return out
}

// backendsOf lists the backends of results in their first order.
func backendsOf(results []Result) []string {
	var out []string
	for _, r := range results {
		if !slices.Contains(out, r.Backend) {
			out = append(out, r.Backend)
		}
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
		case "throughput", "throughput_single":
			result = fmt.Sprintf("%.0f deliveries/s", r.PerSecond)
			detail = fmt.Sprintf("%.2fs, %s, emit %.0f/s from %d emitters %s, dup %d", r.DurationSeconds, ofRiver(r), r.EmitPerSecond, r.Emitters, perRequest(r.EmitBatch), r.Duplicates)
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
		detail += cpuDetail(r)
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

	fmt.Fprintln(w, "\ntargets (relative goals from bare River in this run):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  backend\tscenario\tmetric\tgoal\tvalue\tvs bare River\t")
	met, measured := 0, 0
	for _, t := range rep.Targets {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Backend, t.Scenario, t.Metric, goalText(t), valueText(t), riverText(t), mark(t))
		if t.Measured {
			measured++
		}
		if t.Met {
			met++
		}
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "%d of %d targets met (%d measured)\n", met, len(rep.Targets), measured)
}

// goalText is t's goal as printed: the operator, the figure and its rule.
func goalText(t Target) string {
	if !t.Measured && t.River == 0 && t.Goal == 0 {
		return fmt.Sprintf("%s (%s)", t.Op, t.Rule)
	}
	return fmt.Sprintf("%s %s (%s)", t.Op, num(t.Goal), t.Rule)
}

func valueText(t Target) string {
	if !t.Measured {
		return "-"
	}
	return num(t.Value)
}

// riverText is bare River's figure beside t's value and their ratio.
func riverText(t Target) string {
	if t.River <= 0 {
		return ""
	}
	if t.Metric == "deliveries/s" {
		return fmt.Sprintf("%.0f%% of %s jobs/s", t.Ratio*100, num(t.River))
	}
	return fmt.Sprintf("%.2f× River's %s", t.Ratio, num(t.River))
}

func mark(t Target) string {
	switch {
	case !t.Measured:
		return "NOT MEASURED: " + t.Note
	case t.Met:
		return "met"
	default:
		return "MISSED"
	}
}

// num prints a figure with one decimal below 100 and none above.
func num(v float64) string {
	if v < 100 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
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
