package testkit_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/standin-dev/standin/testkit"
)

// fivetranSchedule is every attempt's emulated delay on Fivetran's schedule:
// the first attempt and five retries inside 24 hours.
var fivetranSchedule = []time.Duration{
	0,
	6 * time.Minute,
	27*time.Minute + 36*time.Second,
	1*time.Hour + 45*time.Minute + 21600*time.Millisecond,
	6*time.Hour + 25*time.Minute + 17760*time.Millisecond,
	23*time.Hour + 13*time.Minute + 3936*time.Millisecond,
}

// TestFullFivetranSchedule walks the whole 24-hour schedule at 1e6 and
// checks every attempt's stored emulated delay exactly, through the store
// and through the API, then redelivers the failed delivery by hand and
// checks that the redelivery is recorded as manual. It logs the real time
// the walk took (tests do not assert wall-clock speed).
func TestFullFivetranSchedule(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t, testkit.Config{TimeScale: 1e6})
	rcv := testkit.NewReceiver(t, "s3cret")
	rcv.Default = testkit.Response{Status: http.StatusBadGateway, Body: "down"}
	sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_end"}, Secret: "s3cret"})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	id := sd.Emit(testkit.Event{Event: "sync_end", Status: "FAILURE"}).Deliveries[0].ID
	d, attempts := sd.AwaitDelivery(ctx, id)
	t.Logf("24 emulated hours, %d attempts, in %v of real time", len(attempts), time.Since(start))

	if d.State != testkit.StateFailed || len(attempts) != len(fivetranSchedule) {
		t.Fatalf("state %s after %d attempts, want failed after %d", d.State, len(attempts), len(fivetranSchedule))
	}
	if d.NextAttemptAt != nil || d.FinishedAt == nil {
		t.Errorf("failed delivery: next attempt %v, finished %v", d.NextAttemptAt, d.FinishedAt)
	}
	for i, a := range attempts {
		if a.EmulatedDelay != fivetranSchedule[i] || a.Manual || a.Status != http.StatusBadGateway || a.Number != i+1 {
			t.Errorf("attempt %d: +%v manual=%v HTTP %d; want +%v scheduled HTTP 502",
				a.Number, a.EmulatedDelay, a.Manual, a.Status, fivetranSchedule[i])
		}
		// Never early: each attempt starts at or after its scheduled real time.
		if real := fivetranSchedule[i] / 1e6; a.StartedAt.Sub(attempts[0].StartedAt) < real-time.Millisecond {
			t.Errorf("attempt %d started %v after the first, before its scheduled %v", i+1, a.StartedAt.Sub(attempts[0].StartedAt), real)
		}
	}
	reqs := rcv.Requests()
	if len(reqs) != len(fivetranSchedule) {
		t.Fatalf("receiver got %d requests, want %d", len(reqs), len(fivetranSchedule))
	}
	for i, r := range reqs {
		if r.SignatureErr != nil {
			t.Errorf("request %d: %v", i+1, r.SignatureErr)
		}
	}

	// The API shows the same delays, and emulated times counted from the
	// first attempt.
	detail := sd.GetDelivery(id)
	if len(detail.Attempts) != len(fivetranSchedule) {
		t.Fatalf("API lists %d attempts", len(detail.Attempts))
	}
	first := detail.Attempts[0].StartedAt
	for i, a := range detail.Attempts {
		if a.EmulatedDelay != fivetranSchedule[i] {
			t.Errorf("API attempt %d: +%v, want +%v", i+1, a.EmulatedDelay, fivetranSchedule[i])
		}
		if want := first.Add(fivetranSchedule[i]); !a.EmulatedAt.Equal(want.Truncate(time.Millisecond)) {
			t.Errorf("API attempt %d: emulated at %v, want %v", i+1, a.EmulatedAt, want)
		}
		if a.ResponseExcerpt != "down" || a.Error != "receiver answered HTTP 502" {
			t.Errorf("API attempt %d: excerpt %q error %q", i+1, a.ResponseExcerpt, a.Error)
		}
	}

	// A redelivery, once the receiver is fixed: a manual attempt, now, at
	// the emulated time since the first attempt.
	rcv.Respond(testkit.Response{Status: http.StatusOK})
	if got := sd.Redeliver(id); got.ID != id || got.State != testkit.StateFailed {
		t.Errorf("redeliver answered %+v", got)
	}
	d, attempts = sd.AwaitAttempts(ctx, id, len(fivetranSchedule)+1)
	manual := attempts[len(fivetranSchedule)]
	if !manual.Manual || manual.Status != http.StatusOK || !manual.Succeeded || d.State != testkit.StateSucceeded {
		t.Errorf("redelivery: manual=%v HTTP %d succeeded=%v, delivery %s; want a successful manual attempt", manual.Manual, manual.Status, manual.Succeeded, d.State)
	}
	if manual.EmulatedDelay < fivetranSchedule[len(fivetranSchedule)-1] {
		t.Errorf("redelivery at +%v emulated, before the last scheduled attempt", manual.EmulatedDelay)
	}
	if last := sd.GetDelivery(id).Attempts[len(fivetranSchedule)]; !last.Manual || last.Status != http.StatusOK {
		t.Errorf("API shows the redelivery as %+v", last)
	}
}

// TestRedeliveryKeepsSchedule redelivers a retrying delivery by hand: the
// manual attempt does not count as a retry, so the scheduled attempts that
// follow keep their places on Fivetran's schedule.
func TestRedeliveryKeepsSchedule(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t, testkit.Config{TimeScale: 720}) // the first retry 0.5 s after the first attempt
	rcv := testkit.NewReceiver(t, "s3cret")
	rcv.Default = testkit.Response{Status: http.StatusServiceUnavailable}
	sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_end"}, Secret: "s3cret"})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := sd.Emit(testkit.Event{Event: "sync_end"}).Deliveries[0].ID
	sd.AwaitAttempts(ctx, id, 1)
	sd.Redeliver(id)
	// The first attempt, the redelivery and two retries, in whatever order
	// the redelivery fell.
	_, attempts := sd.AwaitAttempts(ctx, id, 4)
	var scheduled []time.Duration
	manual := 0
	for _, a := range attempts[:4] {
		if a.Manual {
			manual++
			continue
		}
		scheduled = append(scheduled, a.EmulatedDelay)
	}
	if manual != 1 || len(scheduled) != 3 {
		t.Fatalf("%d manual and %d scheduled attempts, want 1 and 3", manual, len(scheduled))
	}
	for i, got := range scheduled {
		if got != fivetranSchedule[i] {
			t.Errorf("scheduled attempt %d at +%v emulated, want +%v", i+1, got, fivetranSchedule[i])
		}
	}
	detail := sd.GetDelivery(id)
	manual = 0
	for _, a := range detail.Attempts {
		if a.Manual {
			manual++
		}
	}
	if manual != 1 || detail.Delivery.Attempts < 4 || detail.Delivery.Attempts != len(detail.Attempts) {
		t.Errorf("delivery counts %d attempts, lists %d, %d manual; want at least 4, 1 manual", detail.Delivery.Attempts, len(detail.Attempts), manual)
	}
}

// TestPortableSchedule walks Portable's schedule: eight attempts, the last
// at the 24-hour limit, and only a 200 counts as success (a 204 is
// retried).
func TestPortableSchedule(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t, testkit.Config{TimeScale: 1e6})
	rcv := testkit.NewReceiver(t, "")
	rcv.Default = testkit.Response{Status: http.StatusNoContent}
	sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_end"}, Profile: "portable"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, attempts := sd.AwaitDelivery(ctx, sd.Emit(testkit.Event{Event: "sync_end"}).Deliveries[0].ID)
	want := []time.Duration{0, 30 * time.Second, 150 * time.Second, 630 * time.Second, 2550 * time.Second, 10230 * time.Second, 40950 * time.Second, 24 * time.Hour}
	if d.State != testkit.StateFailed || len(attempts) != len(want) {
		t.Fatalf("state %s after %d attempts, want failed after %d", d.State, len(attempts), len(want))
	}
	for i, a := range attempts {
		if a.EmulatedDelay != want[i] {
			t.Errorf("attempt %d at +%v, want +%v", i+1, a.EmulatedDelay, want[i])
		}
	}
}
