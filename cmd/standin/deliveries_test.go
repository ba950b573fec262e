package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/standin-dev/standin/server/client"
	"github.com/standin-dev/standin/testkit"
)

func TestDeliveriesListShowRetry(t *testing.T) {
	t.Parallel()
	st := fastest(t)
	rcv := answering(t, "s", testkit.Response{Status: 500, Body: "nope"})
	// Portable, signed the Fivetran way: it fails its whole schedule.
	whID := newWebhook(t, st, rcv.URL, "s", "--profile", "portable", "--signing-scheme", "fivetran")

	var emitted struct {
		ID         string
		Deliveries []struct{ ID string }
	}
	decodeJSON(t, ok(t, api(st, "trigger", "sync_end", "--status", "FAILURE", "-o", "json")...), &emitted)
	ok(t, api(st, "trigger", "sync_start")...)
	id := emitted.Deliveries[0].ID
	st.AwaitDelivery(await(t), id, "failed")

	// list: a table, filters, JSON.
	r := ok(t, api(st, "deliveries", "list")...)
	if !regexp.MustCompile(`(?m)^`+id+`\s+sync_end\s+`+whID+`\s+failed\s+8\s+500\s+-\s+20`).MatchString(r.stdout) ||
		!strings.Contains(r.stdout, "sync_start") {
		t.Errorf("list:\n%s", r)
	}
	var page struct {
		Items []struct{ ID, State, Event string }
	}
	decodeJSON(t, ok(t, api(st, "deliveries", "list", "--event", "sync_end", "--status", "failed", "--since", "1h", "-o", "json")...), &page)
	if len(page.Items) != 1 || page.Items[0].ID != id {
		t.Errorf("filtered list = %+v", page)
	}
	page.Items = nil
	decodeJSON(t, ok(t, api(st, "deliveries", "list", "--event-id", emitted.ID, "--webhook", whID, "-o", "json")...), &page)
	if len(page.Items) != 1 || page.Items[0].ID != id {
		t.Errorf("list by event id = %+v", page)
	}
	page.Items = nil
	decodeJSON(t, ok(t, api(st, "deliveries", "list", "--until", "2000-01-01T00:00:00Z", "-o", "json")...), &page)
	if len(page.Items) != 0 {
		t.Errorf("list --until 2000 = %+v", page)
	}
	if r := cli(t, api(st, "deliveries", "list", "--since", "yesterday")...); r.code != exitUsage {
		t.Errorf("--since yesterday: want exit 2\n%s", r)
	}
	if r := cli(t, api(st, "deliveries", "list", "--status", "lost")...); r.code != exitFailure || !strings.Contains(r.stderr, "InvalidInput") {
		t.Errorf("--status lost: want the API's InvalidInput\n%s", r)
	}

	// show: every attempt, in real and emulated time, and the body.
	r = ok(t, api(st, "deliveries", "show", id, "--headers")...)
	for _, re := range []string{
		`State\s+failed after 8 attempts: the retry window closed`,
		`Profile\s+portable`,
		`Attempts \(8\):`,
		`(?m)^\s+1\s+first\s+20\S+\s+\+0s\s+500\s+\S+\s+receiver answered HTTP 500$`,
		`(?m)^\s+2\s+retry 1\s+20\S+\s+\+30s\s+500\s`,
		`(?m)^\s+7\s+retry 6\s+20\S+\s+\+11h22m30s\s+500\s`,
		`(?m)^\s+8\s+retry 7\s+20\S+\s+\+24h0m0s\s+500\s`,
		`X-Fivetran-Signature-256: [0-9A-F]{64}`,
		`Attempt 1 response body \(excerpt\):\n\s+nope`,
		`Request body:\n\{\n  "created": "20[^"]+",\n(.|\n)*  "event": "sync_end",\n(.|\n)*  "status": "FAILURE"`,
	} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("show does not match %q:\n%s", re, r)
		}
	}
	var detail struct {
		Delivery struct{ ID, State string }
		Attempts []struct {
			Number        int
			EmulatedDelay string `json:"emulated_delay"`
		}
		RequestBody string `json:"request_body"`
	}
	decodeJSON(t, ok(t, api(st, "deliveries", "show", id, "-o", "json")...), &detail)
	if detail.Delivery.ID != id || len(detail.Attempts) != 8 || detail.Attempts[7].EmulatedDelay != "86400s" || detail.Attempts[1].EmulatedDelay != "30s" ||
		!strings.Contains(detail.RequestBody, `"status":"FAILURE"`) {
		t.Errorf("show json = %+v", detail)
	}

	// retry: a manual attempt now; the receiver refuses it (exit 3), then
	// accepts it (exit 0, succeeded).
	r = cli(t, api(st, "deliveries", "retry", id, "--wait", "--poll-interval", "5ms")...)
	if r.code != exitUndelivered || !strings.Contains(r.stdout, "Redelivery of "+id+" queued (failed, 8 attempts so far).") ||
		!strings.Contains(r.stdout, "attempt 9 (manual redelivery): HTTP 500") || strings.Contains(r.stdout, "attempt 8") {
		t.Errorf("retry against a refusing receiver:\n%s", r)
	}
	rcv.Respond(testkit.Response{Status: 200})
	r = ok(t, api(st, "deliveries", "retry", id, "--wait", "--poll-interval", "5ms", "-o", "json")...)
	var after struct {
		Delivery struct {
			State    string
			Attempts int
		}
	}
	decodeJSON(t, r, &after)
	if after.Delivery.State != "succeeded" || after.Delivery.Attempts != 10 || !strings.Contains(r.stderr, "attempt 10 (manual redelivery): HTTP 200 OK, accepted") {
		t.Errorf("retry --wait -o json: %+v\n%s", after, r)
	}
	// Without --wait it only queues.
	r = ok(t, api(st, "deliveries", "retry", id, "-o", "json")...)
	var queued struct{ ID, State string }
	decodeJSON(t, r, &queued)
	if queued.ID != id || queued.State != "succeeded" {
		t.Errorf("retry -o json = %+v", queued)
	}
	st.AwaitAttempts(await(t), id, 10)

	r = cli(t, api(st, "deliveries", "show", "no-such-delivery")...)
	if r.code != exitFailure || !strings.Contains(r.stderr, "NotFound_Delivery") {
		t.Errorf("show missing:\n%s", r)
	}
}

func TestDeliveriesCancel(t *testing.T) {
	t.Parallel()
	st := testkit.Start(t) // real time: retries are minutes away
	rcv := answering(t, "s", testkit.Response{Status: 500})
	newWebhook(t, st, rcv.URL, "s")
	var emitted struct{ Deliveries []struct{ ID string } }
	decodeJSON(t, ok(t, api(st, "trigger", "sync_end", "-o", "json")...), &emitted)
	id := emitted.Deliveries[0].ID
	st.AwaitDelivery(await(t), id, "retrying")

	r := ok(t, api(st, "deliveries", "show", id)...)
	if !regexp.MustCompile(`Next\s+retry 1 of 5 due at \+6m0s emulated: in [56]m\d+s emulated, [56]m\d+s real \(at [0-9:.]+, time scale ×1\.0\)`).MatchString(r.stdout) {
		t.Errorf("show of a retrying delivery:\n%s", r)
	}

	r = ok(t, api(st, "deliveries", "cancel", id)...)
	if !strings.Contains(r.stdout, "cancelled") || !strings.Contains(r.stdout, "(1 attempt)") {
		t.Errorf("cancel:\n%s", r)
	}
	if d := st.GetDelivery(id).Delivery; d.State != testkit.StateCancelled {
		t.Fatalf("after cancel: %+v", d)
	}
	r = cli(t, api(st, "deliveries", "cancel", id, "-o", "json")...)
	if r.code != exitFailure || r.stdout != "" || !strings.Contains(r.stderr, "(HTTP 409)") {
		t.Errorf("cancel twice: want the API's conflict\n%s", r)
	}
}

func TestDescribeNext(t *testing.T) {
	t.Parallel()
	first := time.Date(2026, 5, 22, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { t := first.Add(d); return &t }
	attempt := func(n int, delay time.Duration, manual bool) client.Attempt {
		return client.Attempt{Number: n, Manual: manual, StartedAt: *at(delay / 60), EmulatedDelay: delay}
	}
	for _, tc := range []struct {
		name string
		d    client.DeliveryDetail
		now  time.Time
		want string
	}{{
		name: "fivetran retry 1 at x60",
		d: client.DeliveryDetail{
			Delivery: client.Delivery{Profile: "fivetran", State: "retrying", FirstAttemptAt: at(0), NextAttemptAt: at(6 * time.Second)},
			Attempts: []client.Attempt{attempt(1, 0, false)},
		},
		now:  first.Add(2 * time.Second),
		want: "retry 1 of 5 due at +6m0s emulated: in 4m0s emulated, 4s real",
	}, {
		name: "manual attempts do not count; real time x1",
		d: client.DeliveryDetail{
			Delivery: client.Delivery{Profile: "fivetran", State: "retrying", FirstAttemptAt: at(0), NextAttemptAt: at(27*time.Minute + 36*time.Second)},
			Attempts: []client.Attempt{attempt(1, 0, false), attempt(2, time.Minute, true), attempt(3, 6*time.Minute, false)},
		},
		now:  first.Add(7 * time.Minute),
		want: "retry 2 of 5 due at +27m36s emulated: in 20m36s emulated, 20m36s real",
	}, {
		name: "portable schedule",
		d: client.DeliveryDetail{
			Delivery: client.Delivery{Profile: "portable", State: "retrying", FirstAttemptAt: at(0), NextAttemptAt: at(30 * time.Millisecond)},
			Attempts: []client.Attempt{attempt(1, 0, false)},
		},
		now:  first,
		want: "retry 1 of 7 due at +30s emulated: in 30s emulated, 30ms real",
	}, {
		name: "overdue",
		d: client.DeliveryDetail{
			Delivery: client.Delivery{Profile: "fivetran", State: "retrying", FirstAttemptAt: at(0), NextAttemptAt: at(6 * time.Second)},
			Attempts: []client.Attempt{attempt(1, 0, false)},
		},
		now:  first.Add(time.Minute),
		want: "retry 1 of 5 due at +6m0s emulated: in 0s emulated, 0s real",
	}, {
		name: "finished",
		d:    client.DeliveryDetail{Delivery: client.Delivery{State: "succeeded"}, Attempts: []client.Attempt{attempt(1, 0, false)}},
		want: "",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := describeNext(&tc.d, tc.now)
			if !strings.HasPrefix(got, tc.want) || (tc.want == "") != (got == "") {
				t.Errorf("describeNext = %q, want prefix %q", got, tc.want)
			}
		})
	}
}
