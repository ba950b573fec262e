package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/standin-dev/standin/delivery"
	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/batch"
)

// Emitter emits events: it renders one body per subscribed webhook and
// stores the event with its deliveries (and their River jobs) in one
// transaction. Get it from API.Emitter; it is safe for concurrent use.
type Emitter struct {
	store store.Store
	now   func() time.Time
	// singles batches concurrent Emit calls (see newEmitter).
	singles *batch.Batcher[Emission, Emitted]
	// maxDeliveries is MaxEmitDeliveries, lowered by tests.
	maxDeliveries int
}

// emitBatchMax bounds the concurrent Emit calls stored together.
const emitBatchMax = 500

// emitTimeout bounds storing one batch of emits.
const emitTimeout = 30 * time.Second

// newEmitter returns an Emitter whose concurrent Emit calls are stored
// together: a burst of single emits (a load test's, or many CI jobs') then
// costs a few transactions instead of one each, which is what bounds how
// many a second standin accepts and how soon they are delivered. Each call
// still succeeds or fails alone.
func newEmitter(st store.Store, now func() time.Time) *Emitter {
	e := &Emitter{store: st, now: now, maxDeliveries: MaxEmitDeliveries}
	e.singles = &batch.Batcher[Emission, Emitted]{
		Max:     emitBatchMax,
		Timeout: emitTimeout,
		Run: func(ctx context.Context, ems []Emission) ([]Emitted, error) {
			return e.emitMany(ctx, ems, noIndex, false)
		},
	}
	return e
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
//
// Concurrent calls are stored in one transaction (see newEmitter); a call
// that fails is retried alone, so one call's failure is not another's.
func (e *Emitter) Emit(ctx context.Context, src delivery.Source, runAt time.Time) (*store.Event, []*store.Delivery, error) {
	// Refuse bad input here, before it joins a batch.
	if _, err := fillSource(src, e.now()); err != nil {
		return nil, nil, err
	}
	em, err := e.singles.Do(ctx, Emission{Source: src, RunAt: runAt})
	if err != nil {
		return nil, nil, err
	}
	return em.Event, em.Deliveries, nil
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
	params, err := e.prepareMany(ctx, []Emission{em}, noIndex, false)
	if err != nil {
		return store.EventCreateParams{}, err
	}
	return params[0], nil
}

// Emitted is one event stored by EmitMany with its deliveries, in the order
// they were created.
type Emitted struct {
	Event      *store.Event
	Deliveries []*store.Delivery
}

// EmitMany emits each of srcs as Emit does, all or nothing, and returns them
// in the order of srcs. Every source is validated before anything is
// looked up or stored; an invalid one fails the whole call with an error
// that names its index ("events[3]: Invalid event 'foo'", wrapping what
// Emit would return) and nothing is stored. Subscribers are looked up once
// per distinct event name and group in the batch, and the events, their
// deliveries and their jobs are stored in one transaction
// (store.Store.EventCreateMany). Every event is created at the same now. No
// sources is not an error: nothing is stored.
func (e *Emitter) EmitMany(ctx context.Context, srcs []delivery.Source, runAt time.Time) ([]Emitted, error) {
	if len(srcs) == 0 {
		return []Emitted{}, nil
	}
	ems := make([]Emission, len(srcs))
	for i, src := range srcs {
		ems[i] = Emission{Source: src, RunAt: runAt}
	}
	return e.emitMany(ctx, ems, func(i int, err error) error { return atIndex("events", i, err) }, true)
}

// emitMany prepares ems (see prepareMany; at says which emission an error
// is about, oneRequest whether ems are one request) and stores them in one
// transaction.
func (e *Emitter) emitMany(ctx context.Context, ems []Emission, at func(i int, err error) error, oneRequest bool) ([]Emitted, error) {
	params, err := e.prepareMany(ctx, ems, at, oneRequest)
	if err != nil {
		return nil, err
	}
	deliveries, err := e.store.EventCreateMany(ctx, params)
	if err != nil {
		if len(params) == 1 {
			return nil, fmt.Errorf("emit %s: %w", params[0].Event.Name, err)
		}
		return nil, fmt.Errorf("emit %d events: %w", len(params), err)
	}
	byEvent := deliveriesByEvent(deliveries)
	out := make([]Emitted, len(params))
	for i := range params {
		ev := &params[i].Event
		out[i] = Emitted{Event: ev, Deliveries: byEvent[ev.ID]}
	}
	return out, nil
}

// prepareMany is Prepare for each of ems, in two passes: it validates and
// fills every source first, then renders each with the subscribers of its
// (event, group), looked up once per distinct pair. An error about one
// emission is passed through at with its index.
//
// No emission may create more than MaxEmitDeliveries deliveries, nor, when
// oneRequest (a batch emit), all of them together: the count is checked
// before any body is rendered.
func (e *Emitter) prepareMany(ctx context.Context, ems []Emission, at func(i int, err error) error, oneRequest bool) ([]store.EventCreateParams, error) {
	now := e.now()
	srcs := make([]delivery.Source, len(ems))
	for i, em := range ems {
		src, err := fillSource(em.Source, now)
		if err != nil {
			return nil, at(i, err)
		}
		srcs[i] = src
	}
	type key struct{ event, group string }
	subscribers := make(map[key][]*store.Webhook)
	total := 0
	params := make([]store.EventCreateParams, len(ems))
	for i, em := range ems {
		k := key{srcs[i].Event, srcs[i].GroupID}
		subs, ok := subscribers[k]
		if !ok {
			var err error
			subs, err = e.store.WebhookListSubscribed(ctx, k.event, k.group)
			if err != nil {
				return nil, fmt.Errorf("emit %s: %w", k.event, err)
			}
			subscribers[k] = subs
		}
		n := 0
		for _, wh := range subs {
			if sends(em, srcs[i], wh) {
				n++
			}
		}
		if !oneRequest {
			total = 0
		}
		if total += n; total > e.maxDeliveries {
			if oneRequest && len(ems) > 1 {
				return nil, invalidInput("The events would create more than %d deliveries (%d up to events[%d]): emit them in smaller batches", e.maxDeliveries, total, i)
			}
			return nil, at(i, invalidInput("The event would create %d deliveries, more than the limit of %d", total, e.maxDeliveries))
		}
		p, err := render(em, srcs[i], now, subs)
		if err != nil {
			return nil, at(i, err)
		}
		params[i] = p
	}
	return params, nil
}

// fillSource validates src and returns it as it is emitted and stored:
// created at now unless set, with the defaults of both profiles filled in.
func fillSource(src delivery.Source, now time.Time) (delivery.Source, error) {
	if !delivery.ProfileFivetran.HasEvent(src.Event) && !delivery.ProfilePortable.HasEvent(src.Event) {
		return src, &inputError{msg: fmt.Sprintf("Invalid event '%s'", src.Event), err: delivery.ErrUnknownEvent}
	}
	if len(src.Data) > 0 && !isJSONObject(src.Data) {
		return src, invalidInput("Field 'data' must be a JSON object")
	}
	if src.Created.IsZero() {
		src.Created = now
	}
	return src.Defaults(delivery.ProfileFivetran).Defaults(delivery.ProfilePortable), nil
}

// render builds the event of em, whose source src was filled by fillSource,
// with one delivery per webhook of subscribers whose profile can send it
// (and is em.Profile, when set).
func render(em Emission, src delivery.Source, now time.Time, subscribers []*store.Webhook) (store.EventCreateParams, error) {
	news := make([]store.DeliveryNew, 0, len(subscribers))
	for _, wh := range subscribers {
		if !sends(em, src, wh) {
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

// sends reports whether em, of source src, gets a delivery to wh: wh's
// profile can send the event (and is em.Profile, when set).
func sends(em Emission, src delivery.Source, wh *store.Webhook) bool {
	return wh.Profile.HasEvent(src.Event) && (em.Profile == "" || profileOf(wh) == em.Profile)
}

// noIndex passes an emission's error on as is: for single emissions.
func noIndex(_ int, err error) error { return err }

// atIndex says which element of a list field an error is about: an
// inputError's message gets the prefix "field[i]: " (keeping its cause for
// errors.Is), any other error is wrapped with it.
func atIndex(field string, i int, err error) error {
	var in *inputError
	if errors.As(err, &in) {
		return &inputError{msg: fmt.Sprintf("%s[%d]: %s", field, i, in.msg), err: err}
	}
	return fmt.Errorf("%s[%d]: %w", field, i, err)
}

// deliveriesByEvent groups deliveries, as store.Store.EventCreateMany
// returns them, by event id, keeping their order.
func deliveriesByEvent(deliveries []*store.Delivery) map[string][]*store.Delivery {
	m := make(map[string][]*store.Delivery)
	for _, d := range deliveries {
		m[d.EventID] = append(m[d.EventID], d)
	}
	return m
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
		return nil, s.api.status(ctx, invalidInput("Field 'events' must hold 1 to %d events, not %d", MaxEmitBatch, len(reqs)))
	}
	srcs := make([]delivery.Source, len(reqs))
	for i, r := range reqs {
		src, err := sourceFromPB(r)
		if err != nil {
			return nil, s.api.status(ctx, atIndex("events", i, err))
		}
		srcs[i] = src
	}
	emitted, err := s.api.emitter.EmitMany(ctx, srcs, time.Time{})
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
		out.Deliveries = append(out.Deliveries, &standinv1.EmittedDelivery{Id: d.ID, WebhookId: d.WebhookID, State: d.State})
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
		return src, invalidInput("Field 'event' is required")
	}
	for _, f := range []struct{ name, value string }{
		{"connector_type", src.ConnectorType}, {"connector_id", src.ConnectorID},
		{"connector_name", src.ConnectorName}, {"sync_id", src.SyncID}, {"group_id", src.GroupID},
		{"source_type", src.SourceType}, {"destination_type", src.DestinationType}, {"status", src.Status},
	} {
		if len(f.value) > MaxEventFieldLength {
			return src, invalidInput("Field '%s' must be at most %d characters long", f.name, MaxEventFieldLength)
		}
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
