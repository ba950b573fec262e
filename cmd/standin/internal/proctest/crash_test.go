package proctest_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/standin-dev/standin/cmd/standin/internal/proctest"
)

// TestCrashMidDelivery kills a worker process with SIGKILL while it is in
// the middle of a delivery (the receiver holds the request open), and
// checks that nothing is lost: the other worker process takes the delivery
// over once River's rescuer finds it stuck, and every accepted event is
// delivered. The victim is either River's leader, whose maintenance services
// (the rescuer among them) must then move to the survivor, or a follower.
//
// In "mid-batch" the events are emitted in two requests of five: each
// request's deliveries share one batch job, and each process works one. The
// survivor then runs the victim's batch job again and sends what it had
// not sent, the cut delivery among them.
func TestCrashMidDelivery(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name              string
		killLeader, batch bool
	}{
		{name: "kill follower"},
		{name: "kill leader", killLeader: true},
		{name: "kill follower mid-batch", batch: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			crashMidDelivery(t, tt.killLeader, tt.batch)
		})
	}
}

func crashMidDelivery(t *testing.T, killLeader, batch bool) {
	const events = 10
	db := proctest.NewDatabase(t)
	if res := proctest.Run(t, "migrate", "up", "--database-url", db); res.Code != 0 {
		t.Fatalf("migrate up: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	conn := proctest.Connect(t, db)

	// The receiver holds the first two requests open and reports each; a
	// held request either gets released (then answered 200) or is cut off
	// by its sender dying (then reported on cut).
	rc := newReceiver(t)
	var (
		mu      sync.Mutex
		holding int
		held    = make(chan string, 2)
		cut     = make(chan string, 2)
		release = make(chan struct{})
		freeAll = sync.OnceFunc(func() { close(release) })
	)
	t.Cleanup(freeAll) // never leave a handler waiting, even after a failure
	rc.hold = func(w http.ResponseWriter, r *http.Request, connector string) bool {
		mu.Lock()
		if holding == 2 {
			mu.Unlock()
			return false
		}
		holding++
		mu.Unlock()
		held <- connector
		select {
		case <-release:
			return false
		case <-r.Context().Done():
			cut <- connector
			return true
		}
	}

	// One delivery in flight per process, so the two held requests are one
	// in each. The send timeout only has to outlast the moment between a
	// request's arrival and the kill (and the survivor's release); the
	// rescue horizon then covers it plus a second for storage (see
	// worker.Config.RescueStuckJobsAfter).
	workerArgs := []string{"--skip-migrate", "--max-workers", "1", "--send-timeout", "5s", "--rescue-after", "6s"}
	api := serve(t, "api", db, "api", "--skip-migrate")
	first := serve(t, "worker-first", db, "worker", workerArgs...)
	awaitLeader(t, conn, first.ClientID)
	second := serve(t, "worker-second", db, "worker", workerArgs...)
	victim, survivor := second, first // first is the leader
	if killLeader {
		victim, survivor = first, second
	}

	client := newAPIClient(api.API)
	webhook := client.createWebhook(t, rc.URL)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	connectors := make([]string, events)
	ids := make([]string, events)
	emit := func(i int) {
		connectors[i] = "crash_" + strconv.Itoa(i)
		id, err := client.emit(ctx, connectors[i])
		if err != nil {
			t.Fatalf("emit: %v", err)
		}
		ids[i] = id
	}
	// Two deliveries go in flight, one per process; the others queue.
	if batch {
		for start := 0; start < events; start += events / 2 {
			for i := start; i < start+events/2; i++ {
				connectors[i] = "crash_" + strconv.Itoa(i)
			}
			got, err := client.emitMany(ctx, connectors[start:start+events/2])
			if err != nil {
				t.Fatalf("emit: %v", err)
			}
			copy(ids[start:], got)
		}
	} else {
		for i := range events {
			emit(i)
		}
	}
	for range 2 {
		select {
		case <-held:
		case <-ctx.Done():
			t.Fatal("the two worker processes did not both start a delivery")
		}
	}

	victim.Kill()
	killed := time.Now()
	var lost string
	select {
	case lost = <-cut:
	case <-time.After(10 * time.Second):
		t.Fatal("the killed process's request was not cut off")
	}
	freeAll() // the survivor's request now succeeds
	lostID := ids[slices.Index(connectors, lost)]
	t.Logf("killed %s (River leader: %v) in the middle of delivering %s (delivery %s)", victim.Name, killLeader, lost, lostID)

	if err := rc.awaitDelivered(ctx, []string{lost}); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s delivered %v after the kill", lost, time.Since(killed).Round(100*time.Millisecond))
	if err := rc.awaitDelivered(ctx, connectors); err != nil {
		t.Fatal(err)
	}
	all, err := client.awaitSucceeded(ctx, webhook, ids)
	if err != nil {
		t.Fatal(err)
	}
	if d := all[lostID]; d.Attempts < 1 {
		t.Errorf("delivery %s: %d attempts recorded, want at least the survivor's", lostID, d.Attempts)
	}
	if arrived, _ := rc.counts(); arrived[lost] < 2 {
		t.Errorf("receiver got %s %d times, want the cut request and the redelivery", lost, arrived[lost])
	}

	// River's record of the job: rescued once, worked by the victim, then
	// by the survivor.
	var attemptedBy []string
	var rescues *int
	err = conn.QueryRow(ctx, `SELECT attempted_by, (metadata->>'river:rescue_count')::int
		FROM river_job WHERE args->>'delivery_id' = $1 OR args->'delivery_ids' ? $1`, lostID).Scan(&attemptedBy, &rescues)
	if err != nil {
		t.Fatal(err)
	}
	if rescues == nil || *rescues != 1 {
		t.Errorf("job of delivery %s: rescue count %v, want 1", lostID, rescues)
	}
	if !slices.Equal(attemptedBy, []string{victim.ClientID, survivor.ClientID}) {
		t.Errorf("job of delivery %s attempted by %v, want %s then %s", lostID, attemptedBy, victim.ClientID, survivor.ClientID)
	}
	if !killLeader && len(survivor.Logs("stuck job found: asked the River leader to resign so that its successor rescues it now")) == 0 {
		t.Error("the surviving leader did not ask for an early rescue")
	}
	select {
	case <-survivor.Exited():
		t.Errorf("%s exited", survivor.Name)
	default:
	}
}

// awaitLeader waits until the River client clientID is the leader. River
// records leadership only in the database, so this polls river_leader
// every 50 ms for up to 20 s.
func awaitLeader(t *testing.T, conn *pgx.Conn, clientID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var leader string
		err := conn.QueryRow(ctx, `SELECT leader_id FROM river_leader`).Scan(&leader)
		if err == nil && leader == clientID {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal(fmt.Errorf("%s did not become River's leader (leader %q, %v): %w", clientID, leader, err, ctx.Err()))
		}
	}
}
