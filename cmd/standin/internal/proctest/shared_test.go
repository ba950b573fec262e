package proctest_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/standin-dev/standin/cmd/standin/internal/proctest"
)

// TestSharedQueue runs one API process and two worker processes on one
// PostgreSQL database, as the README shows, and emits 200 events: every
// delivery succeeds with exactly one attempt, by one process; the receiver
// gets every body exactly once; both workers deliver.
//
// Both workers demonstrably work at the same time: each may have at most
// five deliveries in flight (--max-workers 5), and the receiver holds the
// first requests until ten are open at once, which only two busy processes
// can reach.
func TestSharedQueue(t *testing.T) {
	t.Parallel()
	const (
		events     = 200
		maxWorkers = 5
		workers    = 2
	)
	db := proctest.NewDatabase(t)
	if res := proctest.Run(t, "migrate", "up", "--database-url", db); res.Code != 0 {
		t.Fatalf("migrate up: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}

	// The barrier: the first requests wait until workers*maxWorkers are
	// open together; then everyone is answered at once.
	rc := newReceiver(t)
	var (
		mu       sync.Mutex
		open     int
		released = make(chan struct{})
	)
	rc.hold = func(w http.ResponseWriter, r *http.Request, connector string) bool {
		mu.Lock()
		select {
		case <-released:
			mu.Unlock()
			return false
		default:
		}
		if open++; open == workers*maxWorkers {
			close(released)
		}
		mu.Unlock()
		select {
		case <-released:
		case <-r.Context().Done():
		}
		return false // answer 200 and record it
	}

	// The barrier holds requests for as long as it takes the workers to
	// fill up: a generous send timeout keeps them from failing meanwhile.
	workerArgs := []string{"--skip-migrate", "--max-workers", fmt.Sprint(maxWorkers), "--send-timeout", "60s"}
	api := serve(t, "api", db, "api", "--skip-migrate")
	w1 := serve(t, "worker-1", db, "worker", workerArgs...)
	w2 := serve(t, "worker-2", db, "worker", workerArgs...)

	client := newAPIClient(api.API)
	webhook := client.createWebhook(t, rc.URL)

	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	connectors := make([]string, events)
	ids := make([]string, events)
	var wg sync.WaitGroup
	errs := make(chan error, events)
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < events; i += 8 {
				connectors[i] = fmt.Sprintf("shared_%03d", i)
				id, err := client.emit(ctx, connectors[i])
				if err != nil {
					errs <- err
					return
				}
				ids[i] = id
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("emit: %v", err)
	}

	select {
	case <-released:
	case <-ctx.Done():
		mu.Lock()
		t.Fatalf("at most %d requests were open at once, want %d: not every worker process is delivering", open, workers*maxWorkers)
	}
	if err := rc.awaitDelivered(ctx, connectors); err != nil {
		t.Fatal(err)
	}
	all, err := client.awaitSucceeded(ctx, webhook, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if d := all[id]; d.Attempts != 1 {
			t.Errorf("delivery %s: %d attempts, want 1", id, d.Attempts)
		}
	}
	arrived, delivered := rc.counts()
	if len(arrived) != events {
		t.Errorf("receiver got %d distinct events, want %d", len(arrived), events)
	}
	for _, c := range connectors {
		if arrived[c] != 1 || delivered[c] != 1 {
			t.Errorf("receiver got %s %d times (%d answered), want exactly once", c, arrived[c], delivered[c])
		}
	}

	// River's own record: each job was worked once, by one client, and
	// both workers worked some. A job carries one delivery, or several
	// emitted together (a batch job: the API writes concurrent emits in one
	// transaction). Job rows are updated by River's completer shortly after
	// the attempt is recorded, so this waits for them too.
	conn := proctest.Connect(t, db)
	perClient := map[string]int{}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	const carried = `CASE WHEN kind = 'standin_deliver_batch' THEN jsonb_array_length(args->'delivery_ids') ELSE 1 END`
	for {
		var open, covered int
		err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state <> 'completed'), coalesce(sum(`+carried+`), 0)
			FROM river_job`).Scan(&open, &covered)
		if err == nil && open == 0 && covered == events {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("%d River jobs not completed, jobs for %d of %d deliveries: %v", open, covered, events, err)
		}
	}
	rows, err := conn.Query(ctx, `SELECT attempt, attempted_by, `+carried+` FROM river_job`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var attempt, n int
		var by []string
		if err := rows.Scan(&attempt, &by, &n); err != nil {
			t.Fatal(err)
		}
		if attempt != 1 || len(by) != 1 {
			t.Errorf("River job attempted %d times by %v, want once by one client", attempt, by)
			continue
		}
		perClient[by[0]] += n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if perClient[w1.ClientID] == 0 || perClient[w2.ClientID] == 0 || perClient[w1.ClientID]+perClient[w2.ClientID] != events {
		t.Errorf("deliveries worked per River client: %v; want all %d split between %s and %s", perClient, events, w1.ClientID, w2.ClientID)
	}
	t.Logf("deliveries per worker process: worker-1 %d, worker-2 %d", perClient[w1.ClientID], perClient[w2.ClientID])
}
