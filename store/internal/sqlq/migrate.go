package sqlq

import (
	"context"
	"fmt"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/standin-dev/standin/store"
)

// GooseTable is the table goose records standin's migrations in.
const GooseTable = "standin_migration"

// RiverMigrator is what Migrations uses of a backend's River migrator.
type RiverMigrator interface {
	AllVersions() []rivermigrate.Migration
	ExistingVersions(ctx context.Context) ([]rivermigrate.Migration, error)
	Migrate(ctx context.Context, direction rivermigrate.Direction, opts *rivermigrate.MigrateOpts) (*rivermigrate.MigrateResult, error)
}

// Migrations are a backend's migrations: goose's of standin's tables, then
// River's, and the SQL that reads their state.
type Migrations struct {
	Goose *goose.Provider
	River RiverMigrator
	// TableExists is a query, with a table's name as its one argument,
	// that returns whether the table exists.
	TableExists string
	// RiverAt is the SQL expression of river_migration's created_at in the
	// stored form of a time.
	RiverAt string
}

// Up applies standin's pending migrations, then River's.
func (m Migrations) Up(ctx context.Context) error {
	if _, err := m.Goose.Up(ctx); err != nil {
		return fmt.Errorf("migrate standin: %w", err)
	}
	if _, err := m.River.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	return nil
}

// Status lists standin's migrations, then River's, read on q. It only
// reads: on a database standin never migrated, every migration is pending
// (goose would create its version table to read it).
func (m Migrations) Status(ctx context.Context, q Querier) ([]store.MigrationStatus, error) {
	var versioned bool
	if err := q.QueryRow(ctx, m.TableExists, GooseTable).Scan(&versioned); err != nil {
		return nil, fmt.Errorf("standin migration status: %w", err)
	}
	p, river := m.Goose, m.River
	applied, err := riverApplied(ctx, q, river, m.RiverAt)
	if err != nil {
		return nil, err
	}
	var statuses []*goose.MigrationStatus
	if versioned {
		if statuses, err = p.Status(ctx); err != nil {
			return nil, fmt.Errorf("standin migration status: %w", err)
		}
	} else {
		for _, src := range p.ListSources() {
			statuses = append(statuses, &goose.MigrationStatus{Source: src, State: goose.StatePending})
		}
	}
	all := river.AllVersions()
	out := make([]store.MigrationStatus, 0, len(statuses)+len(all))
	for _, st := range statuses {
		ms := store.MigrationStatus{
			Component: "standin",
			Version:   st.Source.Version,
			Name:      st.Source.Path,
			Applied:   st.State == goose.StateApplied,
		}
		if ms.Applied {
			at := st.AppliedAt.UTC()
			ms.AppliedAt = &at
		}
		out = append(out, ms)
	}
	for _, m := range all {
		ms := store.MigrationStatus{Component: "river", Version: int64(m.Version), Name: m.Name}
		if at, ok := applied[m.Version]; ok {
			ms.Applied = true
			ms.AppliedAt = &at
		}
		out = append(out, ms)
	}
	return out, nil
}

// riverApplied returns River's applied migration versions and when each was
// applied.
func riverApplied(ctx context.Context, q Querier, river RiverMigrator, at string) (map[int]time.Time, error) {
	existing, err := river.ExistingVersions(ctx)
	if err != nil {
		return nil, fmt.Errorf("river migration status: %w", err)
	}
	applied := make(map[int]time.Time, len(existing))
	if len(existing) == 0 {
		return applied, nil // river_migration may not exist
	}
	rows, err := q.Query(ctx, `SELECT version, `+at+` FROM river_migration WHERE line = 'main'`)
	if err != nil {
		return nil, fmt.Errorf("river migration status: %w", err)
	}
	_, err = collect(rows, func(row Row) (int, error) {
		var version int
		var at NullTime
		if err := row.Scan(&version, &at); err != nil {
			return 0, err
		}
		applied[version] = at.Time
		return version, nil
	})
	if err != nil {
		return nil, fmt.Errorf("river migration status: %w", err)
	}
	return applied, nil
}
