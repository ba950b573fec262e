package server

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/standin-dev/standin/delivery"
	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server/internal/apierr"
	"github.com/standin-dev/standin/server/internal/emit"
	"github.com/standin-dev/standin/store"
)

// eventServer implements standin.v1.EventService.
type eventServer struct {
	standinv1.UnimplementedEventServiceServer
	api *API
}

// EmitEvent implements standin.v1.EventService.
func (s *eventServer) EmitEvent(ctx context.Context, req *standinv1.EmitEventRequest) (*standinv1.EmitEventResponse, error) {
	em, err := s.emission(ctx, req, map[string]*store.Connection{})
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	ev, deliveries, err := s.api.emitter.EmitOne(ctx, em)
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	return &standinv1.EmitEventResponse{
		Code:    codeSuccess,
		Message: proto.String("Event has been emitted"),
		Data:    emittedEventPB(ev, deliveries),
	}, nil
}

// EmitEvents implements standin.v1.EventService.
func (s *eventServer) EmitEvents(ctx context.Context, req *standinv1.EmitEventsRequest) (*standinv1.EmitEventsResponse, error) {
	reqs := req.GetEvents()
	if len(reqs) == 0 || len(reqs) > MaxEmitBatch {
		return nil, s.api.status(ctx, apierr.Invalid("Field 'events' must hold 1 to %d events, not %d", MaxEmitBatch, len(reqs)))
	}
	ems := make([]emit.Emission, len(reqs))
	registry := map[string]*store.Connection{}
	for i, r := range reqs {
		em, err := s.emission(ctx, r, registry)
		if err != nil {
			return nil, s.api.status(ctx, apierr.AtIndex("events", i, err))
		}
		ems[i] = em
	}
	emitted, err := s.api.emitter.EmitEmissions(ctx, ems)
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	data := &standinv1.EmittedEvents{Items: make([]*standinv1.EmittedEvent, len(emitted))}
	for i, em := range emitted {
		data.Items[i] = emittedEventPB(em.Event, em.Deliveries)
	}
	return &standinv1.EmitEventsResponse{
		Code:    codeSuccess,
		Message: proto.String("Events have been emitted"),
		Data:    data,
	}, nil
}

// emission turns an emit request into an Emission. The registry is the one
// truth about a registered connection: a connector_id it knows fills
// connector_type, connector_name and group_id (which also routes the event
// to that group's webhooks), a given value that contradicts it is refused
// naming the field, and the event is a Fivetran one. An unregistered
// connector_id is an ad-hoc connector, as before. Otherwise the platform is
// the one whose fields the request sets (see requestPlatform). registry
// caches the connections looked up, by id (nil: not registered).
func (s *eventServer) emission(ctx context.Context, req *standinv1.EmitEventRequest, registry map[string]*store.Connection) (emit.Emission, error) {
	src, err := sourceFromPB(req)
	if err != nil {
		return emit.Emission{}, err
	}
	platform := requestPlatform(req)
	if id := src.ConnectorID; id != "" {
		c, seen := registry[id]
		if !seen {
			c, err = s.api.cfg.Store.ConnectionGetByID(ctx, id)
			switch {
			case errors.Is(err, store.ErrNotFound):
				c = nil
			case err != nil:
				return emit.Emission{}, err
			}
			registry[id] = c
		}
		if c != nil {
			if err := fromRegistry(&src, c); err != nil {
				return emit.Emission{}, err
			}
			platform = delivery.ProfileFivetran
		}
	}
	em := emit.Emission{Source: src, Profile: platform}
	if req.GetFaults() != nil {
		faults, err := faultsFromPB(req.GetFaults())
		if err != nil {
			return emit.Emission{}, err
		}
		em.Faults = &faults
	}
	return em, nil
}

// fromRegistry fills src's connector fields and group from the registered
// connection c, refusing a given value that contradicts it.
func fromRegistry(src *delivery.Source, c *store.Connection) error {
	for _, f := range []struct {
		name, registered string
		value            *string
	}{
		{"connector_type", c.Service, &src.ConnectorType},
		{"connector_name", c.Schema, &src.ConnectorName},
		{"group_id", c.GroupID, &src.GroupID},
	} {
		if *f.value != "" && *f.value != f.registered {
			return apierr.Invalid("Field '%s' is '%s' but connection '%s' is registered with '%s': leave it out (the registry fills it in) or use an unregistered connector_id for an ad-hoc connector",
				f.name, *f.value, c.ID, f.registered)
		}
		*f.value = f.registered
	}
	return nil
}

// requestPlatform is the platform of an ad-hoc emit: the only profile
// whose catalog has the event, else the one whose fields the request sets
// (Fivetran: connector_*, sync_id, data and the sync_end conveniences
// reason, task_type, rescheduled_at; Portable: flow_id, run_attempt_id,
// source_*, destination_*, details), else none: an event such as
// {"event":"sync_end"} goes to both kinds of webhooks, and its record shows
// both platforms' fields. group_id and status belong to both.
func requestPlatform(req *standinv1.EmitEventRequest) delivery.Profile {
	f, p := delivery.ProfileFivetran.HasEvent(req.GetEvent()), delivery.ProfilePortable.HasEvent(req.GetEvent())
	switch {
	case f && !p:
		return delivery.ProfileFivetran
	case p && !f:
		return delivery.ProfilePortable
	}
	fivetran := req.GetConnectorId() != "" || req.GetConnectorType() != "" || req.GetConnectorName() != "" || req.GetSyncId() != "" ||
		req.Data != nil || req.GetDataJson() != "" || req.GetReason() != "" || req.GetTaskType() != "" || req.GetRescheduledAt() != ""
	portable := req.GetFlowId() != 0 || req.GetRunAttemptId() != 0 || req.GetSourceId() != 0 || req.GetSourceType() != "" ||
		req.GetDestinationId() != 0 || req.GetDestinationType() != "" || req.GetDetails() != ""
	switch {
	case fivetran && !portable:
		return delivery.ProfileFivetran
	case portable && !fivetran:
		return delivery.ProfilePortable
	}
	return ""
}

// emittedEventPB is an emitted event and its deliveries as the API shows
// them.
func emittedEventPB(ev *store.Event, deliveries []*store.Delivery) *standinv1.EmittedEvent {
	out := &standinv1.EmittedEvent{
		Id:         ev.ID,
		Event:      ev.Name,
		CreatedAt:  delivery.FivetranTime(ev.CreatedAt),
		Deliveries: make([]*standinv1.EmittedDelivery, 0, len(deliveries)),
	}
	for _, d := range deliveries {
		out.Deliveries = append(out.Deliveries, &standinv1.EmittedDelivery{Id: d.ID, WebhookId: d.WebhookID, State: string(d.State)})
	}
	return out
}

// sourceFromPB validates an emit request and turns it into a Source. The
// sync_end conveniences (status, reason, task_type, rescheduled_at) build
// Fivetran's data object with delivery.SyncEndData; status is also
// Portable's status.
func sourceFromPB(req *standinv1.EmitEventRequest) (delivery.Source, error) {
	src := delivery.Source{
		Event:           req.GetEvent(),
		ConnectorType:   req.GetConnectorType(),
		ConnectorID:     req.GetConnectorId(),
		ConnectorName:   req.GetConnectorName(),
		SyncID:          req.GetSyncId(),
		GroupID:         req.GetGroupId(),
		FlowID:          req.GetFlowId(),
		RunAttemptID:    req.GetRunAttemptId(),
		SourceID:        req.GetSourceId(),
		SourceType:      req.GetSourceType(),
		DestinationID:   req.GetDestinationId(),
		DestinationType: req.GetDestinationType(),
		Status:          req.GetStatus(),
		Details:         req.GetDetails(),
	}
	if src.Event == "" {
		return src, apierr.Invalid("Field 'event' is required")
	}
	for _, f := range []struct{ name, value string }{
		{"connector_type", src.ConnectorType}, {"connector_id", src.ConnectorID},
		{"connector_name", src.ConnectorName}, {"sync_id", src.SyncID}, {"group_id", src.GroupID},
		{"source_type", src.SourceType}, {"destination_type", src.DestinationType}, {"status", src.Status},
	} {
		if len(f.value) > MaxEventFieldLength {
			return src, apierr.Invalid("Field '%s' must be at most %d characters long", f.name, MaxEventFieldLength)
		}
	}
	switch {
	case req.GetDataJson() != "":
		// The caller's bytes (REST: copied by the gateway), key order kept.
		if !emit.IsJSONObject(json.RawMessage(req.GetDataJson())) || req.GetDataJson() == "null" {
			return src, apierr.Invalid("Field 'data_json' must be a JSON object")
		}
		src.Data = json.RawMessage(req.GetDataJson())
	case req.Data != nil:
		data, err := protojson.Marshal(req.GetData())
		if err != nil {
			return src, apierr.Invalid("Invalid value for field 'data'")
		}
		src.Data = data
	}

	convenience := req.GetReason() != "" || req.GetTaskType() != "" || req.GetRescheduledAt() != ""
	if src.Status == "" && !convenience {
		return src, nil
	}
	if src.Event != delivery.EventSyncEnd {
		name := "status"
		switch {
		case req.GetReason() != "":
			name = "reason"
		case req.GetTaskType() != "":
			name = "task_type"
		case req.GetRescheduledAt() != "":
			name = "rescheduled_at"
		}
		return src, apierr.Invalid("Field '%s' only applies to event '%s'", name, delivery.EventSyncEnd)
	}
	if src.Status != "" && !delivery.ValidSyncEndStatus(src.Status) {
		return src, apierr.Invalid("Invalid value '%s' for field 'status': must be one of %v", src.Status, delivery.SyncEndStatuses)
	}
	if src.Data != nil {
		if convenience {
			return src, apierr.Invalid("Field 'data' cannot be combined with 'reason', 'task_type' or 'rescheduled_at'")
		}
		return src, nil // data given as-is; status is Portable's
	}
	var rescheduledAt time.Time
	if s := req.GetRescheduledAt(); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return src, apierr.Invalid("Invalid value '%s' for field 'rescheduled_at': must be an RFC 3339 time", s)
		}
		rescheduledAt = t
	}
	status := src.Status
	if status == "" {
		status = delivery.StatusSuccessful
	}
	data, err := delivery.SyncEndData(status, req.GetReason(), req.GetTaskType(), rescheduledAt)
	if err != nil {
		return src, &apierr.InputError{Msg: "Invalid value for field 'status'", Err: err}
	}
	src.Data = data
	return src, nil
}
