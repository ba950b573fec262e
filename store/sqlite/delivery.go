package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlq"
	"github.com/standin-dev/standin/store/internal/sqlrow"
)

// DeliveryGetManyWithWebhook returns the deliveries with the given ids and
// their webhooks: one query for the deliveries, whatever their number (the
// ids go in as one JSON array, so the statement stays prepared), and one per
// distinct webhook.
func (s *Store) DeliveryGetManyWithWebhook(ctx context.Context, ids []string) (map[string]store.DeliveryWithWebhook, error) {
	found := make(map[string]store.DeliveryWithWebhook, len(ids))
	if len(ids) == 0 {
		return found, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("get %d deliveries: %w", len(ids), err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+sqlrow.Qualified("d", sqlq.DeliveryColumns)+`
		FROM json_each(?) AS i JOIN standin_delivery AS d ON d.id = i.value`, string(list))
	if err != nil {
		return nil, fmt.Errorf("get %d deliveries: %w", len(ids), err)
	}
	deliveries, err := dialect.ScanDeliveries(sqlRows{rows})
	if err != nil {
		return nil, fmt.Errorf("get %d deliveries: %w", len(ids), err)
	}
	webhooks := map[string]*store.Webhook{}
	for _, d := range deliveries {
		wh, seen := webhooks[d.WebhookID]
		if !seen {
			wh, err = s.WebhookGetByID(ctx, d.WebhookID)
			switch {
			case errors.Is(err, store.ErrNotFound):
				wh = nil
			case err != nil:
				return nil, fmt.Errorf("get webhook of delivery %s: %w", d.ID, err)
			}
			webhooks[d.WebhookID] = wh
		}
		found[d.ID] = store.DeliveryWithWebhook{Delivery: d, Webhook: wh}
	}
	return found, nil
}

// DeliveryEnqueue inserts a River job for an existing delivery.
func (s *Store) DeliveryEnqueue(ctx context.Context, args store.DeliverArgs) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("enqueue delivery %s: %w", args.DeliveryID, err)
	}
	defer rollback(tx)
	var one int
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM standin_delivery WHERE id = ?`, args.DeliveryID).Scan(&one)
	if err != nil {
		return fmt.Errorf("enqueue delivery %s: %w", args.DeliveryID, mapErr(err))
	}
	if _, err := s.inserter.InsertManyTx(ctx, tx, []river.InsertManyParams{sqlrow.DeliverJob(args, time.Time{})}); err != nil {
		return fmt.Errorf("enqueue delivery %s: insert job: %w", args.DeliveryID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("enqueue delivery %s: commit: %w", args.DeliveryID, err)
	}
	return nil
}

// DeliveryCancel moves a pending or retrying delivery to cancelled, with
// FinishedAt and UpdatedAt set to at and no next attempt. Other states are
// store.ErrConflict.
func (s *Store) DeliveryCancel(ctx context.Context, id string, at time.Time) (*store.Delivery, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("cancel delivery %s: %w", id, err)
	}
	defer rollback(tx)
	d, err := inTx(tx).DeliveryCancel(ctx, id, at)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("cancel delivery %s: commit: %w", id, err)
	}
	return d, nil
}
