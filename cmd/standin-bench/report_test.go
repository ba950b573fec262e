package main

import (
	"bytes"
	"strings"
	"testing"
)

// run18 is a run with every scenario the goals read, on both backends.
func run18() []Result {
	return []Result{
		{Backend: "sqlite", Scenario: "bare_river", OK: true, PerSecond: 5000},
		{Backend: "sqlite", Scenario: "drain", OK: true, PerSecond: 2600, PeakRSSMB: 60},
		{Backend: "sqlite", Scenario: "throughput", OK: true, PerSecond: 2400, PeakRSSMB: 90},
		{Backend: "postgres", Scenario: "bare_river", OK: true, PerSecond: 12000},
		{Backend: "postgres", Scenario: "drain", OK: true, PerSecond: 6000, PeakRSSMB: 70},
		{Backend: "postgres", Scenario: "throughput", OK: true, PerSecond: 5999, PeakRSSMB: 151},
		{Backend: "postgres", Scenario: "throughput_single", OK: true, PerSecond: 2500, PeakRSSMB: 50},
		{Backend: "postgres", Scenario: "latency", OK: true, P50Ms: 9, P99Ms: 25},
		{Backend: "postgres", Scenario: "river_latency", OK: true, P50Ms: 6, P99Ms: 12.4, PeakRSSMB: 500},
	}
}

func findTarget(t *testing.T, ts []Target, backend, scenario, metric string) Target {
	t.Helper()
	for _, x := range ts {
		if x.Backend == backend && x.Scenario == scenario && x.Metric == metric {
			return x
		}
	}
	t.Fatalf("no target %s/%s/%s in %+v", backend, scenario, metric, ts)
	return Target{}
}

func TestTargetsAgainstBareRiverOfTheRun(t *testing.T) {
	ts := targets(run18())
	for _, c := range []struct {
		backend, scenario, metric string
		goal, value, river, ratio float64
		met                       bool
	}{
		// Exactly half of bare River meets; a delivery less misses.
		{"postgres", "drain", "deliveries/s", 6000, 6000, 12000, 0.5, true},
		{"postgres", "throughput", "deliveries/s", 6000, 5999, 12000, 5999.0 / 12000, false},
		{"sqlite", "drain", "deliveries/s", 2500, 2600, 5000, 0.52, true},
		{"sqlite", "throughput", "deliveries/s", 2500, 2400, 5000, 0.48, false},
		// p50: River's 6 + 3 = 9 meets; p99: 2 × 12.4 = 24.8 < 25 misses.
		{"postgres", "latency", "p50 ms", 9, 9, 6, 1.5, true},
		{"postgres", "latency", "p99 ms", 24.8, 25, 12.4, 25 / 12.4, false},
		// An absolute goal, with the ratio to bare River beside it.
		{"postgres", "throughput_single", "deliveries/s", 2500, 2500, 12000, 2500.0 / 12000, true},
		// The worst standin scenario; river_latency's RSS is the benchmark's own.
		{"postgres", "throughput", "peak RSS MB", 150, 151, 0, 0, false},
		{"sqlite", "throughput", "peak RSS MB", 150, 90, 0, 0, true},
	} {
		got := findTarget(t, ts, c.backend, c.scenario, c.metric)
		if !got.Measured || got.Met != c.met || !near(got.Goal, c.goal) || !near(got.Value, c.value) ||
			!near(got.River, c.river) || !near(got.Ratio, c.ratio) {
			t.Errorf("%s/%s %s: got %+v, want goal %g value %g river %g ratio %g met %v",
				c.backend, c.scenario, c.metric, got, c.goal, c.value, c.river, c.ratio, c.met)
		}
	}
	// Every goal of the issue: drain, throughput and RSS per backend, and
	// on PostgreSQL the two latency goals and throughput_single.
	if len(ts) != 3+6 {
		t.Errorf("got %d targets, want 9: %+v", len(ts), ts)
	}
}

func TestTargetsWithoutTheirReferenceAreNotMet(t *testing.T) {
	results := run18()
	var kept []Result
	for _, r := range results {
		switch {
		case r.Backend == "postgres" && r.Scenario == "bare_river":
			r.OK = false // failed
		case r.Backend == "postgres" && r.Scenario == "river_latency":
			continue // not run
		case r.Backend == "sqlite" && r.Scenario == "throughput":
			continue
		}
		kept = append(kept, r)
	}
	ts := targets(kept)
	for _, c := range []struct{ backend, scenario, metric, note string }{
		{"postgres", "drain", "deliveries/s", "bare_river failed"},
		{"postgres", "latency", "p50 ms", "river_latency not run"},
		{"postgres", "latency", "p99 ms", "river_latency not run"},
		{"sqlite", "throughput", "deliveries/s", "throughput not run"},
	} {
		got := findTarget(t, ts, c.backend, c.scenario, c.metric)
		if got.Measured || got.Met || got.Note != c.note {
			t.Errorf("%s/%s %s: got %+v, want not measured (%s)", c.backend, c.scenario, c.metric, got, c.note)
		}
	}
	// throughput_single's goal is absolute: measured without bare River.
	if got := findTarget(t, ts, "postgres", "throughput_single", "deliveries/s"); !got.Measured || !got.Met || got.Ratio != 0 {
		t.Errorf("throughput_single without bare River: got %+v", got)
	}
}

func TestTargetsPrinted(t *testing.T) {
	rep := &Report{Results: run18()}
	rep.Targets = targets(rep.Results)
	var buf bytes.Buffer
	printTable(&buf, rep)
	out := buf.String()
	for _, want := range []string{
		"50% of 12000 jobs/s", // the drain's ratio to bare River
		"1.50× River's 6.0",   // latency p50 beside River's
		"MISSED",
		"5 of 9 targets met (9 measured)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func near(a, b float64) bool { d := a - b; return d < 1e-9 && d > -1e-9 }

func TestCPUDetail(t *testing.T) {
	for _, c := range []struct {
		r    Result
		want string
	}{
		{Result{Scenario: "drain", Received: 20000, StandinCPUSeconds: 3, DBCPUSeconds: 2.6, BenchCPUSeconds: 1},
			", CPU ms/delivery: standin 0.150 + postgres 0.130 + bench 0.050"},
		{Result{Scenario: "bare_river", Count: 20000, DBCPUSeconds: 1.6, BenchCPUSeconds: 1},
			", CPU ms/job: postgres 0.080 + bench 0.050"},
		// SQLite, or a remote PostgreSQL: no database figure.
		{Result{Scenario: "throughput", Received: 1000, StandinCPUSeconds: 0.3, BenchCPUSeconds: 0.05},
			", CPU ms/delivery: standin 0.300 + bench 0.050"},
		{Result{Scenario: "drain", Received: 0, StandinCPUSeconds: 3}, ""},
	} {
		if got := cpuDetail(c.r); got != c.want {
			t.Errorf("cpuDetail(%+v) = %q, want %q", c.r, got, c.want)
		}
	}
}

func TestProcTicksSince(t *testing.T) {
	before := procTicks{"10/100": 50, "11/100": 7, "12/100": 3}
	now := procTicks{"10/100": 80, "11/100": 7, "13/900": 20} // 12 ended, 13 started
	if got, want := now.since(before), 0.5; got != want {
		t.Errorf("since = %v s, want %v (30 ticks of a running process and 20 of a new one)", got, want)
	}
}
