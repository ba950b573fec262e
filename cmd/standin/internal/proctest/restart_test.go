package proctest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/standin-dev/standin/cmd/standin/internal/proctest"
	"github.com/standin-dev/standin/server/client"
)

// TestPostgresRestart restarts PostgreSQL underneath a standin process
// while events stream in. The API may refuse events while the database is
// down, but it must answer (with an error); every event it accepted with
// HTTP 200 is delivered at least once, including those whose delivery was
// in flight when the database went away. The server is a private one: the
// shared server of STANDIN_TEST_DATABASE_URL serves other tests meanwhile.
func TestPostgresRestart(t *testing.T) {
	t.Parallel()
	const outage = 5 * time.Second
	pg := proctest.StartPostgres(t)
	db := pg.NewDatabase(t)
	// A slow receiver keeps several deliveries in flight at any time, so
	// some are cut off by the restart.
	rc := newReceiver(t)
	rc.hold = func(_ http.ResponseWriter, r *http.Request, _ string) bool {
		t := time.NewTimer(100 * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
			return false
		case <-r.Context().Done():
			return true
		}
	}
	s := serve(t, "standin", db, "all", "--send-timeout", "3s", "--rescue-after", "4s")
	api := newAPIClient(s.API)
	webhook := api.createWebhook(t, rc.URL)

	// The stream: one event every 20 ms, each answered 200 (accepted) or
	// otherwise (refused); a request with no answer at all is a failure.
	var (
		mu        sync.Mutex
		accepted  []string // connector ids
		ids       []string // their deliveries
		refused   int
		noAnswer  []error
		changed   = make(chan struct{})
		stop      = make(chan struct{})
		streaming = make(chan struct{})
	)
	go func() {
		defer close(streaming)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			connector := fmt.Sprintf("restart_%04d", i)
			id, err := api.emit(context.Background(), connector)
			var refusal *client.Error
			mu.Lock()
			switch {
			case err == nil:
				accepted, ids = append(accepted, connector), append(ids, id)
			case errors.As(err, &refusal):
				refused++
			default:
				noAnswer = append(noAnswer, err)
			}
			close(changed)
			changed = make(chan struct{})
			mu.Unlock()
		}
	}()
	// await waits until cond holds over the stream's counts.
	await := func(what string, d time.Duration, cond func(accepted, refused int) bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), d)
		defer cancel()
		for {
			mu.Lock()
			ok, ch := cond(len(accepted), refused), changed
			a, r := len(accepted), refused
			mu.Unlock()
			if ok {
				return
			}
			select {
			case <-ch:
			case <-ctx.Done():
				t.Fatalf("%s: %d events accepted, %d refused after %v", what, a, r, d)
			}
		}
	}

	await("before the restart", 30*time.Second, func(a, _ int) bool { return a >= 20 })
	pg.Stop(t)
	stopped := time.Now()
	await("while PostgreSQL is down", 30*time.Second, func(_, r int) bool { return r >= 1 })
	// The outage lasts long enough for River's completer to give up on
	// recording the jobs it finished (three tries over about 3 s), which
	// leaves them running until a rescue. This wait is the scenario's
	// outage, not a wait for work to happen.
	<-time.After(outage - time.Since(stopped))
	pg.Start(t)
	mu.Lock()
	before := len(accepted)
	mu.Unlock()
	await("after the restart", 60*time.Second, func(a, _ int) bool { return a >= before+20 })
	close(stop)
	<-streaming
	t.Logf("%d events accepted, %d refused while PostgreSQL was down", len(accepted), refused)
	for _, err := range noAnswer {
		t.Errorf("the API did not answer: %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	if err := rc.awaitDelivered(ctx, accepted); err != nil {
		t.Fatal(err)
	}
	if _, err := api.awaitSucceeded(ctx, webhook, ids); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Exited():
		t.Error("standin exited")
	default:
	}
}
