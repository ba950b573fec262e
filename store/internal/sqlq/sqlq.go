// Package sqlq holds the statements that store/sqlite and store/postgres
// share: the SQL that is the same on both but for placeholders, the encoding
// of times and the casts of JSON values, built once behind a Dialect and run
// on a Querier that each backend adapts from its driver. Each backend keeps
// what truly differs: its driver and error codes, its transactions
// (Tables.WithEvents), its migration files and locking, event and job
// insertion, notify and rescue, and the statements whose SQL is not the same
// (attempt recording, the worker's batched read, subscription filters,
// health records). Only the backends name their transaction types.
package sqlq

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/standin-dev/standin/store"
)

// Dialect is what differs between the backends in the SQL text and the
// values of a shared statement.
type Dialect struct {
	// Numbered makes placeholders $1, $2, … (PostgreSQL) instead of ?
	// (SQLite).
	Numbered bool
	// JSONCast follows the placeholder of a JSON document ("::jsonb").
	JSONCast string
	// TimeCast follows the placeholder of a time that may be NULL
	// ("::timestamptz").
	TimeCast string
	// Time returns the stored form of a time, in UTC to the microsecond.
	Time func(time.Time) any
	// MapErr turns the driver's errors into store sentinels: no rows into
	// store.ErrNotFound, a unique violation into store.ErrConflict.
	MapErr func(error) error
	// MapRegistryErr is MapErr plus a foreign key violation (a
	// connection's group does not exist) as store.ErrNotFound.
	MapRegistryErr func(error) error
	// ScanTime returns the scan destination that fills n from a time
	// column, for a driver with a faster path than sql.Scanner; nil scans
	// into n itself.
	ScanTime func(n *NullTime) any

	rebound sync.Map // query with ? -> query with $n
}

// TimePtr is Time for an optional time; nil is NULL.
func (dia *Dialect) TimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return dia.Time(*t)
}

// timeDest is the scan destination that fills n from a time column.
func (dia *Dialect) timeDest(n *NullTime) any {
	if dia.ScanTime == nil {
		return n
	}
	return dia.ScanTime(n)
}

// Rebind returns query with its ? placeholders numbered when the dialect
// numbers them. query must not use ? otherwise (such as PostgreSQL's jsonb
// operator).
func (dia *Dialect) Rebind(query string) string {
	if !dia.Numbered {
		return query
	}
	if q, ok := dia.rebound.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	dia.rebound.Store(query, b.String())
	return b.String()
}

// Args collects the arguments of a statement built piece by piece; each
// method appends a value and returns its placeholder, so the text must be
// built in the order of the values.
type Args struct {
	d    *Dialect
	list []any
}

// Args starts the arguments of a statement in dialect d.
func (dia *Dialect) Args() *Args { return &Args{d: dia} }

// Add appends v and returns its placeholder.
func (a *Args) Add(v any) string {
	a.list = append(a.list, v)
	if a.d.Numbered {
		return "$" + strconv.Itoa(len(a.list))
	}
	return "?"
}

// JSON appends a JSON document and returns its placeholder with the
// dialect's cast.
func (a *Args) JSON(v any) string { return a.Add(v) + a.d.JSONCast }

// Time appends the stored form of t and returns its placeholder.
func (a *Args) Time(t time.Time) string { return a.Add(a.d.Time(t)) }

// List returns the values appended so far.
func (a *Args) List() []any { return a.list }

// Row is one result row (*sql.Row, pgx.Row).
type Row interface {
	Scan(dest ...any) error
}

// Rows is a result set being read.
type Rows interface {
	Row
	Next() bool
	Err() error
	Close()
}

// Querier runs statements: a backend's connection pool or transaction.
type Querier interface {
	QueryRow(ctx context.Context, query string, args ...any) Row
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// Exec runs query and returns the number of rows it affected.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
}

// Tables runs the shared statements on Q in dialect D. A backend's Store
// embeds one on its pool (its methods are then the Store's), and makes one
// on a transaction when a statement must join it.
type Tables struct {
	D *Dialect
	Q Querier
	// WithEvents runs fn on a transaction, then creates events (their
	// deliveries and River jobs) in it and commits. A backend's Store sets
	// it; a Tables on a transaction has none.
	WithEvents func(ctx context.Context, events []store.EventCreateParams, fn func(tx Tables) error) ([]*store.Delivery, error)
}

// NullTime scans a time column of either backend: SQLite's microseconds
// since the Unix epoch, PostgreSQL's timestamptz. NULL leaves Valid false.
type NullTime struct {
	Time  time.Time
	Valid bool
}

// Scan implements sql.Scanner.
func (n *NullTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*n = NullTime{}
	case int64:
		*n = NullTime{Time: time.UnixMicro(v).UTC(), Valid: true}
	case time.Time:
		*n = NullTime{Time: v.UTC(), Valid: true}
	default:
		return fmt.Errorf("scan time: unsupported type %T", src)
	}
	return nil
}

// Ptr returns the time, or nil when it is NULL.
func (n NullTime) Ptr() *time.Time {
	if !n.Valid {
		return nil
	}
	t := n.Time
	return &t
}

// collect reads every row of rows with scan and closes rows; no rows is an
// empty, non-nil list.
func collect[T any](rows Rows, scan func(Row) (T, error)) ([]T, error) {
	defer rows.Close()
	list := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, rows.Err()
}

// query runs query and collects its rows with scan.
func query[T any](ctx context.Context, q Querier, scan func(Row) (T, error), sql string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scan)
}

// NullText is the value of an optional text or JSON document: empty is
// NULL.
func NullText(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// First returns the first of list, or err: a one-item call of a batch
// method, such as AttemptRecord of AttemptRecordMany.
func First[T any](list []T, err error) (T, error) {
	if err != nil || len(list) == 0 {
		var zero T
		return zero, err
	}
	return list[0], nil
}
