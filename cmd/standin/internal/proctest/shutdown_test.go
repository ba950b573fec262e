package proctest_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/standin-dev/standin/server/client"
	"github.com/standin-dev/standin/store"
)

// TestSIGTERMDuringLoad stops `standin serve` with SIGTERM while clients
// emit events and three deliveries are in particular states:
//
//   - slow: in flight, its receiver answers after the signal but within
//     --shutdown-timeout: the attempt finishes and is recorded;
//   - hang: in flight, its receiver never answers: at the deadline the
//     attempt is cancelled and released for a retry, not counted as a
//     failure of the receiver;
//   - flaky: failed once, its retry due after the restart.
//
// The API stops accepting connections at once, the process exits 0, and a
// restart sends the released delivery and the pending retry at its
// scheduled time. Every emit answered 200 is delivered exactly once.
func TestSIGTERMDuringLoad(t *testing.T) {
	t.Parallel()
	const (
		scale           = 90 // Fivetran's +6 min retry is 4 s away
		shutdownTimeout = time.Second
		apiKey          = "proc-key"
		apiSecret       = "proc-api-secret-55e1"
		hookSecret      = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	)
	db := filepath.Join(t.TempDir(), "standin.db")
	var (
		slowArrived = make(chan struct{})
		releaseSlow = make(chan struct{})
		hangArrived = make(chan struct{})
		releaseOnce sync.Once
	)
	t.Cleanup(func() { releaseOnce.Do(func() { close(releaseSlow) }) })
	rcv := newHookReceiver(t, func(r *http.Request, n int) int {
		switch {
		case r.URL.Path == "/slow" && n == 1:
			close(slowArrived)
			<-releaseSlow
		case r.URL.Path == "/hang" && n == 1:
			close(hangArrived)
			<-r.Context().Done() // until standin hangs up
		case r.URL.Path == "/flaky" && n == 1:
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	// The credentials come from the environment, as an operator would pass
	// them.
	env := []string{"STANDIN_API_KEY=" + apiKey, "STANDIN_API_SECRET=" + apiSecret}
	flags := []string{"--log-level", "debug", "--time-scale", "90", "--send-timeout", "30s", "--shutdown-timeout", shutdownTimeout.String()}
	p1 := serveEnv(t, "standin-terminated", db, "all", env, flags...)
	api1 := newAPIClient(p1.API)
	api1.APIKey, api1.APISecret = apiKey, apiSecret
	hooks := make(map[string]string) // webhook id → path
	for _, hook := range []struct{ path, event string }{{"/slow", "sync_end"}, {"/hang", "sync_end"}, {"/flaky", "sync_end"}, {"/fast", "sync_start"}} {
		wh, err := api1.CreateWebhook(t.Context(), "", client.WebhookSpec{
			URL: rcv.URL + hook.path, Events: []string{hook.event},
			Secret: hookSecret, Signing: &client.Signing{Scheme: "standard"},
		})
		if err != nil {
			t.Fatal(err)
		}
		hooks[wh.Data.ID] = hook.path
	}
	ev, err := api1.Emit(t.Context(), client.EmitRequest{Event: "sync_end"})
	if err != nil {
		t.Fatal(err)
	}
	byPath := make(map[string]string) // path → delivery id
	for _, d := range ev.Data.Deliveries {
		byPath[hooks[d.WebhookID]] = d.ID
	}
	if len(byPath) != 3 {
		t.Fatalf("sync_end went to %v, want slow, hang and flaky", byPath)
	}

	// Load: two clients emit sync_start (to /fast) until the API closes.
	var (
		mu    sync.Mutex
		acked []client.EmittedEvent
		wg    sync.WaitGroup
	)
	var refused []error
	ackc := make(chan struct{}, 1<<16)
	for range 2 {
		wg.Go(func() {
			for {
				e, err := api1.Emit(context.Background(), client.EmitRequest{Event: "sync_start"})
				if err != nil {
					mu.Lock()
					refused = append(refused, err)
					mu.Unlock()
					return
				}
				mu.Lock()
				acked = append(acked, e.Data)
				mu.Unlock()
				ackc <- struct{}{}
			}
		})
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, ch := range []chan struct{}{slowArrived, hangArrived} {
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatal("the slow and hanging deliveries did not reach the receiver")
		}
	}
	if _, err := p1.AwaitLog(ctx, "delivery attempt", "delivery", byPath["/flaky"], "outcome", string(store.DeliveryRetrying)); err != nil {
		t.Fatalf("flaky's first attempt: %v", err)
	}
	for range 10 { // the load is on
		select {
		case <-ackc:
		case <-ctx.Done():
			t.Fatal("load emits are not acknowledged")
		}
	}

	if err := p1.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	termAt := time.Now()
	if _, err := p1.AwaitLog(ctx, "http api closed: no new requests are accepted"); err != nil {
		t.Fatal(err)
	}
	// The API is closed while the slow delivery still holds the process.
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(p1.API, "http://"), 5*time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		if c != nil {
			c.Close()
		}
		t.Errorf("connecting to the API after it closed: %v, want connection refused", err)
	}
	releaseOnce.Do(func() { close(releaseSlow) })
	if _, err := p1.AwaitLog(ctx, "delivery attempt", "delivery", byPath["/slow"], "outcome", string(store.DeliverySucceeded)); err != nil {
		t.Fatalf("slow's attempt: %v", err)
	}
	if code, err := p1.Wait(stopCtx(t, shutdownTimeout+10*time.Second)); err != nil || code != 0 {
		t.Fatalf("standin exited %d (%v) after SIGTERM, want 0", code, err)
	}
	stopped := time.Since(termAt)
	wg.Wait()
	if _, err := p1.AwaitLog(ctx, "standin stopped"); err != nil {
		t.Error(err)
	}
	if _, err := p1.AwaitLog(ctx, "deliveries still in flight at the shutdown deadline; cancelling them for a retry"); err != nil {
		t.Error(err)
	}
	t.Logf("stopped %v after SIGTERM; %d load events acknowledged", stopped, len(acked))

	// Restart: the released delivery goes out again, the retry at its time.
	p2 := serveEnv(t, "standin-restarted", db, "all", env, flags...)
	restartedAt := time.Now()
	var ids []string
	for _, id := range byPath {
		ids = append(ids, id)
	}
	for _, e := range acked {
		for _, d := range e.Deliveries {
			ids = append(ids, d.ID)
		}
	}
	if err := awaitAttempts(ctx, ids, string(store.DeliverySucceeded), p1.Process, p2.Process); err != nil {
		t.Fatalf("waiting for every delivery to succeed: %v", err)
	}
	if code, err := p2.Stop(stopCtx(t, 30*time.Second)); err != nil || code != 0 {
		t.Fatalf("restarted standin exited %d (%v) after SIGTERM", code, err)
	}

	st := openSQLite(t, db)
	attemptsOf := func(id string) []*store.Attempt {
		t.Helper()
		d, err := st.DeliveryGetByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if d.State != store.DeliverySucceeded {
			t.Errorf("delivery %s is %s, want succeeded", id, d.State)
		}
		as, err := st.AttemptListByDelivery(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return as
	}
	got := make(map[string]int)
	for _, r := range rcv.receipts() {
		got[r.id]++
	}

	// slow: one attempt, finished during the shutdown.
	if as := attemptsOf(byPath["/slow"]); len(as) != 1 || as[0].StatusCode != 200 {
		t.Errorf("slow: %d attempts (%v), want one 200", len(as), attemptStatuses(as))
	}
	// hang: the cancelled attempt is not recorded against the receiver; the
	// restart sends it again as the first scheduled attempt.
	if as := attemptsOf(byPath["/hang"]); len(as) != 1 || as[0].StatusCode != 200 || as[0].EmulatedDelay != 0 || as[0].StartedAt.Before(restartedAt.Add(-time.Second)) {
		t.Errorf("hang: attempts %v, want one 200 after the restart", attemptStatuses(as))
	}
	if n := got[byPath["/hang"]]; n != 2 {
		t.Errorf("hang: the receiver got %d requests, want 2 (cancelled, then resent)", n)
	}
	// flaky: the retry ran at its scheduled time, not before, and not later
	// than the restart allowed.
	if as := attemptsOf(byPath["/flaky"]); len(as) != 2 || as[0].StatusCode != 500 || as[1].StatusCode != 200 {
		t.Errorf("flaky: attempts %v, want 500 then 200", attemptStatuses(as))
	} else {
		due := as[0].StartedAt.Add(6 * time.Minute / scale)
		earliest := due
		if restartedAt.After(due) {
			earliest = restartedAt
			t.Logf("the restart came %v after the retry was due", restartedAt.Sub(due))
		}
		if as[1].EmulatedDelay != 6*time.Minute {
			t.Errorf("flaky: retry emulated delay %v, want 6m", as[1].EmulatedDelay)
		}
		if as[1].StartedAt.Before(due.Add(-5 * time.Millisecond)) {
			t.Errorf("flaky: retry at %v, before it was due at %v", as[1].StartedAt, due)
		}
		if late := as[1].StartedAt.Sub(earliest); late > 1500*time.Millisecond {
			t.Errorf("flaky: retry %v late", late)
		}
	}
	// Load: every acknowledged event delivered exactly once.
	for _, e := range acked {
		for _, d := range e.Deliveries {
			if as := attemptsOf(d.ID); len(as) != 1 || got[d.ID] != 1 {
				t.Errorf("load delivery %s: %d attempts, received %d times; want 1 and 1", d.ID, len(as), got[d.ID])
			}
		}
	}
	// Neither process logged a secret, at debug level.
	for _, p := range []*standin{p1, p2} {
		for _, secret := range []string{apiSecret, hookSecret} {
			if strings.Contains(p.Output(), secret) {
				t.Errorf("standin (pid %d) logged the secret %q", p.Pid(), secret)
			}
		}
	}
	for _, err := range refused {
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Logf("emit during shutdown failed with %v", err)
		}
	}
}

func attemptStatuses(as []*store.Attempt) []int {
	out := make([]int, len(as))
	for i, a := range as {
		out[i] = a.StatusCode
	}
	return out
}
