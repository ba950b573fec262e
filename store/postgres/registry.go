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

// withEvents runs fn on a transaction, then creates events in it, commits
// and wakes the workers when there are deliveries (sqlq.Tables.WithEvents).
func (s *Store) withEvents(ctx context.Context, events []store.EventCreateParams, fn func(sqlq.Tables) error) ([]*store.Delivery, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer rollback(ctx, tx)
	if err := fn(inTx(tx)); err != nil {
		return nil, err
	}
	deliveries, err := s.createEvents(ctx, tx, events)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	if len(deliveries) > 0 {
		s.notifier.wake()
	}
	return deliveries, nil
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
