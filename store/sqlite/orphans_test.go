package sqlite_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/sqlite"
)

// TestOrphanedJobsReleased: a delivery job left running by a process that
// died is made available when the next store opens the file alone, but not
// while another store has the file open (that one may be sending it).
func TestOrphanedJobsReleased(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "standin.db")
	open := func() *sqlite.Store {
		t.Helper()
		st, err := sqlite.Open(ctx, sqlite.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	jobState := func() string {
		t.Helper()
		var state string
		if err := raw.QueryRowContext(ctx, `SELECT state FROM river_job`).Scan(&state); err != nil {
			t.Fatal(err)
		}
		return state
	}

	first := open()
	wh := &store.Webhook{ID: "calm_fox", Type: store.WebhookTypeAccount, URL: "http://127.0.0.1:1/", Events: []string{"sync_end"},
		Active: true, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := first.WebhookCreate(ctx, wh); err != nil {
		t.Fatal(err)
	}
	if _, err := first.EventCreate(ctx, store.EventCreateParams{
		Event:      store.Event{ID: "ev1", Name: "sync_end", CreatedAt: time.Now()},
		Deliveries: []store.DeliveryNew{{ID: "d1", WebhookID: wh.ID, Body: []byte("{}")}},
	}); err != nil {
		t.Fatal(err)
	}
	// The first process fetches the job, then "dies" with the file open.
	if _, err := raw.ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = datetime('now', 'subsec')`); err != nil {
		t.Fatal(err)
	}

	second := open()
	if got := jobState(); got != "running" {
		t.Errorf("a store opened next to a live one changed the job to %s", got)
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	third := open()
	defer third.Close()
	if got := jobState(); got != "available" {
		t.Errorf("after a restart the orphaned job is %s, want available", got)
	}
}
