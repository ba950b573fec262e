// Package worker turns stored deliveries into signed HTTP requests. It holds
// the River worker that makes one attempt per job run, the translation of a
// sender profile's emulated retry schedule into real River snoozes under a
// time scale, and the River client configuration standin runs with.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/riverqueue/river"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/batch"
)

// Store is what the worker needs from storage.
type Store interface {
	DeliveryGetManyWithWebhook(ctx context.Context, ids []string) (map[string]store.DeliveryWithWebhook, error)
	AttemptRecordMany(ctx context.Context, params []store.AttemptRecordParams) ([]*store.Attempt, error)
	DeliveryCancel(ctx context.Context, id string, at time.Time) (*store.Delivery, error)
	WebhookHealthRecord(ctx context.Context, params store.WebhookHealthParams) (*store.Webhook, error)
	WebhookUpdate(ctx context.Context, params store.WebhookUpdateParams) (*store.Webhook, error)
}

// Timeline converts between emulated and real durations. With Scale N, N
// emulated seconds pass per real second, so Fivetran's 24-hour retry schedule
// takes 24h/N of real time.
type Timeline struct {
	// Scale is emulated seconds per real second. Values below or equal to 0
	// mean 1.
	Scale float64
}

func (t Timeline) scale() float64 {
	if t.Scale <= 0 {
		return 1
	}
	return t.Scale
}

// Real returns the real duration that an emulated duration takes.
func (t Timeline) Real(emulated time.Duration) time.Duration {
	return time.Duration(math.Round(float64(emulated) / t.scale()))
}

// Emulated returns the emulated duration that passes in a real duration.
func (t Timeline) Emulated(real time.Duration) time.Duration {
	return time.Duration(math.Round(float64(real) * t.scale()))
}

// Deliverer is the River worker that makes one delivery attempt per run.
//
// A scheduled run sends the delivery and records the attempt; on failure it
// computes the next retry from the profile's schedule (a pure function of the
// retry number and the first attempt's time) and snoozes the job until then,
// or marks the delivery failed when the schedule's window has run out. A
// manual run (a redelivery) sends once outside the schedule.
type Deliverer struct {
	river.WorkerDefaults[store.DeliverArgs]

	store     Store
	reads     *batch.Batcher[string, store.DeliveryWithWebhook]
	writes    *batch.Batcher[store.AttemptRecordParams, *store.Attempt]
	sender    *delivery.Sender
	timeline  Timeline
	now       func() time.Time
	logger    *slog.Logger
	onAttempt func(deliveryID, state string)
	// inlineRetryMax is the longest retry delay waited for inside a job
	// run; 0 or less never waits (see waitInline).
	inlineRetryMax time.Duration
	// timeout bounds a job run; 0 means the sender timeout plus
	// storageMargin (see Config.RescueStuckJobsAfter).
	timeout time.Duration
	// disableAfter is the emulated time a webhook may fail every attempt
	// before it is deactivated; 0 or less never deactivates.
	disableAfter time.Duration
}

// storageMargin is the time a job run allows for storage around a request;
// a short Config.RescueStuckJobsAfter lowers it, down to minStorageMargin.
const (
	storageMargin    = 20 * time.Second
	minStorageMargin = time.Second
)

// batchMax bounds the reads or the attempt writes of concurrent job runs
// that go to the store together (see batch.Batcher).
const batchMax = 256

// newDeliverer returns a Deliverer whose store reads and attempt writes go
// in batches.
func newDeliverer(st Store) *Deliverer {
	return &Deliverer{
		store: st,
		reads: &batch.Batcher[string, store.DeliveryWithWebhook]{
			Max: batchMax, Timeout: storageMargin,
			Run: func(ctx context.Context, ids []string) ([]store.DeliveryWithWebhook, error) {
				found, err := st.DeliveryGetManyWithWebhook(ctx, ids)
				if err != nil {
					return nil, err
				}
				out := make([]store.DeliveryWithWebhook, len(ids))
				for i, id := range ids {
					out[i] = found[id] // zero when it does not exist
				}
				return out, nil
			},
		},
		writes: &batch.Batcher[store.AttemptRecordParams, *store.Attempt]{
			Max: batchMax, Timeout: storageMargin,
			Run: st.AttemptRecordMany,
		},
	}
}

// Timeout bounds a whole job run: the sender's timeout plus time for storage.
func (d *Deliverer) Timeout(*river.Job[store.DeliverArgs]) time.Duration {
	if d.timeout > 0 {
		return d.timeout
	}
	return senderTimeout(d.sender) + storageMargin
}

func senderTimeout(s *delivery.Sender) time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return 10 * time.Second
}

// Work makes one attempt.
func (d *Deliverer) Work(ctx context.Context, job *river.Job[store.DeliverArgs]) error {
	args := job.Args
	// The webhook is read with the delivery, though only needed once the
	// checks below pass: the reads of concurrent runs go in one batch.
	dw, err := d.reads.Do(ctx, args.DeliveryID)
	if err != nil {
		return err
	}
	if dw.Delivery == nil {
		return river.JobCancel(fmt.Errorf("delivery %s: %w", args.DeliveryID, store.ErrNotFound))
	}
	dl, wh := dw.Delivery, dw.Webhook
	if !args.Manual && isTerminal(dl.State) {
		return nil // finished meanwhile (manual success, cancel, duplicate job)
	}

	now := d.now().UTC()
	if !args.Manual && dl.NextAttemptAt != nil && now.Before(dl.NextAttemptAt.Add(-time.Millisecond)) {
		// Run early (rescued or duplicated job): wait for the schedule.
		return river.JobSnooze(dl.NextAttemptAt.Sub(now))
	}

	switch {
	case wh == nil:
		return d.cancel(ctx, dl, args, now, "webhook was deleted")
	case !wh.Active && !args.Manual:
		return d.cancel(ctx, dl, args, now, "webhook is inactive")
	}

	profile := dl.Profile
	if profile == "" {
		profile = delivery.ProfileFivetran
	}
	schedule := delivery.ScheduleFor(profile)

	// The retry number of this attempt: how many scheduled attempts came
	// before it. Manual attempts do not count.
	retry := dl.Attempts - dl.ManualAttempts

	first := now
	if dl.FirstAttemptAt != nil {
		first = dl.FirstAttemptAt.UTC()
	}
	var emulatedDelay time.Duration
	switch {
	case args.Manual:
		emulatedDelay = d.timeline.Emulated(now.Sub(first))
	case retry > 0:
		emulatedDelay, _ = schedule.Offset(retry)
	}

	header, err := delivery.Effective(wh.Profile, wh.Signing).Headers(wh.Secret, dl.Body, dl.ID, now)
	if err != nil {
		return river.JobCancel(fmt.Errorf("sign delivery %s: %w", dl.ID, err))
	}
	resp := d.sender.Send(ctx, delivery.Request{URL: wh.URL, Header: header, Body: dl.Body})
	if err := ctx.Err(); err != nil {
		// Cancelled by a shutdown that ran out of time: the attempt did not
		// finish, and not through the receiver's fault, so it is not
		// recorded; River runs the job again (after a restart) with the
		// same retry number.
		return fmt.Errorf("delivery %s: attempt interrupted: %w", dl.ID, err)
	}
	ok := resp.Err == nil && profile.Succeeded(resp.Status)

	attempt := store.Attempt{
		DeliveryID:      dl.ID,
		Manual:          args.Manual,
		URL:             wh.URL,
		StartedAt:       now,
		EmulatedDelay:   emulatedDelay,
		RequestHeaders:  wh.Signing.Redact(resp.RequestHeader), // a token is a secret; signatures are not
		StatusCode:      resp.Status,
		Latency:         resp.Latency,
		ResponseHeaders: resp.Header,
		ResponseExcerpt: resp.Excerpt,
		Succeeded:       ok,
	}
	switch {
	case resp.Err != nil:
		attempt.Error = resp.Err.Error()
	case !ok:
		attempt.Error = fmt.Sprintf("receiver answered HTTP %d", resp.Status)
	}
	// The webhook's run of failures is measured on the schedule: an attempt
	// counts at the real time it was due, so that under a large time scale
	// the worker's own latency (at 1e6 a millisecond is 17 emulated minutes)
	// does not count as failing time.
	due := first.Add(d.timeline.Real(emulatedDelay))
	disabled, err := d.recordHealth(ctx, wh, ok, due, attempt.Error)
	if err != nil {
		return err
	}
	if disabled != "" {
		attempt.Error += "; " + disabled
	}

	params := store.AttemptRecordParams{
		Attempt:        attempt,
		State:          dl.State,
		FirstAttemptAt: &first,
		NextAttemptAt:  dl.NextAttemptAt,
		UpdatedAt:      now,
	}
	if args.Manual {
		params.FirstAttemptAt = dl.FirstAttemptAt // a manual attempt does not start the schedule
		if ok {
			params.State = store.DeliverySucceeded
			params.NextAttemptAt = nil
		}
		if _, err := d.writes.Do(ctx, params); err != nil {
			return err
		}
		d.notify(dl.ID, params.State)
		return nil
	}

	var snooze time.Duration
	switch {
	case ok:
		params.State = store.DeliverySucceeded
		params.NextAttemptAt = nil
	case disabled != "":
		// This failure deactivated the webhook: no more retries.
		params.State = store.DeliveryCancelled
		params.NextAttemptAt = nil
	default:
		offset, within := schedule.Offset(retry + 1)
		if !within {
			params.State = store.DeliveryFailed
			params.NextAttemptAt = nil
			break
		}
		next := first.Add(d.timeline.Real(offset))
		params.State = store.DeliveryRetrying
		params.NextAttemptAt = &next
		snooze = max(next.Sub(now), 0)
	}
	if _, err := d.writes.Do(ctx, params); err != nil {
		return err
	}
	d.notify(dl.ID, params.State)
	d.logger.DebugContext(ctx, "delivery attempt",
		slog.String("delivery_id", dl.ID), slog.Int("retry", retry),
		slog.Int("status", resp.Status), slog.String("state", params.State))
	if params.State == store.DeliveryRetrying {
		if d.waitInline(ctx, snooze) {
			return d.Work(ctx, job) // the next attempt, in this run
		}
		return river.JobSnooze(snooze)
	}
	return nil
}

// waitInline waits for a retry that is due within inlineRetryMax and
// reports whether it did; the caller then makes the retry in the same job
// run instead of snoozing. River hands snoozed jobs back only when its batch
// completer flushes (every 250 ms when idle), so a shorter snooze would run
// late: under a large time scale, waiting here keeps the emulated schedule
// accurate and walks it fast. It never waits when the job's deadline could
// not also cover the next attempt's request.
func (d *Deliverer) waitInline(ctx context.Context, wait time.Duration) bool {
	if wait > d.inlineRetryMax {
		return false
	}
	// The deadline is real time, so it is compared with the real clock.
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait+senderTimeout(d.sender)+storageMargin/4 {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (d *Deliverer) cancel(ctx context.Context, dl *store.Delivery, args store.DeliverArgs, now time.Time, why string) error {
	if args.Manual || isTerminal(dl.State) {
		return river.JobCancel(errors.New(why))
	}
	if _, err := d.store.DeliveryCancel(ctx, dl.ID, now); err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	d.logger.InfoContext(ctx, "delivery cancelled", slog.String("delivery_id", dl.ID), slog.String("reason", why))
	d.notify(dl.ID, store.DeliveryCancelled)
	return nil
}

func (d *Deliverer) notify(deliveryID, state string) {
	if d.onAttempt != nil {
		d.onAttempt(deliveryID, state)
	}
}

func isTerminal(state string) bool {
	switch state {
	case store.DeliverySucceeded, store.DeliveryFailed, store.DeliveryCancelled:
		return true
	}
	return false
}
