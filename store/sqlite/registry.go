package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

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
// healthy webhook, a failure on a failing one) is a read, not a write
// transaction per attempt.
func (s *Store) WebhookHealthRecord(ctx context.Context, params store.WebhookHealthParams) (*store.Webhook, error) {
	query := `UPDATE standin_webhook SET failing_since = ? WHERE id = ? AND failing_since IS NULL RETURNING ` + webhookColumns
	args := []any{micros(params.At), params.ID}
	if params.Succeeded {
		query = `UPDATE standin_webhook SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL RETURNING ` + webhookColumns
		args = args[1:]
	}
	wh, err := scanWebhook(s.db.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		// Unchanged (or missing: then ErrNotFound below).
		wh, err = scanWebhook(s.db.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM standin_webhook WHERE id = ?`, params.ID))
	}
	if err != nil {
		return nil, fmt.Errorf("record health of webhook %s: %w", params.ID, mapErr(err))
	}
	return wh, nil
}

// EventCreateMany creates every event of params, with its deliveries and
// jobs, in one transaction.
func (s *Store) EventCreateMany(ctx context.Context, params []store.EventCreateParams) ([]*store.Delivery, error) {
	if err := sqlrow.CheckEventsCreate(params); err != nil {
		return nil, fmt.Errorf("create events: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("create events: %w", err)
	}
	defer rollback(tx)
	deliveries, err := s.createEvents(ctx, tx, params)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("create events: commit: %w", err)
	}
	return deliveries, nil
}

func (s *Store) createEvents(ctx context.Context, tx *sql.Tx, params []store.EventCreateParams) ([]*store.Delivery, error) {
	all := []*store.Delivery{}
	for _, p := range params {
		ds, err := s.createEvent(ctx, tx, p)
		if err != nil {
			return nil, err
		}
		all = append(all, ds...)
	}
	return all, nil
}

// GroupCreate inserts g and sets its Seq.
func (s *Store) GroupCreate(ctx context.Context, g *store.Group) error {
	if err := sqlrow.CheckGroup(g); err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	g.CreatedAt = sqlrow.Time(g.CreatedAt)
	err := s.db.QueryRowContext(ctx, `
		INSERT INTO standin_group (id, name, created_at) VALUES (?, ?, ?) RETURNING seq`,
		g.ID, g.Name, micros(g.CreatedAt)).Scan(&g.Seq)
	if err != nil {
		return fmt.Errorf("create group %s: %w", g.ID, mapErr(err))
	}
	return nil
}

// GroupGetByID returns the group with id.
func (s *Store) GroupGetByID(ctx context.Context, id string) (*store.Group, error) {
	g, err := scanGroup(s.db.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM standin_group WHERE id = ?`, id))
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
	rows, err := s.db.QueryContext(ctx, `
		SELECT `+groupColumns+` FROM standin_group WHERE seq > ? ORDER BY seq LIMIT ?`,
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

func scanGroup(row scanner) (*store.Group, error) {
	var (
		g         store.Group
		createdAt int64
	)
	if err := row.Scan(&g.Seq, &g.ID, &g.Name, &createdAt); err != nil {
		return nil, err
	}
	g.CreatedAt = fromMicros(createdAt)
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
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("create connection %s: %w", c.ID, err)
	}
	defer rollback(tx)
	var seq int64
	err = tx.QueryRowContext(ctx, `
		INSERT INTO standin_connection (id, group_id, service, schema_name, paused, sync_frequency,
			schedule_type, created_at, updated_at, succeeded_at, failed_at, sync, resync_pending, version, extra)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)
		RETURNING seq`,
		c.ID, c.GroupID, c.Service, c.Schema, c.Paused, c.SyncFrequency, c.ScheduleType,
		micros(c.CreatedAt), micros(c.UpdatedAt), microsPtr(c.SucceededAt), microsPtr(c.FailedAt),
		nullText(sync), c.ResyncPending, nullText(c.Extra),
	).Scan(&seq)
	if err != nil {
		return nil, fmt.Errorf("create connection %s: %w", c.ID, mapRegistryErr(err))
	}
	deliveries, err := s.createEvents(ctx, tx, params.Events)
	if err != nil {
		return nil, fmt.Errorf("create connection %s: %w", c.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("create connection %s: commit: %w", c.ID, err)
	}
	c.Seq, c.Version = seq, 1
	return deliveries, nil
}

// ConnectionGetByID returns the connection with id.
func (s *Store) ConnectionGetByID(ctx context.Context, id string) (*store.Connection, error) {
	c, err := scanConnection(s.db.QueryRowContext(ctx,
		`SELECT `+connectionColumns+` FROM standin_connection WHERE id = ?`, id))
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
	query := `SELECT ` + connectionColumns + ` FROM standin_connection WHERE seq > ?`
	args := []any{params.AfterSeq}
	if params.GroupID != "" {
		query += ` AND group_id = ?`
		args = append(args, params.GroupID)
	}
	if params.Schema != "" {
		query += ` AND schema_name = ?`
		args = append(args, params.Schema)
	}
	query += ` ORDER BY seq LIMIT ?`
	args = append(args, params.Limit)
	rows, err := s.db.QueryContext(ctx, query, args...)
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
	set := func(column string, value any) {
		sets = append(sets, column+" = ?")
		args = append(args, value)
	}
	if params.Paused != nil {
		set("paused", *params.Paused)
	}
	if params.SyncFrequency != nil {
		set("sync_frequency", *params.SyncFrequency)
	}
	if params.ScheduleType != nil {
		set("schedule_type", *params.ScheduleType)
	}
	if params.SucceededAt != nil {
		set("succeeded_at", micros(*params.SucceededAt))
	}
	if params.FailedAt != nil {
		set("failed_at", micros(*params.FailedAt))
	}
	if params.Sync != nil {
		sync, err := sqlrow.EncodeSync(params.Sync)
		if err != nil {
			return nil, nil, fmt.Errorf("update connection %s: %w", params.ID, err)
		}
		set("sync", string(sync))
	}
	if params.ResyncPending != nil {
		set("resync_pending", *params.ResyncPending)
	}
	if params.Extra != nil {
		set("extra", nullText(params.Extra))
	}
	if !params.UpdatedAt.IsZero() {
		set("updated_at", micros(params.UpdatedAt))
	}
	where := "id = ?"
	args = append(args, params.ID)
	if params.IfVersion > 0 {
		where += " AND version = ?"
		args = append(args, params.IfVersion)
	}

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("update connection %s: %w", params.ID, err)
	}
	defer rollback(tx)
	c, err := scanConnection(tx.QueryRowContext(ctx, `
		UPDATE standin_connection SET `+strings.Join(sets, ", ")+`
		WHERE `+where+` RETURNING `+connectionColumns, args...))
	if errors.Is(err, sql.ErrNoRows) && params.IfVersion > 0 {
		var version int64
		if err := tx.QueryRowContext(ctx, `SELECT version FROM standin_connection WHERE id = ?`, params.ID).Scan(&version); err != nil {
			return nil, nil, fmt.Errorf("update connection %s: %w", params.ID, mapErr(err))
		}
		return nil, nil, fmt.Errorf("update connection %s: version is %d, not %d: %w", params.ID, version, params.IfVersion, store.ErrConflict)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("update connection %s: %w", params.ID, mapErr(err))
	}
	if params.CancelEventID != "" {
		at := micros(params.UpdatedAt)
		_, err := tx.ExecContext(ctx, `
			UPDATE standin_delivery
			SET state = ?, finished_at = ?, updated_at = ?, next_attempt_at = NULL
			WHERE event_id = ? AND state IN (?, ?)`,
			store.DeliveryCancelled, at, at, params.CancelEventID, store.DeliveryPending, store.DeliveryRetrying)
		if err != nil {
			return nil, nil, fmt.Errorf("update connection %s: cancel deliveries of event %s: %w", params.ID, params.CancelEventID, err)
		}
	}
	deliveries, err := s.createEvents(ctx, tx, params.Events)
	if err != nil {
		return nil, nil, fmt.Errorf("update connection %s: %w", params.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, fmt.Errorf("update connection %s: commit: %w", params.ID, err)
	}
	return c, deliveries, nil
}

func scanConnection(row scanner) (*store.Connection, error) {
	var (
		c                     store.Connection
		createdAt, updatedAt  int64
		succeededAt, failedAt sql.NullInt64
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
	c.CreatedAt = fromMicros(createdAt)
	c.UpdatedAt = fromMicros(updatedAt)
	c.SucceededAt = fromNullMicros(succeededAt)
	c.FailedAt = fromNullMicros(failedAt)
	return &c, nil
}

// mapRegistryErr is mapErr plus a foreign key violation (a connection's
// group does not exist) as store.ErrNotFound.
func mapRegistryErr(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return fmt.Errorf("group does not exist: %w: %w", store.ErrNotFound, err)
	}
	return mapErr(err)
}
