package proctest

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DatabaseURLEnv names the variable that points the tests at a PostgreSQL
// server (the Makefile defaults it to the local one).
const DatabaseURLEnv = "STANDIN_TEST_DATABASE_URL"

var reachable sync.Map // URL -> error from the first connection attempt (nil: reachable)

// DatabaseURL returns STANDIN_TEST_DATABASE_URL once a connection to it
// succeeded. The test is skipped when the variable is unset or the server
// does not answer within 5 s; under CI=true both are failures.
func DatabaseURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(DatabaseURLEnv)
	if u == "" {
		skipOrFail(tb, "%s is not set", DatabaseURLEnv)
	}
	v, ok := reachable.Load(u)
	if !ok {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := ping(ctx, u)
		v, _ = reachable.LoadOrStore(u, err)
	}
	if err, _ := v.(error); err != nil {
		skipOrFail(tb, "PostgreSQL at %s is unreachable: %v", DatabaseURLEnv, err)
	}
	return u
}

func ping(ctx context.Context, u string) error {
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.Ping(ctx)
}

// NewDatabase creates an empty database, standin_test_<random>, on the
// server of DatabaseURL, and drops it (closing any connection left) when the
// test ends, after the processes it started are stopped. It returns the
// database's URL: DatabaseURL with the database name replaced.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	return createDatabase(tb, DatabaseURL(tb))
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
