// Package export writes standin's delivery log as JSON Lines and replays
// it: one line per event, with its deliveries and every attempt's exact
// request (headers and body bytes) and response, so that "what exactly did
// standin send, and can I send it again?" has an answer (standin export,
// GET /standin/v1/export, standin replay). It also writes the per-attempt
// timeline of the schedule planned against the one that happened, as CSV
// or JSON.
package export

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/store"
)

// Store is what Write reads.
type Store interface {
	EventList(ctx context.Context, params store.EventListParams) ([]*store.Event, error)
	DeliveryList(ctx context.Context, params store.DeliveryListParams) ([]*store.Delivery, error)
	AttemptListByDelivery(ctx context.Context, deliveryID string) ([]*store.Attempt, error)
	WebhookGetByID(ctx context.Context, id string) (*store.Webhook, error)
}

// Filter selects what Write exports; empty fields do not filter.
type Filter struct {
	// Since keeps the events created at or after it.
	Since time.Time
	// WebhookID keeps the deliveries to that webhook, and the events that
	// have one.
	WebhookID string
	// Event keeps the events of that name.
	Event string
}

// Record is one line of an export: an event and its deliveries.
type Record struct {
	Event      Event      `json:"event"`
	Deliveries []Delivery `json:"deliveries"`
}

// Event is an exported event.
type Event struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	GroupID   string    `json:"group_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Delivery is an exported delivery and its attempts, oldest first.
type Delivery struct {
	ID        string `json:"id"`
	WebhookID string `json:"webhook_id"`
	Profile   string `json:"profile"`
	State     string `json:"state"`
	// Signing is the webhook's signing scheme when exported; nil when the
	// webhook was deleted. standin replay --secret re-signs with it.
	Signing    *delivery.Signing `json:"signing,omitempty"`
	CreatedAt  time.Time         `json:"created_at"`
	FinishedAt *time.Time        `json:"finished_at,omitempty"`
	// Body is the delivery's request body, the same bytes in every
	// attempt.
	Body     string    `json:"body"`
	Attempts []Attempt `json:"attempts"`
}

// Attempt is one exported request and what answered it.
type Attempt struct {
	Number    int       `json:"number"`
	Manual    bool      `json:"manual"`
	StartedAt time.Time `json:"started_at"`
	// EmulatedDelayMS is the emulated time since the delivery's first
	// attempt that the schedule planned this one for, in milliseconds.
	EmulatedDelayMS float64  `json:"emulated_delay_ms"`
	Request         Request  `json:"request"`
	Response        Response `json:"response"`
}

// Request is an HTTP request as sent: the line format standin replay
// reads, both inside an export and on its own (a raw capture, see
// ReadRequests).
type Request struct {
	Method string `json:"method"`
	// URL is where it went; a raw capture may give only a Path.
	URL  string `json:"url,omitempty"`
	Path string `json:"path,omitempty"`
	// Header holds the headers sent (a token scheme's secret is redacted
	// in an export: replay it with --secret).
	Header http.Header `json:"headers"`
	// Body is the exact body, as a JSON string; BodyBase64, when set,
	// holds bytes that are not UTF-8 instead.
	Body       string `json:"body"`
	BodyBase64 []byte `json:"body_base64,omitempty"`
	// At is when it was sent (received, in a raw capture); replay keeps
	// the spacing between requests. Optional in a raw capture.
	At *time.Time `json:"at,omitempty"`
}

// Response is a receiver's answer, as recorded.
type Response struct {
	Status      int         `json:"status"`
	Header      http.Header `json:"headers,omitempty"`
	BodyExcerpt string      `json:"body_excerpt,omitempty"`
	Error       string      `json:"error,omitempty"`
	LatencyMS   float64     `json:"latency_ms"`
	Succeeded   bool        `json:"succeeded"`
}

// page is the page size of the store reads.
const page = 1000

// Write writes the records of the events f selects, oldest first, one JSON
// document per line.
func Write(ctx context.Context, st Store, w io.Writer, f Filter) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	err := Records(ctx, st, f, func(rec *Record) error {
		if err := enc.Encode(rec); err != nil {
			return fmt.Errorf("export: write: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export: write: %w", err)
	}
	return nil
}

// Records calls fn with the record of each event f selects, oldest first.
func Records(ctx context.Context, st Store, f Filter, fn func(*Record) error) error {
	events, err := listEvents(ctx, st, f)
	if err != nil {
		return err
	}
	webhooks := map[string]*store.Webhook{}
	for _, ev := range events {
		rec, err := record(ctx, st, ev, f, webhooks)
		if err != nil {
			return err
		}
		if rec == nil {
			continue
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

// listEvents returns the events f selects, oldest first.
func listEvents(ctx context.Context, st Store, f Filter) ([]*store.Event, error) {
	var out []*store.Event
	before := ""
	for {
		evs, err := st.EventList(ctx, store.EventListParams{Name: f.Event, Since: f.Since, BeforeID: before, Limit: page})
		if err != nil {
			return nil, fmt.Errorf("export: list events: %w", err)
		}
		out = append(out, evs...)
		if len(evs) < page {
			break
		}
		before = evs[len(evs)-1].ID
	}
	slices.Reverse(out)
	return out, nil
}

// record builds the record of ev, nil when f keeps none of its deliveries.
func record(ctx context.Context, st Store, ev *store.Event, f Filter, webhooks map[string]*store.Webhook) (*Record, error) {
	var dls []*store.Delivery
	before := ""
	for {
		got, err := st.DeliveryList(ctx, store.DeliveryListParams{EventID: ev.ID, WebhookID: f.WebhookID, BeforeID: before, Limit: page})
		if err != nil {
			return nil, fmt.Errorf("export: event %s: list deliveries: %w", ev.ID, err)
		}
		dls = append(dls, got...)
		if len(got) < page {
			break
		}
		before = got[len(got)-1].ID
	}
	if len(dls) == 0 && f.WebhookID != "" {
		return nil, nil
	}
	slices.Reverse(dls)
	rec := &Record{
		Event:      Event{ID: ev.ID, Name: ev.Name, GroupID: ev.GroupID, CreatedAt: ev.CreatedAt.UTC()},
		Deliveries: make([]Delivery, 0, len(dls)),
	}
	for _, d := range dls {
		wh, ok := webhooks[d.WebhookID]
		if !ok {
			var err error
			wh, err = st.WebhookGetByID(ctx, d.WebhookID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, fmt.Errorf("export: delivery %s: webhook: %w", d.ID, err)
			}
			webhooks[d.WebhookID] = wh
		}
		attempts, err := st.AttemptListByDelivery(ctx, d.ID)
		if err != nil {
			return nil, fmt.Errorf("export: delivery %s: attempts: %w", d.ID, err)
		}
		out := Delivery{
			ID: d.ID, WebhookID: d.WebhookID, Profile: string(d.Profile.OrDefault()), State: string(d.State),
			CreatedAt: d.CreatedAt.UTC(), FinishedAt: utc(d.FinishedAt), Body: string(d.Body),
			Attempts: make([]Attempt, 0, len(attempts)),
		}
		body, body64 := bodyFields(d.Body)
		out.Body = body
		if wh != nil {
			out.Signing = &wh.Signing
		}
		for _, a := range attempts {
			at := a.StartedAt.UTC()
			out.Attempts = append(out.Attempts, Attempt{
				Number: a.Number, Manual: a.Manual, StartedAt: at,
				EmulatedDelayMS: ms(a.EmulatedDelay),
				Request: Request{
					Method: http.MethodPost, URL: a.URL, Header: a.RequestHeaders,
					Body: body, BodyBase64: body64, At: &at,
				},
				Response: Response{
					Status: a.StatusCode, Header: a.ResponseHeaders, BodyExcerpt: string(a.ResponseExcerpt),
					Error: a.Error, LatencyMS: ms(a.Latency), Succeeded: a.Succeeded,
				},
			})
		}
		rec.Deliveries = append(rec.Deliveries, out)
	}
	return rec, nil
}

// bodyFields returns b as Request.Body, or as Request.BodyBase64 when it is
// not UTF-8 (a JSON string could not carry it exactly).
func bodyFields(b []byte) (string, []byte) {
	if utf8.Valid(b) {
		return string(b), nil
	}
	return "", b
}

// Bytes returns the exact body of r.
func (r Request) Bytes() []byte {
	if r.BodyBase64 != nil {
		return r.BodyBase64
	}
	return []byte(r.Body)
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// ms is d in milliseconds, with microsecond precision.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
