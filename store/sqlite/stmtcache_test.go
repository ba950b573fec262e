package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	sqlite "modernc.org/sqlite"
)

// openCachingDB opens a database/sql pool of one caching connection, as
// Open does.
func openCachingDB(t *testing.T) *sql.DB {
	t.Helper()
	connector, err := sqlite.NewConnector(dsn(filepath.Join(t.TempDir(), "cache.db")))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(cachingConnector{connector})
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);
		CREATE INDEX t_v ON t (v)`); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestStmtCache(t *testing.T) {
	t.Parallel()
	db := openCachingDB(t)

	// The same statements, many times, with different arguments.
	for i := range 50 {
		if _, err := db.Exec(`INSERT INTO t (id, v) VALUES (?, ?)`, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
		var v string
		if err := db.QueryRow(`SELECT v FROM t WHERE id = ?`, i).Scan(&v); err != nil || v != fmt.Sprint("v", i) {
			t.Fatalf("row %d: %q, %v", i, v, err)
		}
	}

	// Errors come through as the driver's.
	_, err := db.Exec(`INSERT INTO t (id, v) VALUES (?, ?)`, 1, "dup")
	var se *sqlite.Error
	if !errors.As(err, &se) {
		t.Fatalf("duplicate insert: %v, want a *sqlite.Error", err)
	}

	// The same query again while its first rows are still open (a
	// transaction's statements share the connection) runs uncached.
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	const q = `SELECT id FROM t WHERE id < ? ORDER BY id`
	outer, err := tx.Query(q, 3)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for outer.Next() {
		var id int
		if err := outer.Scan(&id); err != nil {
			t.Fatal(err)
		}
		var inner int
		if err := tx.QueryRow(q, 100).Scan(&inner); err != nil || inner != 0 {
			t.Fatalf("nested query: %d, %v", inner, err)
		}
		if id != n {
			t.Fatalf("outer row %d has id %d", n, id)
		}
		n++
	}
	if err := outer.Close(); err != nil || n != 3 {
		t.Fatalf("outer rows: %d, %v", n, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	// More distinct statements than the cache holds: older ones are evicted
	// and prepared again when they come back.
	for round := range 2 {
		for i := range stmtCacheSize + 20 {
			var got int
			if err := db.QueryRow(fmt.Sprintf(`SELECT %d + count(*) * 0 FROM t WHERE id = ?`, i), round).Scan(&got); err != nil || got != i {
				t.Fatalf("statement %d: %d, %v", i, got, err)
			}
		}
	}
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		c := dc.(*cachingConn)
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.lru.Len() > stmtCacheSize || len(c.stmts) != c.lru.Len() {
			return fmt.Errorf("cache holds %d statements (map %d), bound %d", c.lru.Len(), len(c.stmts), stmtCacheSize)
		}
		for el := c.lru.Front(); el != nil; el = el.Next() {
			if el.Value.(*cachedStmt).busy {
				return fmt.Errorf("statement %q still busy", el.Value.(*cachedStmt).sql)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCacheable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sql  string
		want bool
	}{
		{`SELECT 1`, true},
		{`SELECT 1;`, true},
		{"-- name: JobGetAvailable :many\nSELECT 1;\n", true},
		{`CREATE TABLE a (x); CREATE TABLE b (y)`, false},
		{`SELECT '` + string(make([]byte, stmtCacheMaxSQL)) + `'`, false},
	} {
		if got := cacheable(tc.sql); got != tc.want {
			t.Errorf("cacheable(%.40q) = %v, want %v", tc.sql, got, tc.want)
		}
	}
}
