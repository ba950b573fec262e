package testkit

import (
	"context"

	"github.com/standin-dev/standin/server/client"
)

// The helpers below call the REST API with the test's context and fail the
// test on any error. To assert a refusal (a 404, a 409), call Do and
// inspect its *APIError.

// ListDeliveries returns one page of the delivery log through the API.
func (s *Standin) ListDeliveries(f DeliveryFilter) DeliveryPage {
	s.tb.Helper()
	cf := client.DeliveryFilter{WebhookID: f.WebhookID, Event: f.Event, EventID: f.EventID, Status: string(f.State),
		Since: f.Since, Until: f.Until, Cursor: f.Cursor, Limit: f.Limit}
	page := must(s, "list deliveries", false, func(ctx context.Context) (*client.Response[client.Page[client.Delivery]], error) {
		return s.api.ListDeliveries(ctx, cf)
	})
	return DeliveryPage{Items: deliveriesOf(page.Items), NextCursor: page.NextCursor}
}

// GetDelivery returns a delivery with its event, its exact request and every
// attempt through the API.
func (s *Standin) GetDelivery(id string) DeliveryDetail {
	s.tb.Helper()
	return deliveryDetailOf(must(s, "get delivery "+id, false, func(ctx context.Context) (*client.Response[client.DeliveryDetail], error) {
		return s.api.GetDelivery(ctx, id)
	}))
}

// Redeliver queues a manual attempt of the delivery, now and outside the
// schedule, in any state, and returns the delivery as it was. Wait for the
// attempt with AwaitAttempts.
func (s *Standin) Redeliver(id string) Delivery {
	s.tb.Helper()
	return deliveryOf(must(s, "redeliver "+id, true, func(ctx context.Context) (*client.Response[client.Delivery], error) {
		return s.api.RedeliverDelivery(ctx, id)
	}))
}

// CancelDelivery cancels a pending or retrying delivery: it gets no further
// scheduled attempt. It returns the cancelled delivery.
func (s *Standin) CancelDelivery(id string) Delivery {
	s.tb.Helper()
	return deliveryOf(must(s, "cancel delivery "+id, true, func(ctx context.Context) (*client.Response[client.Delivery], error) {
		return s.api.CancelDelivery(ctx, id)
	}))
}

// ListEvents returns one page of the event log through the API.
func (s *Standin) ListEvents(f EventFilter) EventPage {
	s.tb.Helper()
	cf := client.EventFilter{Event: f.Event, Since: f.Since, Until: f.Until, Cursor: f.Cursor, Limit: f.Limit}
	page := must(s, "list events", false, func(ctx context.Context) (*client.Response[client.Page[client.Event]], error) {
		return s.api.ListEvents(ctx, cf)
	})
	out := EventPage{Items: make([]EventRecord, len(page.Items)), NextCursor: page.NextCursor}
	for i, e := range page.Items {
		out.Items[i] = eventOf(e)
	}
	return out
}

// GetEvent returns an emitted event and its deliveries through the API.
func (s *Standin) GetEvent(id string) EventDetail {
	s.tb.Helper()
	return eventDetailOf(must(s, "get event "+id, false, func(ctx context.Context) (*client.Response[client.EventDetail], error) {
		return s.api.GetEvent(ctx, id)
	}))
}

// must runs one call of the API client with the test's context, wakes the
// Await methods after a call that may have changed a delivery, and fails
// the test on error.
func must[T any](s *Standin, what string, changes bool, call func(context.Context) (*client.Response[T], error)) T {
	s.tb.Helper()
	if changes {
		defer s.signal()
	}
	resp, err := call(s.tb.Context())
	if err != nil {
		s.tb.Fatalf("testkit: %s: %v", what, apiError(err))
		var zero T
		return zero // a TB whose Fatalf returns
	}
	return resp.Data
}
