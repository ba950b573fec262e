package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ListParams pages through a list.
type ListParams struct {
	// Cursor is the NextCursor of the previous page; empty for the first.
	Cursor string
	// Limit is the page size; 0 leaves it to the API (100).
	Limit int
}

func (p ListParams) query() url.Values {
	q := url.Values{}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	return q
}

// CreateWebhook creates an account webhook, or a group webhook of groupID
// when it is not empty.
func (c *Client) CreateWebhook(ctx context.Context, groupID string, spec WebhookSpec) (*Response[Webhook], error) {
	path := "/v1/webhooks/account"
	if groupID != "" {
		path = "/v1/webhooks/group/" + pathID(groupID)
	}
	return call[Webhook](ctx, c, http.MethodPost, path, nil, spec)
}

// ListWebhooks returns one page of webhooks.
func (c *Client) ListWebhooks(ctx context.Context, p ListParams) (*Response[Page[Webhook]], error) {
	return call[Page[Webhook]](ctx, c, http.MethodGet, "/v1/webhooks", p.query(), nil)
}

// GetWebhook returns one webhook.
func (c *Client) GetWebhook(ctx context.Context, id string) (*Response[Webhook], error) {
	return call[Webhook](ctx, c, http.MethodGet, "/v1/webhooks/"+pathID(id), nil, nil)
}

// UpdateWebhook changes the fields set in patch.
func (c *Client) UpdateWebhook(ctx context.Context, id string, patch WebhookPatch) (*Response[Webhook], error) {
	return call[Webhook](ctx, c, http.MethodPatch, "/v1/webhooks/"+pathID(id), nil, patch)
}

// DeleteWebhook deletes a webhook; the response has a message and no data.
func (c *Client) DeleteWebhook(ctx context.Context, id string) (*Response[json.RawMessage], error) {
	return c.Do(ctx, http.MethodDelete, "/v1/webhooks/"+pathID(id), nil, nil, nil)
}

// TestWebhook sends one test event (sync_end when event is empty) to the
// webhook's URL and reports what the receiver answered.
func (c *Client) TestWebhook(ctx context.Context, id, event string) (*Response[TestResult], error) {
	body := map[string]string{}
	if event != "" {
		body["event"] = event
	}
	return call[TestResult](ctx, c, http.MethodPost, "/v1/webhooks/"+pathID(id)+"/test", nil, body)
}

// Emit emits an event through the emulator API.
func (c *Client) Emit(ctx context.Context, req EmitRequest) (*Response[EmittedEvent], error) {
	return call[EmittedEvent](ctx, c, http.MethodPost, "/standin/v1/events", nil, req)
}

// EmitMany emits 1 to 1000 events in one request
// (POST /standin/v1/events:batch), all or nothing: one invalid event refuses
// the whole batch with an *Error (HTTP 400) whose message names its index,
// e.g. "events[3]: Invalid event 'foo'", and nothing is emitted. The
// answer's items are the events in the order of reqs.
func (c *Client) EmitMany(ctx context.Context, reqs []EmitRequest) (*Response[EmittedEvents], error) {
	body := struct {
		Events []EmitRequest `json:"events"`
	}{reqs}
	return call[EmittedEvents](ctx, c, http.MethodPost, "/standin/v1/events:batch", nil, body)
}

// DeliveryFilter selects deliveries; empty fields do not filter.
type DeliveryFilter struct {
	WebhookID string
	// Event is an event name.
	Event   string
	EventID string
	// Status is a delivery state.
	Status string
	// Since and Until bound the creation time; zero does not bound.
	Since, Until time.Time
	// Cursor is the NextCursor of the previous page; empty for the first.
	Cursor string
	// Limit is the page size, 1 to 1000; 0 means the API's default (100).
	Limit int
}

// ListDeliveries returns one page of deliveries, newest first.
func (c *Client) ListDeliveries(ctx context.Context, f DeliveryFilter) (*Response[Page[Delivery]], error) {
	q := ListParams{Cursor: f.Cursor, Limit: f.Limit}.query()
	for k, v := range map[string]string{"webhook_id": f.WebhookID, "event": f.Event, "event_id": f.EventID, "status": f.Status} {
		if v != "" {
			q.Set(k, v)
		}
	}
	setTimes(q, f.Since, f.Until)
	return call[Page[Delivery]](ctx, c, http.MethodGet, "/standin/v1/deliveries", q, nil)
}

// GetDelivery returns one delivery with its event, body and attempts.
func (c *Client) GetDelivery(ctx context.Context, id string) (*Response[DeliveryDetail], error) {
	return call[DeliveryDetail](ctx, c, http.MethodGet, "/standin/v1/deliveries/"+pathID(id), nil, nil)
}

// RedeliverDelivery queues one manual attempt now, outside the schedule;
// the answer is the delivery as it was when the attempt was queued.
func (c *Client) RedeliverDelivery(ctx context.Context, id string) (*Response[Delivery], error) {
	return call[Delivery](ctx, c, http.MethodPost, "/standin/v1/deliveries/"+pathID(id)+"/redeliver", nil, struct{}{})
}

// CancelDelivery stops a pending or retrying delivery.
func (c *Client) CancelDelivery(ctx context.Context, id string) (*Response[Delivery], error) {
	return call[Delivery](ctx, c, http.MethodPost, "/standin/v1/deliveries/"+pathID(id)+"/cancel", nil, struct{}{})
}

// EventFilter selects emitted events; empty fields do not filter.
type EventFilter struct {
	// Event is an event name.
	Event string
	// Since and Until bound the creation time; zero does not bound.
	Since, Until time.Time
	// Cursor is the NextCursor of the previous page; empty for the first.
	Cursor string
	// Limit is the page size, 1 to 1000; 0 means the API's default (100).
	Limit int
}

// ListEvents returns one page of emitted events, newest first.
func (c *Client) ListEvents(ctx context.Context, f EventFilter) (*Response[Page[Event]], error) {
	q := ListParams{Cursor: f.Cursor, Limit: f.Limit}.query()
	if f.Event != "" {
		q.Set("event", f.Event)
	}
	setTimes(q, f.Since, f.Until)
	return call[Page[Event]](ctx, c, http.MethodGet, "/standin/v1/events", q, nil)
}

// GetEvent returns one emitted event with its deliveries.
func (c *Client) GetEvent(ctx context.Context, id string) (*Response[EventDetail], error) {
	return call[EventDetail](ctx, c, http.MethodGet, "/standin/v1/events/"+pathID(id), nil, nil)
}

func setTimes(q url.Values, since, until time.Time) {
	if !since.IsZero() {
		q.Set("since", since.UTC().Format(time.RFC3339Nano))
	}
	if !until.IsZero() {
		q.Set("until", until.UTC().Format(time.RFC3339Nano))
	}
}

// SimulateSync runs a simulated sync of a registered connection with a
// chosen outcome (standin's sync simulator).
func (c *Client) SimulateSync(ctx context.Context, connectionID string, req SimulateSyncRequest) (*Response[SimulatedSync], error) {
	return call[SimulatedSync](ctx, c, http.MethodPost, "/standin/v1/connections/"+pathID(connectionID)+"/sync", nil, req)
}

// RunFlow runs a Portable flow with a chosen outcome.
func (c *Client) RunFlow(ctx context.Context, flowID int64, req RunFlowRequest) (*Response[FlowRun], error) {
	return call[FlowRun](ctx, c, http.MethodPost, "/standin/v1/portable/flows/"+strconv.FormatInt(flowID, 10)+"/run", nil, req)
}
