package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlrow"
)

const attemptColumns = `id, delivery_id, number, manual, url, started_at, emulated_delay_ns,
	request_headers, status_code, latency_ns, error, response_headers, response_excerpt, succeeded`

// AttemptRecord inserts the attempt, numbered after the delivery's previous
// attempts, and moves the delivery to params.State in one transaction. A
// terminal state sets the delivery's FinishedAt to params.UpdatedAt; any other
// state clears it. A delivery cancelled meanwhile stays cancelled
// unless the attempt succeeded.
func (s *Store) AttemptRecord(ctx context.Context, params store.AttemptRecordParams) (*store.Attempt, error) {
	if err := sqlrow.CheckAttemptRecord(params); err != nil {
		return nil, fmt.Errorf("record attempt: %w", err)
	}
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
	if sqlrow.Terminal(params.State) {
		finishedAt = micros(params.UpdatedAt)
	}

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("record attempt of delivery %s: %w", a.DeliveryID, err)
	}
	defer rollback(tx)

	// A delivery cancelled while the attempt was in flight stays cancelled
	// unless the attempt succeeded (SET expressions read the old row).
	keep := params.State != store.DeliverySucceeded
	var number int
	err = tx.QueryRowContext(ctx, `
		UPDATE standin_delivery SET
			state = CASE WHEN state = ? AND ? THEN state ELSE ? END,
			attempts = attempts + 1,
			first_attempt_at = coalesce(first_attempt_at, ?),
			next_attempt_at = CASE WHEN state = ? AND ? THEN NULL ELSE ? END,
			last_status = ?,
			last_error = ?,
			updated_at = ?,
			finished_at = CASE WHEN state = ? AND ? THEN finished_at ELSE ? END
		WHERE id = ?
		RETURNING attempts`,
		store.DeliveryCancelled, keep, params.State,
		microsPtr(params.FirstAttemptAt),
		store.DeliveryCancelled, keep, microsPtr(params.NextAttemptAt),
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
			request_headers, status_code, latency_ns, error, response_headers, response_excerpt, succeeded)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING id`,
		a.DeliveryID, a.Number, a.Manual, a.URL, micros(a.StartedAt), int64(a.EmulatedDelay),
		nullText(reqHeaders), a.StatusCode, int64(a.Latency), a.Error, nullText(respHeaders),
		a.ResponseExcerpt, a.Succeeded,
	).Scan(&a.ID)
	if err != nil {
		return nil, fmt.Errorf("record attempt %d of delivery %s: %w", a.Number, a.DeliveryID, mapErr(err))
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("record attempt of delivery %s: commit: %w", a.DeliveryID, err)
	}
	return &a, nil
}

// AttemptListByDelivery returns the delivery's attempts by Number; none
// (not an error) when the delivery does not exist.
func (s *Store) AttemptListByDelivery(ctx context.Context, deliveryID string) ([]*store.Attempt, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT `+attemptColumns+` FROM standin_attempt WHERE delivery_id = ? ORDER BY number`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("list attempts of delivery %s: %w", deliveryID, err)
	}
	defer rows.Close()
	list := []*store.Attempt{}
	for rows.Next() {
		var (
			a                         store.Attempt
			startedAt, delay, latency int64
			reqHeaders, respHeaders   []byte
		)
		err := rows.Scan(&a.ID, &a.DeliveryID, &a.Number, &a.Manual, &a.URL, &startedAt, &delay,
			&reqHeaders, &a.StatusCode, &latency, &a.Error, &respHeaders, &a.ResponseExcerpt, &a.Succeeded)
		if err != nil {
			return nil, fmt.Errorf("list attempts of delivery %s: %w", deliveryID, err)
		}
		a.StartedAt = fromMicros(startedAt)
		a.EmulatedDelay = time.Duration(delay)
		a.Latency = time.Duration(latency)
		if a.RequestHeaders, err = sqlrow.DecodeHeader(reqHeaders); err != nil {
			return nil, fmt.Errorf("list attempts of delivery %s: %w", deliveryID, err)
		}
		if a.ResponseHeaders, err = sqlrow.DecodeHeader(respHeaders); err != nil {
			return nil, fmt.Errorf("list attempts of delivery %s: %w", deliveryID, err)
		}
		a.ResponseExcerpt = sqlrow.Bytes(a.ResponseExcerpt)
		list = append(list, &a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list attempts of delivery %s: %w", deliveryID, err)
	}
	return list, nil
}
