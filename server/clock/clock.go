// Package clock is standin's manual clock: time that stands still until it
// is told to move, and the Stepper that moves it through every delivery
// attempt that comes due on the way, in order, so that a test reads "emit,
// advance 6m, assert the first retry" and gets the same timeline, to the
// millisecond, on every run and on both backends.
//
// With a manual clock, River does not keep time: a delivery job that runs
// before its delivery is due, or leaves it retrying, ends (see
// worker.Config.ManualClock), and the Stepper enqueues a job again for each
// delivery that comes due as it moves the clock, then waits until the
// workers have dealt with it before it moves on.
package clock

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/standin-dev/standin/store"
)

// Precision is the resolution of a manual clock: its start is truncated to
// it, so that every time it yields is exact in both backends' storage.
const Precision = time.Millisecond

// Manual is a clock that moves only when told. Its methods are safe for
// concurrent use.
type Manual struct {
	mu  sync.RWMutex
	now time.Time
}

// NewManual returns a manual clock standing at start (in UTC, truncated to
// Precision).
func NewManual(start time.Time) *Manual {
	return &Manual{now: start.UTC().Truncate(Precision)}
}

// Now returns the clock's time.
func (m *Manual) Now() time.Time {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.now
}

// set moves the clock to t; it never moves back.
func (m *Manual) set(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.After(m.now) {
		m.now = t
	}
}

// Store is what the Stepper needs from storage.
type Store interface {
	DeliveryList(ctx context.Context, params store.DeliveryListParams) ([]*store.Delivery, error)
	DeliveryGetManyWithWebhook(ctx context.Context, ids []string) (map[string]store.DeliveryWithWebhook, error)
	DeliveryEnqueue(ctx context.Context, args store.DeliverArgs) error
}

// ErrBackwards is the error of an advance to a time before the clock's.
var ErrBackwards = errors.New("a manual clock does not go back")

// DefaultSettleTimeout bounds how long one advance waits for the workers to
// deal with the deliveries that came due.
const DefaultSettleTimeout = time.Minute

// pollInterval is how often the Stepper reads the store while it waits for
// the workers.
const pollInterval = 2 * time.Millisecond

// Stepper moves a Manual clock through the deliveries that come due. Its
// methods are safe for concurrent use; advances run one at a time.
type Stepper struct {
	// Clock is the clock moved. Required.
	Clock *Manual
	// Store holds the deliveries. Required.
	Store Store
	// SettleTimeout bounds the wait for the workers in one advance.
	// Defaults to DefaultSettleTimeout.
	SettleTimeout time.Duration

	mu sync.Mutex
}

// Advance is what an advance did.
type Advance struct {
	// From and To are the clock's time before and after.
	From, To time.Time
	// Fired lists the deliveries that came due on the way, one entry per
	// time one came due (a delivery retried twice is listed twice), in
	// the order they fired.
	Fired []Fired
}

// Fired is a delivery that came due during an advance.
type Fired struct {
	// At is the clock's time when it fired: the time it was due.
	At         time.Time
	DeliveryID string
	EventName  string
}

// AdvanceBy moves the clock forward by d from where it stands when the
// advance starts (after any advance in progress); see AdvanceTo.
func (s *Stepper) AdvanceBy(ctx context.Context, d time.Duration) (*Advance, error) {
	if d < 0 {
		return nil, fmt.Errorf("advance by %v: %w", d, ErrBackwards)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.advanceTo(ctx, s.Clock.Now().Add(d))
}

// AdvanceTo moves the clock to t, stopping at each time a delivery comes
// due on the way: there it enqueues a job for every delivery due and waits
// until the workers have made the attempt (the delivery left retrying with
// a later next attempt, or finished), then moves on. It first does the same
// for the deliveries already due (an event just emitted), so an advance
// never overtakes work the clock's present owes. It returns once the clock
// stands at t and nothing is due; on error the clock stays at the last time
// it reached.
func (s *Stepper) AdvanceTo(ctx context.Context, t time.Time) (*Advance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.advanceTo(ctx, t)
}

// advanceTo is AdvanceTo with s.mu held.
func (s *Stepper) advanceTo(ctx context.Context, t time.Time) (*Advance, error) {
	t = t.UTC()
	adv := &Advance{From: s.Clock.Now()}
	if t.Before(adv.From) {
		return nil, fmt.Errorf("advance to %s from %s: %w", t.Format(time.RFC3339Nano), adv.From.Format(time.RFC3339Nano), ErrBackwards)
	}
	ctx, cancel := context.WithTimeout(ctx, cmpOr(s.SettleTimeout, DefaultSettleTimeout))
	defer cancel()
	for {
		now := s.Clock.Now()
		due, next, err := s.scan(ctx, now)
		if err != nil {
			return adv, err
		}
		if len(due) > 0 {
			for _, d := range due {
				adv.Fired = append(adv.Fired, Fired{At: now, DeliveryID: d.ID, EventName: d.EventName})
			}
			if err := s.fire(ctx, now, due); err != nil {
				return adv, err
			}
			continue
		}
		if next.IsZero() || next.After(t) {
			s.Clock.set(t)
			adv.To = s.Clock.Now()
			return adv, nil
		}
		s.Clock.set(next)
	}
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// scanPage is the page size of the scan of live deliveries.
const scanPage = 1000

// scan returns the live deliveries due at now, oldest due first, and the
// earliest due time after now (zero when none).
func (s *Stepper) scan(ctx context.Context, now time.Time) ([]*store.Delivery, time.Time, error) {
	var (
		due  []*store.Delivery
		next time.Time
	)
	for _, state := range []store.DeliveryState{store.DeliveryPending, store.DeliveryRetrying} {
		before := ""
		for {
			page, err := s.Store.DeliveryList(ctx, store.DeliveryListParams{State: state, BeforeID: before, Limit: scanPage})
			if err != nil {
				return nil, time.Time{}, fmt.Errorf("clock: list %s deliveries: %w", state, err)
			}
			for _, d := range page {
				if d.NextAttemptAt == nil {
					continue
				}
				at := d.NextAttemptAt.UTC()
				if !at.After(now) {
					due = append(due, d)
				} else if next.IsZero() || at.Before(next) {
					next = at
				}
			}
			if len(page) < scanPage {
				break
			}
			before = page[len(page)-1].ID
		}
	}
	slices.SortStableFunc(due, func(a, b *store.Delivery) int {
		if c := a.NextAttemptAt.Compare(*b.NextAttemptAt); c != 0 {
			return c
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
	return due, next, nil
}

// fire enqueues a job for each delivery due and waits until every one has
// been dealt with: finished, or left with a next attempt after now.
func (s *Stepper) fire(ctx context.Context, now time.Time, due []*store.Delivery) error {
	ids := make([]string, len(due))
	for i, d := range due {
		ids[i] = d.ID
		if err := s.Store.DeliveryEnqueue(ctx, store.DeliverArgs{DeliveryID: d.ID}); err != nil {
			return fmt.Errorf("clock: %w", err)
		}
	}
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		found, err := s.Store.DeliveryGetManyWithWebhook(ctx, ids)
		if err != nil {
			return fmt.Errorf("clock: wait for due deliveries: %w", err)
		}
		ids = slices.DeleteFunc(ids, func(id string) bool {
			dw, ok := found[id]
			return !ok || settled(dw.Delivery, now)
		})
		if len(ids) == 0 {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("clock: %d deliveries due at %s still not attempted (first %s): %w",
				len(ids), now.Format(time.RFC3339Nano), ids[0], context.Cause(ctx))
		}
	}
}

// settled reports whether delivery d needs nothing more at now.
func settled(d *store.Delivery, now time.Time) bool {
	return d.State.Terminal() || d.NextAttemptAt == nil || d.NextAttemptAt.After(now)
}

// ParseDuration parses an advance: a Go duration ("6m", "24h", "1h30m") or
// whole days before one ("3d", "1d12h"). Negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil {
			return 0, fmt.Errorf("duration %q: want a Go duration such as 6m or 24h, or whole days such as 3d", s)
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("duration %q: want a Go duration such as 6m or 24h, or whole days such as 3d, not negative", s)
	}
	return days + d, nil
}
