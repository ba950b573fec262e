package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlq"
	"github.com/standin-dev/standin/store/internal/sqlrow"
)

// AttemptRecord inserts the attempt, numbered after the delivery's previous
// attempts, and moves the delivery to params.State in one statement (so one
// transaction). A terminal state sets the delivery's FinishedAt to
// params.UpdatedAt; any other state clears it. A delivery cancelled
// meanwhile stays cancelled unless the attempt succeeded. Concurrent records
// for one delivery serialize on its row lock.
func (s *Store) AttemptRecord(ctx context.Context, params store.AttemptRecordParams) (*store.Attempt, error) {
	return sqlq.First(s.AttemptRecordMany(ctx, []store.AttemptRecordParams{params}))
}

// AttemptRecordMany records every attempt of params as AttemptRecord does,
// in order, in one transaction, with the jobs their RetryJobAt asks for.
// The attempts go in rounds of distinct
// deliveries (one round unless a delivery has two attempts in params), and a
// round is one set-based statement over arrays: a batch of a hundred
// attempts costs about what one does. The begin, the rounds and the commit
// travel in two round trips.
func (s *Store) AttemptRecordMany(ctx context.Context, params []store.AttemptRecordParams) ([]*store.Attempt, error) {
	if len(params) == 0 {
		return []*store.Attempt{}, nil
	}
	attempts := make([]*store.Attempt, len(params))
	var rounds []*attemptRound
	for i, p := range params {
		a, err := checkedAttempt(p)
		if err != nil {
			return nil, err
		}
		attempts[i] = a
		r := firstRoundWithout(rounds, a.DeliveryID)
		if r == nil {
			r = &attemptRound{byDelivery: map[string]*store.Attempt{}}
			rounds = append(rounds, r)
		}
		if err := r.add(a, p); err != nil {
			return nil, err
		}
	}

	batch := &pgx.Batch{}
	batch.BeginTx(pgx.TxOptions{})
	// A plan made for each call cost more than running the statement (316
	// µs of planning per call at 500 attempts/s), so the statement keeps one
	// generic plan per connection, and that plan must stay right as the
	// table grows from empty: with sequential scans priced out, the
	// deliveries are found through the primary key on the ids of $1 whatever
	// size the table had when the plan was made (TestAttemptWritePlan).
	batch.Queue(attemptPlanSQL)
	for _, r := range rounds {
		batch.Queue(attemptRecordManySQL, r.args()...)
	}
	br := s.pool.SendBatch(ctx, batch)
	tx := br.Tx()
	defer rollback(ctx, tx)
	_, err := br.Exec() // the begin
	if err == nil {
		_, err = br.Exec() // the plan settings
	}
	for _, r := range rounds {
		if err != nil {
			break
		}
		err = r.scan(br)
	}
	if closeErr := br.Close(); err == nil && closeErr != nil {
		err = fmt.Errorf("record attempts: %w", mapErr(closeErr))
	}
	if err != nil {
		return nil, err
	}
	retries := sqlrow.RetryJobs(params)
	if err := s.insertJobs(ctx, tx, retries); err != nil {
		return nil, fmt.Errorf("record attempts: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("record attempts: commit: %w", err)
	}
	if len(retries) > 0 {
		s.notifier.wake()
	}
	return attempts, nil
}

// attemptRecordManySQL records a round of attempts of distinct deliveries:
// it updates each delivery as AttemptRecord describes and inserts the
// attempts numbered after it, returning one row per attempt whose delivery
// exists.
const attemptRecordManySQL = `
	WITH u AS (
		SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::integer[],
			$6::text[], $7::timestamptz[], $8::timestamptz[], $9::boolean[], $10::text[], $11::timestamptz[],
			$12::bigint[], $13::text[], $14::bigint[], $15::text[], $16::bytea[], $17::boolean[], $18::boolean[], $20::text[])
			WITH ORDINALITY AS u (delivery_id, state, first_attempt_at, next_attempt_at, status_code,
				error, updated_at, finished_at, manual, url, started_at,
				emulated_delay_ns, request_headers, latency_ns, response_headers, response_excerpt, succeeded, keep, fault, ord)
	), d AS (
		UPDATE standin_delivery AS t SET
			state = CASE WHEN t.state = $19 AND u.keep THEN t.state ELSE u.state END,
			attempts = t.attempts + 1,
			manual_attempts = t.manual_attempts + CASE WHEN u.manual THEN 1 ELSE 0 END,
			first_attempt_at = coalesce(t.first_attempt_at, u.first_attempt_at),
			next_attempt_at = CASE WHEN t.state = $19 AND u.keep THEN NULL ELSE u.next_attempt_at END,
			last_status = u.status_code,
			last_error = u.error,
			updated_at = u.updated_at,
			finished_at = CASE WHEN t.state = $19 AND u.keep THEN t.finished_at ELSE u.finished_at END
		FROM u
		WHERE t.id = u.delivery_id AND t.id = ANY ($1::text[])
		RETURNING t.id, t.attempts
	)
	INSERT INTO standin_attempt (delivery_id, number, manual, url, started_at, emulated_delay_ns,
		request_headers, status_code, latency_ns, error, response_headers, response_excerpt, succeeded, fault)
	SELECT d.id, d.attempts, u.manual, u.url, u.started_at, u.emulated_delay_ns, u.request_headers::jsonb,
		u.status_code, u.latency_ns, u.error, u.response_headers::jsonb, u.response_excerpt, u.succeeded, u.fault
	FROM u JOIN d ON d.id = u.delivery_id
	ORDER BY u.ord
	RETURNING delivery_id, id, number`

// attemptPlanSQL sets, for the attempt transaction only, the plan settings
// attemptRecordManySQL is made for: one generic plan per connection, in
// which standin_delivery is read through its primary key.
const attemptPlanSQL = `SELECT set_config('plan_cache_mode', 'force_generic_plan', true),
	set_config('enable_seqscan', 'off', true)`

// attemptRound is a set of attempts of distinct deliveries, as columns.
type attemptRound struct {
	byDelivery map[string]*store.Attempt
	order      []string

	states                                []string
	firstAts, nextAts, updatedAts, finAts []*time.Time
	statuses                              []int32
	errs, urls, faults                    []string
	manuals, succeededs, keeps            []bool
	startedAts                            []time.Time
	delays, latencies                     []int64
	reqHeaders, respHeaders               []*string
	excerpts                              [][]byte
}

func firstRoundWithout(rounds []*attemptRound, deliveryID string) *attemptRound {
	for _, r := range rounds {
		if _, ok := r.byDelivery[deliveryID]; !ok {
			return r
		}
	}
	return nil
}

func (r *attemptRound) add(a *store.Attempt, p store.AttemptRecordParams) error {
	reqHeaders, err := sqlrow.EncodeHeader(a.RequestHeaders)
	if err != nil {
		return fmt.Errorf("record attempt of delivery %s: %w", a.DeliveryID, err)
	}
	respHeaders, err := sqlrow.EncodeHeader(a.ResponseHeaders)
	if err != nil {
		return fmt.Errorf("record attempt of delivery %s: %w", a.DeliveryID, err)
	}
	var finishedAt *time.Time
	if p.State.Terminal() {
		t := sqlrow.Time(p.UpdatedAt)
		finishedAt = &t
	}
	updatedAt := sqlrow.Time(p.UpdatedAt)
	r.byDelivery[a.DeliveryID] = a
	r.order = append(r.order, a.DeliveryID)
	r.states = append(r.states, string(p.State))
	r.firstAts = append(r.firstAts, sqlrow.TimePtr(p.FirstAttemptAt))
	r.nextAts = append(r.nextAts, sqlrow.TimePtr(p.NextAttemptAt))
	r.statuses = append(r.statuses, int32(a.StatusCode))
	r.errs = append(r.errs, a.Error)
	r.updatedAts = append(r.updatedAts, &updatedAt)
	r.finAts = append(r.finAts, finishedAt)
	r.manuals = append(r.manuals, a.Manual)
	r.urls = append(r.urls, a.URL)
	r.startedAts = append(r.startedAts, a.StartedAt)
	r.delays = append(r.delays, int64(a.EmulatedDelay))
	r.reqHeaders = append(r.reqHeaders, nullText(reqHeaders))
	r.latencies = append(r.latencies, int64(a.Latency))
	r.respHeaders = append(r.respHeaders, nullText(respHeaders))
	r.excerpts = append(r.excerpts, a.ResponseExcerpt)
	r.succeededs = append(r.succeededs, a.Succeeded)
	r.faults = append(r.faults, a.Fault)
	// A delivery cancelled while the attempt was in flight stays cancelled
	// unless the attempt succeeded (SET reads the old row).
	r.keeps = append(r.keeps, p.State != store.DeliverySucceeded)
	return nil
}

func (r *attemptRound) args() []any {
	return []any{
		r.order, r.states, r.firstAts, r.nextAts, r.statuses,
		r.errs, r.updatedAts, r.finAts, r.manuals, r.urls, r.startedAts,
		r.delays, r.reqHeaders, r.latencies, r.respHeaders, r.excerpts, r.succeededs, r.keeps,
		store.DeliveryCancelled, r.faults,
	}
}

// scan reads the round's result into its attempts; a delivery that does
// not exist is ErrNotFound.
func (r *attemptRound) scan(br pgx.BatchResults) error {
	rows, err := br.Query()
	if err != nil {
		return fmt.Errorf("record attempts: %w", mapErr(err))
	}
	seen := 0
	for rows.Next() {
		var deliveryID string
		var id int64
		var number int
		if err := rows.Scan(&deliveryID, &id, &number); err != nil {
			rows.Close()
			return fmt.Errorf("record attempts: %w", err)
		}
		if a := r.byDelivery[deliveryID]; a != nil {
			a.ID, a.Number = id, number
			seen++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("record attempts: %w", mapErr(err))
	}
	if seen == len(r.order) {
		return nil
	}
	for _, id := range r.order {
		if r.byDelivery[id].Number == 0 {
			return fmt.Errorf("record attempt of delivery %s: %w", id, store.ErrNotFound)
		}
	}
	return nil
}

// checkedAttempt checks params and returns the attempt to fill in, its
// times and excerpt in the form the store keeps.
func checkedAttempt(params store.AttemptRecordParams) (*store.Attempt, error) {
	if err := sqlrow.CheckAttemptRecord(params); err != nil {
		return nil, fmt.Errorf("record attempt: %w", err)
	}
	a := params.Attempt
	a.StartedAt = sqlrow.Time(a.StartedAt)
	a.ResponseExcerpt = sqlrow.Bytes(a.ResponseExcerpt)
	return &a, nil
}
