package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlq"
	"github.com/standin-dev/standin/store/internal/sqlrow"
)

// WebhookHealthRecord clears the webhook's FailingSince on success and sets
// it to params.At on failure unless it is set already.
//
// It writes only when that changes the row: the usual case (a success on a
// healthy webhook, a failure on a failing one) is a read, so the attempts of
// a busy webhook do not queue one by one on its row lock and WAL flush.
func (s *Store) WebhookHealthRecord(ctx context.Context, params store.WebhookHealthParams) (*store.Webhook, error) {
	set, changes := `NULL`, `failing_since IS NOT NULL`
	args := []any{params.ID}
	if !params.Succeeded {
		set, changes = `$2::timestamptz`, `failing_since IS NULL`
		args = append(args, sqlrow.Time(params.At))
	}
	query := `
		WITH u AS (
			UPDATE standin_webhook SET failing_since = ` + set + `
			WHERE id = $1 AND ` + changes + `
			RETURNING ` + sqlq.WebhookColumns + `
		)
		SELECT ` + sqlq.WebhookColumns + ` FROM u
		UNION ALL
		SELECT ` + sqlq.WebhookColumns + ` FROM standin_webhook WHERE id = $1 AND NOT EXISTS (SELECT FROM u)`
	wh, err := dialect.ScanWebhook(s.pool.QueryRow(ctx, query, args...))
	if err != nil {
		return nil, fmt.Errorf("record health of webhook %s: %w", params.ID, mapErr(err))
	}
	return wh, nil
}

// ConnectionCreate inserts the connection (Version 1) and creates its events
// in one transaction.
func (s *Store) ConnectionCreate(ctx context.Context, params store.ConnectionCreateParams) ([]*store.Delivery, error) {
	c := params.Connection
	if err := sqlrow.CheckConnectionCreate(params); err != nil {
		return nil, err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("create connection %s: %w", c.ID, err)
	}
	defer rollback(ctx, tx)
	if err := inTx(tx).ConnectionInsert(ctx, c); err != nil {
		return nil, fmt.Errorf("create connection %s: %w", c.ID, mapRegistryErr(err))
	}
	deliveries, err := s.createEvents(ctx, tx, params.Events)
	if err != nil {
		return nil, fmt.Errorf("create connection %s: %w", c.ID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("create connection %s: commit: %w", c.ID, err)
	}
	if len(deliveries) > 0 {
		s.notifier.wake()
	}
	return deliveries, nil
}

// ConnectionUpdate applies params in one transaction: the connection's
// fields (and Version + 1), the cancellation of CancelEventID's open
// deliveries, and the events.
func (s *Store) ConnectionUpdate(ctx context.Context, params store.ConnectionUpdateParams) (*store.Connection, []*store.Delivery, error) {
	if err := sqlrow.CheckEventsCreate(params.Events); err != nil {
		return nil, nil, fmt.Errorf("update connection %s: %w", params.ID, err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("update connection %s: %w", params.ID, err)
	}
	defer rollback(ctx, tx)
	c, err := inTx(tx).ConnectionUpdate(ctx, params)
	if err != nil {
		return nil, nil, err
	}
	deliveries, err := s.createEvents(ctx, tx, params.Events)
	if err != nil {
		return nil, nil, fmt.Errorf("update connection %s: %w", params.ID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, nil, fmt.Errorf("update connection %s: commit: %w", params.ID, err)
	}
	if len(deliveries) > 0 {
		s.notifier.wake()
	}
	return c, deliveries, nil
}

// mapRegistryErr is mapErr plus a foreign key violation (a connection's
// group does not exist) as store.ErrNotFound.
func mapRegistryErr(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" { // foreign_key_violation
		return fmt.Errorf("group does not exist: %w: %w", store.ErrNotFound, err)
	}
	return mapErr(err)
}
