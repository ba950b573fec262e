package postgres

import (
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// openSchemaStore opens a Store (unmigrated) on STANDIN_TEST_DATABASE_URL in
// a fresh schema, closed and dropped when the test ends. Without the
// variable the test is skipped, except under CI, where it fails.
func openSchemaStore(t *testing.T, maxConns int32) *Store {
	t.Helper()
	url := os.Getenv("STANDIN_TEST_DATABASE_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("STANDIN_TEST_DATABASE_URL is required under CI")
		}
		t.Skip("STANDIN_TEST_DATABASE_URL is not set")
	}
	schema := "standin_test_" + strings.ToLower(rand.Text()[:12])
	s, err := Open(t.Context(), Config{URL: url, Schema: schema, Logger: slog.New(slog.DiscardHandler), MaxConns: maxConns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Error(err)
		}
	})
	return s
}
