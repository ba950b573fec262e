package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/standin-dev/standin/testkit"
)

func TestTriggerWaitFollowsRetries(t *testing.T) {
	t.Parallel()
	st := fast(t)
	rcv := testkit.NewReceiver(t, "s3cret")
	rcv.FailFirst(2, 500)
	whID := newWebhook(t, st, rcv.URL, "s3cret")

	r := ok(t, api(st, "trigger", "sync_end", "--connector", "assimilate_seem", "--group", "inappropriate_implode",
		"--status", "FAILURE", "--reason", "disk full", "--wait", "--poll-interval", "5ms")...)
	for _, re := range []string{
		`Emitted sync_end [0-9a-f-]{36} at `,
		`1 delivery:\n\s+DELIVERY\s+WEBHOOK\s+STATE\n\s+[0-9a-f-]{36}\s+` + whID + `\s+pending`,
		`sync_end → ` + whID + `  attempt 1 \(first\): HTTP 500 Internal Server Error, refused in `,
		`attempt 2 \(retry 1, \+6m0s emulated\): HTTP 500 Internal Server Error, refused`,
		`attempt 3 \(retry 2, \+27m36s emulated\): HTTP 200 OK, accepted`,
		`sync_end → ` + whID + `  succeeded after 3 attempts`,
		`1 delivery: 1 succeeded\n$`,
	} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("output does not match %q:\n%s", re, r)
		}
	}
	reqs := rcv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(reqs))
	}
	var body struct {
		Event, ConnectorID, DestinationGroupID string
		Data                                   map[string]string
	}
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if reqs[0].SignatureErr != nil || !strings.Contains(string(reqs[0].Body), `"connector_id":"assimilate_seem"`) ||
		!strings.Contains(string(reqs[0].Body), `"destination_group_id":"inappropriate_implode"`) ||
		body.Data["status"] != "FAILURE" || body.Data["reason"] != "disk full" {
		t.Errorf("delivered %s (signature %v)", reqs[0].Body, reqs[0].SignatureErr)
	}
}

func TestTriggerWaitFailedExits3(t *testing.T) {
	t.Parallel()
	st := fastest(t)
	rcv := answering(t, "s", testkit.Response{Status: 500})
	newWebhook(t, st, rcv.URL, "s", "--profile", "portable")

	r := cli(t, api(st, "trigger", "sync_start", "--wait", "--poll-interval", "5ms", "-o", "json")...)
	if r.code != exitUndelivered || !strings.Contains(r.stderr, "1 of 1 delivery did not succeed") {
		t.Fatalf("want exit 3:\n%s", r)
	}
	// Progress went to stderr; stdout is one JSON document.
	if !strings.Contains(r.stderr, "failed after 8 attempts: the retry window closed") {
		t.Errorf("progress on stderr:\n%s", r)
	}
	var doc struct {
		Event struct {
			ID         string
			Deliveries []struct{ ID string }
		}
		Deliveries []struct {
			Delivery struct {
				ID, State string
				Attempts  int
			}
			Attempts []struct{ Status int }
		}
	}
	decodeJSON(t, r, &doc)
	if len(doc.Deliveries) != 1 || doc.Deliveries[0].Delivery.State != "failed" || doc.Deliveries[0].Delivery.Attempts != 8 ||
		len(doc.Deliveries[0].Attempts) != 8 || doc.Deliveries[0].Delivery.ID != doc.Event.Deliveries[0].ID {
		t.Errorf("json = %+v", doc)
	}
}

func TestTriggerWaitInterrupted(t *testing.T) {
	t.Parallel()
	st := testkit.Start(t, testkit.Config{TimeScale: 60}) // first retry 6 s away
	rcv := answering(t, "s", testkit.Response{Status: 503})
	newWebhook(t, st, rcv.URL, "s")

	bg := startCLI(t, api(st, "trigger", "sync_end", "--wait", "--poll-interval", "5ms")...)
	// The next retry, in emulated and real time at ×60.
	re := regexp.MustCompile(`retry 1 of 5 due at \+6m0s emulated: in (\d+(\.\d+)?s|[0-6]m\d+s) emulated, (\d+(\.\d+)?)s real \(at [0-9:.]+, time scale ×60\)`)
	m, err := bg.stdout.awaitMatch(await(t), re)
	if err != nil {
		t.Fatal(err)
	}
	if real, err := strconv.ParseFloat(m[3], 64); err != nil || real > 6 || real < 1 {
		t.Errorf("real wait %ss, want at most 6 s (%v)", m[3], err)
	}
	// --wait names the scale the deployment's workers retry with.
	if !strings.Contains(bg.stdout.String(), "Workers' time scale: 60 (Fivetran's 24 h retry schedule in 24m0s)\n") {
		t.Errorf("stdout does not name the workers' time scale:\n%s", bg.stdout)
	}
	if code := bg.stop(t); code != exitInterrupted {
		t.Errorf("exit %d after Ctrl-C, want 130", code)
	}
	if !strings.Contains(bg.stderr.String(), "interrupted: 1 delivery not final yet") {
		t.Errorf("stderr:\n%s", bg.stderr)
	}
}

func TestTriggerWaitTimeout(t *testing.T) {
	t.Parallel()
	st := testkit.Start(t) // real time: the first retry is 6 minutes away
	rcv := answering(t, "s", testkit.Response{Status: 500})
	newWebhook(t, st, rcv.URL, "s")
	r := cli(t, api(st, "trigger", "sync_end", "--wait", "--wait-timeout", "300ms", "--poll-interval", "5ms")...)
	if r.code != exitFailure || !strings.Contains(r.stderr, "--wait-timeout 300ms: 1 delivery not final yet") {
		t.Errorf("want exit 1 on timeout:\n%s", r)
	}
}

func TestTriggerData(t *testing.T) {
	t.Parallel()
	st := fast(t)
	rcv := testkit.NewReceiver(t, "s")
	ok(t, api(st, "webhooks", "create", "--url", rcv.URL, "--events", "edit_connector,transformation_run_failed", "--secret", "s")...)

	file := filepath.Join(t.TempDir(), "data.json")
	if err := os.WriteFile(file, []byte(`{"changed": ["schedule"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := ok(t, api(st, "trigger", "edit_connector", "--data", "@"+file, "-o", "json")...)
	var ev struct {
		ID         string
		Event      string
		Deliveries []struct{ ID, WebhookID, State string }
	}
	decodeJSON(t, r, &ev)
	if ev.Event != "edit_connector" || len(ev.Deliveries) != 1 {
		t.Fatalf("emitted %+v", ev)
	}
	ok(t, api(st, "trigger", "transformation_run_failed", "--data", `{"error":"boom"}`)...)
	reqs := rcv.AwaitRequests(await(t), 2)
	bodies := string(reqs[0].Body) + string(reqs[1].Body)
	if !strings.Contains(bodies, `"data":{"changed":["schedule"]}`) || !strings.Contains(bodies, `"data":{"error":"boom"}`) {
		t.Errorf("bodies: %s", bodies)
	}

	for _, bad := range []string{"[1]", "{", "@" + filepath.Join(t.TempDir(), "missing.json")} {
		r = cli(t, api(st, "trigger", "edit_connector", "--data", bad)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--data") {
			t.Errorf("--data %s: want exit 2\n%s", bad, r)
		}
	}
}

func TestTriggerPortableFlow(t *testing.T) {
	t.Parallel()
	st := fast(t)
	rcv := testkit.NewReceiver(t, "")
	ok(t, api(st, "webhooks", "create", "--url", rcv.URL, "--events", "sync_end", "--profile", "portable")...)
	r := ok(t, api(st, "trigger", "sync_end", "--flow", "42", "--run-attempt", "7", "--source-type", "hubspot_crm",
		"--status", "FAILED", "--details", "source timed out", "--wait", "--poll-interval", "5ms")...)
	if !strings.Contains(r.stdout, "succeeded after 1 attempt\n") {
		t.Errorf("output:\n%s", r)
	}
	reqs := rcv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	var body map[string]any
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["flow_id"] != 42.0 || body["run_attempt_id"] != 7.0 || body["source_type"] != "hubspot_crm" ||
		body["status"] != "FAILED" || body["details"] != "source timed out" {
		t.Errorf("portable body %s", reqs[0].Body)
	}
}

func TestTriggerErrors(t *testing.T) {
	t.Parallel()
	st := testkit.Start(t)

	r := cli(t, api(st, "trigger", "sync_ended")...)
	if r.code != exitFailure || !strings.Contains(r.stderr, "InvalidInput: Invalid event 'sync_ended' (HTTP 400)") {
		t.Errorf("unknown event:\n%s", r)
	}
	r = cli(t, api(st, "trigger", "sync_start", "--reason", "x")...)
	if r.code != exitFailure || !strings.Contains(r.stderr, "InvalidInput: Field 'reason' only applies to event 'sync_end'") {
		t.Errorf("reason on sync_start:\n%s", r)
	}
	r = cli(t, api(st, "trigger")...)
	if r.code != exitUsage {
		t.Errorf("no event: want exit 2\n%s", r)
	}

	// No subscriber: emitted, nothing to deliver, --wait returns at once.
	r = ok(t, api(st, "trigger", "sync_end", "--wait")...)
	if !strings.Contains(r.stdout, "No active webhook is subscribed to sync_end") {
		t.Errorf("no subscriber:\n%s", r)
	}
}

// TestTriggerAgreesWithRegistry: trigger names a registered connection the
// way GET /v1/connections/{id} does; the default connector is the seed's
// assimilate_seem (ftar_pg); a contradicting --group is refused.
func TestTriggerAgreesWithRegistry(t *testing.T) {
	t.Parallel()
	st := fast(t)
	rcv := testkit.NewReceiver(t, "s")
	newWebhook(t, st, rcv.URL, "s")

	ok(t, api(st, "trigger", "sync_start", "--connector", "brisk_otter", "--sync-id", "b4703f73-6315-4e22-8d7a-3bfb18b2fed2")...)
	ok(t, api(st, "trigger", "sync_start", "--sync-id", "b4703f73-6315-4e22-8d7a-3bfb18b2fed2")...)
	ctx := await(t)
	reqs := rcv.AwaitRequests(ctx, 2)
	bodies := map[string]bool{}
	for _, r := range reqs {
		b := string(r.Body)
		bodies[b[strings.Index(b, `"connector_type"`):]] = true
	}
	for _, want := range []string{
		`"connector_type":"hubspot","connector_id":"brisk_otter","connector_name":"hubspot_staging","sync_id":"b4703f73-6315-4e22-8d7a-3bfb18b2fed2","destination_group_id":"elegant_canyon"}`,
		`"connector_type":"google_cloud_postgresql","connector_id":"assimilate_seem","connector_name":"ftar_pg","sync_id":"b4703f73-6315-4e22-8d7a-3bfb18b2fed2","destination_group_id":"inappropriate_implode"}`,
	} {
		if !bodies[want] {
			t.Errorf("no delivery ends with %s; got %v", want, bodies)
		}
	}
	r := cli(t, api(st, "trigger", "sync_start", "--connector", "brisk_otter", "--group", "inappropriate_implode")...)
	if r.code != exitFailure || !strings.Contains(r.stderr, "Field 'group_id' is 'inappropriate_implode' but connection 'brisk_otter' is registered with 'elegant_canyon'") {
		t.Errorf("contradicting --group: want exit 1 naming group_id\n%s", r)
	}
}
