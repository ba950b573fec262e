package sqlite

import (
	"context"
	"fmt"
	"strings"

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
	add := func(cond string, arg ...any) {
		where = append(where, cond)
		args = append(args, arg...)
	}
	if params.Name != "" {
		add("name = ?", params.Name)
	}
	if !params.Since.IsZero() {
		add("created_at >= ?", micros(params.Since))
	}
	if !params.Until.IsZero() {
		add("created_at < ?", micros(params.Until))
	}
	if params.BeforeID != "" {
		var createdAt int64
		err := s.db.QueryRowContext(ctx,
			`SELECT created_at FROM standin_event WHERE id = ?`, params.BeforeID).Scan(&createdAt)
		if err != nil {
			return nil, fmt.Errorf("list events: cursor event %s: %w", params.BeforeID, mapErr(err))
		}
		add("(created_at, id) < (?, ?)", createdAt, params.BeforeID)
	}
	query := `SELECT id, name, group_id, source, created_at FROM standin_event`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, params.Limit)

	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	list := []*store.Event{}
	for rows.Next() {
		var (
			ev        store.Event
			source    []byte
			createdAt int64
		)
		if err := rows.Scan(&ev.ID, &ev.Name, &ev.GroupID, &source, &createdAt); err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		ev.Source = sqlrow.Bytes(source)
		ev.CreatedAt = fromMicros(createdAt)
		list = append(list, &ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return list, nil
}
