package testkit_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/testkit"
)

// TestFaults: WebhookParams.Faults and Event.Faults reach the wire, and
// each attempt's faults are the seeded choice for its delivery id and
// attempt number (delivery.Faults.Decide), so the same seed replays them.
func TestFaults(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	faults := delivery.Faults{Seed: 11, Duplicate: 0.5, BadSignature: 0.5}
	sd := testkit.Start(t)
	rcv := testkit.NewReceiver(t, "s")
	sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_end"}, Secret: "s", Faults: &faults})
	want, seen := 0, map[string]bool{}
	for range 12 {
		id := sd.Emit(testkit.Event{Event: "sync_end"}).Deliveries[0].ID
		_, attempts := sd.AwaitDelivery(ctx, id, delivery.DeliverySucceeded)
		decided := faults.Decide(id, 1)
		if got := attempts[0].Fault; got != delivery.FaultText(decided.Kinds()) {
			t.Errorf("delivery %s: attempt fault %q, the seed decides %q", id, got, delivery.FaultText(decided.Kinds()))
		}
		want += 1 + decided.Duplicates
		seen[attempts[0].Fault] = true
	}
	if len(seen) < 3 {
		t.Errorf("12 deliveries at p=0.5 show only the faults %v", seen)
	}
	reqs := rcv.AwaitRequests(ctx, want)
	bad := 0
	for _, r := range reqs {
		if r.SignatureErr != nil {
			bad++
		}
	}
	if len(reqs) != want || bad == 0 {
		t.Errorf("receiver got %d requests (want %d), %d with a bad signature", len(reqs), want, bad)
	}

	// An emit's faults replace the webhook's: an unknown field only.
	sd = testkit.Start(t)
	rcv = testkit.NewReceiver(t, "s")
	sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_start"}, Secret: "s",
		Faults: &delivery.Faults{DuplicateCount: 2}})
	ev := sd.Emit(testkit.Event{Event: "sync_start", Faults: &delivery.Faults{ExtraFields: 1}})
	_, attempts := sd.AwaitDelivery(ctx, ev.Deliveries[0].ID, delivery.DeliverySucceeded)
	reqs = rcv.Requests()
	if len(reqs) != 1 || reqs[0].SignatureErr != nil || !bytes.Contains(reqs[0].Body, []byte(`"`+delivery.UnknownFieldName+`":`)) {
		t.Fatalf("want one validly signed request with the unknown field, got %d: %+v", len(reqs), reqs)
	}
	if attempts[0].Fault != delivery.FaultExtraFields {
		t.Errorf("attempt fault %q", attempts[0].Fault)
	}
}
