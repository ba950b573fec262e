package sqlq

import (
	"context"
	"fmt"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/standin-dev/standin/store"
)

// Migrations is what MigrationStatus reads of a backend's River migrator.
type Migrations interface {
	AllVersions() []rivermigrate.Migration
	ExistingVersions(ctx context.Context) ([]rivermigrate.Migration, error)
}

// MigrationStatus lists standin's migrations, then River's, read on q. versioned says
// whether goose's version table exists: without it every standin migration
// is pending (goose would create the table to read it). riverAt is the SQL
// expression of river_migration's created_at in the dialect's stored form
// of a time.
func MigrationStatus(ctx context.Context, q Querier, p *goose.Provider, versioned bool, river Migrations, riverAt string) ([]store.MigrationStatus, error) {
	applied, err := riverApplied(ctx, q, river, riverAt)
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
func riverApplied(ctx context.Context, q Querier, river Migrations, at string) (map[int]time.Time, error) {
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
