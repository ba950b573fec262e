package testkit_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/server/client"
	"github.com/standin-dev/standin/testkit"
)

// TestSecretRotation changes a webhook's secret (PATCH /v1/webhooks/{id})
// while two deliveries are retrying: as on Fivetran, the next attempt of
// every delivery, the old events' retries included, is signed with the new
// secret, and no attempt after the change carries the old signature.
func TestSecretRotation(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t, testkit.Config{ManualClock: true})
	rcv := testkit.NewReceiver(t, "")
	rcv.Default = testkit.Response{Status: http.StatusInternalServerError}
	wh := sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL(), Events: []string{"sync_start", "sync_end"}, Secret: "old"})
	sd.Emit(testkit.Event{Event: "sync_start"})
	sd.Emit(testkit.Event{Event: "sync_end"})
	sd.Advance(0)
	before := rcv.Requests()
	if len(before) != 2 {
		t.Fatalf("got %d first attempts, want 2", len(before))
	}
	for _, r := range before {
		if err := (delivery.Signing{}).Verify("old", r.Header, r.Body, time.Now()); err != nil {
			t.Fatalf("first attempt not signed with the old secret: %v", err)
		}
	}

	secret := "new"
	if _, err := sd.Client().UpdateWebhook(context.Background(), wh.ID, client.WebhookPatch{Secret: &secret}); err != nil {
		t.Fatal(err)
	}
	sd.Advance(6 * time.Minute)
	after := rcv.Requests()[len(before):]
	if len(after) != 2 {
		t.Fatalf("got %d retries after 6m, want 2", len(after))
	}
	for _, r := range after {
		if err := (delivery.Signing{}).Verify("new", r.Header, r.Body, time.Now()); err != nil {
			t.Errorf("retry after the rotation not signed with the new secret: %v", err)
		}
		if err := (delivery.Signing{}).Verify("old", r.Header, r.Body, time.Now()); err == nil {
			t.Errorf("retry after the rotation still verifies with the old secret")
		}
	}
}
