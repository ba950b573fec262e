package sqlite_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/sqlite"
	"github.com/standin-dev/standin/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTestStore(t) })
}

func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) store.Store { return openTestStore(b) })
}

// openTestStore opens a migrated store on a fresh file in a temporary
// directory.
func openTestStore(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), sqlite.Config{
		Path:   filepath.Join(t.TempDir(), "standin.db"),
		Logger: slog.New(slog.DiscardHandler),
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

// TestStoreMemory runs the suite on in-memory databases: one connection
// holds the database, and River shares it.
func TestStoreMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		t.Helper()
		st, err := sqlite.Open(t.Context(), sqlite.Config{Path: sqlite.MemoryPath, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	})
}

// TestTwoStoresOneFile checks that two stores (as two processes would) can
// write one file at the same time: the busy timeout and BEGIN IMMEDIATE make
// the second writer wait instead of failing with SQLITE_BUSY.
func TestTwoStoresOneFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "shared.db")
	a := openAt(t, path, false)
	b := openAt(t, path, true)

	const perStore = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*perStore)
	for i, st := range []store.Store{a, b} {
		wg.Go(func() {
			for j := range perStore {
				id := fmt.Sprintf("ev_%d_%d", i, j)
				_, err := st.EventCreate(t.Context(), store.EventCreateParams{
					Event:      store.Event{ID: id, Name: "sync_end", CreatedAt: time.Now()},
					Deliveries: []store.DeliveryNew{{ID: id + "_d", WebhookID: "wh_1", Body: []byte("{}")}},
				})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	list, err := a.DeliveryList(t.Context(), store.DeliveryListParams{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2*perStore {
		t.Fatalf("got %d deliveries, want %d", len(list), 2*perStore)
	}
}

func TestOpenPathWithURLCharacters(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "a dir?x=1#frag", "standin %20.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	st := openAt(t, path, false)
	if _, err := st.WebhookList(t.Context(), store.WebhookListParams{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file not at the given path: %v", err)
	}
}

func TestSkipMigrate(t *testing.T) {
	t.Parallel()
	st := openAt(t, filepath.Join(t.TempDir(), "x.db"), true)
	status, err := st.MigrationStatus(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, ms := range status {
		if ms.Applied {
			t.Fatalf("%s migration %d applied without Migrate", ms.Component, ms.Version)
		}
	}
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func openAt(t *testing.T, path string, skipMigrate bool) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), sqlite.Config{Path: path, SkipMigrate: skipMigrate, Logger: slog.New(slog.DiscardHandler)})
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
