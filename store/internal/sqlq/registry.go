package sqlq

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlrow"
)

const groupColumns = `seq, id, name, created_at`

// ConnectionColumns are the columns ScanConnection reads, in its order.
const ConnectionColumns = `seq, id, group_id, service, schema_name, paused, sync_frequency,
	schedule_type, created_at, updated_at, succeeded_at, failed_at, sync, resync_pending, version, extra`

// GroupCreate inserts g and sets its Seq.
func (t Tables) GroupCreate(ctx context.Context, g *store.Group) error {
	if err := sqlrow.CheckGroup(g); err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	g.CreatedAt = sqlrow.Time(g.CreatedAt)
	err := t.Q.QueryRow(ctx, t.D.Rebind(`INSERT INTO standin_group (id, name, created_at) VALUES (?, ?, ?) RETURNING seq`),
		g.ID, g.Name, t.D.Time(g.CreatedAt)).Scan(&g.Seq)
	if err != nil {
		return fmt.Errorf("create group %s: %w", g.ID, t.D.MapErr(err))
	}
	return nil
}

// GroupGetByID returns the group with id.
func (t Tables) GroupGetByID(ctx context.Context, id string) (*store.Group, error) {
	g, err := t.D.scanGroup(t.Q.QueryRow(ctx, t.D.Rebind(`SELECT `+groupColumns+` FROM standin_group WHERE id = ?`), id))
	if err != nil {
		return nil, fmt.Errorf("get group %s: %w", id, t.D.MapErr(err))
	}
	return g, nil
}

// GroupList returns up to params.Limit groups with Seq > params.AfterSeq in
// ascending Seq order.
func (t Tables) GroupList(ctx context.Context, params store.GroupListParams) ([]*store.Group, error) {
	if err := sqlrow.CheckLimit(params.Limit); err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	list, err := query(ctx, t.Q, t.D.scanGroup, t.D.Rebind(`SELECT `+groupColumns+` FROM standin_group
		WHERE seq > ? ORDER BY seq LIMIT ?`), params.AfterSeq, params.Limit)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return list, nil
}

func (dia *Dialect) scanGroup(row Row) (*store.Group, error) {
	var (
		g         store.Group
		createdAt NullTime
	)
	if err := row.Scan(&g.Seq, &g.ID, &g.Name, dia.timeDest(&createdAt)); err != nil {
		return nil, err
	}
	g.CreatedAt = createdAt.Time
	return &g, nil
}

// ConnectionCreate inserts the connection (Version 1) and creates its events
// in one transaction.
func (t Tables) ConnectionCreate(ctx context.Context, params store.ConnectionCreateParams) ([]*store.Delivery, error) {
	if err := sqlrow.CheckConnectionCreate(params); err != nil {
		return nil, err
	}
	c := params.Connection
	deliveries, err := t.WithEvents(ctx, params.Events, func(tx Tables) error { return tx.connectionInsert(ctx, c) })
	if err != nil {
		return nil, fmt.Errorf("create connection %s: %w", c.ID, err)
	}
	return deliveries, nil
}

// connectionInsert inserts c (Version 1), normalizing its times, and sets
// its Seq and Version.
func (t Tables) connectionInsert(ctx context.Context, c *store.Connection) error {
	sqlrow.NormalizeConnection(c)
	sync, err := sqlrow.EncodeSync(c.Sync)
	if err != nil {
		return err
	}
	a := t.D.Args()
	q := `INSERT INTO standin_connection (id, group_id, service, schema_name, paused, sync_frequency,
			schedule_type, created_at, updated_at, succeeded_at, failed_at, sync, resync_pending, version, extra)
		VALUES (` + strings.Join([]string{a.Add(c.ID), a.Add(c.GroupID), a.Add(c.Service), a.Add(c.Schema),
		a.Add(c.Paused), a.Add(c.SyncFrequency), a.Add(c.ScheduleType), a.Time(c.CreatedAt), a.Time(c.UpdatedAt),
		a.Add(t.D.TimePtr(c.SucceededAt)), a.Add(t.D.TimePtr(c.FailedAt)), a.JSON(NullText(sync)),
		a.Add(c.ResyncPending), "1", a.Add(NullText(c.Extra))}, ", ") + `) RETURNING seq`
	if err := t.Q.QueryRow(ctx, q, a.List()...).Scan(&c.Seq); err != nil {
		return t.D.MapRegistryErr(err)
	}
	c.Version = 1
	return nil
}

// ConnectionGetByID returns the connection with id.
func (t Tables) ConnectionGetByID(ctx context.Context, id string) (*store.Connection, error) {
	c, err := t.D.ScanConnection(t.Q.QueryRow(ctx,
		t.D.Rebind(`SELECT `+ConnectionColumns+` FROM standin_connection WHERE id = ?`), id))
	if err != nil {
		return nil, fmt.Errorf("get connection %s: %w", id, t.D.MapErr(err))
	}
	return c, nil
}

// ConnectionList returns up to params.Limit connections (of params.GroupID
// and with params.Schema when set) with Seq > params.AfterSeq in ascending Seq order.
func (t Tables) ConnectionList(ctx context.Context, params store.ConnectionListParams) ([]*store.Connection, error) {
	if err := sqlrow.CheckLimit(params.Limit); err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	a := t.D.Args()
	q := `SELECT ` + ConnectionColumns + ` FROM standin_connection WHERE seq > ` + a.Add(params.AfterSeq)
	if params.GroupID != "" {
		q += ` AND group_id = ` + a.Add(params.GroupID)
	}
	if params.Schema != "" {
		q += ` AND schema_name = ` + a.Add(params.Schema)
	}
	q += ` ORDER BY seq LIMIT ` + a.Add(params.Limit)
	list, err := query(ctx, t.Q, t.D.ScanConnection, q, a.List()...)
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	return list, nil
}

// ConnectionUpdate applies params in one transaction: the connection's
// fields (and Version + 1), the cancellation of CancelEventID's open
// deliveries, and the events.
func (t Tables) ConnectionUpdate(ctx context.Context, params store.ConnectionUpdateParams) (*store.Connection, []*store.Delivery, error) {
	if err := sqlrow.CheckEventsCreate(params.Events); err != nil {
		return nil, nil, fmt.Errorf("update connection %s: %w", params.ID, err)
	}
	var c *store.Connection
	deliveries, err := t.WithEvents(ctx, params.Events, func(tx Tables) (err error) {
		c, err = tx.connectionUpdate(ctx, params)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("update connection %s: %w", params.ID, err)
	}
	return c, deliveries, nil
}

// connectionUpdate applies the connection's fields of params (and Version +
// 1) and cancels CancelEventID's open deliveries.
func (t Tables) connectionUpdate(ctx context.Context, params store.ConnectionUpdateParams) (*store.Connection, error) {
	a := t.D.Args()
	sets := []string{"version = version + 1"}
	set := func(column, placeholder string) { sets = append(sets, column+" = "+placeholder) }
	if params.Paused != nil {
		set("paused", a.Add(*params.Paused))
	}
	if params.SyncFrequency != nil {
		set("sync_frequency", a.Add(*params.SyncFrequency))
	}
	if params.ScheduleType != nil {
		set("schedule_type", a.Add(*params.ScheduleType))
	}
	if params.SucceededAt != nil {
		set("succeeded_at", a.Time(*params.SucceededAt))
	}
	if params.FailedAt != nil {
		set("failed_at", a.Time(*params.FailedAt))
	}
	if params.Sync != nil {
		sync, err := sqlrow.EncodeSync(params.Sync)
		if err != nil {
			return nil, fmt.Errorf("update connection %s: %w", params.ID, err)
		}
		set("sync", a.JSON(string(sync)))
	}
	if params.ResyncPending != nil {
		set("resync_pending", a.Add(*params.ResyncPending))
	}
	if params.Extra != nil {
		set("extra", a.Add(NullText(params.Extra)))
	}
	if !params.UpdatedAt.IsZero() {
		set("updated_at", a.Time(params.UpdatedAt))
	}
	where := "id = " + a.Add(params.ID)
	if params.IfVersion > 0 {
		where += " AND version = " + a.Add(params.IfVersion)
	}
	c, err := t.D.ScanConnection(t.Q.QueryRow(ctx, `UPDATE standin_connection SET `+strings.Join(sets, ", ")+`
		WHERE `+where+` RETURNING `+ConnectionColumns, a.List()...))
	if err != nil && params.IfVersion > 0 && errors.Is(t.D.MapErr(err), store.ErrNotFound) {
		var version int64
		err := t.Q.QueryRow(ctx, t.D.Rebind(`SELECT version FROM standin_connection WHERE id = ?`), params.ID).Scan(&version)
		if err != nil {
			return nil, t.D.MapErr(err)
		}
		return nil, fmt.Errorf("version is %d, not %d: %w", version, params.IfVersion, store.ErrConflict)
	}
	if err != nil {
		return nil, t.D.MapErr(err)
	}
	if params.CancelEventID != "" {
		at := t.D.Time(params.UpdatedAt)
		_, err := t.Q.Exec(ctx, t.D.Rebind(`UPDATE standin_delivery
			SET state = ?, finished_at = ?, updated_at = ?, next_attempt_at = NULL
			WHERE event_id = ? AND state IN (?, ?)`),
			store.DeliveryCancelled, at, at, params.CancelEventID, store.DeliveryPending, store.DeliveryRetrying)
		if err != nil {
			return nil, fmt.Errorf("cancel deliveries of event %s: %w", params.CancelEventID, err)
		}
	}
	return c, nil
}

// ScanConnection reads a row of ConnectionColumns.
func (dia *Dialect) ScanConnection(row Row) (*store.Connection, error) {
	var (
		c                     store.Connection
		createdAt, updatedAt  NullTime
		succeededAt, failedAt NullTime
		sync                  []byte
		extra                 *string
	)
	err := row.Scan(&c.Seq, &c.ID, &c.GroupID, &c.Service, &c.Schema, &c.Paused, &c.SyncFrequency,
		&c.ScheduleType, dia.timeDest(&createdAt), dia.timeDest(&updatedAt), dia.timeDest(&succeededAt),
		dia.timeDest(&failedAt), &sync, &c.ResyncPending, &c.Version, &extra)
	if err != nil {
		return nil, err
	}
	if c.Sync, err = sqlrow.DecodeSync(sync); err != nil {
		return nil, err
	}
	if extra != nil {
		c.Extra = []byte(*extra)
	}
	c.CreatedAt = createdAt.Time
	c.UpdatedAt = updatedAt.Time
	c.SucceededAt = succeededAt.Ptr()
	c.FailedAt = failedAt.Ptr()
	return &c, nil
}
