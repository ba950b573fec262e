package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/standin-dev/standin/delivery"
	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server/internal/apierr"
	"github.com/standin-dev/standin/server/internal/emit"
	"github.com/standin-dev/standin/store"
)

// DefaultSyncDuration is how long a simulated sync lasts, in emulated time,
// when nobody says: 5 minutes.
const DefaultSyncDuration = 5 * time.Minute

// maxChangeAttempts bounds the retries of a connection change that lost a
// race with another change of the same connection.
const maxChangeAttempts = 8

// syncOutcome is how a simulated sync ends: sync_end's data.
type syncOutcome struct {
	status, reason, taskType string
	rescheduledAt            time.Time
}

var successfulSync = syncOutcome{status: delivery.StatusSuccessful}

// connectionChange is one atomic change of a connection: the fields it sets
// and the events it emits, committed together by store.ConnectionUpdate. It
// is built against a read of the connection and applies only if the
// connection has not changed since (IfVersion).
type connectionChange struct {
	api       *API
	c         *store.Connection
	now       time.Time
	params    store.ConnectionUpdateParams
	changed   bool
	emissions []emit.Emission
	// sync is the sync this change starts, nil when none; syncEnd is the
	// index of its sync_end in emissions.
	sync    *store.ConnectionSync
	syncEnd int
}

// changeResult is a committed change.
type changeResult struct {
	conn       *store.Connection
	now        time.Time
	sync       *store.ConnectionSync
	events     []store.EventCreateParams
	deliveries []*store.Delivery
}

// changeConnection reads the connection, lets build describe a change and
// commits it, again from a fresh read when another change came first. A
// change that sets nothing and emits nothing is not written.
func (a *API) changeConnection(ctx context.Context, id string, build func(ch *connectionChange) error) (*changeResult, error) {
	for attempt := 1; ; attempt++ {
		c, err := a.getConnection(ctx, id)
		if err != nil {
			return nil, err
		}
		ch := &connectionChange{
			api:    a,
			c:      c,
			now:    a.now(),
			params: store.ConnectionUpdateParams{ID: c.ID, IfVersion: c.Version},
		}
		if err := build(ch); err != nil {
			return nil, err
		}
		if !ch.changed && len(ch.emissions) == 0 {
			return &changeResult{conn: c, now: ch.now}, nil
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
func (ch *connectionChange) emit(event string, created time.Time, syncID string, data json.RawMessage, runAt time.Time) {
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
	})
}

// startSync starts a sync of emulated length d ending with o: sync_start
// now, sync_end due when the sync ends, with one sync_id. A running sync is
// interrupted: its pending sync_end deliveries are cancelled. An ended one
// has its outcome folded into succeeded_at and failed_at.
func (ch *connectionChange) startSync(o syncOutcome, d time.Duration, historical bool) error {
	c, now := ch.c, ch.now
	data, err := delivery.SyncEndData(o.status, o.reason, o.taskType, o.rescheduledAt)
	if err != nil {
		return &apierr.InputError{Msg: fmt.Sprintf("Invalid value '%s' for field 'status'", o.status), Err: err}
	}
	if syncRunning(c, now) {
		ch.params.CancelEventID = c.Sync.EndEventID
	} else {
		succeeded, failed := settled(c, now)
		if succeeded != c.SucceededAt {
			ch.params.SucceededAt = succeeded
		}
		if failed != c.FailedAt {
			ch.params.FailedAt = failed
		}
	}
	endsAt := now.Add(ch.api.timeline().Real(d))
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
	ch.syncEnd = len(ch.emissions)
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
func (ch *connectionChange) commit(ctx context.Context) (*changeResult, error) {
	events := make([]store.EventCreateParams, 0, len(ch.emissions))
	for _, em := range ch.emissions {
		p, err := ch.api.emitter.Prepare(ctx, em)
		if err != nil {
			return nil, err
		}
		events = append(events, p)
	}
	if ch.sync != nil {
		ch.sync.EndEventID = events[ch.syncEnd].Event.ID
	}
	ch.params.UpdatedAt = ch.now
	ch.params.Events = events
	conn, deliveries, err := ch.api.cfg.Store.ConnectionUpdate(ctx, ch.params)
	if err != nil {
		return nil, err
	}
	return &changeResult{conn: conn, now: ch.now, sync: ch.sync, events: events, deliveries: deliveries}, nil
}

// timeline converts between emulated and real time at the API's time scale.
func (a *API) timeline() delivery.Timeline { return delivery.Timeline{Scale: a.cfg.TimeScale} }

// SyncConnection implements standin.v1.ConnectionService.
func (s *connectionServer) SyncConnection(ctx context.Context, req *standinv1.SyncConnectionRequest) (*standinv1.SyncConnectionResponse, error) {
	return s.api.syncConnection(ctx, req.GetId(), req.GetForce())
}

// ForceConnection implements standin.v1.ConnectionService: SyncConnection
// with force.
func (s *connectionServer) ForceConnection(ctx context.Context, req *standinv1.ForceConnectionRequest) (*standinv1.SyncConnectionResponse, error) {
	return s.api.syncConnection(ctx, req.GetId(), true)
}

func (a *API) syncConnection(ctx context.Context, id string, force bool) (*standinv1.SyncConnectionResponse, error) {
	_, err := a.changeConnection(ctx, id, func(ch *connectionChange) error {
		c := ch.c
		// Fivetran: a paused connection does not sync; without force, a
		// running sync is left alone. The call succeeds either way.
		if c.Paused || (syncRunning(c, ch.now) && !force) {
			return nil
		}
		if force {
			ch.emit(delivery.EventForceUpdateConnector, ch.now, "", nil, time.Time{})
		}
		return ch.startSync(successfulSync, a.cfg.SyncDuration, firstSync(c))
	})
	if err != nil {
		return nil, a.status(ctx, err)
	}
	return &standinv1.SyncConnectionResponse{
		Code:    codeSuccess,
		Message: proto.String(fmt.Sprintf("Sync has been successfully triggered for connector with id '%s'", id)),
	}, nil
}

// resyncTable is one table of a re-sync scope.
type resyncTable struct{ schema, table string }

// parseScope reads Fivetran's re-sync scope {"<schema>":["t1",…]}: each
// schema maps to a non-empty array of table names.
func parseScope(scope *structpb.Struct) ([]resyncTable, error) {
	if len(scope.GetFields()) == 0 {
		return nil, apierr.Invalid("Field 'scope' must not be empty")
	}
	var tables []resyncTable
	for _, schema := range slices.Sorted(maps.Keys(scope.GetFields())) {
		list, ok := scope.GetFields()[schema].GetKind().(*structpb.Value_ListValue)
		if schema == "" || !ok || len(list.ListValue.GetValues()) == 0 {
			return nil, apierr.Invalid("Invalid value for field '%s': must be a non-empty array of table names", schema)
		}
		for _, v := range list.ListValue.GetValues() {
			t, ok := v.GetKind().(*structpb.Value_StringValue)
			if !ok || t.StringValue == "" {
				return nil, apierr.Invalid("Invalid value for field '%s': must be a non-empty array of table names", schema)
			}
			tables = append(tables, resyncTable{schema: schema, table: t.StringValue})
		}
	}
	return tables, nil
}

// resyncTableData is the data of a resync_table event: the schema and the
// table (standin's shape; Fivetran publishes none).
func resyncTableData(t resyncTable) json.RawMessage {
	b, _ := json.Marshal(struct {
		Schema string `json:"schema"`
		Table  string `json:"table"`
	}{t.schema, t.table})
	return b
}

// ResyncConnection implements standin.v1.ConnectionService.
func (s *connectionServer) ResyncConnection(ctx context.Context, req *standinv1.ResyncConnectionRequest) (*standinv1.ResyncConnectionResponse, error) {
	var tables []resyncTable
	if req.Scope != nil {
		var err error
		if tables, err = parseScope(req.GetScope()); err != nil {
			return nil, s.api.status(ctx, err)
		}
	}
	if err := s.api.resync(ctx, req.GetId(), tables); err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.ResyncConnectionResponse{Code: codeSuccess, Message: proto.String("Operation performed.")}, nil
}

// ResyncTable implements standin.v1.ConnectionService.
func (s *connectionServer) ResyncTable(ctx context.Context, req *standinv1.ResyncTableRequest) (*standinv1.ResyncTableResponse, error) {
	for _, f := range []struct{ name, value string }{{"schema", req.GetSchema()}, {"table", req.GetTable()}} {
		if f.value == "" {
			return nil, s.api.status(ctx, apierr.Invalid("Field '%s' is required", f.name))
		}
	}
	if err := s.api.resync(ctx, req.GetId(), []resyncTable{{schema: req.GetSchema(), table: req.GetTable()}}); err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.ResyncTableResponse{
		Code:    codeSuccess,
		Message: proto.String(fmt.Sprintf("Re-sync has been successfully triggered for '%s.%s'", req.GetSchema(), req.GetTable())),
	}, nil
}

// resync starts a historical re-sync of the connection: resync_connector,
// or one resync_table per table when tables are given, then the sync (on a
// paused connection, when it is resumed).
func (a *API) resync(ctx context.Context, id string, tables []resyncTable) error {
	_, err := a.changeConnection(ctx, id, func(ch *connectionChange) error {
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
		return ch.startSync(successfulSync, a.cfg.SyncDuration, true)
	})
	return err
}

// UpdateConnection implements standin.v1.ConnectionService.
func (s *connectionServer) UpdateConnection(ctx context.Context, req *standinv1.UpdateConnectionRequest) (*standinv1.UpdateConnectionResponse, error) {
	patch, err := parseConnectionPatch(req.GetBody())
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	res, err := s.api.changeConnection(ctx, req.GetId(), func(ch *connectionChange) error {
		return patch.apply(ch)
	})
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.UpdateConnectionResponse{
		Code:    codeSuccess,
		Message: proto.String("Connector has been updated"),
		Data:    connectionPB(res.conn, res.now),
	}, nil
}

// syncFrequencies are the sync_frequency values Fivetran accepts, in
// minutes.
var syncFrequencies = []int{1, 5, 15, 30, 60, 120, 180, 360, 480, 720, 1440}

// notEdits are the fields of Fivetran's connection PATCH that change nothing
// about the connection itself: they only steer the call.
var notEdits = []string{"paused", "run_setup_tests", "trust_certificates", "trust_fingerprints"}

// connectionPatch is the part of a connection PATCH body standin applies.
type connectionPatch struct {
	paused        *bool
	syncFrequency *int
	scheduleType  *string
	// extra holds the connection's other fields the body sets (config,
	// daily_sync_time, ...), kept with the connection.
	extra map[string]*structpb.Value
	// otherEdits names a field standin does not model that edits the
	// connection (auth, ...).
	otherEdits bool
}

// parseConnectionPatch reads paused, sync_frequency and schedule_type,
// checking their types and values, collects the connection's other fields
// (checked against the connection in apply) and notes whether other editing
// fields are present.
func parseConnectionPatch(body *structpb.Struct) (connectionPatch, error) {
	var p connectionPatch
	for name, v := range body.GetFields() {
		switch name {
		case "paused":
			b, ok := v.GetKind().(*structpb.Value_BoolValue)
			if !ok {
				return p, apierr.Invalid("Invalid value for field 'paused': must be a boolean")
			}
			p.paused = &b.BoolValue
		case "sync_frequency":
			n, ok := v.GetKind().(*structpb.Value_NumberValue)
			if !ok || n.NumberValue != math.Trunc(n.NumberValue) || !slices.Contains(syncFrequencies, int(n.NumberValue)) {
				return p, apierr.Invalid("Invalid value for field 'sync_frequency': must be one of %v", syncFrequencies)
			}
			f := int(n.NumberValue)
			p.syncFrequency = &f
		case "schedule_type":
			t := v.GetStringValue()
			if t != store.ScheduleTypeAuto && t != store.ScheduleTypeManual {
				return p, apierr.Invalid("Invalid value for field 'schedule_type': must be '%s' or '%s'", store.ScheduleTypeAuto, store.ScheduleTypeManual)
			}
			p.scheduleType = &t
		default:
			if slices.Contains(extraFields, name) {
				if p.extra == nil {
					p.extra = make(map[string]*structpb.Value)
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
func (p connectionPatch) apply(ch *connectionChange) error {
	c := ch.c
	edited := p.otherEdits
	if p.extra != nil {
		x := decodeExtra(c)
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
		return ch.startSync(successfulSync, ch.api.cfg.SyncDuration, true)
	}
	return nil
}
