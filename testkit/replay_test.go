package testkit_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/testkit"
)

// TestReplay replays an export against fresh receivers: the recorded
// bodies and signatures byte for byte, and with a new secret signatures that verify with it alone.
func TestReplay(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t, testkit.Config{ManualClock: true})
	orig := testkit.NewReceiver(t, "old")
	orig.FailFirst(1, http.StatusServiceUnavailable)
	sd.CreateWebhook(testkit.WebhookParams{URL: orig.URL, Events: []string{"sync_start", "sync_end"}, Secret: "old"})
	sd.Emit(testkit.Event{Event: "sync_start"})
	sd.Emit(testkit.Event{Event: "sync_end", Status: "FAILURE"})
	sd.Advance(time.Hour)
	want := orig.Requests()
	if len(want) != 3 {
		t.Fatalf("the receiver got %d requests, want 3 (one refused, its retry, the second event)", len(want))
	}
	var exp bytes.Buffer
	sd.Export(&exp, testkit.ExportFilter{})

	same := testkit.NewReceiver(t, "old")
	same.FailFirst(1, http.StatusTeapot)
	got := testkit.Replay(t, exp.Bytes(), same.URL+"/again", testkit.ReplayOptions{})
	if len(got) != len(want) {
		t.Fatalf("replayed %d requests, want %d", len(got), len(want))
	}
	if !got[0].Refused || got[0].Status != http.StatusTeapot || got[1].Refused || got[1].Status != http.StatusOK {
		t.Errorf("results: %+v", got)
	}
	if n := len(same.Requests()); n != len(want) {
		t.Fatalf("the fresh receiver got %d requests, want %d", n, len(want))
	}
	// Concurrent first attempts reach a receiver in either order: compare
	// what was sent as a multiset of (signature, body).
	sent := map[string]int{}
	for _, r := range want {
		sent[r.Header.Get(delivery.HeaderFivetranSignature)+" "+string(r.Body)]++
	}
	for i, r := range same.Requests() {
		sig := r.Header.Get(delivery.HeaderFivetranSignature)
		key := sig + " " + string(r.Body)
		if sent[key] == 0 || r.SignatureErr != nil || r.Path != "/again" {
			t.Errorf("request %d: %s %q signed %s (%v) was not sent originally, or not as often", i, r.Path, r.Body, sig, r.SignatureErr)
		}
		sent[key]--
		if !bytes.Equal(got[i].Body, r.Body) || got[i].Header.Get(delivery.HeaderFivetranSignature) != sig || got[i].Event == "" || got[i].DeliveryID == "" || got[i].Attempt == 0 {
			t.Errorf("result %d does not describe what was sent: %+v", i, got[i])
		}
	}

	rotated := testkit.NewReceiver(t, "new")
	got = testkit.Replay(t, exp.Bytes(), rotated.URL, testkit.ReplayOptions{Secret: "new"})
	reqs := rotated.Requests()
	if len(got) != len(want) || len(reqs) != len(want) {
		t.Fatalf("re-signed replay: %d results, %d received, want %d", len(got), len(reqs), len(want))
	}
	for i, r := range reqs {
		if !bytes.Equal(r.Body, got[i].Body) || r.SignatureErr != nil || got[i].Refused {
			t.Errorf("re-signed request %d: body %q (sent %q), signature %v, result %+v", i, r.Body, got[i].Body, r.SignatureErr, got[i])
		}
		for _, w := range want {
			if r.Header.Get(delivery.HeaderFivetranSignature) == w.Header.Get(delivery.HeaderFivetranSignature) {
				t.Errorf("re-signed request %d kept an old signature", i)
			}
		}
	}
}
