package testkit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/standin-dev/standin/delivery"
)

// AwaitTimeout is how long an Await method waits when its ctx has no
// deadline (t.Context() has none).
const AwaitTimeout = time.Minute

// finalStates are the states a delivery ends in.
var finalStates = []delivery.DeliveryState{StateSucceeded, StateFailed, StateCancelled}

// AwaitDelivery waits until the delivery is in one of the given states (any
// final state when none is given: succeeded, failed, cancelled) and returns
// it with its attempts, oldest first. A delivery that does not exist yet is
// waited for. When ctx ends first it fails the test, saying where the
// delivery stands (its state, its last attempt, its next due time). It
// wakes on every attempt this instance records; it never sleeps.
func (s *Standin) AwaitDelivery(ctx context.Context, id string, states ...delivery.DeliveryState) (Delivery, []Attempt) {
	s.tb.Helper()
	if len(states) == 0 {
		states = finalStates
	}
	d := s.awaitDelivery(ctx, id, fmt.Sprintf("waited for state %v", states), func(d *DeliveryDetail) bool {
		return slices.Contains(states, d.Delivery.State)
	})
	return d.Delivery, d.Attempts
}

// AwaitAttempts waits until the delivery has at least n recorded attempts
// and returns it with its attempts, oldest first; when ctx ends first it
// fails the test. It is the wait for a redelivery: a delivery that already
// succeeded stays succeeded, so AwaitDelivery would return at once.
func (s *Standin) AwaitAttempts(ctx context.Context, id string, n int) (Delivery, []Attempt) {
	s.tb.Helper()
	d := s.awaitDelivery(ctx, id, fmt.Sprintf("waited for %d attempts", n), func(d *DeliveryDetail) bool {
		return len(d.Attempts) >= n
	})
	return d.Delivery, d.Attempts
}

// AwaitEventDeliveries waits until every delivery of the emitted event is
// in one of the given states (any final state when none is given) and
// returns them, oldest first; when ctx ends first it fails the test, naming
// the deliveries still short of those states. An event with no deliveries
// returns at once with none; an unknown event fails the test at once.
func (s *Standin) AwaitEventDeliveries(ctx context.Context, eventID string, states ...delivery.DeliveryState) []Delivery {
	s.tb.Helper()
	if len(states) == 0 {
		states = finalStates
	}
	ctx, cancel := awaitContext(ctx)
	defer cancel()
	var pending []string
	for {
		ch := s.waitChange()
		rctx, rcancel := readContext(ctx)
		resp, err := s.api.GetEvent(rctx, eventID)
		rcancel()
		if err != nil {
			s.tb.Fatalf("testkit: event %s: %v", eventID, apiError(err))
			return nil // a TB whose Fatalf returns
		}
		list := deliveriesOf(resp.Data.Deliveries)
		pending = pending[:0]
		for _, d := range list {
			if !slices.Contains(states, d.State) {
				pending = append(pending, fmt.Sprintf("%s is %s after %d attempts", d.ID, d.State, d.Attempts))
			}
		}
		if len(pending) == 0 {
			return list
		}
		select {
		case <-ch:
		case <-ctx.Done():
			s.tb.Fatalf("testkit: event %s: waited for every delivery to be in state %v; %d of %d are not: %s: %v",
				eventID, states, len(pending), len(list), strings.Join(pending, "; "), ctx.Err())
			return list
		}
	}
}

// awaitDelivery reads the delivery through the API on every change until
// done holds, and fails the test when ctx ends first.
func (s *Standin) awaitDelivery(ctx context.Context, id, what string, done func(*DeliveryDetail) bool) DeliveryDetail {
	s.tb.Helper()
	ctx, cancel := awaitContext(ctx)
	defer cancel()
	for {
		ch := s.waitChange()
		d, err := s.readDelivery(ctx, id)
		if err != nil {
			s.tb.Fatalf("testkit: delivery %s: %v", id, err)
			return DeliveryDetail{} // a TB whose Fatalf returns
		}
		if d != nil && done(d) {
			return *d
		}
		select {
		case <-ch:
		case <-ctx.Done():
			s.tb.Fatalf("testkit: delivery %s: %s, %s: %v", id, what, describe(d), ctx.Err())
			if d == nil {
				return DeliveryDetail{}
			}
			return *d
		}
	}
}

// readDelivery reads a delivery with its attempts; nil when it does not
// exist (yet).
func (s *Standin) readDelivery(ctx context.Context, id string) (*DeliveryDetail, error) {
	rctx, cancel := readContext(ctx)
	defer cancel()
	resp, err := s.api.GetDelivery(rctx, id)
	if err != nil {
		var apiErr *APIError
		if err = apiError(err); errors.As(err, &apiErr) && apiErr.NotFound() {
			return nil, nil
		}
		return nil, err
	}
	d := deliveryDetailOf(resp.Data)
	return &d, nil
}

// awaitContext bounds a wait by AwaitTimeout when ctx has no deadline.
func awaitContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, AwaitTimeout)
}

// readTimeout bounds one read of an Await.
const readTimeout = 10 * time.Second

// readContext is the context of an Await's reads: not cancelled when the
// wait's own context ends, so that a timeout still reports the latest
// state, but bounded.
func readContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), readTimeout)
}

// describe says where a delivery stands, for timeout messages.
func describe(d *DeliveryDetail) string {
	if d == nil {
		return "it does not exist"
	}
	msg := fmt.Sprintf("it is %s after %d attempts", d.Delivery.State, d.Delivery.Attempts)
	if n := len(d.Attempts); n > 0 {
		last := d.Attempts[n-1]
		switch {
		case last.Error != "":
			msg += fmt.Sprintf(" (last: %s)", last.Error)
		default:
			msg += fmt.Sprintf(" (last: HTTP %d)", last.Status)
		}
	}
	if d.Delivery.NextAttemptAt != nil {
		msg += ", next attempt due " + d.Delivery.NextAttemptAt.Format("15:04:05.000")
	}
	return msg
}
