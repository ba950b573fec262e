package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlrow"
)

// StatsGet reads the counts of store.Stats in one read-only, repeatable-read
// transaction: one snapshot.
func (s *Store) StatsGet(ctx context.Context, params store.StatsParams) (*store.Stats, error) {
	if err := sqlrow.CheckStats(params); err != nil {
		return nil, fmt.Errorf("get stats: %w", err)
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("get stats: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	st := sqlrow.NewStats(params)
	if err := tx.QueryRow(ctx, sqlrow.StatsEventsQuery).Scan(&st.Events); err != nil {
		return nil, fmt.Errorf("get stats: events: %w", err)
	}
	if err := tx.QueryRow(ctx, sqlrow.StatsWebhooksQuery).Scan(&st.Webhooks, &st.WebhooksActive, &st.WebhooksDeactivated); err != nil {
		return nil, fmt.Errorf("get stats: webhooks: %w", err)
	}
	faults, err := tx.Query(ctx, sqlrow.StatsFaultsQuery)
	if err != nil {
		return nil, fmt.Errorf("get stats: faults: %w", err)
	}
	var text string
	var count int64
	if _, err := pgx.ForEachRow(faults, []any{&text, &count}, func() error { sqlrow.AddFaults(st, text, count); return nil }); err != nil {
		return nil, fmt.Errorf("get stats: faults: %w", err)
	}
	for _, q := range []struct {
		query string
		into  map[string]int64
	}{{sqlrow.StatsDeliveriesQuery, st.Deliveries}, {sqlrow.StatsJobsQuery, st.Jobs}} {
		rows, err := tx.Query(ctx, q.query)
		if err != nil {
			return nil, fmt.Errorf("get stats: %w", err)
		}
		var state string
		var n int64
		if _, err := pgx.ForEachRow(rows, []any{&state, &n}, func() error { q.into[state] += n; return nil }); err != nil {
			return nil, fmt.Errorf("get stats: %w", err)
		}
	}
	rows, err := tx.Query(ctx, sqlrow.StatsAttemptsQuery)
	if err != nil {
		return nil, fmt.Errorf("get stats: attempts: %w", err)
	}
	var ok bool
	var class, n int64
	if _, err := pgx.ForEachRow(rows, []any{&ok, &class, &n}, func() error { sqlrow.AddAttempts(st, ok, class, n); return nil }); err != nil {
		return nil, fmt.Errorf("get stats: attempts: %w", err)
	}
	var sum int64
	dest := []any{&st.Latency.Count, &sum}
	for i := range st.Latency.Cumulative {
		dest = append(dest, &st.Latency.Cumulative[i])
	}
	if err := tx.QueryRow(ctx, sqlrow.StatsLatencyQuery(params.LatencyBounds)).Scan(dest...); err != nil {
		return nil, fmt.Errorf("get stats: latency: %w", err)
	}
	st.Latency.Sum = time.Duration(sum)
	return st, nil
}

// AttemptLastID returns the largest attempt id, 0 when there is none.
func (s *Store) AttemptLastID(ctx context.Context) (int64, error) {
	var id int64
	if err := s.pool.QueryRow(ctx, sqlrow.AttemptLastIDQuery).Scan(&id); err != nil {
		return 0, fmt.Errorf("last attempt id: %w", err)
	}
	return id, nil
}
