package testkit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/standin-dev/standin/store"
)

// finalStates are the states a delivery ends in.
var finalStates = []store.DeliveryState{store.DeliverySucceeded, store.DeliveryFailed, store.DeliveryCancelled}

// AwaitAttempts waits until the delivery has at least n recorded attempts
// and returns it with its attempts. It is the wait for a redelivery: a
// delivery that already succeeded stays succeeded, so AwaitDelivery would
// return at once. Like AwaitDelivery it wakes on every attempt this
// instance records and never sleeps.
func (s *Standin) AwaitAttempts(ctx context.Context, id string, n int) (*store.Delivery, []*store.Attempt, error) {
	var (
		d        *store.Delivery
		attempts []*store.Attempt
		err      error
	)
	for {
		ch := s.waitChange()
		rctx, cancel := readContext(ctx)
		d, attempts, err = s.Delivery(rctx, id)
		cancel()
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, nil, err
		}
		if d != nil && len(attempts) >= n {
			return d, attempts, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return d, attempts, fmt.Errorf("testkit: delivery %s: waited for %d attempts, %s: %w", id, n, describe(d, attempts), ctx.Err())
		}
	}
}

// AwaitEventDeliveries waits until every delivery of the emitted event is
// in one of the given states (any final state when none is given) and
// returns them, oldest first. An event with no deliveries returns at once
// with none.
func (s *Standin) AwaitEventDeliveries(ctx context.Context, eventID string, states ...store.DeliveryState) ([]*store.Delivery, error) {
	if len(states) == 0 {
		states = finalStates
	}
	var pending []string
	for {
		ch := s.waitChange()
		rctx, cancel := readContext(ctx)
		_, err := s.Store().EventGetByID(rctx, eventID)
		var list []*store.Delivery
		if err == nil {
			list, err = s.Store().DeliveryList(rctx, store.DeliveryListParams{EventID: eventID, Limit: 100_000})
		}
		cancel()
		if err != nil {
			return nil, fmt.Errorf("testkit: event %s: %w", eventID, err)
		}
		slices.Reverse(list) // the store lists newest first
		pending = pending[:0]
		for _, d := range list {
			if !slices.Contains(states, d.State) {
				pending = append(pending, fmt.Sprintf("%s is %s after %d attempts", d.ID, d.State, d.Attempts))
			}
		}
		if len(pending) == 0 {
			return list, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return list, fmt.Errorf("testkit: event %s: waited for every delivery to be in state %v; %d of %d are not: %s: %w",
				eventID, states, len(pending), len(list), strings.Join(pending, "; "), ctx.Err())
		}
	}
}

// readTimeout bounds one store read of an Await.
const readTimeout = 10 * time.Second

// readContext is the context of an Await's store reads: not cancelled when
// the wait's own context ends, so that a timeout still reports the latest
// state, but bounded.
func readContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), readTimeout)
}

// describe says where a delivery stands, for timeout messages.
func describe(d *store.Delivery, attempts []*store.Attempt) string {
	if d == nil {
		return "it does not exist"
	}
	msg := fmt.Sprintf("it is %s after %d attempts", d.State, d.Attempts)
	if n := len(attempts); n > 0 {
		last := attempts[n-1]
		switch {
		case last.Error != "":
			msg += fmt.Sprintf(" (last: %s)", last.Error)
		default:
			msg += fmt.Sprintf(" (last: HTTP %d)", last.StatusCode)
		}
	}
	if d.NextAttemptAt != nil {
		msg += ", next attempt due " + d.NextAttemptAt.Format("15:04:05.000")
	}
	return msg
}
