package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/testkit"
)

// emittedManyDoc is the -o json output of trigger --count.
type emittedManyDoc struct {
	Events          int            `json:"events"`
	Deliveries      int            `json:"deliveries"`
	Seconds         float64        `json:"seconds"`
	EventsPerSecond float64        `json:"events_per_second"`
	States          map[string]int `json:"states"`
	Items           []struct {
		ID         string `json:"id"`
		Event      string `json:"event"`
		CreatedAt  string `json:"created_at"`
		Deliveries []struct {
			ID        string `json:"id"`
			WebhookID string `json:"webhook_id"`
			State     string `json:"state"`
		} `json:"deliveries"`
	} `json:"items"`
}

// syncIDs returns the sync_id of each request body.
func syncIDs(t *testing.T, reqs []testkit.Request) []string {
	t.Helper()
	ids := make([]string, len(reqs))
	for i, r := range reqs {
		var body struct {
			SyncID string `json:"sync_id"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		ids[i] = body.SyncID
	}
	return ids
}

// distinct counts the distinct non-empty strings of ss.
func distinct(ss []string) int {
	set := map[string]bool{}
	for _, s := range ss {
		if s != "" {
			set[s] = true
		}
	}
	return len(set)
}

var countSummaryRE = regexp.MustCompile(`^Emitted 3 sync_end events in \S+ \([0-9.]+ events/s\): 3 deliveries created\n$`)

func TestTriggerCount(t *testing.T) {
	t.Parallel()
	st := fast(t)
	rcv := testkit.NewReceiver(t, "s")
	whID := newWebhook(t, st, rcv.URL, "s")

	r := ok(t, api(st, "trigger", "sync_end", "--count", "3")...)
	if !countSummaryRE.MatchString(r.stdout) {
		t.Errorf("table output does not match %q:\n%s", countSummaryRE, r)
	}

	r = ok(t, api(st, "trigger", "sync_end", "--count", "3", "--status", "FAILURE", "-o", "json")...)
	var doc emittedManyDoc
	decodeJSON(t, r, &doc)
	if doc.Events != 3 || doc.Deliveries != 3 || len(doc.Items) != 3 || doc.Seconds <= 0 || doc.EventsPerSecond <= 0 || doc.States != nil {
		t.Fatalf("json = %+v\n%s", doc, r)
	}
	var eventIDs, deliveryIDs []string
	for _, it := range doc.Items {
		if it.Event != "sync_end" || !strings.HasSuffix(it.CreatedAt, "Z") || len(it.Deliveries) != 1 ||
			it.Deliveries[0].WebhookID != whID || it.Deliveries[0].State != "pending" {
			t.Errorf("item %+v", it)
			continue
		}
		eventIDs, deliveryIDs = append(eventIDs, it.ID), append(deliveryIDs, it.Deliveries[0].ID)
	}
	if distinct(eventIDs) != 3 || distinct(deliveryIDs) != 3 {
		t.Errorf("event ids %v, delivery ids %v: want 3 distinct of each", eventIDs, deliveryIDs)
	}
	if r.stderr != "" {
		t.Errorf("stderr with -o json:\n%s", r)
	}

	// Each copy has its own sync_id, unless --sync-id fixes it.
	const fixed = "0b6c1a3e-5f7d-4e2a-9c8b-1d2e3f4a5b6c"
	ok(t, api(st, "trigger", "sync_end", "--count", "2", "--sync-id", fixed)...)
	reqs := rcv.AwaitRequests(await(t), 8)
	ids := syncIDs(t, reqs)
	fixedCount := strings.Count(strings.Join(ids, " "), fixed)
	if distinct(ids) != 7 || fixedCount != 2 {
		t.Errorf("sync ids %v: want 6 distinct defaults and %s twice", ids, fixed)
	}
	failures := 0
	for _, r := range reqs {
		if strings.Contains(string(r.Body), `"status":"FAILURE"`) {
			failures++
		}
	}
	if failures != 3 {
		t.Errorf("%d bodies with status FAILURE, want 3", failures)
	}
}

func TestTriggerCountUsage(t *testing.T) {
	t.Parallel()
	// Nothing listens there: a usage error sends nothing.
	for _, n := range []string{"0", "-5", "1000001", "many"} {
		r := cli(t, "trigger", "sync_end", "--count", n, "--api-url", "http://127.0.0.1:1")
		if r.code != exitUsage || !strings.Contains(r.stderr, "--count") {
			t.Errorf("--count %s: want exit 2 naming --count\n%s", n, r)
		}
	}
	st := testkit.Start(t)
	r := cli(t, api(st, "trigger", "sync_ended", "--count", "2")...)
	if r.code != exitFailure || !strings.Contains(r.stderr, "Invalid event 'sync_ended'") {
		t.Errorf("unknown event: want exit 1\n%s", r)
	}
}

func TestTriggerCountBatches(t *testing.T) {
	t.Parallel()
	st := testkit.Start(t) // no webhook: the events alone

	// 2500 events: batches of 1000, 1000 and 500.
	r := ok(t, api(st, "trigger", "sync_start", "--count", "2500")...)
	if !regexp.MustCompile(`(?m)^Emitted 2500 sync_start events in \S+ \([0-9.]+ events/s\): 0 deliveries created\n` +
		`No active webhook is subscribed to sync_start: nothing to deliver`).MatchString(r.stdout) {
		t.Errorf("output:\n%s", r)
	}
	events, err := st.Store().EventList(await(t), store.EventListParams{Name: "sync_start", Limit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(events))
	for i, ev := range events {
		var src struct {
			SyncID string `json:"sync_id"`
		}
		if err := json.Unmarshal(ev.Source, &src); err != nil {
			t.Fatal(err)
		}
		ids[i] = src.SyncID
	}
	if len(events) != 2500 || distinct(ids) != 2500 {
		t.Errorf("store has %d sync_start events with %d distinct sync ids, want 2500 and 2500", len(events), distinct(ids))
	}
}

func TestTriggerCountWait(t *testing.T) {
	t.Parallel()
	st := fast(t)
	rcv := testkit.NewReceiver(t, "s")
	rcv.FailFirst(2, 500) // two deliveries go through a retry
	wh1 := newWebhook(t, st, rcv.URL+"/a", "s")
	wh2 := newWebhook(t, st, rcv.URL+"/b", "s")

	r := ok(t, api(st, "trigger", "sync_end", "--count", "3", "--wait", "--poll-interval", "5ms")...)
	for _, re := range []string{
		`^Emitted 3 sync_end events in \S+ \([0-9.]+ events/s\): 6 deliveries created\n`,
		`\nWaiting for 6 deliveries of 3 events \(Ctrl-C stops waiting; delivery goes on\)…\n`,
		`\n6 deliveries: 6 succeeded\n$`,
	} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("output does not match %q:\n%s", re, r)
		}
	}
	if reqs := rcv.Requests(); len(reqs) != 8 {
		t.Errorf("receiver got %d requests, want 6 and 2 retries", len(reqs))
	}

	r = ok(t, api(st, "trigger", "sync_end", "--count", "4", "--wait", "--poll-interval", "5ms", "-o", "json")...)
	var doc emittedManyDoc
	decodeJSON(t, r, &doc)
	if doc.Events != 4 || doc.Deliveries != 8 || len(doc.Items) != 4 || len(doc.States) != 1 || doc.States["succeeded"] != 8 {
		t.Fatalf("json = %+v\n%s", doc, r)
	}
	for _, it := range doc.Items {
		if len(it.Deliveries) != 2 || it.Deliveries[0].State != "succeeded" || it.Deliveries[1].State != "succeeded" ||
			it.Deliveries[0].WebhookID == it.Deliveries[1].WebhookID {
			t.Errorf("item %+v", it)
		}
		for _, d := range it.Deliveries {
			if d.WebhookID != wh1 && d.WebhookID != wh2 {
				t.Errorf("delivery to %s", d.WebhookID)
			}
		}
	}
	// The progress went to stderr.
	if !strings.Contains(r.stderr, "Waiting for 8 deliveries of 4 events") || !strings.HasSuffix(r.stderr, "8 deliveries: 8 succeeded\n") {
		t.Errorf("stderr:\n%s", r)
	}
}

func TestTriggerCountWaitFailedExits3(t *testing.T) {
	t.Parallel()
	st := fastest(t)
	rcv := answering(t, "s", testkit.Response{Status: 500})
	newWebhook(t, st, rcv.URL, "s", "--profile", "portable")

	r := cli(t, api(st, "trigger", "sync_start", "--count", "12", "--wait", "--poll-interval", "5ms")...)
	if r.code != exitUndelivered || !strings.Contains(r.stderr, "12 of 12 deliveries did not succeed") {
		t.Fatalf("want exit 3:\n%s", r)
	}
	// The first ten are named, then one line says there are more.
	named := regexp.MustCompile(`(?m)^  sync_start → \S+  delivery [0-9a-f-]{36} failed after 8 attempts: the retry window closed$`)
	if n := len(named.FindAllString(r.stdout, -1)); n != 10 || !strings.Contains(r.stdout, "  … and more that did not succeed") ||
		!strings.HasSuffix(r.stdout, "12 deliveries: 12 failed\n") {
		t.Errorf("%d deliveries named, want 10:\n%s", n, r)
	}
}
