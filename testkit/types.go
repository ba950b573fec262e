package testkit

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/server/client"
)

// Delivery states, as Delivery.State, EmittedDelivery.State and the Await
// methods use them. They are package delivery's (delivery.DeliveryState),
// named here so a test needs no other import.
const (
	// StatePending is a delivery created and not attempted yet.
	StatePending = delivery.DeliveryPending
	// StateRetrying is a delivery that failed at least once and has a retry
	// scheduled.
	StateRetrying = delivery.DeliveryRetrying
	// StateSucceeded is a delivery the receiver accepted.
	StateSucceeded = delivery.DeliverySucceeded
	// StateFailed is a delivery whose retry window ran out.
	StateFailed = delivery.DeliveryFailed
	// StateCancelled is a delivery whose retries were cancelled, by a user
	// (CancelDelivery) or because its webhook is gone or was deactivated.
	StateCancelled = delivery.DeliveryCancelled
)

// Webhook is a webhook as the API returns it.
type Webhook struct {
	// ID is the webhook's id.
	ID string
	// Type is "account" or "group".
	Type string
	// GroupID is the group of a group webhook; empty for an account webhook.
	GroupID string
	// URL receives the deliveries.
	URL string
	// Events are the event names the webhook subscribes to.
	Events []string
	// Active is false for a webhook created inactive, deactivated by a user
	// or by standin (see DisabledReason).
	Active bool
	// Secret is "******" when the webhook has one, as Fivetran masks it.
	Secret string
	// CreatedAt is when the webhook was created.
	CreatedAt time.Time
	// CreatedBy is the user id Fivetran would name.
	CreatedBy string
	// Profile is "fivetran" or "portable".
	Profile string
	// Signing is the signing scheme; nil for Fivetran's default
	// X-Fivetran-Signature-256.
	Signing *delivery.Signing
	// DisabledReason says why standin deactivated the webhook; empty when
	// it did not.
	DisabledReason string
}

// Event is an event to emit with Emit or EmitMany (POST
// /standin/v1/events). Only Event is required; fields a profile does not
// use are ignored for it, and empty fields get realistic defaults. A
// ConnectorID of a registered connection takes ConnectorType,
// ConnectorName and GroupID from standin's registry and makes the event a
// Fivetran one; otherwise the event goes to the webhooks of the platform
// whose fields are set (both when neither is).
type Event struct {
	// Event is the event name, e.g. "sync_start", "sync_end"; it must be in
	// the catalog of at least one profile.
	Event string
	// ConnectorID, ConnectorType and ConnectorName name the Fivetran
	// connector (connection).
	ConnectorID, ConnectorType, ConnectorName string
	// GroupID is Fivetran's destination group; it also selects the group
	// webhooks.
	GroupID string
	// SyncID is Fivetran's sync id (a UUID).
	SyncID string
	// Data is Fivetran's data object, sent as given, key order included.
	// It cannot be combined with Reason, TaskType or RescheduledAt.
	Data json.RawMessage
	// Status is sync_end's status: Fivetran's data.status (SUCCESSFUL,
	// FAILURE, FAILURE_WITH_TASK, RESCHEDULED) and Portable's status.
	Status string
	// Reason, TaskType and RescheduledAt (RFC 3339) fill Fivetran's
	// sync_end data.reason, data.taskType and data.rescheduledAt.
	Reason, TaskType, RescheduledAt string
	// FlowID and RunAttemptID name a Portable flow and its run.
	FlowID, RunAttemptID int64
	// SourceID and SourceType name a Portable flow's source.
	SourceID   int64
	SourceType string
	// DestinationID and DestinationType name a Portable flow's destination.
	DestinationID   int64
	DestinationType string
	// Details is Portable's sync_end details text.
	Details string
	// Faults, when set, are asked of this event's deliveries instead of
	// their webhooks' (&delivery.Faults{} asks for none): duplicates, a
	// wrong signature, an unknown field, a delay, seeded.
	Faults *delivery.Faults
}

// Emitted is the answer to an emitted event: the event's id and one
// delivery per subscribed webhook.
type Emitted struct {
	// ID is the event's id.
	ID string
	// Event is the event name.
	Event string
	// CreatedAt is when the event was emitted.
	CreatedAt time.Time
	// Deliveries holds one delivery per webhook the event goes to.
	Deliveries []EmittedDelivery
}

// EmittedDelivery is one delivery created for an emitted event. Wait for
// its outcome with AwaitDelivery(ctx, d.ID).
type EmittedDelivery struct {
	// ID is the delivery's id.
	ID string
	// WebhookID is the webhook it goes to.
	WebhookID string
	// State is the delivery's state when the answer was made, usually
	// StatePending.
	State delivery.DeliveryState
}

// EventRecord is an emitted event as the event log (/standin/v1/events)
// returns it.
type EventRecord struct {
	// ID is the event's id.
	ID string
	// Event is the event name.
	Event string
	// GroupID is the event's destination group, if any.
	GroupID string
	// Source is what was emitted, as JSON, before a profile shaped it into
	// a request body.
	Source json.RawMessage
	// CreatedAt is when the event was emitted.
	CreatedAt time.Time
}

// Delivery is one event on its way to one webhook, as the delivery log
// (/standin/v1/deliveries) returns it. Times are real times.
type Delivery struct {
	// ID is the delivery's id.
	ID string
	// EventID and Event are the event's id and name.
	EventID, Event string
	// WebhookID is the webhook the delivery goes to.
	WebhookID string
	// Profile is the sender profile: "fivetran" or "portable".
	Profile string
	// State is where the delivery stands: StatePending … StateCancelled.
	State delivery.DeliveryState
	// Attempts is the number of attempts recorded, manual ones included.
	Attempts int
	// FirstAttemptAt is when the first scheduled attempt started; the retry
	// schedule counts from it. Nil before it.
	FirstAttemptAt *time.Time
	// NextAttemptAt is when the next scheduled attempt is due; nil when
	// none is.
	NextAttemptAt *time.Time
	// LastStatus is the HTTP status of the latest attempt; 0 when it got
	// no answer or there was none.
	LastStatus int
	// LastError is the latest attempt's error; empty when it succeeded.
	LastError string
	// CreatedAt and UpdatedAt are when the delivery was created and last
	// changed.
	CreatedAt, UpdatedAt time.Time
	// FinishedAt is when it reached a final state; nil before.
	FinishedAt *time.Time
}

// Attempt is one HTTP request standin made for a delivery.
type Attempt struct {
	// Number counts the delivery's attempts from 1, in order of recording.
	Number int
	// Manual is true for a redelivery (Redeliver), made outside the
	// schedule.
	Manual bool
	// URL is where the request went.
	URL string
	// StartedAt is the real time the request started, to the millisecond.
	StartedAt time.Time
	// EmulatedDelay is the emulated time since the first attempt that the
	// attempt was scheduled for: exactly 0, 6m, 27m36s, … on Fivetran's
	// schedule, whatever the time scale.
	EmulatedDelay time.Duration
	// EmulatedAt is the emulated time of the attempt: the first attempt's
	// real time plus EmulatedDelay.
	EmulatedAt time.Time
	// RequestHeaders are the headers sent (secrets redacted), one value
	// per name: repeated values joined with ", ".
	RequestHeaders http.Header
	// Status is the HTTP status the receiver answered; 0 when no answer
	// came (a timeout, a refused connection).
	Status int
	// Latency is how long the request took.
	Latency time.Duration
	// Error says why the attempt failed; empty when it succeeded.
	Error string
	// ResponseHeaders are the receiver's response headers, one value per
	// name: repeated values joined with ", ".
	ResponseHeaders http.Header
	// ResponseExcerpt is the start of the response body.
	ResponseExcerpt string
	// Succeeded is true when the answer counts as success for the
	// delivery's profile (Fivetran: any 2xx; Portable: 200).
	Succeeded bool
	// Fault lists the faults asked on purpose that changed the attempt
	// (delivery.FaultKinds), comma-separated; empty for a genuine one.
	Fault string
}

// DeliveryDetail is one delivery with its event, the exact request and
// every attempt, as GetDelivery returns it.
type DeliveryDetail struct {
	// Delivery is the delivery.
	Delivery Delivery
	// Event is the delivery's event.
	Event EventRecord
	// RequestBody is the exact request body, the same for every attempt.
	RequestBody []byte
	// RequestHeaders are the headers of the latest attempt, as in
	// Attempt.RequestHeaders.
	RequestHeaders http.Header
	// Attempts are the delivery's attempts, oldest first.
	Attempts []Attempt
}

// EventDetail is one emitted event with its deliveries, oldest first, as
// GetEvent returns it.
type EventDetail struct {
	// Event is the event.
	Event EventRecord
	// Deliveries are its deliveries, oldest first.
	Deliveries []Delivery
}

// DeliveryFilter selects deliveries for ListDeliveries. Zero fields do not
// filter.
type DeliveryFilter struct {
	// WebhookID keeps the deliveries to one webhook.
	WebhookID string
	// Event keeps the deliveries of one event name; EventID those of one
	// emitted event.
	Event, EventID string
	// State keeps the deliveries in one state.
	State delivery.DeliveryState
	// Since and Until bound the creation time; zero does not bound.
	Since, Until time.Time
	// Cursor is a previous page's NextCursor.
	Cursor string
	// Limit is the page size; 0 is the API's default.
	Limit int
}

// DeliveryPage is one page of deliveries, newest first.
type DeliveryPage struct {
	// Items are the deliveries on the page.
	Items []Delivery
	// NextCursor fetches the next page; empty on the last.
	NextCursor string
}

// EventFilter selects events for ListEvents. Zero fields do not filter.
type EventFilter struct {
	// Event keeps the events of one name.
	Event string
	// Since and Until bound the emission time; zero does not bound.
	Since, Until time.Time
	// Cursor is a previous page's NextCursor.
	Cursor string
	// Limit is the page size; 0 is the API's default.
	Limit int
}

// EventPage is one page of events, newest first.
type EventPage struct {
	// Items are the events on the page.
	Items []EventRecord
	// NextCursor fetches the next page; empty on the last.
	NextCursor string
}

// APIError is an answer of the API whose envelope code is not "Success",
// as Do returns it. Code and Message are the envelope's (for example
// NotFound_Webhook, "Cannot find entity 'Webhook' with id 'x'").
type APIError struct {
	// HTTPStatus is the response's HTTP status code.
	HTTPStatus int
	// Code is the envelope's code.
	Code string
	// Message is the envelope's message; it may be empty.
	Message string
}

// Error implements error: "Code: Message (HTTP status)".
func (e *APIError) Error() string {
	return (&client.Error{HTTPStatus: e.HTTPStatus, Code: e.Code, Message: e.Message}).Error()
}

// NotFound reports whether the error is a missing entity: its code starts
// with NotFound.
func (e *APIError) NotFound() bool { return strings.HasPrefix(e.Code, "NotFound") }

// The conversions from the REST client's wire types. testkit's types are
// its own so that go doc shows their fields, and so that a delivery reads
// the same whichever helper returned it.

func webhookOf(w client.Webhook) Webhook {
	out := Webhook{
		ID: w.ID, Type: w.Type, GroupID: w.GroupID, URL: w.URL, Events: w.Events, Active: w.Active,
		Secret: w.Secret, CreatedAt: w.CreatedAt, CreatedBy: w.CreatedBy, Profile: w.Profile,
		DisabledReason: w.DisabledReason,
	}
	if g := w.Signing; g != nil {
		out.Signing = &delivery.Signing{Scheme: delivery.Scheme(g.Scheme), Algorithm: g.Algorithm, Encoding: g.Encoding,
			Header: g.Header, LowerHex: g.LowerHex, PrefixAlgorithm: g.PrefixAlgorithm}
	}
	return out
}

func emitRequestOf(e Event) client.EmitRequest {
	return client.EmitRequest{
		Event: e.Event, ConnectorID: e.ConnectorID, ConnectorType: e.ConnectorType, ConnectorName: e.ConnectorName,
		GroupID: e.GroupID, SyncID: e.SyncID, Data: e.Data, Status: e.Status, Reason: e.Reason, TaskType: e.TaskType,
		RescheduledAt: e.RescheduledAt, FlowID: e.FlowID, RunAttemptID: e.RunAttemptID, SourceID: e.SourceID,
		SourceType: e.SourceType, DestinationID: e.DestinationID, DestinationType: e.DestinationType,
		Details: e.Details, Faults: clientFaults(e.Faults),
	}
}

// clientFaults is f in the client's form; nil stays nil.
func clientFaults(f *delivery.Faults) *client.Faults {
	if f == nil {
		return nil
	}
	return &client.Faults{Seed: f.Seed, Duplicate: f.Duplicate, DuplicateCount: f.DuplicateCount, Delay: f.Delay,
		DelayProbability: f.DelayProbability, BadSignature: f.BadSignature, ExtraFields: f.ExtraFields,
		Reorder: f.Reorder, BadSignatureSecret: f.BadSignatureSecret}
}

func emittedOf(e client.EmittedEvent) Emitted {
	out := Emitted{ID: e.ID, Event: e.Event, CreatedAt: e.CreatedAt, Deliveries: make([]EmittedDelivery, len(e.Deliveries))}
	for i, d := range e.Deliveries {
		out.Deliveries[i] = EmittedDelivery{ID: d.ID, WebhookID: d.WebhookID, State: delivery.DeliveryState(d.State)}
	}
	return out
}

func eventOf(e client.Event) EventRecord {
	return EventRecord{ID: e.ID, Event: e.Event, GroupID: e.GroupID, Source: e.Source, CreatedAt: e.CreatedAt}
}

func deliveryOf(d client.Delivery) Delivery {
	out := Delivery{
		ID: d.ID, EventID: d.EventID, Event: d.Event, WebhookID: d.WebhookID, Profile: d.Profile,
		State: delivery.DeliveryState(d.State), Attempts: d.Attempts, FirstAttemptAt: d.FirstAttemptAt,
		NextAttemptAt: d.NextAttemptAt, LastError: d.LastError, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
		FinishedAt: d.FinishedAt,
	}
	if d.LastStatus != nil {
		out.LastStatus = *d.LastStatus
	}
	return out
}

func deliveriesOf(ds []client.Delivery) []Delivery {
	out := make([]Delivery, len(ds))
	for i, d := range ds {
		out[i] = deliveryOf(d)
	}
	return out
}

func attemptOf(a client.Attempt) Attempt {
	out := Attempt{
		Number: a.Number, Manual: a.Manual, URL: a.URL, StartedAt: a.StartedAt, EmulatedDelay: a.EmulatedDelay,
		RequestHeaders: headerOf(a.RequestHeaders), Status: a.Status, Latency: a.Latency, Error: a.Error, Fault: a.Fault,
		ResponseHeaders: headerOf(a.ResponseHeaders), ResponseExcerpt: a.ResponseExcerpt, Succeeded: a.Succeeded,
	}
	if a.EmulatedAt != nil {
		out.EmulatedAt = *a.EmulatedAt
	}
	return out
}

// headerOf makes the API's flattened headers an http.Header; nil stays nil.
func headerOf(m map[string]string) http.Header {
	if m == nil {
		return nil
	}
	h := make(http.Header, len(m))
	for k, v := range m {
		h[http.CanonicalHeaderKey(k)] = []string{v}
	}
	return h
}

func deliveryDetailOf(d client.DeliveryDetail) DeliveryDetail {
	out := DeliveryDetail{
		Delivery: deliveryOf(d.Delivery), RequestBody: []byte(d.RequestBody), RequestHeaders: headerOf(d.RequestHeaders),
		Attempts: make([]Attempt, len(d.Attempts)),
	}
	if d.Event != nil {
		out.Event = eventOf(*d.Event)
	}
	for i, a := range d.Attempts {
		out.Attempts[i] = attemptOf(a)
	}
	return out
}

func eventDetailOf(e client.EventDetail) EventDetail {
	return EventDetail{Event: eventOf(e.Event), Deliveries: deliveriesOf(e.Deliveries)}
}

// apiError returns err with the client's *client.Error as an *APIError.
func apiError(err error) error {
	if ce := (*client.Error)(nil); errors.As(err, &ce) {
		return &APIError{HTTPStatus: ce.HTTPStatus, Code: ce.Code, Message: ce.Message}
	}
	return err
}
