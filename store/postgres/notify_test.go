package postgres

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

type notifyArgs struct{ N int }

func (notifyArgs) Kind() string { return "standin_notify_test" }

type notifyWorker struct {
	river.WorkerDefaults[notifyArgs]
	worked chan int
}

func (w *notifyWorker) Work(_ context.Context, job *river.Job[notifyArgs]) error {
	w.worked <- job.Args.N
	return nil
}

// TestJobNotifierWakesWorkers checks that the notification jobNotifier sends
// is one River's workers act on: with polling an hour away and River's own
// insert notification spent, a job is worked only if it arrives.
func TestJobNotifierWakesWorkers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openSchemaStore(t, 4)
	// An inserter whose own notification fires once an hour at most.
	inserter, err := river.NewClient(riverpgxv5.New(s.pool), &river.Config{
		Logger: slog.New(slog.DiscardHandler), Schema: s.schema,
		FetchCooldown: time.Hour, FetchPollInterval: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}

	w := &notifyWorker{worked: make(chan int, 2)}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	q, err := s.Queue(&river.Config{
		Workers:           workers,
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		FetchCooldown:     time.Millisecond,
		FetchPollInterval: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop(context.Background()) })

	insert := func(n int, wake bool) {
		t.Helper()
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer rollback(ctx, tx)
		if _, err := inserter.InsertTx(ctx, tx, notifyArgs{N: n}, nil); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if wake {
			s.notifier.wake()
		}
	}
	await := func(n int) {
		t.Helper()
		select {
		case got := <-w.worked:
			if got != n {
				t.Fatalf("worked job %d, want %d", got, n)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("job %d not worked: no notification reached the workers", n)
		}
	}
	insert(1, false) // River's own notification (its first) or the start fetch
	await(1)
	insert(2, true) // only jobNotifier's
	await(2)
}
