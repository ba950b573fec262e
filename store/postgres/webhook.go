package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlq"
	"github.com/standin-dev/standin/store/internal/sqlrow"
)

// WebhookListSubscribed returns, in Seq order, the active account webhooks
// and the active group webhooks of groupID whose events include eventName.
func (s *Store) WebhookListSubscribed(ctx context.Context, eventName, groupID string) ([]*store.Webhook, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+sqlq.WebhookColumns+` FROM standin_webhook
		WHERE active
		  AND (type = 'account' OR (type = 'group' AND group_id = $1))
		  AND events ? $2
		ORDER BY seq`, groupID, eventName)
	if err != nil {
		return nil, fmt.Errorf("list webhooks subscribed to %s: %w", eventName, err)
	}
	list, err := dialect.ScanWebhooks(rows)
	if err != nil {
		return nil, fmt.Errorf("list webhooks subscribed to %s: %w", eventName, err)
	}
	return list, nil
}

// dialect is PostgreSQL's form of the shared statements: numbered
// placeholders, JSON cast to jsonb, times as timestamptz.
var dialect = &sqlq.Dialect{
	Numbered:       true,
	JSONCast:       "::jsonb",
	TimeCast:       "::timestamptz",
	Time:           func(t time.Time) any { return sqlrow.Time(t) },
	MapErr:         mapErr,
	MapRegistryErr: mapRegistryErr,
	ScanTime:       func(n *sqlq.NullTime) any { return pgTime{n} },
}

// pgTime scans a timestamptz into a sqlq.NullTime by pgx's own path for
// times, not through database/sql's Scanner (a boxed value per column).
type pgTime struct{ n *sqlq.NullTime }

// ScanTimestamptz implements pgtype.TimestamptzScanner.
func (p pgTime) ScanTimestamptz(v pgtype.Timestamptz) error {
	switch {
	case !v.Valid:
		*p.n = sqlq.NullTime{}
	case v.InfinityModifier != pgtype.Finite:
		return fmt.Errorf("scan timestamptz: %s is not a time", v.InfinityModifier)
	default:
		*p.n = sqlq.NullTime{Time: v.Time.UTC(), Valid: true}
	}
	return nil
}

// querier is what a pool and a transaction share.
type querier interface {
	QueryRow(ctx context.Context, query string, args ...any) pgx.Row
	Query(ctx context.Context, query string, args ...any) (pgx.Rows, error)
	Exec(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error)
}

// conn runs the shared statements (sqlq) on a pool or transaction.
type conn struct{ q querier }

func (c conn) QueryRow(ctx context.Context, query string, args ...any) sqlq.Row {
	return c.q.QueryRow(ctx, query, args...)
}

func (c conn) Query(ctx context.Context, query string, args ...any) (sqlq.Rows, error) {
	return c.q.Query(ctx, query, args...)
}

func (c conn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := c.q.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

// inTx runs the shared statements in tx.
func inTx(tx pgx.Tx) sqlq.Tables { return sqlq.Tables{D: dialect, Q: conn{tx}} }
