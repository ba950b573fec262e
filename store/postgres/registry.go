package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlrow"
)

const groupColumns = `seq, id, name, created_at`

const connectionColumns = `seq, id, group_id, service, schema_name, paused, sync_frequency,
	schedule_type, created_at, updated_at, succeeded_at, failed_at, sync, resync_pending, version, extra`

// WebhookHealthRecord clears the webhook's FailingSince on success and sets
// it to params.At on failure unless it is set already.
//
// It writes only when that changes the row: the usual case (a success on a
// healthy webhook, a failure on a failing one) is a read, so the attempts of
// a busy webhook do not queue one by one on its row lock and WAL flush.
func (s *Store) WebhookHealthRecord(ctx context.Context, params store.WebhookHealthParams) (*store.Webhook, error) {
	set, changes := `NULL`, `failing_since IS NOT NULL`
	args := []any{params.ID}
	if !params.Succeeded {
		set, changes = `$2::timestamptz`, `failing_since IS NULL`
		args = append(args, sqlrow.Time(params.At))
	}
	query := `
		WITH u AS (
			UPDATE standin_webhook SET failing_since = ` + set + `
			WHERE id = $1 AND ` + changes + `
			RETURNING ` + webhookColumns + `
		)
		SELECT ` + webhookColumns + ` FROM u
		UNION ALL
		SELECT ` + webhookColumns + ` FROM standin_webhook WHERE id = $1 AND NOT EXISTS (SELECT FROM u)`
	wh, err := scanWebhook(s.pool.QueryRow(ctx, query, args...))
	if err != nil {
		return nil, fmt.Errorf("record health of webhook %s: %w", params.ID, mapErr(err))
	}
	return wh, nil
}

// GroupCreate inserts g and sets its Seq.
func (s *Store) GroupCreate(ctx context.Context, g *store.Group) error {
	if err := sqlrow.CheckGroup(g); err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	g.CreatedAt = sqlrow.Time(g.CreatedAt)
	err := s.pool.QueryRow(ctx, `
		INSERT INTO standin_group (id, name, created_at) VALUES ($1, $2, $3) RETURNING seq`,
		g.ID, g.Name, g.CreatedAt).Scan(&g.Seq)
	if err != nil {
		return fmt.Errorf("create group %s: %w", g.ID, mapErr(err))
	}
	return nil
}

// GroupGetByID returns the group with id.
func (s *Store) GroupGetByID(ctx context.Context, id string) (*store.Group, error) {
	g, err := scanGroup(s.pool.QueryRow(ctx, `SELECT `+groupColumns+` FROM standin_group WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("get group %s: %w", id, mapErr(err))
	}
	return g, nil
}

// GroupList returns up to params.Limit groups with Seq > params.AfterSeq in
// ascending Seq order.
func (s *Store) GroupList(ctx context.Context, params store.GroupListParams) ([]*store.Group, error) {
	if err := sqlrow.CheckLimit(params.Limit); err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+groupColumns+` FROM standin_group WHERE seq > $1 ORDER BY seq LIMIT $2`,
		params.AfterSeq, params.Limit)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	defer rows.Close()
	list := []*store.Group{}
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("list groups: %w", err)
		}
		list = append(list, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return list, nil
}

func scanGroup(row pgx.Row) (*store.Group, error) {
	var (
		g         store.Group
		createdAt time.Time
	)
	if err := row.Scan(&g.Seq, &g.ID, &g.Name, &createdAt); err != nil {
		return nil, err
	}
	g.CreatedAt = utc(createdAt)
	return &g, nil
}

// ConnectionCreate inserts the connection (Version 1) and creates its events
// in one transaction.
func (s *Store) ConnectionCreate(ctx context.Context, params store.ConnectionCreateParams) ([]*store.Delivery, error) {
	c := params.Connection
	if err := sqlrow.CheckConnection(c); err != nil {
		return nil, fmt.Errorf("create connection: %w", err)
	}
	if err := sqlrow.CheckEventsCreate(params.Events); err != nil {
		return nil, fmt.Errorf("create connection %s: %w", c.ID, err)
	}
	sqlrow.NormalizeConnection(c)
	sync, err := sqlrow.EncodeSync(c.Sync)
	if err != nil {
		return nil, fmt.Errorf("create connection %s: %w", c.ID, err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("create connection %s: %w", c.ID, err)
	}
	defer rollback(ctx, tx)
	var seq int64
	err = tx.QueryRow(ctx, `
		INSERT INTO standin_connection (id, group_id, service, schema_name, paused, sync_frequency,
			schedule_type, created_at, updated_at, succeeded_at, failed_at, sync, resync_pending, version, extra)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, 1, $14)
		RETURNING seq`,
		c.ID, c.GroupID, c.Service, c.Schema, c.Paused, c.SyncFrequency, c.ScheduleType,
		c.CreatedAt, c.UpdatedAt, c.SucceededAt, c.FailedAt, nullText(sync), c.ResyncPending,
		nullText(c.Extra),
	).Scan(&seq)
	if err != nil {
		return nil, fmt.Errorf("create connection %s: %w", c.ID, mapRegistryErr(err))
	}
	deliveries, err := s.createEvents(ctx, tx, params.Events)
	if err != nil {
		return nil, fmt.Errorf("create connection %s: %w", c.ID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("create connection %s: commit: %w", c.ID, err)
	}
	if len(deliveries) > 0 {
		s.notifier.wake()
	}
	c.Seq, c.Version = seq, 1
	return deliveries, nil
}

// ConnectionGetByID returns the connection with id.
func (s *Store) ConnectionGetByID(ctx context.Context, id string) (*store.Connection, error) {
	c, err := scanConnection(s.pool.QueryRow(ctx,
		`SELECT `+connectionColumns+` FROM standin_connection WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("get connection %s: %w", id, mapErr(err))
	}
	return c, nil
}

// ConnectionList returns up to params.Limit connections (of params.GroupID
// and with params.Schema when set) with Seq > params.AfterSeq in ascending Seq order.
func (s *Store) ConnectionList(ctx context.Context, params store.ConnectionListParams) ([]*store.Connection, error) {
	if err := sqlrow.CheckLimit(params.Limit); err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	query := `SELECT ` + connectionColumns + ` FROM standin_connection WHERE seq > $1`
	args := []any{params.AfterSeq}
	if params.GroupID != "" {
		args = append(args, params.GroupID)
		query += ` AND group_id = $` + strconv.Itoa(len(args))
	}
	if params.Schema != "" {
		args = append(args, params.Schema)
		query += ` AND schema_name = $` + strconv.Itoa(len(args))
	}
	args = append(args, params.Limit)
	query += ` ORDER BY seq LIMIT $` + strconv.Itoa(len(args))
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	defer rows.Close()
	list := []*store.Connection{}
	for rows.Next() {
		c, err := scanConnection(rows)
		if err != nil {
			return nil, fmt.Errorf("list connections: %w", err)
		}
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	return list, nil
}

// ConnectionUpdate applies params in one transaction: the connection's
// fields (and Version + 1), the cancellation of CancelEventID's open
// deliveries, and the events.
func (s *Store) ConnectionUpdate(ctx context.Context, params store.ConnectionUpdateParams) (*store.Connection, []*store.Delivery, error) {
	if err := sqlrow.CheckEventsCreate(params.Events); err != nil {
		return nil, nil, fmt.Errorf("update connection %s: %w", params.ID, err)
	}
	sets := []string{"version = version + 1"}
	var args []any
	set := func(column string, value any, cast string) {
		args = append(args, value)
		sets = append(sets, column+" = $"+strconv.Itoa(len(args))+cast)
	}
	if params.Paused != nil {
		set("paused", *params.Paused, "")
	}
	if params.SyncFrequency != nil {
		set("sync_frequency", *params.SyncFrequency, "")
	}
	if params.ScheduleType != nil {
		set("schedule_type", *params.ScheduleType, "")
	}
	if params.SucceededAt != nil {
		set("succeeded_at", sqlrow.Time(*params.SucceededAt), "")
	}
	if params.FailedAt != nil {
		set("failed_at", sqlrow.Time(*params.FailedAt), "")
	}
	if params.Sync != nil {
		sync, err := sqlrow.EncodeSync(params.Sync)
		if err != nil {
			return nil, nil, fmt.Errorf("update connection %s: %w", params.ID, err)
		}
		set("sync", string(sync), "::jsonb")
	}
	if params.ResyncPending != nil {
		set("resync_pending", *params.ResyncPending, "")
	}
	if params.Extra != nil {
		set("extra", nullText(params.Extra), "")
	}
	if !params.UpdatedAt.IsZero() {
		set("updated_at", sqlrow.Time(params.UpdatedAt), "")
	}
	args = append(args, params.ID)
	where := "id = $" + strconv.Itoa(len(args))
	if params.IfVersion > 0 {
		args = append(args, params.IfVersion)
		where += " AND version = $" + strconv.Itoa(len(args))
	}

	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("update connection %s: %w", params.ID, err)
	}
	defer rollback(ctx, tx)
	c, err := scanConnection(tx.QueryRow(ctx, `
		UPDATE standin_connection SET `+strings.Join(sets, ", ")+`
		WHERE `+where+` RETURNING `+connectionColumns, args...))
	if errors.Is(err, pgx.ErrNoRows) && params.IfVersion > 0 {
		var version int64
		if err := tx.QueryRow(ctx, `SELECT version FROM standin_connection WHERE id = $1`, params.ID).Scan(&version); err != nil {
			return nil, nil, fmt.Errorf("update connection %s: %w", params.ID, mapErr(err))
		}
		return nil, nil, fmt.Errorf("update connection %s: version is %d, not %d: %w", params.ID, version, params.IfVersion, store.ErrConflict)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("update connection %s: %w", params.ID, mapErr(err))
	}
	if params.CancelEventID != "" {
		at := sqlrow.Time(params.UpdatedAt)
		_, err := tx.Exec(ctx, `
			UPDATE standin_delivery
			SET state = $1, finished_at = $2, updated_at = $2, next_attempt_at = NULL
			WHERE event_id = $3 AND state IN ($4, $5)`,
			store.DeliveryCancelled, at, params.CancelEventID, store.DeliveryPending, store.DeliveryRetrying)
		if err != nil {
			return nil, nil, fmt.Errorf("update connection %s: cancel deliveries of event %s: %w", params.ID, params.CancelEventID, err)
		}
	}
	deliveries, err := s.createEvents(ctx, tx, params.Events)
	if err != nil {
		return nil, nil, fmt.Errorf("update connection %s: %w", params.ID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, nil, fmt.Errorf("update connection %s: commit: %w", params.ID, err)
	}
	if len(deliveries) > 0 {
		s.notifier.wake()
	}
	return c, deliveries, nil
}

func scanConnection(row pgx.Row) (*store.Connection, error) {
	var (
		c                     store.Connection
		createdAt, updatedAt  time.Time
		succeededAt, failedAt *time.Time
		sync                  []byte
		extra                 *string
	)
	err := row.Scan(&c.Seq, &c.ID, &c.GroupID, &c.Service, &c.Schema, &c.Paused, &c.SyncFrequency,
		&c.ScheduleType, &createdAt, &updatedAt, &succeededAt, &failedAt, &sync, &c.ResyncPending, &c.Version, &extra)
	if err != nil {
		return nil, err
	}
	if c.Sync, err = sqlrow.DecodeSync(sync); err != nil {
		return nil, err
	}
	if extra != nil {
		c.Extra = []byte(*extra)
	}
	c.CreatedAt = utc(createdAt)
	c.UpdatedAt = utc(updatedAt)
	c.SucceededAt = utcPtr(succeededAt)
	c.FailedAt = utcPtr(failedAt)
	return &c, nil
}

// mapRegistryErr is mapErr plus a foreign key violation (a connection's
// group does not exist) as store.ErrNotFound.
func mapRegistryErr(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" { // foreign_key_violation
		return fmt.Errorf("group does not exist: %w: %w", store.ErrNotFound, err)
	}
	return mapErr(err)
}
