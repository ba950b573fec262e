package main

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/standin-dev/standin/testkit"
)

func TestStats(t *testing.T) {
	t.Parallel()
	st := fast(t)
	rcv := testkit.NewReceiver(t, "s")
	rcv.FailFirst(1, http.StatusServiceUnavailable)
	newWebhook(t, st, rcv.URL, "s")
	var em struct {
		Deliveries []struct{ ID string }
	}
	decodeJSON(t, ok(t, api(st, "trigger", "sync_end", "--group", "g1", "-o", "json")...), &em)
	st.AwaitDelivery(await(t), em.Deliveries[0].ID)

	r := ok(t, api(st, "stats")...)
	for _, want := range []string{
		`(?m)^WHAT\s+COUNT$`,
		`(?m)^events emitted\s+1$`,
		`(?m)^deliveries succeeded\s+1$`,
		`(?m)^deliveries retrying\s+0$`,
		`(?m)^attempts failed 5xx\s+1$`,
		`(?m)^attempts succeeded 2xx\s+1$`,
		`(?m)^attempt latency mean\s+[0-9.]+ ms \(2 attempts\)$`,
		`(?m)^webhooks\s+1 \(1 active, 0 deactivated by standin\)$`,
		`(?m)^river jobs\s+(running|completed) 1$`, // River marks the job completed in a later batch
		`(?m)^time scale\s+10000 \(Fivetran's 24 h retry schedule in 8\.64s\)$`,
	} {
		if !regexp.MustCompile(want).MatchString(r.stdout) {
			t.Errorf("stats lacks %s:\n%s", want, r)
		}
	}

	var js struct {
		EventsEmitted int64            `json:"events_emitted"`
		Deliveries    map[string]int64 `json:"deliveries"`
		TimeScale     float64          `json:"time_scale"`
	}
	decodeJSON(t, ok(t, api(st, "stats", "-o", "json")...), &js)
	if js.EventsEmitted != 1 || js.Deliveries["succeeded"] != 1 || js.TimeScale != 1e4 {
		t.Errorf("stats -o json: %+v", js)
	}
}
