// Package emit is standin's emitter: it validates an event, fills in its
// defaults, renders one body per subscribed webhook and stores the event
// with its deliveries (and their River jobs) in one transaction. It knows
// nothing of protobuf; the server maps requests to Emissions.
package emit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/server/internal/apierr"
	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/batch"
)

// Store is what the emitter needs of the store.
type Store interface {
	// WebhookListSubscribed returns the active webhooks that receive
	// eventName for groupID.
	WebhookListSubscribed(ctx context.Context, eventName, groupID string) ([]*store.Webhook, error)
	// EventCreateMany stores events with their deliveries and jobs in one
	// transaction.
	EventCreateMany(ctx context.Context, params []store.EventCreateParams) ([]*store.Delivery, error)
}

// Emitter emits events: it renders one body per subscribed webhook and
// stores the event with its deliveries (and their River jobs) in one
// transaction. Create it with New; it is safe for concurrent use.
type Emitter struct {
	store Store
	now   func() time.Time
	// singles batches concurrent Emit calls (see New).
	singles *batch.Batcher[Emission, Emitted]
	// maxDeliveries is MaxDeliveries, lowered by tests.
	maxDeliveries int
}

// MaxDeliveries is the most deliveries one emit (one event, or one batch of
// events) may create; more are refused with InvalidInput before anything is
// rendered.
const MaxDeliveries = 10000

// emitBatchMax bounds the concurrent Emit calls stored together.
const emitBatchMax = 500

// emitTimeout bounds storing one batch of emits.
const emitTimeout = 30 * time.Second

// New returns an Emitter on st whose clock is now. Its concurrent Emit calls
// are stored together: a burst of single emits (a load test's, or many CI
// jobs') then costs a few transactions instead of one each, which is what
// bounds how many a second standin accepts and how soon they are delivered.
// Each call still succeeds or fails alone.
func New(st Store, now func() time.Time) *Emitter {
	e := &Emitter{store: st, now: now, maxDeliveries: MaxDeliveries}
	e.singles = &batch.Batcher[Emission, Emitted]{
		Max:     emitBatchMax,
		Timeout: emitTimeout,
		Run: func(ctx context.Context, ems []Emission) ([]Emitted, error) {
			return e.emitMany(ctx, ems, noIndex, false)
		},
	}
	return e
}

// OnQueue sets a hook told the number of single emits queued for the next
// batch; for tests. Call it before the first emit.
func (e *Emitter) OnQueue(f func(queued int)) { e.singles.OnQueue = f }

// SetMaxDeliveries lowers MaxDeliveries for e's emits; for tests.
func (e *Emitter) SetMaxDeliveries(n int) { e.maxDeliveries = n }

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
// Concurrent calls are stored in one transaction (see New); a call that
// fails is retried alone, so one call's failure is not another's.
func (e *Emitter) Emit(ctx context.Context, src delivery.Source, runAt time.Time) (*store.Event, []*store.Delivery, error) {
	return e.EmitOne(ctx, Emission{Source: src, RunAt: runAt})
}

// EmitOne is Emit for an Emission, whose Profile, when set, limits the
// deliveries and the stored record to that platform.
func (e *Emitter) EmitOne(ctx context.Context, em Emission) (*store.Event, []*store.Delivery, error) {
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
	// Faults, when set, are the faults of every delivery of the event
	// (delivery.Faults{} asks for none); nil: each delivery takes its
	// webhook's.
	Faults *delivery.Faults
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
	return e.EmitEmissions(ctx, ems)
}

// EmitEmissions is EmitMany for Emissions: an error about one of them names
// its index in "events".
func (e *Emitter) EmitEmissions(ctx context.Context, ems []Emission) ([]Emitted, error) {
	return e.emitMany(ctx, ems, func(i int, err error) error { return apierr.AtIndex("events", i, err) }, true)
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
	byEvent := DeliveriesByEvent(deliveries)
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
// No emission may create more than MaxDeliveries deliveries, nor, when
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
				return nil, apierr.Invalid("The events would create more than %d deliveries (%d up to events[%d]): emit them in smaller batches", e.maxDeliveries, total, i)
			}
			return nil, at(i, apierr.Invalid("The event would create %d deliveries, more than the limit of %d", total, e.maxDeliveries))
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
		return src, &apierr.InputError{Msg: fmt.Sprintf("Invalid event '%s'", src.Event), Err: delivery.ErrUnknownEvent}
	}
	if len(src.Data) > 0 && !IsJSONObject(src.Data) {
		return src, apierr.Invalid("Field 'data' must be a JSON object")
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
		faults := wh.Faults
		if em.Faults != nil {
			faults = *em.Faults
		}
		news = append(news, store.DeliveryNew{
			ID:        NewUUID(),
			WebhookID: wh.ID,
			Profile:   wh.Profile,
			Body:      body,
			RunAt:     em.RunAt,
			Faults:    faults,
		})
	}
	source, err := json.Marshal(recordSource(src, em.Profile))
	if err != nil {
		return store.EventCreateParams{}, fmt.Errorf("emit %s: %w", src.Event, err)
	}
	return store.EventCreateParams{
		Event: store.Event{
			ID:        NewUUID(),
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

// DeliveriesByEvent groups deliveries, as store.Store.EventCreateMany
// returns them, by event id, keeping their order.
func DeliveriesByEvent(deliveries []*store.Delivery) map[string][]*store.Delivery {
	m := make(map[string][]*store.Delivery)
	for _, d := range deliveries {
		m[d.EventID] = append(m[d.EventID], d)
	}
	return m
}

// IsJSONObject reports whether raw is a JSON object (or null).
func IsJSONObject(raw json.RawMessage) bool {
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

// NewUUID returns a UUIDv7 string: time-ordered ids for events, deliveries
// and synchronous requests (a test event's Standard Webhooks webhook-id).
func NewUUID() string { return uuid.Must(uuid.NewV7()).String() }
