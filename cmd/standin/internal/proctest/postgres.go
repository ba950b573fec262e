package proctest

import (
	"context"
	"crypto/rand"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/standin-dev/standin/store/storetest"
)

// DatabaseURLEnv names the variable that points the tests at a PostgreSQL
// server (the Makefile defaults it to the local one).
const DatabaseURLEnv = "STANDIN_TEST_DATABASE_URL"

// NewDatabase creates an empty database, standin_test_<random>, on the
// server of STANDIN_TEST_DATABASE_URL (see storetest.PostgresURL: the test
// is skipped without it, or fails under CI), and drops it (closing any
// connection left) when the test ends, after the processes it started are
// stopped. It returns the database's URL: the server's with the database
// name replaced.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	return createDatabase(tb, storetest.PostgresURL(tb))
}

// createDatabase creates a database on the server of serverURL and drops it
// when the test ends.
func createDatabase(tb testing.TB, serverURL string) string {
	tb.Helper()
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("proctest: %s must be a postgres:// URL", DatabaseURLEnv)
	}
	// rand.Text is upper-case base32; database names are lower-case here.
	name := "standin_test_" + strings.ToLower(rand.Text()[:12])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		tb.Fatalf("proctest: connect to create a database: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("proctest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, serverURL)
		if err != nil {
			tb.Errorf("proctest: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("proctest: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// Connect opens a connection to databaseURL for a test's own queries and
// closes it when the test ends.
func Connect(tb testing.TB, databaseURL string) *pgx.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		tb.Fatalf("proctest: connect: %v", err)
	}
	tb.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}
