package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlrow"
)

const deliveryColumns = `id, event_id, event_name, webhook_id, profile, body, state, attempts,
	first_attempt_at, next_attempt_at, last_status, last_error, created_at, updated_at, finished_at,
	manual_attempts`

// DeliveryGetByID returns the delivery with id.
func (s *Store) DeliveryGetByID(ctx context.Context, id string) (*store.Delivery, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM standin_delivery WHERE id = ?`, id)
	d, err := scanDelivery(row)
	if err != nil {
		return nil, fmt.Errorf("get delivery %s: %w", id, mapErr(err))
	}
	return d, nil
}

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
	rows, err := s.db.QueryContext(ctx, `SELECT `+sqlrow.Qualified("d", deliveryColumns)+`
		FROM json_each(?) AS i JOIN standin_delivery AS d ON d.id = i.value`, string(list))
	if err != nil {
		return nil, fmt.Errorf("get %d deliveries: %w", len(ids), err)
	}
	var deliveries []*store.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("get %d deliveries: %w", len(ids), err)
		}
		deliveries = append(deliveries, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
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

// DeliveryList returns up to params.Limit deliveries matching the filters,
// newest first (CreatedAt, then ID, descending). A BeforeID that names no
// delivery is an error wrapping store.ErrNotFound.
func (s *Store) DeliveryList(ctx context.Context, params store.DeliveryListParams) ([]*store.Delivery, error) {
	if err := sqlrow.CheckLimit(params.Limit); err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	var where []string
	var args []any
	add := func(cond string, arg ...any) {
		where = append(where, cond)
		args = append(args, arg...)
	}
	if params.WebhookID != "" {
		add("webhook_id = ?", params.WebhookID)
	}
	if params.EventID != "" {
		add("event_id = ?", params.EventID)
	}
	if params.EventName != "" {
		add("event_name = ?", params.EventName)
	}
	if params.State != "" {
		add("state = ?", params.State)
	}
	if !params.Since.IsZero() {
		add("created_at >= ?", micros(params.Since))
	}
	if !params.Until.IsZero() {
		add("created_at < ?", micros(params.Until))
	}
	if params.BeforeID != "" {
		var createdAt int64
		err := s.db.QueryRowContext(ctx,
			`SELECT created_at FROM standin_delivery WHERE id = ?`, params.BeforeID).Scan(&createdAt)
		if err != nil {
			return nil, fmt.Errorf("list deliveries: cursor delivery %s: %w", params.BeforeID, mapErr(err))
		}
		add("(created_at, id) < (?, ?)", createdAt, params.BeforeID)
	}
	query := `SELECT ` + deliveryColumns + ` FROM standin_delivery`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, params.Limit)

	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	defer rows.Close()
	list := []*store.Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("list deliveries: %w", err)
		}
		list = append(list, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return list, nil
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
	row := tx.QueryRowContext(ctx, `
		UPDATE standin_delivery
		SET state = ?, finished_at = ?, updated_at = ?, next_attempt_at = NULL
		WHERE id = ? AND state IN (?, ?)
		RETURNING `+deliveryColumns,
		store.DeliveryCancelled, micros(at), micros(at), id, store.DeliveryPending, store.DeliveryRetrying)
	d, err := scanDelivery(row)
	if errors.Is(err, sql.ErrNoRows) {
		var state string
		err = tx.QueryRowContext(ctx, `SELECT state FROM standin_delivery WHERE id = ?`, id).Scan(&state)
		if err != nil {
			return nil, fmt.Errorf("cancel delivery %s: %w", id, mapErr(err))
		}
		return nil, fmt.Errorf("cancel delivery %s: state is %s: %w", id, state, store.ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("cancel delivery %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("cancel delivery %s: commit: %w", id, err)
	}
	return d, nil
}

func scanDelivery(row scanner) (*store.Delivery, error) {
	var (
		d                           store.Delivery
		profile                     string
		firstAt, nextAt, finishedAt sql.NullInt64
		createdAt, updatedAt        int64
	)
	err := row.Scan(&d.ID, &d.EventID, &d.EventName, &d.WebhookID, &profile, &d.Body, &d.State,
		&d.Attempts, &firstAt, &nextAt, &d.LastStatus, &d.LastError, &createdAt, &updatedAt, &finishedAt,
		&d.ManualAttempts)
	if err != nil {
		return nil, err
	}
	if d.Body == nil {
		d.Body = []byte{}
	}
	d.Profile = delivery.Profile(profile)
	d.FirstAttemptAt = fromNullMicros(firstAt)
	d.NextAttemptAt = fromNullMicros(nextAt)
	d.FinishedAt = fromNullMicros(finishedAt)
	d.CreatedAt = fromMicros(createdAt)
	d.UpdatedAt = fromMicros(updatedAt)
	return &d, nil
}
