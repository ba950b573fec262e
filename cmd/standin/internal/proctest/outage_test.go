package proctest_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/standin-dev/standin/server/client"
	"github.com/standin-dev/standin/store"
)

// TestSIGKILLDuringWritesSQLite kills `standin serve` with SIGKILL while
// four clients emit events as fast as they can and deliveries are in
// flight, then starts it again on the same SQLite file. Every event whose
// emit was answered 200 must have all its deliveries (one per webhook), and
// every stored delivery must complete; events that were mid-request at the
// kill are stored whole or not at all. The receiver sees every delivery,
// and sees one twice only if it was in flight at the kill (at-least-once).
func TestSIGKILLDuringWritesSQLite(t *testing.T) {
	t.Parallel()
	const (
		emitters   = 4
		maxWorkers = 4
		ackTarget  = 40 // events acknowledged before the kill
	)
	db := filepath.Join(t.TempDir(), "standin.db")
	// Once holding is on, the receiver keeps the next two requests until
	// after the kill: those deliveries are certainly in flight when the
	// process dies.
	var (
		holding atomic.Bool
		nHeld   atomic.Int32
		heldIDs = make(chan string, 2)
		release = make(chan struct{})
	)
	rcv := newHookReceiver(t, func(r *http.Request, _ int) int {
		if holding.Load() && nHeld.Add(1) <= 2 {
			heldIDs <- r.Header.Get("Webhook-Id")
			<-release
		}
		return http.StatusOK
	})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	flags := []string{"--log-level", "debug", "--time-scale", "3600", "--max-workers", strconv.Itoa(maxWorkers)}
	p1 := serve(t, "standin-killed", db, "all", flags...)
	api1 := newAPIClient(p1.API)
	var webhooks []string
	for range 2 {
		wh, err := api1.CreateWebhook(t.Context(), "", client.WebhookSpec{
			URL: rcv.URL + "/hook", Events: []string{"sync_end"},
			Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Signing: &client.Signing{Scheme: "standard"},
		})
		if err != nil {
			t.Fatal(err)
		}
		webhooks = append(webhooks, wh.Data.ID)
	}

	// Emit from four clients until the kill; keep what was acknowledged.
	var (
		mu    sync.Mutex
		acked []client.EmittedEvent
		wg    sync.WaitGroup
	)
	ackc := make(chan struct{}, 1<<16)
	for range emitters {
		wg.Go(func() {
			for {
				e, err := api1.Emit(context.Background(), client.EmitRequest{Event: "sync_end", Status: "FAILURE"})
				if err != nil {
					return // the process is gone
				}
				mu.Lock()
				acked = append(acked, e.Data)
				mu.Unlock()
				ackc <- struct{}{}
			}
		})
	}
	deadline := time.After(60 * time.Second)
	var held []string
	for acks := 0; acks < ackTarget || len(held) < 2; {
		select {
		case <-ackc:
			if acks++; acks == ackTarget/2 {
				holding.Store(true)
			}
		case id := <-heldIDs:
			held = append(held, id)
		case <-deadline:
			t.Fatalf("%d emits acknowledged, %d requests held", acks, len(held))
		}
	}
	if err := p1.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	if _, err := p1.Wait(stopCtx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(release)
	if n := len(acked); n < ackTarget {
		t.Fatalf("%d events acknowledged", n)
	}
	t.Logf("killed after %d acknowledged events; receiver had %d requests", len(acked), len(rcv.receipts()))

	// Restart on the same file and let every stored delivery complete.
	restarting := time.Now() // nothing after this comes from the killed process
	p2 := serve(t, "standin-restarted", db, "all", flags...)
	api2 := newAPIClient(p2.API)
	page, err := api2.ListDeliveries(t.Context(), client.DeliveryFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if page.Data.NextCursor != "" {
		t.Fatalf("more than 1000 deliveries")
	}
	stored := make(map[string]string, len(page.Data.Items)) // delivery id → event id
	for _, d := range page.Data.Items {
		stored[d.ID] = d.EventID
	}
	// Deliveries the killed process finished may lack their log line (the
	// kill can fall between the two); the store knows them.
	finished, err := api2.ListDeliveries(t.Context(), client.DeliveryFilter{Status: client.StateSucceeded, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	done := make(map[string]bool)
	for _, d := range finished.Data.Items {
		done[d.ID] = true
	}
	var unfinished []string
	for id := range stored {
		if !done[id] {
			unfinished = append(unfinished, id)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := awaitAttempts(ctx, unfinished, string(store.DeliverySucceeded), p1.Process, p2.Process); err != nil {
		t.Fatalf("waiting for every stored delivery to succeed: %v", err)
	}
	if code, err := p2.Stop(stopCtx(t, 30*time.Second)); err != nil || code != 0 {
		t.Fatalf("restarted standin exited %d (%v) after SIGTERM", code, err)
	}

	// Check the stored state exactly.
	st := openSQLite(t, db)
	all, err := st.DeliveryList(context.Background(), store.DeliveryListParams{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(stored) {
		t.Fatalf("%d deliveries stored, the API listed %d", len(all), len(stored))
	}
	perEvent := make(map[string][]string) // event id → webhook ids
	for _, d := range all {
		perEvent[d.EventID] = append(perEvent[d.EventID], d.WebhookID)
		if d.State != store.DeliverySucceeded || d.Attempts != 1 {
			t.Errorf("delivery %s: %s after %d attempts, want succeeded after 1", d.ID, d.State, d.Attempts)
		}
	}
	for ev, whs := range perEvent {
		if len(whs) != len(webhooks) || whs[0] == whs[1] {
			t.Errorf("event %s has deliveries to %v, want one to each of %v", ev, whs, webhooks)
		}
	}
	for _, e := range acked {
		if len(e.Deliveries) != len(webhooks) {
			t.Errorf("acknowledged event %s had %d deliveries, want %d", e.ID, len(e.Deliveries), len(webhooks))
		}
		for _, d := range e.Deliveries {
			if stored[d.ID] != e.ID {
				t.Errorf("delivery %s of acknowledged event %s is missing", d.ID, e.ID)
			}
		}
	}
	if extra := len(perEvent) - len(acked); extra < 0 || extra > emitters {
		t.Errorf("%d events stored for %d acknowledged: at most %d emits were in flight at the kill", len(perEvent), len(acked), emitters)
	}

	// The receiver got every stored delivery, nothing else, and a second
	// copy only of deliveries in flight at the kill.
	count := make(map[string][]time.Time)
	for _, r := range rcv.receipts() {
		count[r.id] = append(count[r.id], r.at)
	}
	dups := 0
	for id, times := range count {
		if _, ok := stored[id]; !ok {
			t.Errorf("receiver got delivery %q, which is not stored", id)
		}
		switch {
		case len(times) == 1:
		case len(times) == 2 && times[0].Before(restarting) && times[1].After(killedAt):
			dups++
		default:
			t.Errorf("delivery %s received %d times at %v (killed at %v)", id, len(times), times, killedAt)
		}
	}
	if len(count) != len(stored) {
		t.Errorf("receiver got %d distinct deliveries, %d are stored", len(count), len(stored))
	}
	if dups > maxWorkers {
		t.Errorf("%d deliveries received twice; at most %d were in flight at the kill", dups, maxWorkers)
	}
	for _, id := range held {
		if len(count[id]) != 2 {
			t.Errorf("delivery %s was in flight at the kill and received %d times, want 2", id, len(count[id]))
		}
	}
	t.Logf("%d events (%d acknowledged), %d deliveries, %d redelivered after the kill", len(perEvent), len(acked), len(all), dups)
}
