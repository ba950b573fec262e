package testkit

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/standin-dev/standin/server/client"
	"github.com/standin-dev/standin/server/clock"
)

// ClockAdvance is what an advance of the manual clock did: the clock's
// time before and after, and the deliveries that came due, in order.
type ClockAdvance struct {
	// From and Now are the clock's time before and after the advance.
	From, Now time.Time
	// Fired lists the deliveries that came due on the way, one entry per
	// time one came due, in the order they fired.
	Fired []FiredDelivery
}

// FiredDelivery is a delivery that came due during an advance.
type FiredDelivery struct {
	// At is the clock's time when it fired: the time it was due.
	At time.Time
	// DeliveryID is the delivery's id.
	DeliveryID string
	// Event is the delivery's event name.
	Event string
}

func clockAdvanceOf(a client.ClockAdvance) ClockAdvance {
	out := ClockAdvance{From: a.From, Now: a.Now}
	for _, f := range a.Fired {
		out.Fired = append(out.Fired, FiredDelivery(f))
	}
	return out
}

// Now returns standin's clock time (GET /standin/v1/clock): with
// Config.ManualClock, the frozen time the last advance left.
func (s *Standin) Now() time.Time {
	s.tb.Helper()
	return must(s, "get clock", false, func(ctx context.Context) (*client.Response[client.Clock], error) {
		return s.api.GetClock(ctx)
	}).Now
}

// Advance moves the manual clock (Config.ManualClock) forward by d and
// returns once every delivery attempt that came due on the way has been
// made and recorded, in order of due time; it fails the test on error.
func (s *Standin) Advance(d time.Duration) ClockAdvance {
	s.tb.Helper()
	return clockAdvanceOf(must(s, "advance clock "+d.String(), true, func(ctx context.Context) (*client.Response[client.ClockAdvance], error) {
		return s.clockClient().AdvanceClock(ctx, d)
	}))
}

// AdvanceTo moves the manual clock forward to t, as Advance does.
func (s *Standin) AdvanceTo(t time.Time) ClockAdvance {
	s.tb.Helper()
	return clockAdvanceOf(must(s, "advance clock to "+t.Format(time.RFC3339Nano), true, func(ctx context.Context) (*client.Response[client.ClockAdvance], error) {
		return s.clockClient().AdvanceClockTo(ctx, t)
	}))
}

// ExportFilter selects what Export writes; zero fields do not filter.
type ExportFilter struct {
	// Since keeps the events created at or after it.
	Since time.Time
	// WebhookID keeps the deliveries to that webhook.
	WebhookID string
	// Event keeps the events of that name.
	Event string
	// Format is "jsonl" (the default), "timeline-csv" or "timeline-json".
	Format string
}

// Export writes the delivery log (GET /standin/v1/export) to w: JSON Lines
// of server/export.Record, one per event, oldest first, or with
// Format "timeline-csv" or "timeline-json" the attempt timeline. It fails
// the test on error.
func (s *Standin) Export(w io.Writer, f ExportFilter) {
	s.tb.Helper()
	if err := s.api.Export(s.tb.Context(), client.ExportFilter(f), w); err != nil {
		s.tb.Fatalf("testkit: export: %v", err)
	}
}

// clockClient is the API client with a timeout that covers an advance,
// which waits for the attempts that come due up to
// clock.DefaultSettleTimeout.
func (s *Standin) clockClient() *client.Client {
	c := *s.api
	c.HTTPClient = &http.Client{Timeout: clock.DefaultSettleTimeout + 30*time.Second}
	return &c
}
