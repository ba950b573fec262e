package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlq"
	"github.com/standin-dev/standin/store/internal/sqlrow"
)

// dialect is SQLite's form of the shared statements: ? placeholders, JSON
// as TEXT, times as microseconds since the Unix epoch.
var dialect = &sqlq.Dialect{
	Time:           func(t time.Time) any { return micros(t) },
	MapErr:         mapErr,
	MapRegistryErr: mapRegistryErr,
}

// WebhookListSubscribed returns, in Seq order, the active account webhooks
// and the active group webhooks of groupID whose events include eventName.
func (s *Store) WebhookListSubscribed(ctx context.Context, eventName, groupID string) ([]*store.Webhook, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT `+sqlq.WebhookColumns+` FROM standin_webhook AS w
		WHERE w.active
		  AND (w.type = 'account' OR (w.type = 'group' AND w.group_id = ?))
		  AND EXISTS (SELECT 1 FROM json_each(w.events) AS e WHERE e.value = ?)
		ORDER BY w.seq`, groupID, eventName)
	if err != nil {
		return nil, fmt.Errorf("list webhooks subscribed to %s: %w", eventName, err)
	}
	list, err := dialect.ScanWebhooks(sqlRows{rows})
	if err != nil {
		return nil, fmt.Errorf("list webhooks subscribed to %s: %w", eventName, err)
	}
	return list, nil
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// conn runs the shared statements (sqlq) on a database or transaction.
type conn struct{ q querier }

func (c conn) QueryRow(ctx context.Context, query string, args ...any) sqlq.Row {
	return c.q.QueryRowContext(ctx, query, args...)
}

func (c conn) Query(ctx context.Context, query string, args ...any) (sqlq.Rows, error) {
	rows, err := c.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (c conn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := c.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// sqlRows is *sql.Rows as sqlq.Rows.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

// micros is the stored form of a time: microseconds since the Unix epoch.
func micros(t time.Time) int64 { return sqlrow.Time(t).UnixMicro() }

// inTx runs the shared statements in tx.
func inTx(tx *sql.Tx) sqlq.Tables { return sqlq.Tables{D: dialect, Q: conn{tx}} }
