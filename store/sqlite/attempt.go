package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlq"
	"github.com/standin-dev/standin/store/internal/sqlrow"
)

// AttemptRecord inserts the attempt, numbered after the delivery's previous
// attempts, and moves the delivery to params.State in one transaction. A
// terminal state sets the delivery's FinishedAt to params.UpdatedAt; any other
// state clears it. A delivery cancelled meanwhile stays cancelled
// unless the attempt succeeded.
func (s *Store) AttemptRecord(ctx context.Context, params store.AttemptRecordParams) (*store.Attempt, error) {
	return sqlq.First(s.AttemptRecordMany(ctx, []store.AttemptRecordParams{params}))
}

// AttemptRecordMany records every attempt of params as AttemptRecord does,
// in order, in one transaction, with the jobs their RetryJobAt asks for:
// one commit (and WAL sync) for all of them.
func (s *Store) AttemptRecordMany(ctx context.Context, params []store.AttemptRecordParams) ([]*store.Attempt, error) {
	if len(params) == 0 {
		return []*store.Attempt{}, nil
	}
	for _, p := range params {
		if err := sqlrow.CheckAttemptRecord(p); err != nil {
			return nil, fmt.Errorf("record attempt: %w", err)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("record attempts: %w", err)
	}
	defer rollback(tx)
	attempts := make([]*store.Attempt, len(params))
	for i, p := range params {
		if attempts[i], err = recordAttempt(ctx, tx, p); err != nil {
			return nil, err
		}
	}
	if retries := sqlrow.RetryJobs(params); len(retries) > 0 {
		if _, err := s.inserter.InsertManyFastTx(ctx, tx, retries); err != nil {
			return nil, fmt.Errorf("record attempts: insert jobs: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("record attempts: commit: %w", err)
	}
	return attempts, nil
}

// recordAttempt inserts one checked attempt and updates its delivery in tx.
func recordAttempt(ctx context.Context, tx *sql.Tx, params store.AttemptRecordParams) (*store.Attempt, error) {
	a := params.Attempt
	reqHeaders, err := sqlrow.EncodeHeader(a.RequestHeaders)
	if err != nil {
		return nil, fmt.Errorf("record attempt of delivery %s: %w", a.DeliveryID, err)
	}
	respHeaders, err := sqlrow.EncodeHeader(a.ResponseHeaders)
	if err != nil {
		return nil, fmt.Errorf("record attempt of delivery %s: %w", a.DeliveryID, err)
	}
	var finishedAt any
	if params.State.Terminal() {
		finishedAt = micros(params.UpdatedAt)
	}

	// A delivery cancelled while the attempt was in flight stays cancelled
	// unless the attempt succeeded (SET expressions read the old row).
	keep := params.State != store.DeliverySucceeded
	var number int
	err = tx.QueryRowContext(ctx, `
		UPDATE standin_delivery SET
			state = CASE WHEN state = ? AND ? THEN state ELSE ? END,
			attempts = attempts + 1,
			manual_attempts = manual_attempts + ?,
			first_attempt_at = coalesce(first_attempt_at, ?),
			next_attempt_at = CASE WHEN state = ? AND ? THEN NULL ELSE ? END,
			last_status = ?,
			last_error = ?,
			updated_at = ?,
			finished_at = CASE WHEN state = ? AND ? THEN finished_at ELSE ? END
		WHERE id = ?
		RETURNING attempts`,
		store.DeliveryCancelled, keep, params.State,
		manualCount(a.Manual),
		dialect.TimePtr(params.FirstAttemptAt),
		store.DeliveryCancelled, keep, dialect.TimePtr(params.NextAttemptAt),
		a.StatusCode, a.Error, micros(params.UpdatedAt),
		store.DeliveryCancelled, keep, finishedAt,
		a.DeliveryID,
	).Scan(&number)
	if err != nil {
		return nil, fmt.Errorf("record attempt of delivery %s: %w", a.DeliveryID, mapErr(err))
	}
	a.Number = number
	a.StartedAt = sqlrow.Time(a.StartedAt)
	a.ResponseExcerpt = sqlrow.Bytes(a.ResponseExcerpt)
	err = tx.QueryRowContext(ctx, `
		INSERT INTO standin_attempt (delivery_id, number, manual, url, started_at, emulated_delay_ns,
			request_headers, status_code, latency_ns, error, response_headers, response_excerpt, succeeded, fault)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING id`,
		a.DeliveryID, a.Number, a.Manual, a.URL, micros(a.StartedAt), int64(a.EmulatedDelay),
		sqlq.NullText(reqHeaders), a.StatusCode, int64(a.Latency), a.Error, sqlq.NullText(respHeaders),
		a.ResponseExcerpt, a.Succeeded, a.Fault,
	).Scan(&a.ID)
	if err != nil {
		return nil, fmt.Errorf("record attempt %d of delivery %s: %w", a.Number, a.DeliveryID, mapErr(err))
	}
	return &a, nil
}

// manualCount is what a manual attempt adds to its delivery's
// manual_attempts.
func manualCount(manual bool) int {
	if manual {
		return 1
	}
	return 0
}
