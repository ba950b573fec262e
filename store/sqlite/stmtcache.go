package sqlite

import (
	"container/list"
	"context"
	"database/sql/driver"
	"reflect"
	"strings"
	"sync"
)

// The SQLite driver parses and plans every statement run through
// database/sql's Exec and Query afresh; only statements prepared explicitly
// are kept. Under load that parsing was about a third of standin's CPU
// (River's large queries included), so the store's connection keeps the
// statements it runs prepared, keyed by their SQL text: a small
// least-recently-used cache of driver statements per connection.

// stmtCacheSize bounds the statements one connection keeps prepared.
const stmtCacheSize = 128

// stmtCacheMaxSQL is the longest SQL text that is cached: longer texts are
// multi-row statements whose shape rarely repeats.
const stmtCacheMaxSQL = 8 << 10

// cachingConnector opens connections that cache their statements.
type cachingConnector struct {
	driver.Connector
}

// Connect implements driver.Connector.
func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return newCachingConn(conn), nil
}

// stmtConn is what the driver's connection provides.
type stmtConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
}

// cachingConn is a driver connection that keeps its statements prepared.
// database/sql never uses one connection from two goroutines at once; the
// mutex only guards against a Rows closed concurrently with a new call.
type cachingConn struct {
	stmtConn
	mu    sync.Mutex
	lru   *list.List // of *cachedStmt, most recently used first
	stmts map[string]*list.Element
}

type cachedStmt struct {
	sql  string
	stmt driver.Stmt
	busy bool // a Rows from it is open
}

// execQueryStmt is a driver statement that takes a context.
type execQueryStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

func newCachingConn(conn driver.Conn) driver.Conn {
	sc, ok := conn.(stmtConn)
	if !ok {
		return conn
	}
	return &cachingConn{stmtConn: sc, lru: list.New(), stmts: make(map[string]*list.Element)}
}

// Unwrap returns the driver's own connection, for sql.Conn.Raw users.
func (c *cachingConn) Unwrap() driver.Conn { return c.stmtConn }

// cacheable reports whether query may be kept prepared: one statement (a
// script is re-parsed on every run anyway) of reasonable length.
func cacheable(query string) bool {
	if len(query) > stmtCacheMaxSQL {
		return false
	}
	body := strings.TrimRight(query, " \t\r\n;")
	return !strings.Contains(body, ";")
}

// acquire returns the idle cached statement for query, preparing and
// caching it if needed, or nil when query is not to be cached or its
// statement is busy.
func (c *cachingConn) acquire(ctx context.Context, query string) (*cachedStmt, error) {
	if !cacheable(query) {
		return nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.stmts[query]; ok {
		cs := el.Value.(*cachedStmt)
		if cs.busy {
			return nil, nil
		}
		c.lru.MoveToFront(el)
		cs.busy = true
		return cs, nil
	}
	st, err := c.stmtConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if _, ok := st.(execQueryStmt); !ok {
		_ = st.Close()
		return nil, nil
	}
	cs := &cachedStmt{sql: query, stmt: st, busy: true}
	c.stmts[query] = c.lru.PushFront(cs)
	// Evict the least recently used idle statements beyond the bound.
	for el := c.lru.Back(); el != nil && c.lru.Len() > stmtCacheSize; {
		prev := el.Prev()
		if old := el.Value.(*cachedStmt); !old.busy {
			c.lru.Remove(el)
			delete(c.stmts, old.sql)
			_ = old.stmt.Close()
		}
		el = prev
	}
	return cs, nil
}

func (c *cachingConn) release(cs *cachedStmt) {
	c.mu.Lock()
	cs.busy = false
	c.mu.Unlock()
}

// ExecContext implements driver.ExecerContext.
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.stmtConn.ExecContext(ctx, query, args)
	}
	defer c.release(cs)
	return cs.stmt.(execQueryStmt).ExecContext(ctx, args)
}

// QueryContext implements driver.QueryerContext.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.stmtConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.(execQueryStmt).QueryContext(ctx, args)
	if err != nil {
		c.release(cs)
		return nil, err
	}
	return &cachedRows{Rows: rows, release: func() { c.release(cs) }}, nil
}

// ResetSession implements driver.SessionResetter.
func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.stmtConn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

// IsValid implements driver.Validator.
func (c *cachingConn) IsValid() bool {
	if v, ok := c.stmtConn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// Ping implements driver.Pinger.
func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.stmtConn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// Close closes the cached statements, then the connection.
func (c *cachingConn) Close() error {
	c.mu.Lock()
	for el := c.lru.Front(); el != nil; el = el.Next() {
		_ = el.Value.(*cachedStmt).stmt.Close()
	}
	c.lru.Init()
	clear(c.stmts)
	c.mu.Unlock()
	return c.stmtConn.Close()
}

// cachedRows releases its statement back to the cache when closed.
type cachedRows struct {
	driver.Rows
	once    sync.Once
	release func()
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.once.Do(r.release)
	return err
}

// The column type methods of the driver's rows, passed through.

func (r *cachedRows) ColumnTypeDatabaseTypeName(index int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(index)
	}
	return ""
}

func (r *cachedRows) ColumnTypeLength(index int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(index)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypeNullable(index int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(index)
	}
	return false, false
}

func (r *cachedRows) ColumnTypePrecisionScale(index int) (precision, scale int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(index)
	}
	return 0, 0, false
}

func (r *cachedRows) ColumnTypeScanType(index int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(index)
	}
	return reflect.TypeFor[any]()
}
