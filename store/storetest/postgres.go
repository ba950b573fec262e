package storetest

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresURL returns STANDIN_TEST_DATABASE_URL, the PostgreSQL server the
// tests run against, having checked once per test binary that it answers.
// Without the variable, or with the server down, the test is skipped,
// except under CI=true, where PostgreSQL is required and the test fails.
func PostgresURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("STANDIN_TEST_DATABASE_URL")
	ci := os.Getenv("CI") == "true"
	if url == "" {
		if ci {
			t.Fatal("STANDIN_TEST_DATABASE_URL is required under CI")
		}
		t.Skip("STANDIN_TEST_DATABASE_URL is not set")
	}
	pingOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err == nil {
			err = conn.Ping(ctx)
			_ = conn.Close(ctx)
		}
		pingErr = err
	})
	if pingErr != nil {
		if ci {
			t.Fatalf("PostgreSQL at STANDIN_TEST_DATABASE_URL is unreachable (required under CI): %v", pingErr)
		}
		t.Skipf("PostgreSQL at STANDIN_TEST_DATABASE_URL is unreachable: %v", pingErr)
	}
	return url
}

var (
	pingOnce sync.Once
	pingErr  error
)

// PostgresSchema creates a schema named prefix followed by a random suffix
// on the server at url, drops it with everything in it when the test ends,
// and returns its name. Call it before opening a store on the schema, so
// that the store's own cleanup (closing it) runs before the drop.
func PostgresSchema(t testing.TB, url, prefix string) string {
	t.Helper()
	// rand.Text is upper-case base32; schemas are lower-case identifiers.
	schema := prefix + strings.ToLower(rand.Text()[:12])
	ident := pgx.Identifier{schema}.Sanitize()
	exec := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec(`CREATE SCHEMA ` + ident); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if err := exec(`DROP SCHEMA IF EXISTS ` + ident + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// SearchPathURL returns url with its search_path set to schema, for code
// that takes a database URL rather than a schema.
func SearchPathURL(url, schema string) string {
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "search_path=" + schema
}
