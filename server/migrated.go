package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/standin-dev/standin/store"
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
