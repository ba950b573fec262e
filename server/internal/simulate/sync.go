package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/server/internal/apierr"
	"github.com/standin-dev/standin/server/internal/emit"
	"github.com/standin-dev/standin/store"
)

// syncOutcome is how a simulated sync ends: sync_end's data.
type syncOutcome struct {
	status, reason, taskType string
	rescheduledAt            time.Time
}

var successfulSync = syncOutcome{status: delivery.StatusSuccessful}

// change is one atomic change of a connection: the fields it sets
// and the events it emits, committed together by store.ConnectionUpdate. It
// is built against a read of the connection and applies only if the
// connection has not changed since (IfVersion).
type change struct {
	sim       *Simulator
	c         *store.Connection
	now       time.Time
	params    store.ConnectionUpdateParams
	changed   bool
	emissions []emit.Emission
	// sync is the sync this change starts, nil when none; syncEnd is the
	// index of its sync_end in emissions.
	sync    *store.ConnectionSync
	syncEnd int
	// faults, when set, are the faults of the change's events instead of
	// their webhooks' (SyncParams.Faults).
	faults *delivery.Faults
}

// Change is a committed change of a connection.
type Change struct {
	// Conn is the connection after the change.
	Conn *store.Connection
	// Now is the time of the change.
	Now time.Time
	// Sync is the sync the change started, nil when none.
	Sync *store.ConnectionSync
	// Events are the events the change emitted, with their deliveries.
	Events     []store.EventCreateParams
	Deliveries []*store.Delivery
}

// change reads the connection, lets build describe a change and commits
// it, again from a fresh read when another change came first. A change that
// sets nothing and emits nothing is not written.
func (s *Simulator) change(ctx context.Context, id string, build func(ch *change) error) (*Change, error) {
	for attempt := 1; ; attempt++ {
		c, err := s.Connection(ctx, id)
		if err != nil {
			return nil, err
		}
		ch := &change{
			sim:    s,
			c:      c,
			now:    s.now(),
			params: store.ConnectionUpdateParams{ID: c.ID, IfVersion: c.Version},
		}
		if err := build(ch); err != nil {
			return nil, err
		}
		if !ch.changed && len(ch.emissions) == 0 {
			return &Change{Conn: c, Now: ch.now}, nil
		}
		res, err := ch.commit(ctx)
		if errors.Is(err, store.ErrConflict) && attempt < maxChangeAttempts {
			continue
		}
		if err != nil {
			return nil, apierr.NotFound("Connector", id, err)
		}
		return res, nil
	}
}

// emit adds an event of the connection, due at runAt (zero: now), to
// Fivetran webhooks only.
func (ch *change) emit(event string, created time.Time, syncID string, data json.RawMessage, runAt time.Time) {
	c := ch.c
	ch.emissions = append(ch.emissions, emit.Emission{
		Source: delivery.Source{
			Event:         event,
			Created:       created,
			ConnectorType: c.Service,
			ConnectorID:   c.ID,
			ConnectorName: c.Schema,
			GroupID:       c.GroupID,
			SyncID:        syncID,
			Data:          data,
		},
		RunAt:   runAt,
		Profile: delivery.ProfileFivetran,
		Faults:  ch.faults,
	})
}

// reorder holds back the deliveries of a sync_start whose faults ask for
// reordering (delivery.Faults.Reorder) until endsAt, when its sync_end is
// due, and marks them Reordered: their first attempt then waits
// delivery.ReorderGap, so that the sync_end, due at the same time, is sent
// first.
func reorder(start *store.EventCreateParams, endsAt time.Time) {
	for i := range start.Deliveries {
		d := &start.Deliveries[i]
		if d.Faults.Reorder {
			d.RunAt = endsAt
			d.Faults.Reordered = true
		}
	}
}

// startSync starts a sync of emulated length d ending with o: sync_start
// now, sync_end due when the sync ends, with one sync_id. A running sync is
// interrupted: its pending sync_end deliveries are cancelled. An ended one
// has its outcome folded into succeeded_at and failed_at.
func (ch *change) startSync(o syncOutcome, d time.Duration, historical bool) error {
	c, now := ch.c, ch.now
	data, err := delivery.SyncEndData(o.status, o.reason, o.taskType, o.rescheduledAt)
	if err != nil {
		return &apierr.InputError{Msg: fmt.Sprintf("Invalid value '%s' for field 'status'", o.status), Err: err}
	}
	if SyncRunning(c, now) {
		ch.params.CancelEventID = c.Sync.EndEventID
	} else {
		succeeded, failed := Settled(c, now)
		if succeeded != c.SucceededAt {
			ch.params.SucceededAt = succeeded
		}
		if failed != c.FailedAt {
			ch.params.FailedAt = failed
		}
	}
	endsAt := now.Add(ch.sim.cfg.Timeline.Real(d))
	ch.sync = &store.ConnectionSync{
		ID:            delivery.NewUUID(),
		StartedAt:     now,
		EndsAt:        endsAt,
		Status:        o.status,
		Reason:        o.reason,
		TaskType:      o.taskType,
		RescheduledAt: o.rescheduledAt,
		Historical:    historical,
	}
	ch.emit(delivery.EventSyncStart, now, ch.sync.ID, nil, time.Time{})
	ch.syncEnd = len(ch.emissions) // the sync_start is the emission before

	ch.emit(delivery.EventSyncEnd, endsAt, ch.sync.ID, data, endsAt)
	ch.params.Sync = ch.sync
	if c.ResyncPending {
		ch.params.ResyncPending = new(false)
	}
	ch.changed = true
	return nil
}

// firstSync reports whether c has never synced: Fivetran's first sync of a
// connection is its historical sync.
func firstSync(c *store.Connection) bool {
	return c.Sync == nil && c.SucceededAt == nil && c.FailedAt == nil
}

// commit renders the emissions and writes the change.
func (ch *change) commit(ctx context.Context) (*Change, error) {
	events := make([]store.EventCreateParams, 0, len(ch.emissions))
	for _, em := range ch.emissions {
		p, err := ch.sim.cfg.Emitter.Prepare(ctx, em)
		if err != nil {
			return nil, err
		}
		events = append(events, p)
	}
	if ch.sync != nil {
		ch.sync.EndEventID = events[ch.syncEnd].Event.ID
		reorder(&events[ch.syncEnd-1], ch.sync.EndsAt)
	}
	ch.params.UpdatedAt = ch.now
	ch.params.Events = events
	conn, deliveries, err := ch.sim.cfg.Store.ConnectionUpdate(ctx, ch.params)
	if err != nil {
		return nil, err
	}
	return &Change{Conn: conn, Now: ch.now, Sync: ch.sync, Events: events, Deliveries: deliveries}, nil
}

// SyncConnection is Fivetran's sync of a connection (force: restart a
// running one): a paused connection does not sync, and without force a
// running sync is left alone; the call succeeds either way.
func (s *Simulator) SyncConnection(ctx context.Context, id string, force bool) error {
	_, err := s.change(ctx, id, func(ch *change) error {
		c := ch.c
		// Fivetran: a paused connection does not sync; without force, a
		// running sync is left alone. The call succeeds either way.
		if c.Paused || (SyncRunning(c, ch.now) && !force) {
			return nil
		}
		if force {
			ch.emit(delivery.EventForceUpdateConnector, ch.now, "", nil, time.Time{})
		}
		return ch.startSync(successfulSync, s.cfg.SyncDuration, firstSync(c))
	})
	return err
}

// Table is one table of a re-sync scope.
type Table struct{ Schema, Table string }

// ParseScope reads Fivetran's re-sync scope {"<schema>":["t1",…]}, as
// decoded JSON values: each schema maps to a non-empty array of table
// names.
func ParseScope(scope map[string]any) ([]Table, error) {
	if len(scope) == 0 {
		return nil, apierr.Invalid("Field 'scope' must not be empty")
	}
	var tables []Table
	for _, schema := range slices.Sorted(maps.Keys(scope)) {
		list, ok := scope[schema].([]any)
		if schema == "" || !ok || len(list) == 0 {
			return nil, apierr.Invalid("Invalid value for field '%s': must be a non-empty array of table names", schema)
		}
		for _, v := range list {
			t, ok := v.(string)
			if !ok || t == "" {
				return nil, apierr.Invalid("Invalid value for field '%s': must be a non-empty array of table names", schema)
			}
			tables = append(tables, Table{Schema: schema, Table: t})
		}
	}
	return tables, nil
}

// resyncTableData is the data of a resync_table event: the schema and the
// table (standin's shape; Fivetran publishes none).
func resyncTableData(t Table) json.RawMessage {
	b, _ := json.Marshal(struct {
		Schema string `json:"schema"`
		Table  string `json:"table"`
	}{t.Schema, t.Table})
	return b
}

// Resync starts a historical re-sync of the connection: resync_connector,
// or one resync_table per table when tables are given, then the sync (on a
// paused connection, when it is resumed).
func (s *Simulator) Resync(ctx context.Context, id string, tables []Table) error {
	_, err := s.change(ctx, id, func(ch *change) error {
		if len(tables) == 0 {
			ch.emit(delivery.EventResyncConnector, ch.now, "", nil, time.Time{})
		}
		for _, t := range tables {
			ch.emit(delivery.EventResyncTable, ch.now, "", resyncTableData(t), time.Time{})
		}
		if ch.c.Paused {
			// Fivetran runs it when the connection is resumed.
			ch.params.ResyncPending = new(true)
			ch.changed = true
			return nil
		}
		return ch.startSync(successfulSync, s.cfg.SyncDuration, true)
	})
	return err
}

// notEdits are the fields of Fivetran's connection PATCH that change nothing
// about the connection itself: they only steer the call.
var notEdits = []string{"paused", "run_setup_tests", "trust_certificates", "trust_fingerprints"}

// Patch is the part of a connection PATCH body standin applies; make it
// with ParsePatch.
type Patch struct {
	paused        *bool
	syncFrequency *int
	scheduleType  *string
	// extra holds the connection's other fields the body sets (config,
	// daily_sync_time, ...), kept with the connection.
	extra map[string]any
	// otherEdits names a field standin does not model that edits the
	// connection (auth, ...).
	otherEdits bool
}

// ParsePatch reads a connection PATCH body, as decoded JSON values: paused,
// sync_frequency and schedule_type, checking their types and values; the
// connection's other fields (checked against the connection when applied);
// and whether other editing fields are present.
func ParsePatch(body map[string]any) (Patch, error) {
	var p Patch
	for name, v := range body {
		switch name {
		case "paused":
			b, ok := v.(bool)
			if !ok {
				return p, apierr.Invalid("Invalid value for field 'paused': must be a boolean")
			}
			p.paused = &b
		case "sync_frequency":
			n, ok := v.(float64)
			if !ok || n != math.Trunc(n) || !validSyncFrequency(int(n)) {
				return p, apierr.Invalid("Invalid value for field 'sync_frequency': must be one of %v", SyncFrequencies)
			}
			f := int(n)
			p.syncFrequency = &f
		case "schedule_type":
			t, _ := v.(string)
			if t != store.ScheduleTypeAuto && t != store.ScheduleTypeManual {
				return p, apierr.Invalid("Invalid value for field 'schedule_type': must be '%s' or '%s'", store.ScheduleTypeAuto, store.ScheduleTypeManual)
			}
			p.scheduleType = &t
		default:
			if slices.Contains(extraFields, name) {
				if p.extra == nil {
					p.extra = make(map[string]any)
				}
				p.extra[name] = v
				continue
			}
			if !slices.Contains(notEdits, name) {
				p.otherEdits = true
			}
		}
	}
	return p, nil
}

// apply describes the patch as a change of ch.c: edit_connector for edits
// (the connection's other fields are kept, config merged), then
// pause_connector or resume_connector when paused changes; resuming a
// connection whose re-sync waited starts that historical sync.
func (p Patch) apply(ch *change) error {
	c := ch.c
	edited := p.otherEdits
	if p.extra != nil {
		x := DecodeExtra(c)
		changed, err := x.apply(p.extra)
		if err != nil {
			return err
		}
		edited = true
		if changed {
			b, err := x.encode()
			if err != nil {
				return err
			}
			if b == nil {
				b = []byte{} // set, to nothing: stored as NULL
			}
			ch.params.Extra = b
		}
	}
	if p.syncFrequency != nil && *p.syncFrequency != c.SyncFrequency {
		ch.params.SyncFrequency, edited = p.syncFrequency, true
	}
	if p.scheduleType != nil && *p.scheduleType != c.ScheduleType {
		ch.params.ScheduleType, edited = p.scheduleType, true
	}
	if edited {
		ch.changed = true
		ch.emit(delivery.EventEditConnector, ch.now, "", nil, time.Time{})
	}
	if p.paused == nil || *p.paused == c.Paused {
		return nil
	}
	ch.params.Paused, ch.changed = p.paused, true
	if *p.paused {
		ch.emit(delivery.EventPauseConnector, ch.now, "", nil, time.Time{})
		return nil
	}
	ch.emit(delivery.EventResumeConnector, ch.now, "", nil, time.Time{})
	if c.ResyncPending {
		return ch.startSync(successfulSync, ch.sim.cfg.SyncDuration, true)
	}
	return nil
}

// UpdateConnection applies a PATCH to the connection: edit_connector for
// edits (the connection's other fields are kept, config merged), then
// pause_connector or resume_connector when paused changes; resuming a
// connection whose re-sync waited starts that historical sync.
func (s *Simulator) UpdateConnection(ctx context.Context, id string, p Patch) (*Change, error) {
	return s.change(ctx, id, p.apply)
}

// validSyncFrequency reports whether f is one of SyncFrequencies.
func validSyncFrequency(f int) bool { return slices.Contains(SyncFrequencies, f) }

// SyncRunning reports whether c's latest sync is still running at now.
func SyncRunning(c *store.Connection, now time.Time) bool {
	return c.Sync != nil && now.Before(c.Sync.EndsAt)
}

// SyncEnded reports whether c's latest sync has ended by now.
func SyncEnded(c *store.Connection, now time.Time) bool {
	return c.Sync != nil && !now.Before(c.Sync.EndsAt)
}

// FailedStatus reports whether a sync_end status is a failure.
func FailedStatus(status string) bool {
	switch status {
	case delivery.StatusFailure, delivery.StatusFailureWithTask, delivery.StatusFailed:
		return true
	}
	return false
}

// Settled returns c's SucceededAt and FailedAt with its latest sync's
// outcome folded in when that sync has ended by now: a successful sync sets
// succeeded_at, a failed one failed_at, a rescheduled one neither.
func Settled(c *store.Connection, now time.Time) (succeeded, failed *time.Time) {
	succeeded, failed = c.SucceededAt, c.FailedAt
	if !SyncEnded(c, now) {
		return succeeded, failed
	}
	end := c.Sync.EndsAt
	switch {
	case c.Sync.Status == delivery.StatusSuccessful:
		succeeded = &end
	case FailedStatus(c.Sync.Status):
		failed = &end
	}
	return succeeded, failed
}
