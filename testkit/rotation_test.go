package testkit_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
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
	wh := sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_start", "sync_end"}, Secret: "old"})
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

// TestSecretRotationWindow is standin's rotation window: for its duration
// a Standard Webhooks delivery carries both signatures and a Fivetran one
// is signed with the secret sign_with names; once it has closed, only the
// new secret signs. Bad rotation fields are refused and change nothing.
func TestSecretRotationWindow(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t, testkit.Config{ManualClock: true})
	ctx := context.Background()
	std := delivery.Signing{Scheme: delivery.SchemeStandard}
	var fivetran delivery.Signing
	rcv := testkit.NewReceiver(t, "")
	rcv.Default = testkit.Response{Status: http.StatusInternalServerError}
	stdWH := sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_start"}, Secret: "whsec_b2xk", Signing: &std})
	ftWH := sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_end"}, Secret: "old"})
	sd.Emit(testkit.Event{Event: "sync_start"})
	sd.Emit(testkit.Event{Event: "sync_end"})
	sd.Advance(0)

	for _, bad := range []client.WebhookPatch{
		{SecretRotationWindow: "1h"}, // without a secret
		{Secret: ptr("x"), SecretRotationWindow: "soon"},
		{Secret: ptr("x"), SecretRotationWindow: "1h", SecretSignWith: "both"},
		{Secret: ptr("x"), SecretSignWith: "old"}, // without a window
	} {
		_, err := sd.Client().UpdateWebhook(ctx, ftWH.ID, bad)
		var apiErr *client.Error
		if !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusBadRequest || apiErr.Code != "InvalidInput" {
			t.Errorf("PATCH %+v: %v, want 400 InvalidInput", bad, err)
		}
	}
	resp, err := sd.Client().UpdateWebhook(ctx, stdWH.ID, client.WebhookPatch{Secret: ptr("whsec_bmV3"), SecretRotationWindow: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.Data.SecretRotation; r == nil || r.SignWith != "new" || !r.Until.Equal(sd.Now().Add(time.Hour)) {
		t.Errorf("secret_rotation %+v, want until %v, sign_with new", r, sd.Now().Add(time.Hour))
	}
	if _, err := sd.Client().UpdateWebhook(ctx, ftWH.ID, client.WebhookPatch{Secret: ptr("new"), SecretRotationWindow: "1h", SecretSignWith: "old"}); err != nil {
		t.Fatal(err)
	}

	// Verified at the time each was sent, for Standard Webhooks' tolerance.
	verifies := func(s delivery.Signing, r testkit.Request, secret string) bool {
		at := time.Now()
		if ts, err := strconv.ParseInt(r.Header.Get(delivery.HeaderWebhookTimestamp), 10, 64); err == nil {
			at = time.Unix(ts, 0)
		}
		return s.Verify(secret, r.Header, r.Body, at) == nil
	}
	n := len(rcv.Requests())
	sd.Advance(6 * time.Minute) // first retries, inside the window
	inside := rcv.Requests()[n:]
	sd.Advance(time.Hour) // the second retries (+27m36s) are inside too; the window closes at +1h
	sd.Advance(2 * time.Hour)
	after := rcv.Requests()[n+len(inside):]
	if len(inside) != 2 || len(after) < 2 {
		t.Fatalf("%d requests in the window, %d after; want 2 and at least 2", len(inside), len(after))
	}
	last := after[len(after)-2:] // the third retries, at +1h45m21.6s: after the window
	for _, r := range inside {
		if r.Header.Get(delivery.HeaderWebhookSignature) != "" {
			if !verifies(std, r, "whsec_b2xk") || !verifies(std, r, "whsec_bmV3") || len(strings.Fields(r.Header.Get(delivery.HeaderWebhookSignature))) != 2 {
				t.Errorf("standard, in the window: %q; want the new and the old signature", r.Header.Get(delivery.HeaderWebhookSignature))
			}
		} else if !verifies(fivetran, r, "old") {
			t.Errorf("fivetran, in the window with sign_with old: not signed with the old secret")
		}
	}
	for _, r := range last {
		if r.Header.Get(delivery.HeaderWebhookSignature) != "" {
			if verifies(std, r, "whsec_b2xk") || !verifies(std, r, "whsec_bmV3") {
				t.Errorf("standard, after the window: %q; want the new signature only", r.Header.Get(delivery.HeaderWebhookSignature))
			}
		} else if verifies(fivetran, r, "old") || !verifies(fivetran, r, "new") {
			t.Errorf("fivetran, after the window: not signed with the new secret alone")
		}
	}
}

func ptr[T any](v T) *T { return &v }
