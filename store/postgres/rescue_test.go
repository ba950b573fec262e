package postgres_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/postgres"
	"github.com/standin-dev/standin/store/storetest"
)

// TestQueueRescuesStuckJobsEarly leaves a job running as a process killed
// mid-job would, just after its client became River's leader, so that the
// leader's rescue on election misses it. River's next rescue would come 30 s
// later; the queue's rescue watch gets the leader to resign instead, and the
// job is worked again within seconds of RescueStuckJobsAfter.
func TestQueueRescuesStuckJobsEarly(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresURL(t)
	ctx := t.Context()
	schema := storetest.PostgresSchema(t, url, "standin_test_")
	logs := &messages{}
	st, err := postgres.Open(ctx, postgres.Config{URL: url, Schema: schema, Logger: slog.New(logs), MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })

	if _, err := st.EventCreate(ctx, store.EventCreateParams{
		Event:      store.Event{ID: "ev_1", Name: "sync_end"},
		Deliveries: []store.DeliveryNew{{ID: "d_1", WebhookID: "wh_1"}},
	}); err != nil {
		t.Fatal(err)
	}
	// The crash: the job was fetched by a client that is gone, just now.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `UPDATE `+pgx.Identifier{schema, "river_job"}.Sanitize()+`
		SET state = 'running', attempt = 1, attempted_at = now(), attempted_by = ARRAY['crashed_client']`); err != nil {
		t.Fatal(err)
	}

	worked := make(chan store.DeliverArgs, 1)
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[store.DeliverArgs]) error {
		worked <- job.Args
		return nil
	}))
	q, err := st.Queue(&river.Config{
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}},
		Workers:              workers,
		FetchCooldown:        10 * time.Millisecond,
		FetchPollInterval:    50 * time.Millisecond,
		JobTimeout:           time.Second,
		RescueStuckJobsAfter: 2 * time.Second,
		TestOnly:             true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := q.Stop(stopCtx); err != nil {
			t.Error(err)
		}
	})

	// Well before River's own next rescue, 30 s after the election.
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	select {
	case args := <-worked:
		if args.DeliveryID != "d_1" {
			t.Fatalf("worked %+v, want delivery d_1", args)
		}
	case <-waitCtx.Done():
		t.Fatalf("the stuck job was not worked again: %v; logs: %q", waitCtx.Err(), logs.all())
	}
	if !logs.has("stuck job found: asked the River leader to resign so that its successor rescues it now") {
		t.Errorf("the rescue watch did not ask the leader to resign; logs: %q", logs.all())
	}
}

// messages is a slog.Handler that keeps every message.
type messages struct {
	mu   sync.Mutex
	msgs []string
}

func (m *messages) Enabled(context.Context, slog.Level) bool { return true }
func (m *messages) WithAttrs([]slog.Attr) slog.Handler       { return m }
func (m *messages) WithGroup(string) slog.Handler            { return m }

func (m *messages) Handle(_ context.Context, r slog.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, r.Message)
	return nil
}

func (m *messages) has(msg string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.msgs {
		if s == msg {
			return true
		}
	}
	return false
}

func (m *messages) all() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.msgs...)
}
