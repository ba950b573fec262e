package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlq"
	"github.com/standin-dev/standin/store/internal/sqlrow"
)

// DeliveryGetManyWithWebhook returns the deliveries with the given ids and
// their webhooks in one round trip: both queries go in one batch.
//
// Each id is looked up alone: OFFSET 0 keeps the LATERAL subquery from
// being merged into a join, which leaves the planner one plan, an index
// lookup per id, whatever it believes of the table's size. With a plain join
// of unnest and the table, a prepared statement's generic plan, chosen once
// per connection, could be a hash join over the whole table if the table was
// small at that moment, and stay one as the table grew: in a 20-second
// benchmark run on new tables (autovacuum off) that was 1,500 full scans,
// and a p50 latency of 34 ms instead of 12.
func (s *Store) DeliveryGetManyWithWebhook(ctx context.Context, ids []string) (map[string]store.DeliveryWithWebhook, error) {
	found := make(map[string]store.DeliveryWithWebhook, len(ids))
	if len(ids) == 0 {
		return found, nil
	}
	batch := &pgx.Batch{}
	// Both statements are written to be right with a generic plan (an index
	// lookup per id whatever the table's size), and planning them for each
	// call cost more than running them (170 µs per call at 500 deliveries/s,
	// where PostgreSQL's default kept choosing a custom plan). The setting
	// is the session's for the batch only: the batch is one implicit
	// transaction, so an error rolls the SET back, and the RESET restores
	// the connection's own value.
	batch.Queue(`SET plan_cache_mode = force_generic_plan`)
	batch.Queue(deliveriesByIDSQL, ids)
	batch.Queue(webhooksOfDeliveriesSQL, ids)
	batch.Queue(`RESET plan_cache_mode`)
	br := s.pool.SendBatch(ctx, batch)
	err := func() error {
		if _, err := br.Exec(); err != nil {
			return err
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		deliveries, err := dialect.ScanDeliveries(rows)
		if err != nil {
			return err
		}
		rows, err = br.Query()
		if err != nil {
			return err
		}
		webhooks, err := dialect.ScanWebhooks(rows)
		if err != nil {
			return err
		}
		byID := make(map[string]*store.Webhook, len(webhooks))
		for _, wh := range webhooks {
			byID[wh.ID] = wh
		}
		for _, d := range deliveries {
			found[d.ID] = store.DeliveryWithWebhook{Delivery: d, Webhook: byID[d.WebhookID]}
		}
		_, err = br.Exec()
		return err
	}()
	if closeErr := br.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return nil, fmt.Errorf("get %d deliveries with their webhooks: %w", len(ids), mapErr(err))
	}
	return found, nil
}

// deliveriesByIDSQL and webhooksOfDeliveriesSQL read the deliveries whose
// ids are in $1 and their webhooks, looking each id up alone (see
// DeliveryGetManyWithWebhook).
var (
	deliveriesByIDSQL = `SELECT ` + sqlrow.Qualified("t", sqlq.DeliveryColumns) + `
		FROM unnest($1::text[]) AS i (id)
		CROSS JOIN LATERAL (SELECT * FROM standin_delivery AS d WHERE d.id = i.id OFFSET 0) AS t`
	webhooksOfDeliveriesSQL = `SELECT ` + sqlq.WebhookColumns + ` FROM standin_webhook
		WHERE id IN (SELECT t.webhook_id FROM unnest($1::text[]) AS i (id)
			CROSS JOIN LATERAL (SELECT webhook_id FROM standin_delivery AS d WHERE d.id = i.id OFFSET 0) AS t)`
)

// DeliveryEnqueue inserts a River job for an existing delivery.
func (s *Store) DeliveryEnqueue(ctx context.Context, args store.DeliverArgs) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("enqueue delivery %s: %w", args.DeliveryID, err)
	}
	defer rollback(ctx, tx)
	var one int
	err = tx.QueryRow(ctx, `SELECT 1 FROM standin_delivery WHERE id = $1`, args.DeliveryID).Scan(&one)
	if err != nil {
		return fmt.Errorf("enqueue delivery %s: %w", args.DeliveryID, mapErr(err))
	}
	if _, err := s.inserter.InsertManyTx(ctx, tx, []river.InsertManyParams{sqlrow.DeliverJob(args, time.Time{})}); err != nil {
		return fmt.Errorf("enqueue delivery %s: insert job: %w", args.DeliveryID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("enqueue delivery %s: commit: %w", args.DeliveryID, err)
	}
	s.notifier.wake()
	return nil
}
