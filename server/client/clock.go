package client

import (
	"context"
	"net/http"
	"time"
)

// Clock is standin's clock (GET /standin/v1/clock).
type Clock struct {
	// Kind is "manual" (standin serve --clock manual) or "real".
	Kind string `json:"kind"`
	// Now is the clock's time.
	Now time.Time `json:"now"`
	// TimeScale is emulated seconds per real second.
	TimeScale float64 `json:"time_scale"`
}

// ClockAdvance is what an advance of the manual clock did.
type ClockAdvance struct {
	// From and Now are the clock's time before and after.
	From time.Time `json:"from"`
	Now  time.Time `json:"now"`
	// Fired lists the deliveries that came due, in the order they fired.
	Fired []FiredDelivery `json:"fired"`
}

// FiredDelivery is a delivery that came due during an advance.
type FiredDelivery struct {
	// At is the clock's time when it fired: the time it was due.
	At time.Time `json:"at"`
	// DeliveryID is the delivery's id.
	DeliveryID string `json:"delivery_id"`
	// Event is the delivery's event name.
	Event string `json:"event"`
}

// GetClock returns standin's clock.
func (c *Client) GetClock(ctx context.Context) (*Response[Clock], error) {
	return call[Clock](ctx, c, http.MethodGet, "/standin/v1/clock", nil, nil)
}

// AdvanceClock moves a manual clock forward by d, firing every delivery
// attempt that comes due on the way before it returns.
func (c *Client) AdvanceClock(ctx context.Context, d time.Duration) (*Response[ClockAdvance], error) {
	return call[ClockAdvance](ctx, c, http.MethodPost, "/standin/v1/clock:advance", nil, map[string]string{"by": d.String()})
}

// AdvanceClockTo moves a manual clock forward to t (see AdvanceClock).
func (c *Client) AdvanceClockTo(ctx context.Context, t time.Time) (*Response[ClockAdvance], error) {
	return call[ClockAdvance](ctx, c, http.MethodPost, "/standin/v1/clock:advance", nil, map[string]string{"to": t.UTC().Format(time.RFC3339Nano)})
}
