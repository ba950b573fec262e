package testkit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/standin-dev/standin/testkit"
)

// TestEmitMany emits 1010 events, in two batches, to one webhook and awaits
// every delivery: the answer keeps the order of the events across the
// batch boundary, and each event gets its own defaults (its own sync_id).
func TestEmitMany(t *testing.T) {
	t.Parallel()
	const n = 1010
	sd := testkit.Start(t)
	rcv := testkit.NewReceiver(t, "s3cret")
	wh := sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_end"}, Secret: "s3cret"})

	events := make([]testkit.Event, n)
	for i := range events {
		events[i] = testkit.Event{Event: "sync_end", ConnectorID: fmt.Sprintf("conn_%d", i)}
	}
	emitted := sd.EmitMany(events...)
	if len(emitted) != n {
		t.Fatalf("emitted %d events, want %d", len(emitted), n)
	}
	eventIDs := map[string]bool{}
	for i, em := range emitted {
		if em.Event != "sync_end" || len(em.Deliveries) != 1 || em.Deliveries[0].WebhookID != wh.ID {
			t.Fatalf("emitted[%d] = %+v, want one delivery of sync_end to %s", i, em, wh.ID)
		}
		eventIDs[em.ID] = true
	}
	if len(eventIDs) != n {
		t.Errorf("%d distinct event ids, want %d", len(eventIDs), n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	reqs := rcv.AwaitRequests(ctx, n)
	connectors, syncIDs := map[string]bool{}, map[string]bool{}
	for i, r := range reqs {
		var body struct {
			ConnectorID string `json:"connector_id"`
			SyncID      string `json:"sync_id"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		if r.SignatureErr != nil {
			t.Errorf("request %d: %v", i, r.SignatureErr)
		}
		connectors[body.ConnectorID], syncIDs[body.SyncID] = true, true
	}
	if len(reqs) != n || len(connectors) != n || len(syncIDs) != n {
		t.Errorf("%d requests with %d distinct connector ids and %d distinct sync ids, want %d of each",
			len(reqs), len(connectors), len(syncIDs), n)
	}

	// In order: each answer's delivery carries its own event, on both
	// sides of the batch boundary.
	for _, i := range []int{0, 999, 1000, n - 1} {
		id := emitted[i].Deliveries[0].ID
		sd.AwaitDelivery(ctx, id, testkit.StateSucceeded)
		if body := sd.GetDelivery(id).RequestBody; !bytes.Contains(body, fmt.Appendf(nil, `"connector_id":"conn_%d"`, i)) {
			t.Errorf("emitted[%d] delivered %s", i, body)
		}
	}

	// Every delivery succeeds: await those not succeeded yet.
	var list []testkit.Delivery
	for f := (testkit.DeliveryFilter{WebhookID: wh.ID, Limit: 1000}); ; {
		page := sd.ListDeliveries(f)
		list = append(list, page.Items...)
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	if len(list) != n {
		t.Fatalf("the delivery log has %d deliveries to the webhook, want %d", len(list), n)
	}
	for _, d := range list {
		if d.State == testkit.StateSucceeded {
			continue
		}
		sd.AwaitDelivery(ctx, d.ID, testkit.StateSucceeded)
	}
}

// TestEmitManyRefused checks that a refused batch fails the test naming
// the batch and the index in it, and that the batches before it stay
// emitted. A Harness stands in for the test, its Fatalf a panic.
func TestEmitManyRefused(t *testing.T) {
	t.Parallel()
	h := testkit.NewHarness()
	defer h.Close()
	sd := testkit.Start(h)
	if got := sd.EmitMany(); len(got) != 0 {
		t.Errorf("EmitMany() = %v, want none", got)
	}

	events := make([]testkit.Event, 1005)
	for i := range events {
		events[i] = testkit.Event{Event: "sync_start"}
	}
	events[1003].Event = "sync_ended"
	fatal := func() (r any) {
		defer func() { r = recover() }()
		sd.EmitMany(events...)
		return nil
	}()
	const want = "testkit: emit events[1000:1005]: InvalidInput: events[3]: Invalid event 'sync_ended'"
	if !strings.Contains(fmt.Sprint(fatal), want) {
		t.Errorf("EmitMany failed with %v, want %q", fatal, want)
	}
	page := sd.ListEvents(testkit.EventFilter{Event: "sync_start", Limit: 1000})
	if len(page.Items) != 1000 || page.NextCursor != "" {
		t.Errorf("%d sync_start events (more: %v), want the first batch's 1000", len(page.Items), page.NextCursor != "")
	}
}
