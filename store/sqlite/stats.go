package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlrow"
)

// StatsGet reads the counts of store.Stats in one transaction.
func (s *Store) StatsGet(ctx context.Context, params store.StatsParams) (*store.Stats, error) {
	if err := sqlrow.CheckStats(params); err != nil {
		return nil, fmt.Errorf("get stats: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("get stats: %w", err)
	}
	defer rollback(tx)
	st := sqlrow.NewStats(params)
	if err := tx.QueryRowContext(ctx, sqlrow.StatsEventsQuery).Scan(&st.Events); err != nil {
		return nil, fmt.Errorf("get stats: events: %w", err)
	}
	if err := tx.QueryRowContext(ctx, sqlrow.StatsWebhooksQuery).Scan(&st.Webhooks, &st.WebhooksActive, &st.WebhooksDeactivated); err != nil {
		return nil, fmt.Errorf("get stats: webhooks: %w", err)
	}
	faults, err := tx.QueryContext(ctx, sqlrow.StatsFaultsQuery)
	if err != nil {
		return nil, fmt.Errorf("get stats: faults: %w", err)
	}
	for faults.Next() {
		var text string
		var n int64
		if err := faults.Scan(&text, &n); err != nil {
			faults.Close()
			return nil, fmt.Errorf("get stats: faults: %w", err)
		}
		sqlrow.AddFaults(st, text, n)
	}
	faults.Close()
	if err := faults.Err(); err != nil {
		return nil, fmt.Errorf("get stats: faults: %w", err)
	}
	for _, q := range []struct {
		query string
		into  map[string]int64
	}{{sqlrow.StatsDeliveriesQuery, st.Deliveries}, {sqlrow.StatsJobsQuery, st.Jobs}} {
		rows, err := tx.QueryContext(ctx, q.query)
		if err != nil {
			return nil, fmt.Errorf("get stats: %w", err)
		}
		for rows.Next() {
			var state string
			var n int64
			if err := rows.Scan(&state, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("get stats: %w", err)
			}
			q.into[state] += n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("get stats: %w", err)
		}
	}
	rows, err := tx.QueryContext(ctx, sqlrow.StatsAttemptsQuery)
	if err != nil {
		return nil, fmt.Errorf("get stats: attempts: %w", err)
	}
	for rows.Next() {
		var ok bool
		var class, n int64
		if err := rows.Scan(&ok, &class, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("get stats: attempts: %w", err)
		}
		sqlrow.AddAttempts(st, ok, class, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("get stats: attempts: %w", err)
	}
	dest := []any{&st.Latency.Count, new(int64)}
	for i := range st.Latency.Cumulative {
		dest = append(dest, &st.Latency.Cumulative[i])
	}
	if err := tx.QueryRowContext(ctx, sqlrow.StatsLatencyQuery(params.LatencyBounds)).Scan(dest...); err != nil {
		return nil, fmt.Errorf("get stats: latency: %w", err)
	}
	st.Latency.Sum = time.Duration(*dest[1].(*int64))
	return st, nil
}

// AttemptLastID returns the largest attempt id, 0 when there is none.
func (s *Store) AttemptLastID(ctx context.Context) (int64, error) {
	var id int64
	if err := s.db.QueryRowContext(ctx, sqlrow.AttemptLastIDQuery).Scan(&id); err != nil {
		return 0, fmt.Errorf("last attempt id: %w", err)
	}
	return id, nil
}
