package postgres_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/postgres"
	"github.com/standin-dev/standin/store/storetest"
)

func TestStore(t *testing.T) {
	testDatabaseURL(t) // skip (or fail under CI) once, not per subtest
	storetest.Run(t, func(t *testing.T) store.Store { return openTestStore(t) })
}

func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) store.Store { return openTestStore(b) })
}

// testDatabaseURL returns STANDIN_TEST_DATABASE_URL, skipping the test when
// it is unset or the server does not answer, except under CI where
// PostgreSQL is required.
func testDatabaseURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv("STANDIN_TEST_DATABASE_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
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
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at STANDIN_TEST_DATABASE_URL is unreachable (required under CI): %v", pingErr)
		}
		t.Skipf("PostgreSQL at STANDIN_TEST_DATABASE_URL is unreachable: %v", pingErr)
	}
	return url
}

// pingOnce checks once per test binary that the server answers.
var (
	pingOnce sync.Once
	pingErr  error
)

// openTestStore opens a migrated store in a fresh schema that is dropped
// when the test ends.
func openTestStore(t testing.TB) store.Store {
	t.Helper()
	url := testDatabaseURL(t)
	// rand.Text is upper-case base32; schemas are lower-case identifiers.
	schema := "standin_test_" + strings.ToLower(rand.Text()[:12])
	t.Cleanup(func() { dropSchema(t, url, schema) })

	st, err := postgres.Open(t.Context(), postgres.Config{
		URL:      url,
		Schema:   schema,
		Logger:   slog.New(slog.DiscardHandler),
		MaxConns: 8,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return st
}

func dropSchema(t testing.TB, url, schema string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Errorf("drop schema %s: %v", schema, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
		t.Errorf("drop schema %s: %v", schema, err)
	}
}

func TestOpenErrorHidesPassword(t *testing.T) {
	t.Parallel()
	_, err := postgres.Open(t.Context(), postgres.Config{URL: "postgres://u:s3cret@localhost:notaport/db"})
	if err == nil {
		t.Fatal("Open accepted a bad port")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error leaks the password: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, cfg := range []postgres.Config{
		{},
		{URL: "postgres://localhost/db", Schema: "Bad-Schema"},
		{URL: "postgres://localhost/db", MaxConns: 1},
	} {
		if _, err := postgres.Open(t.Context(), cfg); err == nil {
			t.Errorf("Open(%+v) succeeded, want a config error", cfg)
		}
	}
}
