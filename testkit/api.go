package testkit

import (
	"context"

	"github.com/standin-dev/standin/server/client"
)

// The wire types of the REST API are package client's; testkit names them
// for its helpers.
type (
	// Delivery is a delivery as the delivery log API (/standin/v1/deliveries)
	// returns it. Times are real times.
	Delivery = client.Delivery
	// Attempt is one HTTP request made for a delivery, as the API returns
	// it, with exact EmulatedDelay and Latency durations.
	Attempt = client.Attempt
	// EventRecord is an emitted event as the event log API
	// (/standin/v1/events) returns it.
	EventRecord = client.Event
	// DeliveryDetail is one delivery with its event, the exact request and
	// every attempt.
	DeliveryDetail = client.DeliveryDetail
	// EventDetail is one emitted event with its deliveries, oldest first.
	EventDetail = client.EventDetail
	// DeliveryFilter selects deliveries for ListDeliveries. Zero fields do
	// not filter.
	DeliveryFilter = client.DeliveryFilter
	// DeliveryPage is one page of deliveries, newest first.
	DeliveryPage = client.Page[client.Delivery]
	// EventFilter selects events for ListEvents. Zero fields do not filter.
	EventFilter = client.EventFilter
	// EventPage is one page of events, newest first.
	EventPage = client.Page[client.Event]
	// APIError is a non-success answer of the API.
	APIError = client.Error
	// Webhook is a webhook as the API returns it.
	Webhook = client.Webhook
	// Event is an event to emit. Empty fields get realistic defaults.
	Event = client.EmitRequest
	// Emitted is the answer to an emitted event.
	Emitted = client.EmittedEvent
)

// The helpers below call the REST API and fail the test on any error. To
// assert a refusal (a 404, a 409), call Do and inspect its *APIError.

// ListDeliveries returns one page of the delivery log through the API.
func (s *Standin) ListDeliveries(f DeliveryFilter) DeliveryPage {
	s.tb.Helper()
	return must(s, "list deliveries", false, func(ctx context.Context) (*client.Response[DeliveryPage], error) {
		return s.api.ListDeliveries(ctx, f)
	})
}

// GetDelivery returns a delivery with its event, its exact request and every
// attempt through the API.
func (s *Standin) GetDelivery(id string) DeliveryDetail {
	s.tb.Helper()
	return must(s, "get delivery "+id, false, func(ctx context.Context) (*client.Response[DeliveryDetail], error) {
		return s.api.GetDelivery(ctx, id)
	})
}

// Redeliver queues a manual attempt of the delivery, now and outside the
// schedule, in any state, and returns the delivery as it was. Wait for the
// attempt with AwaitAttempts.
func (s *Standin) Redeliver(id string) Delivery {
	s.tb.Helper()
	return must(s, "redeliver "+id, true, func(ctx context.Context) (*client.Response[Delivery], error) {
		return s.api.RedeliverDelivery(ctx, id)
	})
}

// CancelDelivery cancels a pending or retrying delivery: it gets no further
// scheduled attempt. It returns the cancelled delivery.
func (s *Standin) CancelDelivery(id string) Delivery {
	s.tb.Helper()
	return must(s, "cancel delivery "+id, true, func(ctx context.Context) (*client.Response[Delivery], error) {
		return s.api.CancelDelivery(ctx, id)
	})
}

// ListEvents returns one page of the event log through the API.
func (s *Standin) ListEvents(f EventFilter) EventPage {
	s.tb.Helper()
	return must(s, "list events", false, func(ctx context.Context) (*client.Response[EventPage], error) {
		return s.api.ListEvents(ctx, f)
	})
}

// GetEvent returns an emitted event and its deliveries through the API.
func (s *Standin) GetEvent(id string) EventDetail {
	s.tb.Helper()
	return must(s, "get event "+id, false, func(ctx context.Context) (*client.Response[EventDetail], error) {
		return s.api.GetEvent(ctx, id)
	})
}

// must runs one call of the API client, wakes the Await methods after a
// call that may have changed a delivery, and fails the test on error.
func must[T any](s *Standin, what string, changes bool, call func(context.Context) (*client.Response[T], error)) T {
	s.tb.Helper()
	if changes {
		defer s.signal()
	}
	resp, err := call(context.Background())
	if err != nil {
		s.tb.Fatalf("testkit: %s: %v", what, err)
		var zero T
		return zero // a TB whose Fatalf returns
	}
	return resp.Data
}
