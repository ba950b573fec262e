package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/standin-dev/standin/delivery"
	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server/internal/apierr"
	"github.com/standin-dev/standin/server/internal/emit"
	"github.com/standin-dev/standin/store"
)

// simulatorServer implements standin.v1.SimulatorService.
type simulatorServer struct {
	standinv1.UnimplementedSimulatorServiceServer
	api *API
}

// registryID is what a group or connection id given by the caller may look
// like: Fivetran's ids are lowercase words joined by "_" (older ones are
// hex); standin accepts lowercase letters, digits and "_".
var registryID = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// CreateGroup implements standin.v1.SimulatorService.
func (s *simulatorServer) CreateGroup(ctx context.Context, req *standinv1.CreateGroupRequest) (*standinv1.CreateGroupResponse, error) {
	g, err := s.createGroup(ctx, req)
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.CreateGroupResponse{Code: codeSuccess, Message: proto.String("Group has been created"), Data: groupPB(g)}, nil
}

func (s *simulatorServer) createGroup(ctx context.Context, req *standinv1.CreateGroupRequest) (*store.Group, error) {
	if req.GetName() == "" {
		return nil, apierr.Invalid("Field 'name' is required")
	}
	if id := req.GetId(); id != "" && !registryID.MatchString(id) {
		return nil, apierr.Invalid("Invalid value '%s' for field 'id': use lowercase letters, digits and '_'", id)
	}
	g := &store.Group{ID: req.GetId(), Name: req.GetName(), CreatedAt: s.api.now()}
	err := withFreshID(req.GetId(), &g.ID, func() error { return s.api.cfg.Store.GroupCreate(ctx, g) })
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

// CreateConnection implements standin.v1.SimulatorService.
func (s *simulatorServer) CreateConnection(ctx context.Context, req *standinv1.CreateConnectionRequest) (*standinv1.CreateConnectionResponse, error) {
	c, err := s.createConnection(ctx, req)
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.CreateConnectionResponse{
		Code:    codeSuccess,
		Message: proto.String("Connection has been created"),
		Data:    connectionPB(c, s.api.now()),
	}, nil
}

// DefaultSyncFrequency is the sync_frequency of a new connection: 360
// minutes, Fivetran's default for most connectors.
const DefaultSyncFrequency = 360

func (s *simulatorServer) createConnection(ctx context.Context, req *standinv1.CreateConnectionRequest) (*store.Connection, error) {
	for _, f := range []struct{ name, value string }{{"group_id", req.GetGroupId()}, {"service", req.GetService()}, {"schema", req.GetSchema()}} {
		if f.value == "" {
			return nil, apierr.Invalid("Field '%s' is required", f.name)
		}
	}
	if id := req.GetId(); id != "" && !registryID.MatchString(id) {
		return nil, apierr.Invalid("Invalid value '%s' for field 'id': use lowercase letters, digits and '_'", id)
	}
	freq := DefaultSyncFrequency
	if req.SyncFrequency != nil {
		freq = int(req.GetSyncFrequency())
		if !slices.Contains(syncFrequencies, freq) {
			return nil, apierr.Invalid("Invalid value for field 'sync_frequency': must be one of %v", syncFrequencies)
		}
	}
	schedule := req.GetScheduleType()
	switch schedule {
	case "":
		schedule = store.ScheduleTypeAuto
	case store.ScheduleTypeAuto, store.ScheduleTypeManual:
	default:
		return nil, apierr.Invalid("Invalid value for field 'schedule_type': must be '%s' or '%s'", store.ScheduleTypeAuto, store.ScheduleTypeManual)
	}
	extra, err := createExtra(req)
	if err != nil {
		return nil, err
	}
	if _, err := s.api.getGroup(ctx, req.GetGroupId()); err != nil {
		return nil, err
	}
	now := s.api.now()
	c := &store.Connection{
		GroupID:       req.GetGroupId(),
		Service:       req.GetService(),
		Schema:        req.GetSchema(),
		Paused:        req.GetPaused(),
		SyncFrequency: freq,
		ScheduleType:  schedule,
		CreatedAt:     now,
		UpdatedAt:     now,
		Extra:         extra,
	}
	err = withFreshID(req.GetId(), &c.ID, func() error {
		created, err := s.api.emitter.Prepare(ctx, emit.Emission{
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
		_, err = s.api.cfg.Store.ConnectionCreate(ctx, store.ConnectionCreateParams{Connection: c, Events: []store.EventCreateParams{created}})
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

// SimulateSync implements standin.v1.SimulatorService.
func (s *simulatorServer) SimulateSync(ctx context.Context, req *standinv1.SimulateSyncRequest) (*standinv1.SimulateSyncResponse, error) {
	data, err := s.simulateSync(ctx, req)
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.SimulateSyncResponse{Code: codeSuccess, Message: proto.String("Sync has been started"), Data: data}, nil
}

func (s *simulatorServer) simulateSync(ctx context.Context, req *standinv1.SimulateSyncRequest) (*standinv1.SimulatedSync, error) {
	outcome, err := parseOutcome(req.GetStatus(), req.GetReason(), req.GetTaskType(), req.GetRescheduledAt())
	if err != nil {
		return nil, err
	}
	d, err := s.api.parseDuration(req.GetDuration())
	if err != nil {
		return nil, err
	}
	res, err := s.api.changeConnection(ctx, req.GetId(), func(ch *connectionChange) error {
		c := ch.c
		if c.Paused {
			return &apierr.ConflictError{Msg: fmt.Sprintf("Connection '%s' is paused: resume it first (PATCH /v1/connections/%s {\"paused\":false})", c.ID, c.ID)}
		}
		if syncRunning(c, ch.now) && !req.GetForce() && !req.GetResync() {
			return &apierr.ConflictError{Msg: fmt.Sprintf("Connection '%s' is syncing (sync_id '%s', ends at %s): set 'force' to restart it",
				c.ID, c.Sync.ID, delivery.FivetranTime(c.Sync.EndsAt))}
		}
		switch {
		case req.GetResync():
			ch.emit(delivery.EventResyncConnector, ch.now, "", nil, time.Time{})
		case req.GetForce():
			ch.emit(delivery.EventForceUpdateConnector, ch.now, "", nil, time.Time{})
		}
		return ch.startSync(outcome, d, req.GetResync() || firstSync(c))
	})
	if err != nil {
		return nil, err
	}
	return &standinv1.SimulatedSync{
		Connection: connectionPB(res.conn, res.now),
		SyncId:     res.sync.ID,
		EndsAt:     delivery.FivetranTime(res.sync.EndsAt),
		Events:     emittedPB(res.events, res.deliveries),
	}, nil
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

// maxSimulatedDuration bounds a simulated sync or run: 30 emulated days.
const maxSimulatedDuration = 30 * 24 * time.Hour

// parseDuration reads an emulated duration ("5m", "90s"); empty is the
// configured SyncDuration.
func (a *API) parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return a.cfg.SyncDuration, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > maxSimulatedDuration {
		return 0, apierr.Invalid("Invalid value '%s' for field 'duration': must be a duration such as '5m' or '90s', from 0 to 720h", s)
	}
	return d, nil
}

// emittedPB lists events with their deliveries, in order.
func emittedPB(events []store.EventCreateParams, deliveries []*store.Delivery) []*standinv1.EmittedEvent {
	byEvent := emit.DeliveriesByEvent(deliveries)
	out := make([]*standinv1.EmittedEvent, 0, len(events))
	for i := range events {
		ev := &events[i].Event
		out = append(out, emittedEventPB(ev, byEvent[ev.ID]))
	}
	return out
}

// RunPortableFlow implements standin.v1.SimulatorService.
func (s *simulatorServer) RunPortableFlow(ctx context.Context, req *standinv1.RunPortableFlowRequest) (*standinv1.RunPortableFlowResponse, error) {
	data, err := s.runPortableFlow(ctx, req)
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.RunPortableFlowResponse{Code: codeSuccess, Message: proto.String("Flow run has been started"), Data: data}, nil
}

func (s *simulatorServer) runPortableFlow(ctx context.Context, req *standinv1.RunPortableFlowRequest) (*standinv1.PortableFlowRun, error) {
	if req.GetFlowId() <= 0 {
		return nil, apierr.Invalid("Invalid value '%d' for field 'flow_id': must be positive", req.GetFlowId())
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"run_attempt_id", req.GetRunAttemptId()}, {"source_id", req.GetSourceId()}, {"destination_id", req.GetDestinationId()}} {
		if f.v < 0 {
			return nil, apierr.Invalid("Invalid value '%d' for field '%s': must be positive", f.v, f.name)
		}
	}
	status := req.GetStatus()
	if status == "" {
		status = delivery.StatusSuccessful
	}
	if !delivery.ValidSyncEndStatus(status) {
		return nil, apierr.Invalid("Invalid value '%s' for field 'status': must be one of %v", req.GetStatus(), delivery.SyncEndStatuses)
	}
	d, err := s.api.parseDuration(req.GetDuration())
	if err != nil {
		return nil, err
	}
	runAttempt := req.GetRunAttemptId()
	if runAttempt == 0 {
		runAttempt = newRunAttemptID()
	}
	now := s.api.now()
	endsAt := now.Add(s.api.timeline().Real(d))
	src := delivery.Source{
		FlowID:          req.GetFlowId(),
		RunAttemptID:    runAttempt,
		SourceID:        req.GetSourceId(),
		SourceType:      req.GetSourceType(),
		DestinationID:   req.GetDestinationId(),
		DestinationType: req.GetDestinationType(),
	}
	start, end := src, src
	start.Event, start.Created = delivery.EventSyncStart, now
	end.Event, end.Created = delivery.EventSyncEnd, endsAt
	end.Status, end.Details = status, req.GetDetails()
	var events []store.EventCreateParams
	for _, em := range []emit.Emission{
		{Source: start, Profile: delivery.ProfilePortable},
		{Source: end, RunAt: endsAt, Profile: delivery.ProfilePortable},
	} {
		p, err := s.api.emitter.Prepare(ctx, em)
		if err != nil {
			return nil, err
		}
		events = append(events, p)
	}
	deliveries, err := s.api.cfg.Store.EventCreateMany(ctx, events)
	if err != nil {
		return nil, err
	}
	return &standinv1.PortableFlowRun{
		FlowId:       req.GetFlowId(),
		RunAttemptId: runAttempt,
		EndsAt:       delivery.FivetranTime(endsAt),
		Events:       emittedPB(events, deliveries),
	}, nil
}

// newRunAttemptID returns a fresh Portable run_attempt_id: a random
// seven-digit number, like the ids in Portable's examples.
func newRunAttemptID() int64 {
	n, err := rand.Int(rand.Reader, big.NewInt(9_000_000))
	if err != nil {
		panic("server: crypto/rand: " + err.Error()) // never fails (Go ≥ 1.24)
	}
	return 1_000_000 + n.Int64()
}

// createExtra checks the connection's other fields of a create request, as
// a PATCH would, and returns them as the store keeps them (nil for none).
func createExtra(req *standinv1.CreateConnectionRequest) ([]byte, error) {
	// The request as JSON holds exactly the fields that were set.
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("create connection: %w", err)
	}
	var fields structpb.Struct
	if err := protojson.Unmarshal(b, &fields); err != nil {
		return nil, fmt.Errorf("create connection: %w", err)
	}
	var x connectionExtra
	if _, err := x.apply(fields.GetFields()); err != nil {
		return nil, err
	}
	return x.encode()
}
