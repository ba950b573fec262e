package check

import (
	"testing"
	"time"
)

func TestJudgeLatency(t *testing.T) {
	t.Parallel()
	x := func(label string, latency float64, status int, timedOut bool) Exchange {
		return Exchange{Label: label, LatencyMS: latency, Status: status, TimedOut: timedOut}
	}
	probe := func(xs ...Exchange) []ProbeResult {
		return []ProbeResult{{ID: "p", Exchanges: xs}, {ID: ProbeLatency}}
	}
	const timeout = time.Second
	for _, tc := range []struct {
		name    string
		results []ProbeResult
		want    Verdict
		labels  []string
	}{
		{"fast", probe(x("a", 3, 200, false), x("b", 40, 401, false)), Pass, []string{"p/b"}},
		{"exactly half", probe(x("a", 500, 200, false)), Pass, []string{"p/a"}},
		{"above half", probe(x("a", 3, 200, false), x("b", 501, 200, false), x("c", 900, 500, false)), Warn, []string{"p/b", "p/c"}},
		{"timed out", probe(x("a", 700, 200, false), x("b", 1000, 0, true)), Fail, []string{"p/b"}},
		{"no answers", probe(x("a", 1, 0, false)), Skipped, nil},
	} {
		got := judgeLatency(tc.results, timeout)
		var labels []string
		for _, e := range got.Exchanges {
			labels = append(labels, e.Label)
		}
		if got.Verdict != tc.want || len(labels) != len(tc.labels) {
			t.Errorf("%s: %s %v (%s), want %s %v", tc.name, got.Verdict, labels, got.Reason, tc.want, tc.labels)
			continue
		}
		for i := range labels {
			if labels[i] != tc.labels[i] {
				t.Errorf("%s: exchanges %v, want %v", tc.name, labels, tc.labels)
			}
		}
	}
}
