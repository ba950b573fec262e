package postgres

import (
	"context"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
)

// River's workers learn of new jobs through a NOTIFY on the river_insert
// channel, which River itself sends inside the inserting transaction, at most
// once per 100 ms per inserting client. Notifying inside the transaction
// costs throughput: PostgreSQL serializes the commits of notifying
// transactions on one lock held through their WAL flush. Notifying more
// rarely costs latency: a delivery then waits for the workers' next poll.
//
// So DeliveryEnqueue and the connection changes also wake the jobNotifier
// after they commit; it sends the same notification River would, in a
// transaction of its own that commits without waiting for the WAL flush (a
// notification is not durable anyway), and coalesces the wakes that arrive
// while it is sending: each commit is followed by a notification sent after
// it. Emits notify inside their own transaction instead, with the round trip
// that begins it: emits are batched (see store/batch), so their
// transactions are few however many events arrive, and the notification
// reaches the workers at the commit, a round trip sooner.

// insertTopic and insertPayload are River's (v0.31.0) insert notification:
// the channel is "<schema>.river_insert" and the payload names the queue.
const insertTopic = "river_insert"

func insertPayload(queue string) string { return `{"queue": "` + queue + `"}` }

type jobNotifier struct {
	pool   *pgxpool.Pool
	schema string // "" means the connection's current_schema()
	logger *slog.Logger

	wakeCh chan struct{}
	cancel context.CancelFunc
	done   sync.WaitGroup
}

func startJobNotifier(pool *pgxpool.Pool, schema string, logger *slog.Logger) *jobNotifier {
	ctx, cancel := context.WithCancel(context.Background())
	n := &jobNotifier{pool: pool, schema: schema, logger: logger, wakeCh: make(chan struct{}, 1), cancel: cancel}
	n.done.Go(func() { n.run(ctx) })
	return n
}

// wake asks for a notification; it never blocks.
func (n *jobNotifier) wake() {
	select {
	case n.wakeCh <- struct{}{}:
	default: // one is pending, and will be sent after this commit
	}
}

func (n *jobNotifier) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wakeCh:
		}
		if err := n.notify(ctx); err != nil && ctx.Err() == nil {
			// The workers' polling picks the jobs up anyway.
			n.logger.DebugContext(ctx, "notify workers of new jobs", slog.String("error", err.Error()))
		}
	}
}

func (n *jobNotifier) notify(ctx context.Context) error {
	batch := &pgx.Batch{}
	batch.Queue(`BEGIN`)
	batch.Queue(`SET LOCAL synchronous_commit TO OFF`)
	n.queueNotify(batch, river.QueueDefault)
	batch.Queue(`COMMIT`)
	return n.pool.SendBatch(ctx, batch).Close()
}

// queueNotify queues River's insert notification of queue in batch: sent
// when the batch's transaction commits.
func (n *jobNotifier) queueNotify(batch *pgx.Batch, queue string) {
	var schema *string
	if n.schema != "" {
		schema = &n.schema
	}
	batch.Queue(`SELECT pg_notify(concat(coalesce($1::text, current_schema()), '.', $2::text), $3)`,
		schema, insertTopic, insertPayload(queue))
}

// stop ends the notifier; wakes after it are ignored.
func (n *jobNotifier) stop() {
	n.cancel()
	n.done.Wait()
}
