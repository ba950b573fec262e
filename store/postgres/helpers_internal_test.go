package postgres

import (
	"log/slog"
	"testing"

	"github.com/standin-dev/standin/store/storetest"
)

// openSchemaStore opens a Store (unmigrated) on STANDIN_TEST_DATABASE_URL in
// a fresh schema, closed and dropped when the test ends. Without the
// variable the test is skipped, except under CI, where it fails.
func openSchemaStore(t *testing.T, maxConns int32) *Store {
	t.Helper()
	url := storetest.PostgresURL(t)
	schema := storetest.PostgresSchema(t, url, "standin_test_")
	s, err := Open(t.Context(), Config{URL: url, Schema: schema, Logger: slog.New(slog.DiscardHandler), MaxConns: maxConns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
