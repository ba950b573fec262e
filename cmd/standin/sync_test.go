package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/standin-dev/standin/testkit"
)

func TestSyncWait(t *testing.T) {
	t.Parallel()
	st := fast(t)
	rcv := testkit.NewReceiver(t, "s")
	rcv.FailFirst(1, 500)
	whID := newWebhook(t, st, rcv.URL, "s")

	// assimilate_seem is one of the connections standin registers at start.
	r := ok(t, api(st, "sync", "assimilate_seem", "--status", "FAILURE", "--reason", "disk full", "--duration", "5m",
		"--wait", "--poll-interval", "5ms")...)
	for _, re := range []string{
		`Sync has been started: connection assimilate_seem \(google_cloud_postgresql\) in group inappropriate_implode, sync_id [0-9a-f-]{36}\n`,
		`Emitted sync_start [0-9a-f-]{36} at `,
		`Emitted sync_end [0-9a-f-]{36} at `,
		`sync_start → ` + whID + `  succeeded after (1 attempt|2 attempts)\n`,
		`sync_end → ` + whID + `  succeeded after (1 attempt|2 attempts)\n`,
		`2 deliveries: 2 succeeded\n$`,
	} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("output does not match %q:\n%s", re, r)
		}
	}
	reqs := rcv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("receiver got %d requests, want 3 (one retry)", len(reqs))
	}
	var start, end struct {
		Event string
		Sync  string `json:"sync_id"`
		Data  map[string]string
	}
	if err := json.Unmarshal(reqs[0].Body, &start); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(reqs[len(reqs)-1].Body, &end); err != nil {
		t.Fatal(err)
	}
	if end.Event != "sync_end" || end.Sync == "" || end.Sync != start.Sync || end.Data["status"] != "FAILURE" || end.Data["reason"] != "disk full" {
		t.Errorf("sync bodies:\n%s\n%s", reqs[0].Body, reqs[len(reqs)-1].Body)
	}
}

func TestSyncJSONAndErrors(t *testing.T) {
	t.Parallel()
	st := testkit.Start(t) // real time: a sync of an hour is still running

	rcv := testkit.NewReceiver(t, "")
	ok(t, api(st, "webhooks", "create", "--url", rcv.URL, "--events", "sync_start,sync_end,force_update_connector")...)

	r := ok(t, api(st, "sync", "gather_harbor", "--duration", "1h", "-o", "json")...)
	var s struct {
		Connection struct {
			ID     string
			Status struct {
				SyncState string `json:"sync_state"`
			}
		}
		SyncID string `json:"sync_id"`
		EndsAt string `json:"ends_at"`
		Events []struct {
			Event      string
			Deliveries []struct{ ID string }
		}
	}
	decodeJSON(t, r, &s)
	if s.Connection.ID != "gather_harbor" || s.Connection.Status.SyncState != "syncing" || s.SyncID == "" || len(s.Events) != 2 {
		t.Errorf("sync -o json = %+v", s)
	}

	// A second sync while the first runs is the API's conflict; --force
	// restarts it and emits force_update_connector first.
	r = cli(t, api(st, "sync", "gather_harbor")...)
	if r.code != exitFailure || !strings.Contains(r.stderr, "is syncing") || !strings.Contains(r.stderr, "(HTTP 409)") {
		t.Errorf("sync while syncing:\n%s", r)
	}
	r = ok(t, api(st, "sync", "gather_harbor", "--force", "--duration", "0s", "--wait", "--poll-interval", "5ms", "-o", "json")...)
	var waited struct {
		Sync struct {
			Events []struct{ Event string }
		}
		Deliveries []struct {
			Delivery struct{ Event, State string }
		}
	}
	decodeJSON(t, r, &waited)
	var events []string
	for _, ev := range waited.Sync.Events {
		events = append(events, ev.Event)
	}
	if strings.Join(events, ",") != "force_update_connector,sync_start,sync_end" || len(waited.Deliveries) != 3 ||
		waited.Deliveries[2].Delivery.Event != "sync_end" || waited.Deliveries[2].Delivery.State != "succeeded" {
		t.Errorf("sync --force --wait -o json = %+v", waited)
	}
	if !strings.Contains(r.stderr, "3 deliveries: 3 succeeded") {
		t.Errorf("progress on stderr:\n%s", r)
	}

	r = cli(t, api(st, "sync", "no_such_connection")...)
	if r.code != exitFailure || !strings.Contains(r.stderr, "NotFound") {
		t.Errorf("unknown connection:\n%s", r)
	}
	r = cli(t, api(st, "sync", "assimilate_seem", "--status", "GREAT")...)
	if r.code != exitFailure || !strings.Contains(r.stderr, "InvalidInput: Invalid value 'GREAT' for field 'status'") {
		t.Errorf("bad status:\n%s", r)
	}
	for _, args := range [][]string{
		{"sync"},
		{"sync", "assimilate_seem", "--flow", "42"},
		{"sync", "--flow", "42", "--reason", "x"},
		{"sync", "assimilate_seem", "--details", "x"},
		{"sync", "--flow", "0"},
		{"sync", "a", "b"},
	} {
		if r := cli(t, api(st, args...)...); r.code != exitUsage {
			t.Errorf("%v: want exit 2, got %s", args, r)
		}
	}
}

func TestSyncPortableFlow(t *testing.T) {
	t.Parallel()
	st := fast(t)
	rcv := testkit.NewReceiver(t, "")
	ok(t, api(st, "webhooks", "create", "--url", rcv.URL, "--events", "sync_start,sync_end", "--profile", "portable")...)
	r := ok(t, api(st, "sync", "--flow", "42", "--run-attempt", "4242", "--status", "FAILED", "--details", "source timed out",
		"--duration", "10m", "--wait", "--poll-interval", "5ms")...)
	if !strings.Contains(r.stdout, "Flow run has been started: flow 42, run attempt 4242") ||
		!strings.Contains(r.stdout, "2 deliveries: 2 succeeded") {
		t.Errorf("output:\n%s", r)
	}
	reqs := rcv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	var end map[string]any
	if err := json.Unmarshal(reqs[1].Body, &end); err != nil {
		t.Fatal(err)
	}
	if end["event"] != "sync_end" || end["flow_id"] != 42.0 || end["run_attempt_id"] != 4242.0 || end["status"] != "FAILED" || end["details"] != "source timed out" {
		t.Errorf("sync_end body %s", reqs[1].Body)
	}
}
