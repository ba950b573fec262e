package simulate

import (
	"context"
	"errors"
	"fmt"

	"github.com/standin-dev/standin/store"
)

// SeedGroups are the groups Seed registers: a warehouse and a staging
// destination. inappropriate_implode is the destination_group_id of the real
// sync_end capture in docs/fidelity.md and delivery.DefaultGroupID.
var SeedGroups = []store.Group{
	{ID: "inappropriate_implode", Name: "Warehouse"},
	{ID: "elegant_canyon", Name: "Staging"},
}

// SeedConnections are the connections Seed registers, healthy (a past
// successful sync) and unpaused. assimilate_seem is the connection of the
// real sync_end capture in docs/fidelity.md.
var SeedConnections = []store.Connection{
	{ID: "assimilate_seem", GroupID: "inappropriate_implode", Service: "google_cloud_postgresql", Schema: "ftar_pg"},
	{ID: "gather_harbor", GroupID: "inappropriate_implode", Service: "salesforce", Schema: "salesforce"},
	{ID: "brisk_otter", GroupID: "elegant_canyon", Service: "hubspot", Schema: "hubspot_staging"},
}

// Seed registers SeedGroups and SeedConnections when the registry has no
// group, and reports whether it did. It emits no events. Several processes
// seeding one database at once are fine: an entity another process created
// first is skipped.
func (s *Simulator) Seed(ctx context.Context) (bool, error) {
	existing, err := s.cfg.Store.GroupList(ctx, store.GroupListParams{Limit: 1})
	if err != nil {
		return false, fmt.Errorf("seed: %w", err)
	}
	if len(existing) > 0 {
		return false, nil
	}
	now := s.now()
	for _, g := range SeedGroups {
		g.CreatedAt = now
		if err := s.cfg.Store.GroupCreate(ctx, &g); err != nil && !errors.Is(err, store.ErrConflict) {
			return false, fmt.Errorf("seed: %w", err)
		}
	}
	for _, c := range SeedConnections {
		c.SyncFrequency = DefaultSyncFrequency
		c.ScheduleType = store.ScheduleTypeAuto
		c.CreatedAt, c.UpdatedAt = now, now
		c.SucceededAt = &now
		_, err := s.cfg.Store.ConnectionCreate(ctx, store.ConnectionCreateParams{Connection: &c})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return false, fmt.Errorf("seed: %w", err)
		}
	}
	return true, nil
}
