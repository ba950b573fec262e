package sqlq

import (
	"context"
	"fmt"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/standin-dev/standin/store"
)

// MigrationStatus lists standin's migrations, then River's. versioned says
// whether goose's version table exists: without it every standin migration
// is pending (goose would create the table to read it). applied holds when
// each applied River migration was applied.
func MigrationStatus(ctx context.Context, p *goose.Provider, versioned bool, river []rivermigrate.Migration, applied map[int]time.Time) ([]store.MigrationStatus, error) {
	var statuses []*goose.MigrationStatus
	if versioned {
		var err error
		if statuses, err = p.Status(ctx); err != nil {
			return nil, fmt.Errorf("standin migration status: %w", err)
		}
	} else {
		for _, src := range p.ListSources() {
			statuses = append(statuses, &goose.MigrationStatus{Source: src, State: goose.StatePending})
		}
	}
	out := make([]store.MigrationStatus, 0, len(statuses)+len(river))
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
	for _, m := range river {
		ms := store.MigrationStatus{Component: "river", Version: int64(m.Version), Name: m.Name}
		if at, ok := applied[m.Version]; ok {
			ms.Applied = true
			ms.AppliedAt = &at
		}
		out = append(out, ms)
	}
	return out, nil
}
