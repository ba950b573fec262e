package testkit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/standin-dev/standin/testkit"
)

// TestDeliveryLogHelpers drives the delivery and event log through the
// typed helpers: list with filters, get with attempts, list and get events,
// redeliver a delivery that already succeeded.
func TestDeliveryLogHelpers(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t)
	rcv := testkit.NewReceiver(t, "s3cret")
	a := sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL + "/a", Events: []string{"sync_start", "sync_end"}, Secret: "s3cret"})
	b := sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL + "/b", Events: []string{"sync_end"}, Secret: "s3cret"})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	before := time.Now().Add(-time.Second)
	start := sd.Emit(testkit.Event{Event: "sync_start", ConnectorID: "calm_fox"})
	end := sd.Emit(testkit.Event{Event: "sync_end", ConnectorID: "calm_fox", Status: "FAILURE", Reason: "boom"})
	for _, ev := range []testkit.Emitted{start, end} {
		sd.AwaitEventDeliveries(ctx, ev.ID)
	}

	all := sd.ListDeliveries(testkit.DeliveryFilter{})
	if len(all.Items) != 3 || all.NextCursor != "" {
		t.Fatalf("all deliveries: %+v", all)
	}
	if got := sd.ListDeliveries(testkit.DeliveryFilter{WebhookID: b.ID}); len(got.Items) != 1 || got.Items[0].Event != "sync_end" {
		t.Errorf("webhook filter: %+v", got)
	}
	if got := sd.ListDeliveries(testkit.DeliveryFilter{Event: "sync_start", State: testkit.StateSucceeded}); len(got.Items) != 1 || got.Items[0].WebhookID != a.ID {
		t.Errorf("event and status filter: %+v", got)
	}
	if got := sd.ListDeliveries(testkit.DeliveryFilter{EventID: end.ID}); len(got.Items) != 2 {
		t.Errorf("event id filter: %+v", got)
	}
	if got := sd.ListDeliveries(testkit.DeliveryFilter{Since: before, Until: time.Now().Add(time.Second)}); len(got.Items) != 3 {
		t.Errorf("since/until around everything: %d items", len(got.Items))
	}
	if got := sd.ListDeliveries(testkit.DeliveryFilter{Until: before}); len(got.Items) != 0 {
		t.Errorf("until before everything: %+v", got)
	}
	p1 := sd.ListDeliveries(testkit.DeliveryFilter{Limit: 2})
	p2 := sd.ListDeliveries(testkit.DeliveryFilter{Limit: 2, Cursor: p1.NextCursor})
	if len(p1.Items) != 2 || p1.NextCursor == "" || len(p2.Items) != 1 || p2.Items[0].ID != all.Items[2].ID {
		t.Errorf("pages %+v / %+v", p1, p2)
	}

	// One delivery in detail: the event, the exact request, the attempt.
	id := start.Deliveries[0].ID
	detail := sd.GetDelivery(id)
	// The two events' deliveries may reach the receiver in either order.
	var req testkit.Request
	for _, r := range rcv.Requests() {
		if strings.Contains(string(r.Body), `"event":"sync_start"`) {
			req = r
		}
	}
	if detail.Delivery.ID != id || detail.Delivery.State != testkit.StateSucceeded || detail.Delivery.Attempts != 1 || detail.Delivery.FinishedAt == nil {
		t.Errorf("delivery %+v", detail.Delivery)
	}
	if detail.Event.ID != start.ID || detail.Event.Event != "sync_start" || !strings.Contains(string(detail.Event.Source), `"connector_id":"calm_fox"`) {
		t.Errorf("event %+v", detail.Event)
	}
	if !bytes.Equal(detail.RequestBody, req.Body) {
		t.Errorf("request body %s, receiver got %s", detail.RequestBody, req.Body)
	}
	if sig := detail.RequestHeaders.Get("X-Fivetran-Signature-256"); sig == "" || sig != req.Header.Get("X-Fivetran-Signature-256") {
		t.Errorf("request headers %v, receiver got signature %q", detail.RequestHeaders, req.Header.Get("X-Fivetran-Signature-256"))
	}
	if len(detail.Attempts) != 1 {
		t.Fatalf("attempts %+v", detail.Attempts)
	}
	at := detail.Attempts[0]
	if at.Number != 1 || at.Manual || at.Status != 200 || !at.Succeeded || at.URL != rcv.URL+"/a" || at.EmulatedDelay != 0 ||
		!at.EmulatedAt.Equal(at.StartedAt) || at.Latency <= 0 || at.RequestHeaders.Get("Content-Type") != "application/json" {
		t.Errorf("attempt %+v", at)
	}

	// The event log.
	events := sd.ListEvents(testkit.EventFilter{})
	if len(events.Items) != 2 || events.Items[0].ID != end.ID || events.Items[1].ID != start.ID {
		t.Errorf("events newest first: %+v", events)
	}
	if got := sd.ListEvents(testkit.EventFilter{Event: "sync_end", Since: before}); len(got.Items) != 1 || got.Items[0].ID != end.ID {
		t.Errorf("event filter: %+v", got)
	}
	if got := sd.ListEvents(testkit.EventFilter{Limit: 1}); len(got.Items) != 1 || got.NextCursor == "" {
		t.Errorf("event page: %+v", got)
	} else if next := sd.ListEvents(testkit.EventFilter{Limit: 1, Cursor: got.NextCursor}); len(next.Items) != 1 || next.Items[0].ID != start.ID {
		t.Errorf("event page 2: %+v", next)
	}
	ev := sd.GetEvent(end.ID)
	if ev.Event.ID != end.ID || len(ev.Deliveries) != 2 || ev.Deliveries[0].WebhookID != a.ID || ev.Deliveries[1].WebhookID != b.ID {
		t.Errorf("event detail %+v", ev)
	}
	for _, d := range ev.Deliveries {
		if d.State != testkit.StateSucceeded {
			t.Errorf("event delivery %s is %s", d.ID, d.State)
		}
	}

	// A redelivery of a delivery that already succeeded: one more request,
	// the same body, recorded as manual.
	if got := sd.Redeliver(id); got.ID != id || got.State != testkit.StateSucceeded {
		t.Errorf("redeliver answered %+v", got)
	}
	d, attempts := sd.AwaitAttempts(ctx, id, 2)
	if d.State != testkit.StateSucceeded || !attempts[1].Manual || attempts[1].Status != 200 {
		t.Errorf("after redelivery: %s, attempt %+v", d.State, attempts[1])
	}
	reqs := rcv.AwaitRequests(ctx, 4)
	if string(reqs[3].Body) != string(req.Body) || reqs[3].SignatureErr != nil {
		t.Errorf("redelivered request %s (signature: %v), want the original body", reqs[3].Body, reqs[3].SignatureErr)
	}

	// Refusals come back as *APIError from Do.
	var apiErr *testkit.APIError
	err := sd.Do(ctx, http.MethodPost, "/standin/v1/deliveries/"+id+"/cancel", struct{}{}, nil)
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusConflict || apiErr.Code != "Conflict" {
		t.Errorf("cancel a succeeded delivery: %v", err)
	}
	err = sd.Do(ctx, http.MethodGet, "/standin/v1/events/nope", nil, nil)
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusNotFound || apiErr.Code != "NotFound_Event" {
		t.Errorf("unknown event: %v", err)
	}
}

// TestCancelInFlight cancels a delivery while its first attempt is held by
// the receiver. The attempt is still recorded, the delivery stays
// cancelled, and no retry follows: a whole 24-hour schedule of another
// delivery runs to its end meanwhile, so every retry of the cancelled one
// would have been due long before.
func TestCancelInFlight(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t, testkit.Config{TimeScale: 1e6})
	held := testkit.NewReceiver(t, "")
	held.Respond(testkit.Response{Hang: true})
	held.Default = testkit.Response{Status: http.StatusOK} // a retry would succeed
	failing := testkit.NewReceiver(t, "")
	failing.Default = testkit.Response{Status: http.StatusInternalServerError}
	sd.CreateWebhook(testkit.WebhookParams{URL: held.URL, Events: []string{"sync_start"}})
	sd.CreateWebhook(testkit.WebhookParams{URL: failing.URL, Events: []string{"sync_end"}})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := sd.Emit(testkit.Event{Event: "sync_start"}).Deliveries[0].ID
	held.AwaitRequests(ctx, 1)
	if got := sd.CancelDelivery(id); got.State != testkit.StateCancelled || got.FinishedAt == nil || got.NextAttemptAt != nil {
		t.Fatalf("cancel answered %+v", got)
	}
	if d, _ := sd.AwaitDelivery(ctx, id, testkit.StateCancelled); d.State != testkit.StateCancelled {
		t.Fatalf("after cancel: %+v", d)
	}
	held.Close() // the held attempt fails now

	d, attempts := sd.AwaitAttempts(ctx, id, 1)
	if d.State != testkit.StateCancelled || attempts[0].Error == "" {
		t.Errorf("after the held attempt failed: %s, attempt %+v; want cancelled", d.State, attempts[0])
	}

	other := sd.Emit(testkit.Event{Event: "sync_end"}).Deliveries[0].ID
	if d, _ := sd.AwaitDelivery(ctx, other); d.State != testkit.StateFailed {
		t.Fatalf("the other delivery: %+v", d)
	}
	detail := sd.GetDelivery(id)
	d, attempts = detail.Delivery, detail.Attempts
	if d.State != testkit.StateCancelled || len(attempts) != 1 || d.NextAttemptAt != nil {
		t.Errorf("cancelled delivery is %s with %d attempts (next %v); want cancelled with 1", d.State, len(attempts), d.NextAttemptAt)
	}

	// Cancelling it again is a conflict; redelivering it still works.
	var apiErr *testkit.APIError
	err := sd.Do(ctx, http.MethodPost, "/standin/v1/deliveries/"+id+"/cancel", nil, nil)
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusConflict ||
		!strings.Contains(apiErr.Message, "in state 'cancelled'") {
		t.Errorf("second cancel: %v", err)
	}
}

// TestAwaitTimeouts checks that every Await fails the test when its
// context ends, saying what it waited for and where things stand.
func TestAwaitTimeouts(t *testing.T) {
	t.Parallel()
	tb := &fatalTB{T: t}
	sd := testkit.Start(tb) // real time: the first retry is 6 minutes away
	rcv := testkit.NewReceiver(tb, "")
	rcv.Default = testkit.Response{Status: http.StatusServiceUnavailable}
	sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_end"}})
	emitted := sd.Emit(testkit.Event{Event: "sync_end"})
	id := emitted.Deliveries[0].ID

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	sd.AwaitDelivery(ctx, id, testkit.StateRetrying)

	short := func() context.Context {
		c, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		t.Cleanup(cancel)
		return c
	}
	check := func(name string, call func(), want ...string) {
		t.Helper()
		msg := tb.fatalOf(call)
		if !strings.Contains(msg, context.DeadlineExceeded.Error()) {
			t.Errorf("%s: failed with %q, want a deadline error", name, msg)
			return
		}
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: %q does not say %q", name, msg, w)
			}
		}
	}
	check("AwaitDelivery", func() { sd.AwaitDelivery(short(), id) },
		id, "waited for state [succeeded failed cancelled]", "it is retrying after 1 attempts (last: receiver answered HTTP 503)", "next attempt due")
	check("AwaitAttempts", func() { sd.AwaitAttempts(short(), id, 3) }, "waited for 3 attempts", "it is retrying after 1 attempts")
	check("AwaitDelivery unknown", func() { sd.AwaitDelivery(short(), "no_such") }, "no_such", "it does not exist")
	check("AwaitEventDeliveries", func() { sd.AwaitEventDeliveries(short(), emitted.ID) },
		emitted.ID, "1 of 1 are not", id+" is retrying after 1 attempts")
	check("AwaitRequests", func() { rcv.AwaitRequests(short(), 5) }, "waited for 5 requests, got 1")

	if msg := tb.fatalOf(func() { sd.AwaitEventDeliveries(ctx, "no_such") }); !strings.Contains(msg, "NotFound_Event") {
		t.Errorf("AwaitEventDeliveries of an unknown event failed with %q, want not found", msg)
	}
	// A helper refused by the API fails the test with the API's answer.
	if msg := tb.fatalOf(func() { sd.GetDelivery("no_such") }); !strings.Contains(msg, "get delivery no_such: NotFound_Delivery") {
		t.Errorf("GetDelivery of an unknown delivery failed with %q", msg)
	}
	if msg := tb.fatalOf(func() { sd.AwaitDelivery(ctx, id, testkit.StateRetrying) }); msg != "" {
		t.Errorf("a wait already satisfied failed with %q", msg)
	}
}

// fatalTB is a *testing.T whose Fatalf records its message and stops the
// call in progress, for tests of how testkit fails a test.
type fatalTB struct {
	*testing.T
	mu  sync.Mutex
	msg string
}

// stopped is what fatalTB.Fatalf panics with.
type stopped struct{}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	panic(stopped{})
}

// fatalOf runs call and returns the message it failed the test with; ""
// when it did not.
func (f *fatalTB) fatalOf(call func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(stopped); !ok {
				panic(r)
			}
			f.mu.Lock()
			msg = f.msg
			f.mu.Unlock()
		}
	}()
	call()
	return ""
}

// TestParallelInstances runs eight standins at once, each with its own
// database, ports and receiver.
func TestParallelInstances(t *testing.T) {
	t.Parallel()
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			sd := testkit.Start(t, testkit.Config{TimeScale: 1e5})
			secret := fmt.Sprintf("secret-%d", i)
			rcv := testkit.NewReceiver(t, secret)
			rcv.FailFirst(1, 0)
			sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_end"}, Secret: secret})
			emitted := sd.Emit(testkit.Event{Event: "sync_end", ConnectorID: fmt.Sprintf("connector_%d", i)})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			d, attempts := sd.AwaitDelivery(ctx, emitted.Deliveries[0].ID)
			if d.State != testkit.StateSucceeded || len(attempts) != 2 || attempts[1].EmulatedDelay != 6*time.Minute {
				t.Fatalf("state %s after %d attempts", d.State, len(attempts))
			}
			reqs := rcv.Requests()
			if len(reqs) != 2 {
				t.Fatalf("receiver got %d requests from its own instance, want 2", len(reqs))
			}
			for _, r := range reqs {
				if r.SignatureErr != nil || !strings.Contains(string(r.Body), fmt.Sprintf(`"connector_id":"connector_%d"`, i)) {
					t.Errorf("request %s (signature: %v)", r.Body, r.SignatureErr)
				}
			}
		})
	}
}

// TestHarness checks that a Harness cancels its context before its
// cleanups, runs cleanups last first, removes its temporary directories and
// turns Fatalf into a panic.
func TestHarness(t *testing.T) {
	t.Parallel()
	h := testkit.NewHarness()
	ctx := h.Context()
	var order []int
	h.Cleanup(func() {
		if ctx.Err() == nil {
			t.Error("the context is live during cleanup")
		}
		order = append(order, 1)
	})
	h.Cleanup(func() {
		order = append(order, 2)
		h.Cleanup(func() { order = append(order, 3) })
	})
	dir := h.TempDir()
	if ctx.Err() != nil || h.Context() != ctx {
		t.Error("the context is cancelled or changed before Close")
	}
	h.Close()
	h.Close()
	if h.Context().Err() == nil {
		t.Error("the context is live after Close")
	}
	if fmt.Sprint(order) != "[2 3 1]" {
		t.Errorf("cleanup order %v, want [2 3 1]", order)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("temp dir %s survived Close", dir)
	}
	if h.Failed() {
		t.Error("harness failed without an error")
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "boom 7") || !h.Failed() {
			t.Errorf("Fatalf: recovered %v, failed %v", r, h.Failed())
		}
	}()
	h.Fatalf("boom %d", 7)
}

// BenchmarkStart measures what a test pays per instance: Start (a fresh
// migrated SQLite file, API and workers on random ports) and its cleanup.
func BenchmarkStart(b *testing.B) {
	for b.Loop() {
		h := testkit.NewHarness()
		testkit.Start(h)
		h.Close()
	}
}
