package testkit_test

// This file is the README's testkit example, copied there verbatim (its
// imports and the test function) between the testkit-example markers;
// TestREADMEExample fails when the two differ. Edit it here, then run
// go test ./testkit -run TestREADMEExample -update-readme.

import (
	"net/http"
	"testing"
	"time"

	"github.com/standin-dev/standin/testkit"
)

func TestMyReceiverRetries(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t, testkit.Config{TimeScale: 3600}) // an emulated hour per second
	rcv := testkit.NewReceiver(t, "s3cret")                 // or point a webhook at your own handler
	rcv.FailFirst(2, http.StatusServiceUnavailable)
	sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_end"}, Secret: "s3cret"})
	emitted := sd.Emit(testkit.Event{Event: "sync_end", Status: "FAILURE"})

	// Waits on the test's context (at most testkit.AwaitTimeout), failing the test
	// with where the delivery stands if it does not finish.
	d, attempts := sd.AwaitDelivery(t.Context(), emitted.Deliveries[0].ID)
	if d.State != testkit.StateSucceeded || len(attempts) != 3 {
		t.Fatalf("delivery %s after %d attempts, want succeeded after 3", d.State, len(attempts))
	}
	for i, want := range []time.Duration{0, 6 * time.Minute, 27*time.Minute + 36*time.Second} {
		if a := attempts[i]; a.EmulatedDelay != want || a.Status != []int{503, 503, 200}[i] {
			t.Errorf("attempt %d: HTTP %d at +%v, want +%v", a.Number, a.Status, a.EmulatedDelay, want)
		}
	}
	for _, req := range rcv.Requests() {
		if req.SignatureErr != nil {
			t.Errorf("signature: %v", req.SignatureErr)
		}
	}
}
