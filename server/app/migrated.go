package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/backend"
)

// NotMigratedError is New's error when Config.SkipMigrate is set and the
// database lacks migrations this build needs: run them first (`standin
// migrate up`), or start without SkipMigrate.
type NotMigratedError struct {
	// Pending lists the migrations not applied, standin's then River's.
	Pending []store.MigrationStatus
}

func (e *NotMigratedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "database is not migrated: %d migrations pending (", len(e.Pending))
	component := ""
	for i, m := range e.Pending {
		switch {
		case m.Component != component:
			if i > 0 {
				b.WriteString("; ")
			}
			component = m.Component
			fmt.Fprintf(&b, "%s %d", m.Component, m.Version)
		default:
			fmt.Fprintf(&b, ", %d", m.Version)
		}
	}
	b.WriteString(")")
	return b.String()
}

// requireMigrated returns a *NotMigratedError when st has pending
// migrations. It only reads.
func requireMigrated(ctx context.Context, st store.Store) error {
	ms, err := st.MigrationStatus(ctx)
	if err != nil {
		return fmt.Errorf("check migrations: %w", err)
	}
	var pending []store.MigrationStatus
	for _, m := range ms {
		if !m.Applied {
			pending = append(pending, m)
		}
	}
	if len(pending) > 0 {
		return &NotMigratedError{Pending: pending}
	}
	return nil
}

// OpenStore opens the database at databaseURL as New does (see
// Config.DatabaseURL), for commands that need the store without a whole
// process: migrations run first unless skipMigrate is set. A nil logger is
// slog.Default(). The caller closes the store.
func OpenStore(ctx context.Context, databaseURL string, skipMigrate bool, logger *slog.Logger) (store.Store, error) {
	return backend.Open(ctx, backend.Config{URL: databaseURL, SkipMigrate: skipMigrate, Logger: logger})
}

// DescribeDatabase returns databaseURL fit for logs: passwords replaced by
// "xxxxx", an SQLite database shown as "sqlite:" and its path.
func DescribeDatabase(databaseURL string) string { return backend.Describe(databaseURL) }
