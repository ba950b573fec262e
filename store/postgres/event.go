package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlrow"
)

// EventCreate writes the event, its deliveries (pending, due at RunAt or the
// event's CreatedAt) and one River job per delivery in one transaction: one
// round trip for the event and all deliveries, one for the jobs.
func (s *Store) EventCreate(ctx context.Context, params store.EventCreateParams) ([]*store.Delivery, error) {
	if err := sqlrow.CheckEventCreate(params); err != nil {
		return nil, fmt.Errorf("create event: %w", err)
	}
	ev := params.Event
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("create event %s: %w", ev.ID, err)
	}
	defer rollback(ctx, tx)
	deliveries, err := s.createEvent(ctx, tx, params)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("create event %s: commit: %w", ev.ID, err)
	}
	if len(deliveries) > 0 {
		s.notifier.wake()
	}
	return deliveries, nil
}

// createEvent writes the event, its deliveries and their River jobs in tx.
// params must have passed sqlrow.CheckEventCreate.
func (s *Store) createEvent(ctx context.Context, tx pgx.Tx, params store.EventCreateParams) ([]*store.Delivery, error) {
	ev := params.Event
	deliveries := sqlrow.Deliveries(params)
	batch := &pgx.Batch{}
	batch.Queue(`
		INSERT INTO standin_event (id, name, group_id, source, created_at)
		VALUES ($1, $2, $3, $4::json, $5)`,
		ev.ID, ev.Name, ev.GroupID, nullText(ev.Source), sqlrow.Time(ev.CreatedAt))
	if len(deliveries) > 0 {
		n := len(deliveries)
		ids, webhookIDs, profiles := make([]string, n), make([]string, n), make([]string, n)
		bodies, nextAts := make([][]byte, n), make([]time.Time, n)
		for i, d := range deliveries {
			ids[i], webhookIDs[i], profiles[i] = d.ID, d.WebhookID, string(d.Profile)
			bodies[i], nextAts[i] = d.Body, *d.NextAttemptAt
		}
		batch.Queue(`
			INSERT INTO standin_delivery (id, event_id, event_name, webhook_id, profile, body,
				state, next_attempt_at, created_at, updated_at)
			SELECT u.id, $1, $2, u.webhook_id, u.profile, u.body, $3, u.next_attempt_at, $4, $4
			FROM unnest($5::text[], $6::text[], $7::text[], $8::bytea[], $9::timestamptz[])
				AS u (id, webhook_id, profile, body, next_attempt_at)`,
			ev.ID, ev.Name, store.DeliveryPending, sqlrow.Time(ev.CreatedAt),
			ids, webhookIDs, profiles, bodies, nextAts)
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return nil, fmt.Errorf("create event %s: %w", ev.ID, mapErr(err))
	}
	if len(deliveries) > 0 {
		if _, err := s.inserter.InsertManyTx(ctx, tx, sqlrow.Jobs(params)); err != nil {
			return nil, fmt.Errorf("create event %s: insert jobs: %w", ev.ID, err)
		}
	}
	return deliveries, nil
}

// EventGetByID returns the event with id.
func (s *Store) EventGetByID(ctx context.Context, id string) (*store.Event, error) {
	var (
		ev        store.Event
		source    []byte
		createdAt time.Time
	)
	err := s.pool.QueryRow(ctx, `
		SELECT id, name, group_id, source, created_at FROM standin_event WHERE id = $1`, id,
	).Scan(&ev.ID, &ev.Name, &ev.GroupID, &source, &createdAt)
	if err != nil {
		return nil, fmt.Errorf("get event %s: %w", id, mapErr(err))
	}
	ev.Source = sqlrow.Bytes(source)
	ev.CreatedAt = utc(createdAt)
	return &ev, nil
}

// nullText is the text of an optional JSON document; empty is NULL.
func nullText(b []byte) *string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	return &s
}
