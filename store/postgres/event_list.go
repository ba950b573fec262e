package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlrow"
)

// EventList returns up to params.Limit events matching the filters, newest
// first (CreatedAt, then ID, descending). A BeforeID that names no event is
// an error wrapping store.ErrNotFound.
func (s *Store) EventList(ctx context.Context, params store.EventListParams) ([]*store.Event, error) {
	if err := sqlrow.CheckLimit(params.Limit); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if params.Name != "" {
		where = append(where, "name = "+arg(params.Name))
	}
	if !params.Since.IsZero() {
		where = append(where, "created_at >= "+arg(sqlrow.Time(params.Since)))
	}
	if !params.Until.IsZero() {
		where = append(where, "created_at < "+arg(sqlrow.Time(params.Until)))
	}
	if params.BeforeID != "" {
		var createdAt time.Time
		err := s.pool.QueryRow(ctx,
			`SELECT created_at FROM standin_event WHERE id = $1`, params.BeforeID).Scan(&createdAt)
		if err != nil {
			return nil, fmt.Errorf("list events: cursor event %s: %w", params.BeforeID, mapErr(err))
		}
		where = append(where, "(created_at, id) < ("+arg(createdAt)+", "+arg(params.BeforeID)+")")
	}
	query := `SELECT id, name, group_id, source, created_at FROM standin_event`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY created_at DESC, id DESC LIMIT ` + arg(params.Limit)

	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	list := []*store.Event{}
	for rows.Next() {
		var (
			ev        store.Event
			source    []byte
			createdAt time.Time
		)
		if err := rows.Scan(&ev.ID, &ev.Name, &ev.GroupID, &source, &createdAt); err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		ev.Source = sqlrow.Bytes(source)
		ev.CreatedAt = utc(createdAt)
		list = append(list, &ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return list, nil
}
