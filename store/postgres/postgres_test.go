package postgres_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/postgres"
	"github.com/standin-dev/standin/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.PostgresURL(t) // skip (or fail under CI) once, not per subtest
	storetest.Run(t, func(t *testing.T) store.Store { return openTestStore(t) })
}

func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) store.Store { return openTestStore(b) })
}

// openTestStore opens a migrated store in a fresh schema that is dropped
// when the test ends.
func openTestStore(t testing.TB) store.Store {
	t.Helper()
	url := storetest.PostgresURL(t)
	schema := storetest.PostgresSchema(t, url, "standin_test_")

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
