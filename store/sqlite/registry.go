package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlq"
	"github.com/standin-dev/standin/store/internal/sqlrow"
)

// WebhookHealthRecord clears the webhook's FailingSince on success and sets
// it to params.At on failure unless it is set already.
//
// It writes only when that changes the row: the usual case (a success on a
// healthy webhook, a failure on a failing one) is a read, not a write
// transaction per attempt.
func (s *Store) WebhookHealthRecord(ctx context.Context, params store.WebhookHealthParams) (*store.Webhook, error) {
	query := `UPDATE standin_webhook SET failing_since = ? WHERE id = ? AND failing_since IS NULL RETURNING ` + sqlq.WebhookColumns
	args := []any{micros(params.At), params.ID}
	if params.Succeeded {
		query = `UPDATE standin_webhook SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL RETURNING ` + sqlq.WebhookColumns
		args = args[1:]
	}
	wh, err := dialect.ScanWebhook(s.db.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		// Unchanged (or missing: then ErrNotFound below).
		wh, err = dialect.ScanWebhook(s.db.QueryRowContext(ctx, `SELECT `+sqlq.WebhookColumns+` FROM standin_webhook WHERE id = ?`, params.ID))
	}
	if err != nil {
		return nil, fmt.Errorf("record health of webhook %s: %w", params.ID, mapErr(err))
	}
	return wh, nil
}

// EventCreateMany creates every event of params, with its deliveries and
// jobs, in one transaction.
func (s *Store) EventCreateMany(ctx context.Context, params []store.EventCreateParams) ([]*store.Delivery, error) {
	if err := sqlrow.CheckEventsCreate(params); err != nil {
		return nil, fmt.Errorf("create events: %w", err)
	}
	deliveries, err := s.withEvents(ctx, params, nil)
	if err != nil {
		return nil, fmt.Errorf("create events: %w", err)
	}
	return deliveries, nil
}

// withEvents runs fn (when not nil) on a transaction, then creates events
// in it and commits (sqlq.Tables.WithEvents).
func (s *Store) withEvents(ctx context.Context, events []store.EventCreateParams, fn func(sqlq.Tables) error) ([]*store.Delivery, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer rollback(tx)
	if fn != nil {
		if err := fn(inTx(tx)); err != nil {
			return nil, err
		}
	}
	deliveries, err := s.createEvents(ctx, tx, events)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return deliveries, nil
}
func (s *Store) createEvents(ctx context.Context, tx *sql.Tx, params []store.EventCreateParams) ([]*store.Delivery, error) {
	all := []*store.Delivery{}
	for _, p := range params {
		ds, err := s.createEvent(ctx, tx, p)
		if err != nil {
			return nil, err
		}
		all = append(all, ds...)
	}
	if err := s.insertJobs(ctx, tx, params...); err != nil {
		return nil, err
	}
	return all, nil
}

// mapRegistryErr is mapErr plus a foreign key violation (a connection's
// group does not exist) as store.ErrNotFound.
func mapRegistryErr(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return fmt.Errorf("group does not exist: %w: %w", store.ErrNotFound, err)
	}
	return mapErr(err)
}
