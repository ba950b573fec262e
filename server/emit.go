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
	return e.emit(ctx, Emission{Source: src, RunAt: runAt})
}

// emit is Emit for an Emission, whose Profile, when set, limits the
// deliveries and the stored record to that platform.
func (e *Emitter) emit(ctx context.Context, em Emission) (*store.Event, []*store.Delivery, error) {
	// Refuse bad input here, before it joins a batch.
	if _, err := fillSource(em.Source, e.now(), em.Profile); err != nil {
		return nil, nil, err
	}
	out, err := e.singles.Do(ctx, em)
	if err != nil {
		return nil, nil, err
	}
	return out.Event, out.Deliveries, nil
}

// Emission is one event for Emitter.Prepare.
type Emission struct {
	// Source describes the event, as for Emit.
	Source delivery.Source
	// RunAt is when its deliveries are due; zero means now.
	RunAt time.Time
	// Profile, when set, is the event's platform: it limits the deliveries
	// to webhooks of that profile (the sync simulator sends a Fivetran
	// connection's events to Fivetran webhooks only and a Portable flow's to
	// Portable webhooks only), fills only that profile's defaults and keeps
	// only its fields in the stored record. Empty means every profile that
	// can send the event, as Emit does.
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
		src, err := fillSource(em.Source, now, em.Profile)
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

// fillSource validates src and returns it as it is emitted: created at now
// unless set, with the defaults of profile filled in (of both profiles when
// profile is empty).
func fillSource(src delivery.Source, now time.Time, profile delivery.Profile) (delivery.Source, error) {
	if !delivery.ProfileFivetran.HasEvent(src.Event) && !delivery.ProfilePortable.HasEvent(src.Event) {
		return src, &inputError{msg: fmt.Sprintf("Invalid event '%s'", src.Event), err: delivery.ErrUnknownEvent}
	}
	if len(src.Data) > 0 && !isJSONObject(src.Data) {
		return src, invalidInput("Field 'data' must be a JSON object")
	}
	if src.Created.IsZero() {
		src.Created = now
	}
	if profile != "" {
		return src.Defaults(profile), nil
	}
	return src.Defaults(delivery.ProfileFivetran).Defaults(delivery.ProfilePortable), nil
}

// recordSource is src as an event of platform p is stored and shown
// (GET /standin/v1/events/{id}): only p's fields, with the values that went
// on the wire. An empty p (an event sent to both platforms) keeps both.
func recordSource(src delivery.Source, p delivery.Profile) delivery.Source {
	switch p {
	case delivery.ProfileFivetran:
		src.Created = src.Created.UTC().Truncate(time.Millisecond) // as rendered
		src.FlowID, src.RunAttemptID, src.SourceID, src.DestinationID = 0, 0, 0, 0
		src.SourceType, src.DestinationType, src.Status, src.Details = "", "", "", ""
	case delivery.ProfilePortable:
		src.Created = src.Created.UTC().Truncate(time.Second) // as rendered
		src.ConnectorType, src.ConnectorID, src.ConnectorName, src.SyncID, src.GroupID = "", "", "", "", ""
		src.Data = nil
	}
	return src
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
	source, err := json.Marshal(recordSource(src, em.Profile))
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
	return wh.Profile.HasEvent(src.Event) && (em.Profile == "" || wh.Profile.OrDefault() == em.Profile)
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

// newUUID returns a UUIDv7 string: time-ordered ids for events, deliveries
// and synchronous requests (a test event's Standard Webhooks webhook-id).
func newUUID() string { return uuid.Must(uuid.NewV7()).String() }

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
	ev, deliveries, err := s.api.emitter.emit(ctx, em)
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
	ems := make([]Emission, len(reqs))
	registry := map[string]*store.Connection{}
	for i, r := range reqs {
		em, err := s.emission(ctx, r, registry)
		if err != nil {
			return nil, s.api.status(ctx, atIndex("events", i, err))
		}
		ems[i] = em
	}
	emitted, err := s.api.emitter.emitMany(ctx, ems, func(i int, err error) error { return atIndex("events", i, err) }, true)
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
func (s *eventServer) emission(ctx context.Context, req *standinv1.EmitEventRequest, registry map[string]*store.Connection) (Emission, error) {
	src, err := sourceFromPB(req)
	if err != nil {
		return Emission{}, err
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
				return Emission{}, err
			}
			registry[id] = c
		}
		if c != nil {
			if err := fromRegistry(&src, c); err != nil {
				return Emission{}, err
			}
			platform = delivery.ProfileFivetran
		}
	}
	return Emission{Source: src, Profile: platform}, nil
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
			return invalidInput("Field '%s' is '%s' but connection '%s' is registered with '%s': leave it out (the registry fills it in) or use an unregistered connector_id for an ad-hoc connector",
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
	switch {
	case req.GetDataJson() != "":
		// The caller's bytes (REST: copied by the gateway), key order kept.
		if !isJSONObject(json.RawMessage(req.GetDataJson())) || req.GetDataJson() == "null" {
			return src, invalidInput("Field 'data_json' must be a JSON object")
		}
		src.Data = json.RawMessage(req.GetDataJson())
	case req.Data != nil:
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
