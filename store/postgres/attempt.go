package postgres

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
// attempts, and moves the delivery to params.State in one statement (so one
// transaction). A terminal state sets the delivery's FinishedAt to
// params.UpdatedAt; any other state clears it. A delivery cancelled
// meanwhile stays cancelled unless the attempt succeeded. Concurrent records
// for one delivery serialize on its row lock.
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
	var finishedAt *time.Time
	if sqlrow.Terminal(params.State) {
		t := sqlrow.Time(params.UpdatedAt)
		finishedAt = &t
	}
	a.StartedAt = sqlrow.Time(a.StartedAt)
	a.ResponseExcerpt = sqlrow.Bytes(a.ResponseExcerpt)

	err = s.pool.QueryRow(ctx, `
		WITH d AS (
			UPDATE standin_delivery SET
				state = CASE WHEN state = $19::text AND $18::boolean THEN state ELSE $2::text END,
				attempts = attempts + 1,
				first_attempt_at = coalesce(first_attempt_at, $3),
				next_attempt_at = CASE WHEN state = $19 AND $18 THEN NULL ELSE $4::timestamptz END,
				last_status = $5,
				last_error = $6,
				updated_at = $7,
				finished_at = CASE WHEN state = $19 AND $18 THEN finished_at ELSE $8::timestamptz END
			WHERE id = $1
			RETURNING id, attempts
		)
		INSERT INTO standin_attempt (delivery_id, number, manual, url, started_at, emulated_delay_ns,
			request_headers, status_code, latency_ns, error, response_headers, response_excerpt, succeeded)
		SELECT d.id, d.attempts, $9, $10, $11, $12, $13::jsonb, $5, $14, $6, $15::jsonb, $16, $17
		FROM d
		RETURNING id, number`,
		a.DeliveryID, params.State, sqlrow.TimePtr(params.FirstAttemptAt), sqlrow.TimePtr(params.NextAttemptAt),
		a.StatusCode, a.Error, sqlrow.Time(params.UpdatedAt), finishedAt,
		a.Manual, a.URL, a.StartedAt, int64(a.EmulatedDelay), nullText(reqHeaders),
		int64(a.Latency), nullText(respHeaders), a.ResponseExcerpt, a.Succeeded,
		// A delivery cancelled while the attempt was in flight stays
		// cancelled unless the attempt succeeded (SET reads the old row).
		params.State != store.DeliverySucceeded, store.DeliveryCancelled,
	).Scan(&a.ID, &a.Number)
	if err != nil {
		return nil, fmt.Errorf("record attempt of delivery %s: %w", a.DeliveryID, mapErr(err))
	}
	return &a, nil
}

// AttemptListByDelivery returns the delivery's attempts by Number; none
// (not an error) when the delivery does not exist.
func (s *Store) AttemptListByDelivery(ctx context.Context, deliveryID string) ([]*store.Attempt, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+attemptColumns+` FROM standin_attempt WHERE delivery_id = $1 ORDER BY number`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("list attempts of delivery %s: %w", deliveryID, err)
	}
	defer rows.Close()
	list := []*store.Attempt{}
	for rows.Next() {
		var (
			a                       store.Attempt
			startedAt               time.Time
			delay, latency          int64
			reqHeaders, respHeaders []byte
		)
		err := rows.Scan(&a.ID, &a.DeliveryID, &a.Number, &a.Manual, &a.URL, &startedAt, &delay,
			&reqHeaders, &a.StatusCode, &latency, &a.Error, &respHeaders, &a.ResponseExcerpt, &a.Succeeded)
		if err != nil {
			return nil, fmt.Errorf("list attempts of delivery %s: %w", deliveryID, err)
		}
		a.StartedAt = utc(startedAt)
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
