package testkit_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/standin-dev/standin/testkit"
)

// TestFailTwiceThenSucceed walks Fivetran's retry schedule end to end: a
// receiver that fails twice gets three signed, byte-identical requests at
// +0, +6 min and +27 min 36 s emulated (3600x faster in real time).
func TestFailTwiceThenSucceed(t *testing.T) {
	t.Parallel()
	const scale = 3600
	sd := testkit.Start(t, testkit.Config{TimeScale: scale})
	rcv := testkit.NewReceiver(t, "s3cret")
	rcv.FailFirst(2, 503)

	wh := sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL + "/hook", Events: []string{"sync_end"}, Secret: "s3cret"})
	if wh.Secret != "******" {
		t.Errorf("secret in response = %q, want ******", wh.Secret)
	}
	emitted := sd.Emit(testkit.Event{Event: "sync_end", ConnectorID: "assimilate_seem", GroupID: "inappropriate_implode", Status: "FAILURE", Reason: "boom"})
	if len(emitted.Deliveries) != 1 || emitted.Deliveries[0].WebhookID != wh.ID {
		t.Fatalf("deliveries = %+v, want one to %s", emitted.Deliveries, wh.ID)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, attempts := sd.AwaitDelivery(ctx, emitted.Deliveries[0].ID)
	if d.State != testkit.StateSucceeded {
		t.Fatalf("state = %s, want succeeded", d.State)
	}
	reqs := rcv.Requests()
	if len(reqs) != 3 || len(attempts) != 3 {
		t.Fatalf("receiver got %d requests, store has %d attempts; want 3 and 3", len(reqs), len(attempts))
	}

	wantDelay := []time.Duration{0, 6 * time.Minute, 27*time.Minute + 36*time.Second}
	wantStatus := []int{503, 503, 200}
	for i, a := range attempts {
		if a.Number != i+1 || a.Status != wantStatus[i] || a.Succeeded != (i == 2) {
			t.Errorf("attempt %d: number %d status %d succeeded %v; want %d %d %v", i, a.Number, a.Status, a.Succeeded, i+1, wantStatus[i], i == 2)
		}
		if a.EmulatedDelay.Round(time.Second) != wantDelay[i] {
			t.Errorf("attempt %d: emulated delay %v, want %v", i+1, a.EmulatedDelay, wantDelay[i])
		}
		// Never early: each attempt starts at or after its scheduled real time.
		real := wantDelay[i] / scale
		if got := a.StartedAt.Sub(attempts[0].StartedAt); got < real-5*time.Millisecond {
			t.Errorf("attempt %d started %v after the first, before its scheduled %v", i+1, got, real)
		}
	}

	for i, r := range reqs {
		if r.Method != "POST" || r.Path != "/hook" {
			t.Errorf("request %d: %s %s", i, r.Method, r.Path)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("request %d: Content-Type %q", i, ct)
		}
		mac := hmac.New(sha256.New, []byte("s3cret"))
		mac.Write(r.Body)
		want := strings.ToUpper(hex.EncodeToString(mac.Sum(nil)))
		if got := r.Header.Get("X-Fivetran-Signature-256"); got != want {
			t.Errorf("request %d: signature %q, want %q", i, got, want)
		}
		if r.SignatureErr != nil {
			t.Errorf("request %d: receiver verification: %v", i, r.SignatureErr)
		}
		if !bytes.Equal(r.Body, reqs[0].Body) {
			t.Errorf("request %d body differs from the first:\n%s\n%s", i, r.Body, reqs[0].Body)
		}
	}

	var body map[string]any
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["event"] != "sync_end" || body["connector_id"] != "assimilate_seem" || body["destination_group_id"] != "inappropriate_implode" {
		t.Errorf("body = %s", reqs[0].Body)
	}
	if data, _ := body["data"].(map[string]any); data["status"] != "FAILURE" || data["reason"] != "boom" {
		t.Errorf("data = %v, want status FAILURE reason boom", body["data"])
	}
	if !strings.HasPrefix(string(reqs[0].Body), `{"event":"sync_end","created":"`) {
		t.Errorf("body does not start with Fivetran's key order: %s", reqs[0].Body)
	}
}

// TestRetriesExhausted runs the whole 24-hour schedule: six attempts, then
// the delivery is failed.
func TestRetriesExhausted(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t, testkit.Config{TimeScale: 1e6})
	rcv := testkit.NewReceiver(t, "")
	rcv.Default = testkit.Response{Status: 500, Body: "nope"}
	sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_start"}})
	emitted := sd.Emit(testkit.Event{Event: "sync_start"})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, attempts := sd.AwaitDelivery(ctx, emitted.Deliveries[0].ID)
	if d.State != testkit.StateFailed || len(attempts) != 6 {
		t.Fatalf("state %s after %d attempts; want failed after 6", d.State, len(attempts))
	}
	want := []string{"0s", "6m0s", "27m36s", "1h45m22s", "6h25m18s", "23h13m"}
	for i, a := range attempts {
		if got := a.EmulatedDelay.Round(time.Second).String(); !strings.HasPrefix(got, want[i]) {
			t.Errorf("attempt %d at +%s, want +%s", i+1, got, want[i])
		}
		if string(a.ResponseExcerpt) != "nope" {
			t.Errorf("attempt %d excerpt %q", i+1, a.ResponseExcerpt)
		}
	}
}
