package server

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/standin-dev/standin/delivery"
	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/store"
)

// Emitter emits events: it renders one body per subscribed webhook and
// stores the event with its deliveries (and their River jobs) in one
// transaction. Get it from API.Emitter; it is safe for concurrent use.
type Emitter struct {
	store store.Store
	now   func() time.Time
}

// Emit emits src, an event described independently of any profile.
//
// src.Event must be in the catalog of at least one profile; otherwise Emit
// returns an error wrapping delivery.ErrUnknownEvent (InvalidInput over the
// API). A zero src.Created is the emitter's now. Empty fields are filled
// with the defaults of both profiles (delivery.Source.Defaults), once, so
// every receiver sees the same sync_id; an empty GroupID is therefore
// delivery.DefaultGroupID, which also selects the group webhooks.
//
// Each active webhook subscribed to the event (account webhooks, and group
// webhooks of src's group) whose profile can send it gets one delivery whose
// body is delivery.Build of its profile, due at runAt (zero: now). No
// subscriber is not an error: the event is stored with no deliveries.
// Event.Source is the JSON of the filled-in src.
func (e *Emitter) Emit(ctx context.Context, src delivery.Source, runAt time.Time) (*store.Event, []*store.Delivery, error) {
	params, err := e.Prepare(ctx, Emission{Source: src, RunAt: runAt})
	if err != nil {
		return nil, nil, err
	}
	deliveries, err := e.store.EventCreate(ctx, params)
	if err != nil {
		return nil, nil, fmt.Errorf("emit %s: %w", params.Event.Name, err)
	}
	return &params.Event, deliveries, nil
}

// Emission is one event for Emitter.Prepare.
type Emission struct {
	// Source describes the event, as for Emit.
	Source delivery.Source
	// RunAt is when its deliveries are due; zero means now.
	RunAt time.Time
	// Profile, when set, limits the deliveries to webhooks of that profile:
	// the sync simulator sends a Fivetran connection's events to Fivetran
	// webhooks only and a Portable flow's to Portable webhooks only. Empty
	// means every profile that can send the event, as Emit does.
	Profile delivery.Profile
}

// Prepare does what Emit does but store: it validates the emission, fills
// the source's defaults and renders one delivery per subscribed webhook, and
// returns the parameters for store.EventCreate (or for a transaction that
// creates the event together with other changes, such as a connection's
// new sync). The subscribers are those at the time of the call.
func (e *Emitter) Prepare(ctx context.Context, em Emission) (store.EventCreateParams, error) {
	src := em.Source
	if !delivery.ProfileFivetran.HasEvent(src.Event) && !delivery.ProfilePortable.HasEvent(src.Event) {
		return store.EventCreateParams{}, &inputError{msg: fmt.Sprintf("Invalid event '%s'", src.Event), err: delivery.ErrUnknownEvent}
	}
	if len(src.Data) > 0 && !isJSONObject(src.Data) {
		return store.EventCreateParams{}, invalidInput("Field 'data' must be a JSON object")
	}
	now := e.now()
	if src.Created.IsZero() {
		src.Created = now
	}
	src = src.Defaults(delivery.ProfileFivetran).Defaults(delivery.ProfilePortable)

	subscribers, err := e.store.WebhookListSubscribed(ctx, src.Event, src.GroupID)
	if err != nil {
		return store.EventCreateParams{}, fmt.Errorf("emit %s: %w", src.Event, err)
	}
	news := make([]store.DeliveryNew, 0, len(subscribers))
	for _, wh := range subscribers {
		if !wh.Profile.HasEvent(src.Event) || (em.Profile != "" && profileOf(wh) != em.Profile) {
			continue
		}
		body, err := delivery.Build(wh.Profile, src)
		if err != nil {
			return store.EventCreateParams{}, fmt.Errorf("emit %s: build body for webhook %s: %w", src.Event, wh.ID, err)
		}
		news = append(news, store.DeliveryNew{
			ID:        newUUID(),
			WebhookID: wh.ID,
			Profile:   wh.Profile,
			Body:      body,
			RunAt:     em.RunAt,
		})
	}
	source, err := json.Marshal(src)
	if err != nil {
		return store.EventCreateParams{}, fmt.Errorf("emit %s: %w", src.Event, err)
	}
	return store.EventCreateParams{
		Event: store.Event{
			ID:        newUUID(),
			Name:      src.Event,
			GroupID:   src.GroupID,
			Source:    source,
			CreatedAt: now,
		},
		Deliveries: news,
	}, nil
}

// profileOf is the webhook's profile, the empty one read as Fivetran.
func profileOf(wh *store.Webhook) delivery.Profile {
	if wh.Profile == "" {
		return delivery.ProfileFivetran
	}
	return wh.Profile
}

// isJSONObject reports whether raw is a JSON object (or null).
func isJSONObject(raw json.RawMessage) bool {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return false
	}
	switch v.(type) {
	case map[string]any, nil:
		return true
	}
	return false
}

// newUUID returns a UUIDv7 string: time-ordered ids for events and
// deliveries.
func newUUID() string { return uuid.Must(uuid.NewV7()).String() }

// eventServer implements standin.v1.EventService.
type eventServer struct {
	standinv1.UnimplementedEventServiceServer
	api *API
}

// EmitEvent implements standin.v1.EventService.
func (s *eventServer) EmitEvent(ctx context.Context, req *standinv1.EmitEventRequest) (*standinv1.EmitEventResponse, error) {
	src, err := sourceFromPB(req)
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	ev, deliveries, err := s.api.emitter.Emit(ctx, src, time.Time{})
	if err != nil {
		return nil, s.api.status(ctx, err)
	}
	data := &standinv1.EmittedEvent{
		Id:         ev.ID,
		Event:      ev.Name,
		CreatedAt:  delivery.FivetranTime(ev.CreatedAt),
		Deliveries: make([]*standinv1.EmittedDelivery, 0, len(deliveries)),
	}
	for _, d := range deliveries {
		data.Deliveries = append(data.Deliveries, &standinv1.EmittedDelivery{Id: d.ID, WebhookId: d.WebhookID, State: d.State})
	}
	return &standinv1.EmitEventResponse{
		Code:    codeSuccess,
		Message: proto.String("Event has been emitted"),
		Data:    data,
	}, nil
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
		return src, invalidInput("Field 'event' is required")
	}
	if req.Data != nil {
		data, err := protojson.Marshal(req.GetData())
		if err != nil {
			return src, invalidInput("Invalid value for field 'data'")
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
		return src, invalidInput("Field '%s' only applies to event '%s'", name, delivery.EventSyncEnd)
	}
	if src.Status != "" && !delivery.ValidSyncEndStatus(src.Status) {
		return src, invalidInput("Invalid value '%s' for field 'status': must be one of %v", src.Status, delivery.SyncEndStatuses)
	}
	if src.Data != nil {
		if convenience {
			return src, invalidInput("Field 'data' cannot be combined with 'reason', 'task_type' or 'rescheduled_at'")
		}
		return src, nil // data given as-is; status is Portable's
	}
	var rescheduledAt time.Time
	if s := req.GetRescheduledAt(); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return src, invalidInput("Invalid value '%s' for field 'rescheduled_at': must be an RFC 3339 time", s)
		}
		rescheduledAt = t
	}
	status := src.Status
	if status == "" {
		status = delivery.StatusSuccessful
	}
	data, err := delivery.SyncEndData(status, req.GetReason(), req.GetTaskType(), rescheduledAt)
	if err != nil {
		return src, &inputError{msg: "Invalid value for field 'status'", err: err}
	}
	src.Data = data
	return src, nil
}
