package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlq"
	"github.com/standin-dev/standin/store/internal/sqlrow"
)

// EventCreate writes the event, its deliveries (pending, due at RunAt or the
// event's CreatedAt) and their River jobs (see sqlrow.Jobs) in one
// transaction.
func (s *Store) EventCreate(ctx context.Context, params store.EventCreateParams) ([]*store.Delivery, error) {
	if err := sqlrow.CheckEventCreate(params); err != nil {
		return nil, fmt.Errorf("create event: %w", err)
	}
	deliveries, err := s.inTx(ctx, []store.EventCreateParams{params})
	if err != nil {
		return nil, fmt.Errorf("create event %s: %w", params.Event.ID, err)
	}
	return deliveries, nil
}

// EventCreateMany creates every event of params, with its deliveries and
// jobs, in one transaction.
func (s *Store) EventCreateMany(ctx context.Context, params []store.EventCreateParams) ([]*store.Delivery, error) {
	if err := sqlrow.CheckEventsCreate(params); err != nil {
		return nil, fmt.Errorf("create events: %w", err)
	}
	deliveries, err := s.inTx(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("create events: %w", err)
	}
	return deliveries, nil
}

// inTx creates the events of params in a transaction of their own that
// also notifies the workers when there are deliveries. The begin and the
// notification travel with the inserts of events and deliveries: with the
// jobs and the commit, three round trips.
func (s *Store) inTx(ctx context.Context, params []store.EventCreateParams) ([]*store.Delivery, error) {
	batch := &pgx.Batch{}
	batch.BeginTx(pgx.TxOptions{})
	deliveries, jobs := queueEvents(batch, params)
	for _, q := range jobQueues(jobs) {
		s.notifier.queueNotify(batch, q) // see notify.go
	}
	br := s.pool.SendBatch(ctx, batch)
	tx := br.Tx()
	defer rollback(ctx, tx)
	if err := br.Close(); err != nil {
		return nil, mapErr(err)
	}
	if err := s.insertJobs(ctx, tx, jobs); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return deliveries, nil
}

// createEvents writes the events of params, their deliveries and their
// River jobs in tx, whatever their number in two round trips: one batch for
// the events and deliveries (one statement each), one multi-row insert for
// the jobs. params must have passed sqlrow.CheckEventsCreate. It returns
// the deliveries of all events, in order.
func (s *Store) createEvents(ctx context.Context, tx pgx.Tx, params []store.EventCreateParams) ([]*store.Delivery, error) {
	batch := &pgx.Batch{}
	deliveries, jobs := queueEvents(batch, params)
	if batch.Len() > 0 {
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return nil, mapErr(err)
		}
	}
	if err := s.insertJobs(ctx, tx, jobs); err != nil {
		return nil, err
	}
	return deliveries, nil
}

func (s *Store) insertJobs(ctx context.Context, tx pgx.Tx, jobs []river.InsertManyParams) error {
	if len(jobs) == 0 {
		return nil
	}
	if _, err := s.inserter.InsertManyTx(ctx, tx, jobs); err != nil {
		return fmt.Errorf("insert jobs: %w", err)
	}
	return nil
}

// queueEvents queues the inserts of the events of params and of their
// deliveries (one statement each, over arrays) in batch, and returns the
// deliveries and the River jobs to insert for them.
func queueEvents(batch *pgx.Batch, params []store.EventCreateParams) (deliveries []*store.Delivery, jobs []river.InsertManyParams) {
	deliveries = []*store.Delivery{}
	if len(params) == 0 {
		return deliveries, nil
	}
	var (
		evIDs, evNames, evGroups []string
		evSources                []*string
		evCreated                []time.Time

		ids, eventIDs, eventNames, webhookIDs, profiles, faults []string
		bodies                                                  [][]byte
		nextAts, createdAts                                     []time.Time
	)
	for _, p := range params {
		ev := p.Event
		evIDs, evNames, evGroups = append(evIDs, ev.ID), append(evNames, ev.Name), append(evGroups, ev.GroupID)
		evSources, evCreated = append(evSources, nullText(ev.Source)), append(evCreated, sqlrow.Time(ev.CreatedAt))
		for _, d := range sqlrow.Deliveries(p) {
			ids, eventIDs, eventNames = append(ids, d.ID), append(eventIDs, d.EventID), append(eventNames, d.EventName)
			webhookIDs, profiles = append(webhookIDs, d.WebhookID), append(profiles, string(d.Profile))
			bodies, nextAts, createdAts = append(bodies, d.Body), append(nextAts, *d.NextAttemptAt), append(createdAts, d.CreatedAt)
			faults = append(faults, sqlq.EncodeFaults(d.Faults))
			deliveries = append(deliveries, d)
		}
	}
	jobs = sqlrow.Jobs(params...)
	batch.Queue(`
		INSERT INTO standin_event (id, name, group_id, source, created_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::json[], $5::timestamptz[])`,
		evIDs, evNames, evGroups, evSources, evCreated)
	if len(deliveries) > 0 {
		batch.Queue(`
			INSERT INTO standin_delivery (id, event_id, event_name, webhook_id, profile, body,
				state, next_attempt_at, created_at, updated_at, faults)
			SELECT u.id, u.event_id, u.event_name, u.webhook_id, u.profile, u.body, $1, u.next_attempt_at,
				u.created_at, u.created_at, u.faults
			FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[],
				$8::timestamptz[], $9::timestamptz[], $10::text[])
				AS u (id, event_id, event_name, webhook_id, profile, body, next_attempt_at, created_at, faults)`,
			store.DeliveryPending, ids, eventIDs, eventNames, webhookIDs, profiles, bodies, nextAts, createdAts, faults)
	}
	return deliveries, jobs
}

// jobQueues returns the queues of jobs, each once.
func jobQueues(jobs []river.InsertManyParams) []string {
	var queues []string
	for _, j := range jobs {
		if !slices.Contains(queues, j.InsertOpts.Queue) {
			queues = append(queues, j.InsertOpts.Queue)
		}
	}
	return queues
}

// nullText is the text of an optional JSON document; empty is NULL.
func nullText(b []byte) *string {
	if len(b) == 0 {
		return nil
	}
	s := string(b)
	return &s
}
