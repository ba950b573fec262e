package testkit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Delivery is a delivery as the delivery log API (/standin/v1/deliveries)
// returns it. Times are real times.
type Delivery struct {
	ID        string `json:"id"`
	EventID   string `json:"event_id"`
	Event     string `json:"event"`
	WebhookID string `json:"webhook_id"`
	Profile   string `json:"profile"`
	// State is pending, retrying, succeeded, failed or cancelled.
	State string `json:"state"`
	// Attempts counts the attempts made, manual ones included.
	Attempts       int        `json:"attempts"`
	FirstAttemptAt *time.Time `json:"first_attempt_at,omitempty"`
	NextAttemptAt  *time.Time `json:"next_attempt_at,omitempty"`
	// LastStatus is the last attempt's HTTP status, 0 when it got no
	// response or there was none.
	LastStatus int        `json:"last_status,omitempty"`
	LastError  string     `json:"last_error,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// Attempt is one HTTP request made for a delivery, as the API returns it.
type Attempt struct {
	Number int `json:"number"`
	// Manual marks a redelivery, outside the schedule.
	Manual bool   `json:"manual"`
	URL    string `json:"url"`
	// StartedAt is the real time the request started.
	StartedAt time.Time `json:"started_at"`
	// EmulatedDelay is the emulated time since the first attempt that the
	// attempt was scheduled for: exactly 0, 6m, 27m36s, … on Fivetran's
	// schedule, whatever the time scale.
	EmulatedDelay time.Duration `json:"-"`
	// EmulatedAt is the first attempt's start plus EmulatedDelay.
	EmulatedAt      time.Time         `json:"emulated_at"`
	RequestHeaders  map[string]string `json:"request_headers"`
	Status          int               `json:"status"`
	Latency         time.Duration     `json:"-"`
	Error           string            `json:"error,omitempty"`
	ResponseHeaders map[string]string `json:"response_headers"`
	// ResponseExcerpt is a bounded prefix of the response body.
	ResponseExcerpt string `json:"response_excerpt"`
	Succeeded       bool   `json:"succeeded"`
}

// UnmarshalJSON reads an attempt, with its protobuf JSON durations
// ("1620s", "0.012s").
func (a *Attempt) UnmarshalJSON(b []byte) error {
	type plain Attempt
	var v struct {
		*plain
		EmulatedDelay string `json:"emulated_delay"`
		Latency       string `json:"latency"`
	}
	v.plain = (*plain)(a)
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var err error
	if a.EmulatedDelay, err = parseDuration(v.EmulatedDelay); err != nil {
		return fmt.Errorf("attempt emulated_delay: %w", err)
	}
	if a.Latency, err = parseDuration(v.Latency); err != nil {
		return fmt.Errorf("attempt latency: %w", err)
	}
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	return time.ParseDuration(s)
}

// EventRecord is an emitted event as the event log API (/standin/v1/events)
// returns it.
type EventRecord struct {
	ID      string `json:"id"`
	Event   string `json:"event"`
	GroupID string `json:"group_id,omitempty"`
	// Source is what was emitted, defaults filled in, before a sender
	// profile shaped it into a body.
	Source    json.RawMessage `json:"source"`
	CreatedAt time.Time       `json:"created_at"`
}

// DeliveryDetail is one delivery with its event, the exact request and
// every attempt.
type DeliveryDetail struct {
	Delivery Delivery    `json:"delivery"`
	Event    EventRecord `json:"event"`
	// RequestBody is the exact body sent on every attempt.
	RequestBody string `json:"request_body"`
	// RequestHeaders are the headers as sent on the latest attempt; empty
	// before the first.
	RequestHeaders map[string]string `json:"request_headers"`
	Attempts       []Attempt         `json:"attempts"`
}

// EventDetail is one emitted event with its deliveries, oldest first.
type EventDetail struct {
	Event      EventRecord `json:"event"`
	Deliveries []Delivery  `json:"deliveries"`
}

// DeliveryFilter selects deliveries for ListDeliveries. Zero fields do not
// filter.
type DeliveryFilter struct {
	WebhookID string
	// Event is the event name.
	Event   string
	EventID string
	// Status is a delivery state.
	Status string
	// Since and Until bound the creation time: Since inclusive, Until
	// exclusive.
	Since, Until time.Time
	// Cursor is the NextCursor of the previous page.
	Cursor string
	// Limit is the page size, 1 to 1000; 0 means the API's default (100).
	Limit int
}

func (f DeliveryFilter) query() string {
	q := url.Values{}
	set(q, "webhook_id", f.WebhookID)
	set(q, "event", f.Event)
	set(q, "event_id", f.EventID)
	set(q, "status", f.Status)
	setPage(q, f.Since, f.Until, f.Cursor, f.Limit)
	return encode(q)
}

// DeliveryPage is one page of deliveries, newest first.
type DeliveryPage struct {
	Items []Delivery `json:"items"`
	// NextCursor is the cursor of the next page; empty on the last.
	NextCursor string `json:"next_cursor,omitempty"`
}

// EventFilter selects events for ListEvents. Zero fields do not filter.
type EventFilter struct {
	// Event is the event name.
	Event string
	// Since and Until bound the creation time: Since inclusive, Until
	// exclusive.
	Since, Until time.Time
	// Cursor is the NextCursor of the previous page.
	Cursor string
	// Limit is the page size, 1 to 1000; 0 means the API's default (100).
	Limit int
}

func (f EventFilter) query() string {
	q := url.Values{}
	set(q, "event", f.Event)
	setPage(q, f.Since, f.Until, f.Cursor, f.Limit)
	return encode(q)
}

// EventPage is one page of events, newest first.
type EventPage struct {
	Items []EventRecord `json:"items"`
	// NextCursor is the cursor of the next page; empty on the last.
	NextCursor string `json:"next_cursor,omitempty"`
}

func set(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}

func setPage(q url.Values, since, until time.Time, cursor string, limit int) {
	if !since.IsZero() {
		q.Set("since", since.Format(time.RFC3339Nano))
	}
	if !until.IsZero() {
		q.Set("until", until.Format(time.RFC3339Nano))
	}
	set(q, "cursor", cursor)
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
}

func encode(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// The helpers below call the REST API and fail the test on any error. To
// assert a refusal (a 404, a 409), call Do and inspect its *APIError.

// ListDeliveries returns one page of the delivery log through the API.
func (s *Standin) ListDeliveries(f DeliveryFilter) DeliveryPage {
	s.tb.Helper()
	var page DeliveryPage
	s.must("list deliveries", http.MethodGet, "/standin/v1/deliveries"+f.query(), &page)
	return page
}

// GetDelivery returns a delivery with its event, its exact request and every
// attempt through the API.
func (s *Standin) GetDelivery(id string) DeliveryDetail {
	s.tb.Helper()
	var d DeliveryDetail
	s.must("get delivery "+id, http.MethodGet, "/standin/v1/deliveries/"+url.PathEscape(id), &d)
	return d
}

// Redeliver queues a manual attempt of the delivery, now and outside the
// schedule, in any state, and returns the delivery as it was. Wait for the
// attempt with AwaitAttempts.
func (s *Standin) Redeliver(id string) Delivery {
	s.tb.Helper()
	var d Delivery
	s.must("redeliver "+id, http.MethodPost, "/standin/v1/deliveries/"+url.PathEscape(id)+"/redeliver", &d)
	return d
}

// CancelDelivery cancels a pending or retrying delivery: it gets no further
// scheduled attempt. It returns the cancelled delivery.
func (s *Standin) CancelDelivery(id string) Delivery {
	s.tb.Helper()
	var d Delivery
	s.must("cancel delivery "+id, http.MethodPost, "/standin/v1/deliveries/"+url.PathEscape(id)+"/cancel", &d)
	return d
}

// ListEvents returns one page of the event log through the API.
func (s *Standin) ListEvents(f EventFilter) EventPage {
	s.tb.Helper()
	var page EventPage
	s.must("list events", http.MethodGet, "/standin/v1/events"+f.query(), &page)
	return page
}

// GetEvent returns an emitted event and its deliveries through the API.
func (s *Standin) GetEvent(id string) EventDetail {
	s.tb.Helper()
	var e EventDetail
	s.must("get event "+id, http.MethodGet, "/standin/v1/events/"+url.PathEscape(id), &e)
	return e
}

// must is Do without a request body that fails the test on error.
func (s *Standin) must(what, method, path string, out any) {
	s.tb.Helper()
	var in any
	if method != http.MethodGet {
		in = struct{}{} // the POST routes take a JSON body
	}
	if err := s.Do(context.Background(), method, path, in, out); err != nil {
		s.tb.Fatalf("testkit: %s: %v", what, err)
	}
}
