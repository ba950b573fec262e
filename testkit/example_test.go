package testkit_test

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/standin-dev/standin/testkit"
)

// In a test, pass t to Start and NewReceiver. An Example has no *testing.T,
// so these use a Harness, whose Close runs what t.Cleanup would.

// ExampleStart sends one signed sync_start to a recording receiver.
func ExampleStart() {
	h := testkit.NewHarness() // in a test: use t
	defer h.Close()

	sd := testkit.Start(h)
	rcv := testkit.NewReceiver(h, "my_secret")
	sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL + "/hook", Events: []string{"sync_start"}, Secret: "my_secret"})
	emitted := sd.Emit(testkit.Event{Event: "sync_start", ConnectorID: "calm_fox"})

	ctx := h.Context() // in a test: t.Context()
	d, _ := sd.AwaitDelivery(ctx, emitted.Deliveries[0].ID)
	req := rcv.Requests()[0]
	var body struct {
		Event       string `json:"event"`
		ConnectorID string `json:"connector_id"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		panic(err)
	}
	fmt.Println(d.State, req.Method, req.Path, body.Event, body.ConnectorID)
	fmt.Println("X-Fivetran-Signature-256 verified:", req.SignatureErr == nil)
	// Output:
	// succeeded POST /hook sync_start calm_fox
	// X-Fivetran-Signature-256 verified: true
}

// Example_retries walks Fivetran's retry schedule at one emulated hour per
// real second: a receiver that fails twice gets three signed, identical
// requests, at +0, +6 min and +27 min 36 s emulated.
func Example_retries() {
	h := testkit.NewHarness() // in a test: use t
	defer h.Close()

	sd := testkit.Start(h, testkit.Config{TimeScale: 3600})
	rcv := testkit.NewReceiver(h, "s3cret")
	rcv.FailFirst(2, http.StatusServiceUnavailable)
	sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_end"}, Secret: "s3cret"})
	emitted := sd.Emit(testkit.Event{Event: "sync_end", Status: "FAILURE", Reason: "disk full"})

	ctx := h.Context() // in a test: t.Context()
	d, attempts := sd.AwaitDelivery(ctx, emitted.Deliveries[0].ID)
	for i, a := range attempts {
		req := rcv.Requests()[i]
		fmt.Printf("attempt %d at +%v: HTTP %d, signature verified: %v\n",
			a.Number, a.EmulatedDelay, a.Status, req.SignatureErr == nil)
	}
	fmt.Println(d.State)
	// Output:
	// attempt 1 at +0s: HTTP 503, signature verified: true
	// attempt 2 at +6m0s: HTTP 503, signature verified: true
	// attempt 3 at +27m36s: HTTP 200, signature verified: true
	// succeeded
}

// ExampleStandin_Redeliver lets a delivery fail for 24 emulated hours (in
// well under a second of real time), then redelivers it by hand once the
// receiver is fixed. The redelivery is recorded as a manual attempt.
func ExampleStandin_Redeliver() {
	h := testkit.NewHarness() // in a test: use t
	defer h.Close()

	sd := testkit.Start(h, testkit.Config{TimeScale: 1e6})
	rcv := testkit.NewReceiver(h, "")
	rcv.Default = testkit.Response{Status: http.StatusInternalServerError}
	sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_end"}})
	id := sd.Emit(testkit.Event{Event: "sync_end"}).Deliveries[0].ID

	ctx := h.Context() // in a test: t.Context()
	d, _ := sd.AwaitDelivery(ctx, id)
	fmt.Println(d.State, "after", d.Attempts, "attempts")

	rcv.Respond(testkit.Response{Status: http.StatusOK})
	sd.Redeliver(id)
	d, attempts := sd.AwaitAttempts(ctx, id, 7)
	last := attempts[len(attempts)-1]
	fmt.Printf("%s: attempt %d, manual %v, HTTP %d\n", d.State, last.Number, last.Manual, last.Status)
	// Output:
	// failed after 6 attempts
	// succeeded: attempt 7, manual true, HTTP 200
}

// ExampleStandin_EmitMany load-tests a receiver: 200 sync_end events in one
// call (standin takes up to 1000 a request; EmitMany splits more), each
// with its own sync_id, all delivered and signed.
func ExampleStandin_EmitMany() {
	h := testkit.NewHarness() // in a test: use t
	defer h.Close()

	sd := testkit.Start(h)
	rcv := testkit.NewReceiver(h, "s3cret")
	sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_end"}, Secret: "s3cret"})
	events := make([]testkit.Event, 200)
	for i := range events {
		events[i] = testkit.Event{Event: "sync_end", Status: "SUCCESSFUL"}
	}
	emitted := sd.EmitMany(events...)

	ctx := h.Context() // in a test: t.Context()
	reqs := rcv.AwaitRequests(ctx, len(emitted))
	syncIDs, verified := map[string]bool{}, 0
	for _, req := range reqs {
		var body struct {
			SyncID string `json:"sync_id"`
		}
		if err := json.Unmarshal(req.Body, &body); err != nil {
			panic(err)
		}
		syncIDs[body.SyncID] = true
		if req.SignatureErr == nil {
			verified++
		}
	}
	fmt.Printf("%d events emitted, %d requests received, %d signatures verified, %d distinct sync_ids\n",
		len(emitted), len(reqs), verified, len(syncIDs))
	// Output:
	// 200 events emitted, 200 requests received, 200 signatures verified, 200 distinct sync_ids
}
