// Package simulate is standin's sync simulator: the registry of groups and
// connections, the Fivetran connection calls that start work (sync,
// re-sync, PATCH), simulated syncs and Portable flow runs, and the seed
// registry. Each change emits the events the real platform would, through
// the emitter, in the transaction that changes the connection. It knows
// nothing of protobuf; the server maps requests to these calls.
package simulate

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/server/internal/apierr"
	"github.com/standin-dev/standin/server/internal/emit"
	"github.com/standin-dev/standin/store"
)

// DefaultSyncDuration is how long a simulated sync lasts, in emulated time,
// when nobody says: 5 minutes.
const DefaultSyncDuration = 5 * time.Minute

// DefaultSyncFrequency is the sync_frequency of a new connection: 360
// minutes, Fivetran's default for most connectors.
const DefaultSyncFrequency = 360

// SyncFrequencies are the sync_frequency values Fivetran accepts, in
// minutes.
var SyncFrequencies = []int{1, 5, 15, 30, 60, 120, 180, 360, 480, 720, 1440}

// maxIDAttempts bounds the retries when a fresh registry id collides.
const maxIDAttempts = 8

// maxChangeAttempts bounds the retries of a connection change that lost a
// race with another change of the same connection.
const maxChangeAttempts = 8

// maxSimulatedDuration bounds a simulated sync or run: 30 emulated days.
const maxSimulatedDuration = 30 * 24 * time.Hour

// Store is what the simulator needs of the store.
type Store interface {
	GroupCreate(ctx context.Context, g *store.Group) error
	GroupGetByID(ctx context.Context, id string) (*store.Group, error)
	GroupList(ctx context.Context, params store.GroupListParams) ([]*store.Group, error)
	ConnectionCreate(ctx context.Context, params store.ConnectionCreateParams) ([]*store.Delivery, error)
	ConnectionGetByID(ctx context.Context, id string) (*store.Connection, error)
	ConnectionUpdate(ctx context.Context, params store.ConnectionUpdateParams) (*store.Connection, []*store.Delivery, error)
	EventCreateMany(ctx context.Context, params []store.EventCreateParams) ([]*store.Delivery, error)
}

// Config configures New. Every field is required; the composition root
// (server/app) fills in the defaults.
type Config struct {
	// Store holds the registry and the events.
	Store Store
	// Emitter renders the events of a change.
	Emitter *emit.Emitter
	// Now is the clock of the registry and the events.
	Now func() time.Time
	// Timeline converts a sync's emulated length to real time.
	Timeline delivery.Timeline
	// SyncDuration is how long, in emulated time, a sync lasts when the
	// caller does not say.
	SyncDuration time.Duration
}

// Simulator runs the simulated registry. It is safe for concurrent use.
type Simulator struct{ cfg Config }

// New returns the Simulator of cfg.
func New(cfg Config) *Simulator { return &Simulator{cfg: cfg} }

func (s *Simulator) now() time.Time { return s.cfg.Now() }

// Group reads a group; a missing one is Fivetran's NotFound_Group.
func (s *Simulator) Group(ctx context.Context, id string) (*store.Group, error) {
	g, err := s.cfg.Store.GroupGetByID(ctx, id)
	if err != nil {
		return nil, apierr.NotFound("Group", id, err)
	}
	return g, nil
}

// Connection reads a connection; a missing one is Fivetran's
// NotFound_Connector.
func (s *Simulator) Connection(ctx context.Context, id string) (*store.Connection, error) {
	c, err := s.cfg.Store.ConnectionGetByID(ctx, id)
	if err != nil {
		return nil, apierr.NotFound("Connector", id, err)
	}
	return c, nil
}

// registryID is what a group or connection id given by the caller may look
// like: Fivetran's ids are lowercase words joined by "_" (older ones are
// hex); standin accepts lowercase letters, digits and "_".
var registryID = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// GroupParams is a group to create.
type GroupParams struct {
	// ID is the group's id; empty picks a fresh Fivetran-style one.
	ID string
	// Name is required.
	Name string
}

// CreateGroup registers a group.
func (s *Simulator) CreateGroup(ctx context.Context, p GroupParams) (*store.Group, error) {
	if p.Name == "" {
		return nil, apierr.Invalid("Field 'name' is required")
	}
	if p.ID != "" && !registryID.MatchString(p.ID) {
		return nil, apierr.Invalid("Invalid value '%s' for field 'id': use lowercase letters, digits and '_'", p.ID)
	}
	g := &store.Group{ID: p.ID, Name: p.Name, CreatedAt: s.now()}
	err := withFreshID(p.ID, &g.ID, func() error { return s.cfg.Store.GroupCreate(ctx, g) })
	if errors.Is(err, store.ErrConflict) {
		return nil, &apierr.ConflictError{Msg: fmt.Sprintf("Group with id '%s' already exists", g.ID), Err: err}
	}
	return g, err
}

// withFreshID runs create with *id set to given or, when given is empty, to
// fresh Fivetran-style ids until one does not collide.
func withFreshID(given string, id *string, create func() error) error {
	if given != "" {
		*id = given
		return create()
	}
	for attempt := 1; ; attempt++ {
		*id = delivery.NewID()
		err := create()
		if !errors.Is(err, store.ErrConflict) || attempt == maxIDAttempts {
			return err
		}
	}
}

// ConnectionParams is a connection to create.
type ConnectionParams struct {
	// ID is the connection's id; empty picks a fresh Fivetran-style one.
	ID string
	// GroupID, Service and Schema are required; the group must exist.
	GroupID, Service, Schema string
	// Paused creates the connection paused.
	Paused bool
	// SyncFrequency is one of SyncFrequencies; nil is
	// DefaultSyncFrequency.
	SyncFrequency *int
	// ScheduleType is store.ScheduleTypeAuto (the default, for empty) or
	// store.ScheduleTypeManual.
	ScheduleType string
	// Fields is the request as JSON values (a decoded JSON object); its
	// connection fields standin keeps without interpreting (config,
	// daily_sync_time, ...) are checked and kept, as a PATCH would.
	Fields map[string]any
}

// CreateConnection registers a connection and emits create_connector.
func (s *Simulator) CreateConnection(ctx context.Context, p ConnectionParams) (*store.Connection, error) {
	for _, f := range []struct{ name, value string }{{"group_id", p.GroupID}, {"service", p.Service}, {"schema", p.Schema}} {
		if f.value == "" {
			return nil, apierr.Invalid("Field '%s' is required", f.name)
		}
	}
	if p.ID != "" && !registryID.MatchString(p.ID) {
		return nil, apierr.Invalid("Invalid value '%s' for field 'id': use lowercase letters, digits and '_'", p.ID)
	}
	freq := DefaultSyncFrequency
	if p.SyncFrequency != nil {
		freq = *p.SyncFrequency
		if !validSyncFrequency(freq) {
			return nil, apierr.Invalid("Invalid value for field 'sync_frequency': must be one of %v", SyncFrequencies)
		}
	}
	schedule := p.ScheduleType
	switch schedule {
	case "":
		schedule = store.ScheduleTypeAuto
	case store.ScheduleTypeAuto, store.ScheduleTypeManual:
	default:
		return nil, apierr.Invalid("Invalid value for field 'schedule_type': must be '%s' or '%s'", store.ScheduleTypeAuto, store.ScheduleTypeManual)
	}
	var x Extra
	if _, err := x.apply(p.Fields); err != nil {
		return nil, err
	}
	extra, err := x.encode()
	if err != nil {
		return nil, err
	}
	if _, err := s.Group(ctx, p.GroupID); err != nil {
		return nil, err
	}
	now := s.now()
	c := &store.Connection{
		GroupID:       p.GroupID,
		Service:       p.Service,
		Schema:        p.Schema,
		Paused:        p.Paused,
		SyncFrequency: freq,
		ScheduleType:  schedule,
		CreatedAt:     now,
		UpdatedAt:     now,
		Extra:         extra,
	}
	err = withFreshID(p.ID, &c.ID, func() error {
		created, err := s.cfg.Emitter.Prepare(ctx, emit.Emission{
			Source: delivery.Source{
				Event:         delivery.EventCreateConnector,
				Created:       now,
				ConnectorType: c.Service,
				ConnectorID:   c.ID,
				ConnectorName: c.Schema,
				GroupID:       c.GroupID,
			},
			Profile: delivery.ProfileFivetran,
		})
		if err != nil {
			return err
		}
		_, err = s.cfg.Store.ConnectionCreate(ctx, store.ConnectionCreateParams{Connection: c, Events: []store.EventCreateParams{created}})
		return err
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		return nil, &apierr.ConflictError{Msg: fmt.Sprintf("Connection with id '%s' already exists", c.ID), Err: err}
	case err != nil:
		return nil, apierr.NotFound("Group", c.GroupID, err) // the group was deleted meanwhile
	}
	return c, nil
}

// SyncParams is a simulated sync of a connection.
type SyncParams struct {
	// ID is the connection's.
	ID string
	// Status, Reason, TaskType and RescheduledAt (RFC 3339) are sync_end's
	// outcome; Status defaults to SUCCESSFUL.
	Status, Reason, TaskType, RescheduledAt string
	// Duration is the sync's emulated length ("5m"); empty is the
	// configured SyncDuration.
	Duration string
	// Force restarts a running sync (force_update_connector first).
	Force bool
	// Resync makes it a historical re-sync (resync_connector first).
	Resync bool
	// Faults, when set, are asked of the sync's deliveries instead of their
	// webhooks' faults; Reorder holds sync_start back until after sync_end.
	Faults *delivery.Faults
}

// SimulateSync starts a sync of a connection with the given outcome.
func (s *Simulator) SimulateSync(ctx context.Context, p SyncParams) (*Change, error) {
	outcome, err := parseOutcome(p.Status, p.Reason, p.TaskType, p.RescheduledAt)
	if err != nil {
		return nil, err
	}
	d, err := s.parseDuration(p.Duration)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, p.ID, func(ch *change) error {
		c := ch.c
		ch.faults = p.Faults
		if c.Paused {
			return &apierr.ConflictError{Msg: fmt.Sprintf("Connection '%s' is paused: resume it first (PATCH /v1/connections/%s {\"paused\":false})", c.ID, c.ID)}
		}
		if SyncRunning(c, ch.now) && !p.Force && !p.Resync {
			return &apierr.ConflictError{Msg: fmt.Sprintf("Connection '%s' is syncing (sync_id '%s', ends at %s): set 'force' to restart it",
				c.ID, c.Sync.ID, delivery.FivetranTime(c.Sync.EndsAt))}
		}
		switch {
		case p.Resync:
			ch.emit(delivery.EventResyncConnector, ch.now, "", nil, time.Time{})
		case p.Force:
			ch.emit(delivery.EventForceUpdateConnector, ch.now, "", nil, time.Time{})
		}
		return ch.startSync(outcome, d, p.Resync || firstSync(c))
	})
}

// parseOutcome validates a sync_end outcome; the status defaults to
// SUCCESSFUL.
func parseOutcome(status, reason, taskType, rescheduledAt string) (syncOutcome, error) {
	o := syncOutcome{status: status, reason: reason, taskType: taskType}
	if o.status == "" {
		o.status = delivery.StatusSuccessful
	}
	if !delivery.ValidSyncEndStatus(o.status) {
		return o, apierr.Invalid("Invalid value '%s' for field 'status': must be one of %v", status, delivery.SyncEndStatuses)
	}
	if rescheduledAt != "" {
		t, err := time.Parse(time.RFC3339Nano, rescheduledAt)
		if err != nil {
			return o, apierr.Invalid("Invalid value '%s' for field 'rescheduled_at': must be an RFC 3339 time", rescheduledAt)
		}
		o.rescheduledAt = t
	}
	return o, nil
}

// parseDuration reads an emulated duration ("5m", "90s"); empty is the
// configured SyncDuration.
func (s *Simulator) parseDuration(d string) (time.Duration, error) {
	if d == "" {
		return s.cfg.SyncDuration, nil
	}
	v, err := time.ParseDuration(d)
	if err != nil || v < 0 || v > maxSimulatedDuration {
		return 0, apierr.Invalid("Invalid value '%s' for field 'duration': must be a duration such as '5m' or '90s', from 0 to 720h", d)
	}
	return v, nil
}

// FlowRunParams is a simulated Portable flow run.
type FlowRunParams struct {
	// FlowID is required and positive.
	FlowID int64
	// RunAttemptID is the run's; 0 picks a random seven-digit one.
	RunAttemptID int64
	// SourceID, SourceType, DestinationID and DestinationType describe the
	// flow.
	SourceID, DestinationID     int64
	SourceType, DestinationType string
	// Status (default SUCCESSFUL) and Details are sync_end's.
	Status, Details string
	// Duration is the run's emulated length; empty is SyncDuration.
	Duration string
	// Faults, when set, are asked of the run's deliveries instead of their
	// webhooks' faults; Reorder holds sync_start back until after sync_end.
	Faults *delivery.Faults
}

// FlowRun is a started Portable flow run.
type FlowRun struct {
	// FlowID and RunAttemptID identify the run.
	FlowID, RunAttemptID int64
	// EndsAt is when its sync_end is due.
	EndsAt time.Time
	// Events are its sync_start and sync_end, with their deliveries.
	Events     []store.EventCreateParams
	Deliveries []*store.Delivery
}

// RunPortableFlow emits a Portable flow run: sync_start now and sync_end
// when the run ends, to Portable webhooks only.
func (s *Simulator) RunPortableFlow(ctx context.Context, p FlowRunParams) (*FlowRun, error) {
	if p.FlowID <= 0 {
		return nil, apierr.Invalid("Invalid value '%d' for field 'flow_id': must be positive", p.FlowID)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"run_attempt_id", p.RunAttemptID}, {"source_id", p.SourceID}, {"destination_id", p.DestinationID}} {
		if f.v < 0 {
			return nil, apierr.Invalid("Invalid value '%d' for field '%s': must be positive", f.v, f.name)
		}
	}
	status := p.Status
	if status == "" {
		status = delivery.StatusSuccessful
	}
	if !delivery.ValidSyncEndStatus(status) {
		return nil, apierr.Invalid("Invalid value '%s' for field 'status': must be one of %v", p.Status, delivery.SyncEndStatuses)
	}
	d, err := s.parseDuration(p.Duration)
	if err != nil {
		return nil, err
	}
	runAttempt := p.RunAttemptID
	if runAttempt == 0 {
		runAttempt = newRunAttemptID()
	}
	now := s.now()
	endsAt := now.Add(s.cfg.Timeline.Real(d))
	src := delivery.Source{
		FlowID:          p.FlowID,
		RunAttemptID:    runAttempt,
		SourceID:        p.SourceID,
		SourceType:      p.SourceType,
		DestinationID:   p.DestinationID,
		DestinationType: p.DestinationType,
	}
	start, end := src, src
	start.Event, start.Created = delivery.EventSyncStart, now
	end.Event, end.Created = delivery.EventSyncEnd, endsAt
	end.Status, end.Details = status, p.Details
	var events []store.EventCreateParams
	for _, em := range []emit.Emission{
		{Source: start, Profile: delivery.ProfilePortable, Faults: p.Faults},
		{Source: end, RunAt: endsAt, Profile: delivery.ProfilePortable, Faults: p.Faults},
	} {
		ep, err := s.cfg.Emitter.Prepare(ctx, em)
		if err != nil {
			return nil, err
		}
		events = append(events, ep)
	}
	reorder(&events[0], endsAt)
	deliveries, err := s.cfg.Store.EventCreateMany(ctx, events)
	if err != nil {
		return nil, err
	}
	return &FlowRun{FlowID: p.FlowID, RunAttemptID: runAttempt, EndsAt: endsAt, Events: events, Deliveries: deliveries}, nil
}

// newRunAttemptID returns a fresh Portable run_attempt_id: a random
// seven-digit number, like the ids in Portable's examples.
func newRunAttemptID() int64 {
	n, err := rand.Int(rand.Reader, big.NewInt(9_000_000))
	if err != nil {
		panic("simulate: crypto/rand: " + err.Error()) // never fails (Go ≥ 1.24)
	}
	return 1_000_000 + n.Int64()
}
