package app_test

import (
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/standin-dev/standin/server/app"
)

// TestNewSkipMigrate checks that SkipMigrate refuses a database with
// pending migrations, naming them, and accepts it once migrated.
func TestNewSkipMigrate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "standin.db")
	cfg := app.Config{DatabaseURL: path, SkipMigrate: true, Role: app.RoleAPI, Logger: slog.New(slog.DiscardHandler)}

	_, err := app.New(t.Context(), cfg)
	var nm *app.NotMigratedError
	if !errors.As(err, &nm) {
		t.Fatalf("New on an empty database with SkipMigrate: %v, want a *NotMigratedError", err)
	}
	if len(nm.Pending) == 0 || !strings.Contains(err.Error(), "database is not migrated") ||
		!strings.Contains(err.Error(), "standin 1") || !strings.Contains(err.Error(), "; river 1") {
		t.Errorf("error %q (%d pending) does not name the pending migrations", err, len(nm.Pending))
	}

	migrated := cfg
	migrated.SkipMigrate = false
	srv, err := app.New(t.Context(), migrated)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	srv, err = app.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New on a migrated database with SkipMigrate: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
}
