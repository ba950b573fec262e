// Package worker turns stored deliveries into signed HTTP requests. It holds
// the River workers (one that makes one attempt of one delivery per job run,
// one that makes the first attempts of deliveries emitted together:
// batch.go), the translation of a sender profile's emulated retry schedule
// into real River snoozes under a time scale, and the River client
// configuration standin runs with.
//
// A job run's decisions are pure functions (decide.go): what to do before
// the request (send, skip, wait, cancel) and what becomes of the delivery
// after it (the attempt record, the next state, the next due time). Work
// does the I/O around them; an attempt that was made is recorded, with
// retries, and never made again because recording it failed (record.go).
package worker

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/cenkalti/backoff/v4"
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
	DeliveryEnqueue(ctx context.Context, args store.DeliverArgs) error
	WebhookHealthRecord(ctx context.Context, params store.WebhookHealthParams) (*store.Webhook, error)
	WebhookUpdate(ctx context.Context, params store.WebhookUpdateParams) (*store.Webhook, error)
}

// Deliverer is the River worker that makes one delivery attempt per run.
//
// A scheduled run sends the delivery and records the attempt; on failure it
// computes the next retry from the profile's schedule (a pure function of the
// retry number and the first attempt's time) and snoozes the job until then,
// or marks the delivery failed when the schedule's window has run out. A
// manual run (a redelivery) sends once outside the schedule.
//
// When the store fails after a request was sent, the run retries the
// recording until its deadline and then keeps the outcome for the job's
// next run, which records it instead of sending again; a manual job whose
// attempt was recorded is not sent again when River runs it again (it could
// not mark the job completed). Both memories are this process's: after a
// crash the delivery is sent again, as at-least-once delivery allows.
type Deliverer struct {
	river.WorkerDefaults[store.DeliverArgs]

	store     Store
	reads     *batch.Batcher[string, store.DeliveryWithWebhook]
	writes    *batch.Batcher[store.AttemptRecordParams, *store.Attempt]
	sender    *delivery.Sender
	timeline  delivery.Timeline
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
	// unrecorded holds the attempts of job runs that could not record
	// them, by job id, for the job's next run; recorded, the ids of manual
	// jobs whose attempt was recorded (see Work).
	unrecorded memo[*sent]
	recorded   memo[struct{}]
	// unrecordedBatch is unrecorded for batch jobs (batchDeliverer).
	unrecordedBatch memo[[]*sent]
	// recordBackOff returns the backoff between tries to record an
	// attempt; nil means recordBackOffDefault.
	recordBackOff func() backoff.BackOff
	// token names this worker in the error of a run that keeps its
	// attempt, so that other processes leave the job to it (deferToOwner).
	token string
	// manualClock ends runs instead of snoozing them, and makes concurrent
	// scheduled runs of one delivery one (see Config.ManualClock and
	// manual.go).
	manualClock bool
	inflight    inflight
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
		token: rand.Text()[:16],
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
	return delivery.DefaultTimeout
}

// Work makes one attempt: it decides what the run does (decideStart), sends
// the request, decides what becomes of the delivery (decideOutcome) and
// records it (finish). An attempt made is never made again because its
// recording failed: finish retries the recording, and keeps the outcome for
// the job's next run when it has to give up.
func (d *Deliverer) Work(ctx context.Context, job *river.Job[store.DeliverArgs]) error {
	args := job.Args
	if s, ok := d.unrecorded.take(job.ID); ok {
		// A previous run of this job made the attempt but could not record
		// it: record it now instead of sending again.
		return d.finish(ctx, job, s)
	}
	if deferToOwner(job.Errors, d.token, d.now()) {
		// Another process keeps this job's attempt: leave the job to it.
		return river.JobSnooze(ownerSnooze)
	}
	if args.Manual && job.Attempt > 1 && d.recorded.has(job.ID) {
		// A previous run recorded this manual attempt but River could not
		// mark the job completed.
		return nil
	}
	if d.manualClock && !args.Manual {
		if !d.inflight.add(args.DeliveryID) {
			return nil // another run of this delivery is making its attempt
		}
		defer d.inflight.remove(args.DeliveryID)
	}
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
	now := d.now().UTC()
	switch st := decideStart(dl, wh, args.Manual, now); st.action {
	case actSkip:
		return nil
	case actWait:
		if d.manualClock {
			return nil // enqueued again when the clock reaches it
		}
		return river.JobSnooze(st.wait)
	case actCancelJob:
		return river.JobCancel(errors.New(st.why))
	case actCancelDelivery:
		return d.cancel(ctx, dl, now, st.why)
	}

	s, err := d.send(ctx, dl, wh, args.Manual, now)
	if errors.Is(err, errSign) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	return d.finish(ctx, job, s)
}

// errSign marks the error of a request that could not be signed: the
// attempt cannot be made, now or later.
var errSign = errors.New("cannot sign the request")

// send makes the attempt of delivery dl to webhook wh at now, with the
// faults planned for it, and returns it to be recorded. An error means no
// attempt was made: the request could not be signed (errSign), or ctx
// ended before its answer.
func (d *Deliverer) send(ctx context.Context, dl *store.Delivery, wh *store.Webhook, manual bool, now time.Time) (*sent, error) {
	plan := planAttempt(dl, manual, now, d.timeline)
	req, err := faultyRequest(dl, wh, plan.faults, now)
	if err != nil {
		return nil, fmt.Errorf("delivery %s: %w: %w", dl.ID, errSign, err)
	}
	if wait := plan.faults.Wait(); wait > 0 && !sleep(ctx, wait) {
		return nil, fmt.Errorf("delivery %s: attempt interrupted during its fault's wait: %w", dl.ID, ctx.Err())
	}
	resp := d.sender.Send(ctx, req)
	for range plan.faults.Duplicates {
		// The duplicate fault: the same request again, byte for byte; its
		// answer does not change the attempt's outcome.
		d.sender.Send(ctx, req)
	}
	if err := ctx.Err(); err != nil {
		// Cancelled by a shutdown that ran out of time: the attempt did not
		// finish, and not through the receiver's fault, so it is not
		// recorded; River runs the job again (after a restart) with the
		// same retry number.
		return nil, fmt.Errorf("delivery %s: attempt interrupted: %w", dl.ID, err)
	}
	return &sent{dl: dl, wh: wh, manual: manual, plan: plan, resp: resp, at: now}, nil
}

// faultyRequest is the request of delivery dl to webhook wh at now, with
// the faults f that change it: a body with an unknown field, a signature
// made with a wrong secret.
func faultyRequest(dl *store.Delivery, wh *store.Webhook, f delivery.FaultDecision, now time.Time) (delivery.Request, error) {
	body := dl.Body
	if f.ExtraFields {
		body = delivery.WithUnknownField(body)
	}
	sg := delivery.Effective(wh.Profile, wh.Signing)
	var (
		header http.Header
		err    error
	)
	if f.BadSignature {
		previous := ""
		if wh.Rotation != nil {
			previous = wh.Rotation.PreviousSecret
		}
		header, err = sg.Headers(f.BadSecret(wh.Secret, previous), body, dl.ID, now)
	} else {
		header, err = sg.HeadersRotating(wh.Rotation, wh.Secret, body, dl.ID, now)
	}
	if err != nil {
		return delivery.Request{}, err
	}
	return delivery.Request{URL: wh.URL, Header: header, Body: body}, nil
}

// sleep waits for d or until ctx is done, and reports whether it waited.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// sent is an attempt made and not yet recorded.
type sent struct {
	dl     *store.Delivery
	wh     *store.Webhook
	manual bool
	plan   attemptPlan
	resp   delivery.Response
	at     time.Time
	// healthDone is set once the webhook's health is recorded, with
	// deactivated the reason the attempt deactivated it ("" when it did
	// not), so that retrying the recording does not record it again.
	healthDone  bool
	deactivated string
}

// finish records attempt s, retrying while the store fails (see
// recordRetry), and continues the job: a snooze until the next scheduled
// attempt, or that attempt in this run when it is due soon. When the store
// keeps failing until the run's deadline, s is kept for the job's next run
// (River retries it within seconds, see NextRetry), which records it
// without sending again; the run's error names this worker so that other
// processes leave the job to it for a while (deferToOwner).
func (d *Deliverer) finish(ctx context.Context, job *river.Job[store.DeliverArgs], s *sent) error {
	out, err := d.record(ctx, s, false)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			// The delivery is gone: nothing to record it on; the job's
			// next run finds it gone and cancels the job.
			return fmt.Errorf("delivery %s: record attempt: %w", s.dl.ID, err)
		}
		d.unrecorded.put(job.ID, s)
		d.logger.WarnContext(ctx, "attempt made but not recorded; kept for the job's next run",
			slog.String("delivery_id", s.dl.ID), slog.Int64("job_id", job.ID), slog.String("err", err.Error()))
		return fmt.Errorf("delivery %s: attempt made, %s%s for the job's next run: %w", s.dl.ID, keptMarker, d.token, err)
	}
	state := out.record.State
	if s.manual {
		d.recorded.add(job.ID)
	}
	if s.manual || state != store.DeliveryRetrying || d.manualClock {
		return nil
	}
	wait := max(out.record.NextAttemptAt.Sub(d.now()), 0)
	if d.waitInline(ctx, wait) {
		return d.Work(ctx, job) // the next attempt, in this run
	}
	return river.JobSnooze(wait)
}

// record records attempt s, retrying while the store fails (see
// recordRetry), then logs its line and tells OnAttempt. handOver says the
// attempt was made by a batch job, which does not carry the delivery's
// schedule on: a delivery left retrying then gets a job of its own in the
// same transaction (store.AttemptRecordParams.RetryJobAt), unless a manual
// clock enqueues it when it comes due.
func (d *Deliverer) record(ctx context.Context, s *sent, handOver bool) (outcome, error) {
	var out outcome
	err := d.recordRetry(ctx, func(ctx context.Context) error {
		if !s.healthDone && !countsForHealth(s.plan, s.resp.OK(s.plan.profile)) {
			s.healthDone = true // a failure a fault may have caused is not the receiver's
		}
		if !s.healthDone {
			reason, err := d.recordHealth(ctx, s.wh, s.resp.OK(s.plan.profile), s.plan.due, failure(s.resp, s.plan.profile))
			if err != nil {
				return fmt.Errorf("record webhook health: %w", err)
			}
			s.healthDone, s.deactivated = true, reason
		}
		out = decideOutcome(s.dl, s.wh, s.manual, s.plan, s.resp, s.at, s.deactivated, d.timeline)
		if handOver && out.record.State == store.DeliveryRetrying && !d.manualClock {
			// The job starts up to inlineRetryMax early, as a snoozed one
			// would, and waits the rest inline (waitInline).
			var at time.Time // now
			if early := out.record.NextAttemptAt.Add(-max(d.inlineRetryMax, 0)); early.After(d.now()) {
				at = early
			}
			out.record.RetryJobAt = &at
		}
		if _, err := d.writes.Do(ctx, out.record); err != nil {
			return fmt.Errorf("record attempt: %w", err)
		}
		return nil
	})
	if err != nil {
		return out, err
	}
	// The line is logged before OnAttempt is called, so that whoever is
	// told of the attempt finds its line already written.
	d.logger.LogAttrs(ctx, slog.LevelInfo, AttemptLogMessage,
		attemptLogAttrs(s.dl, s.dl.Attempts+1, s.plan, out, s.at, d.timeline)...)
	d.notify(s.dl.ID, out.record.State)
	return out, nil
}

// NextRetry implements river.Worker: a run that failed is retried
// retryDelay after it ended. (RetryPolicy counts from the run's start, which
// a run that waited out a failing store has left behind, and River then
// falls back to its own, slower policy.) River schedules in real time, so
// this is the real clock.
func (d *Deliverer) NextRetry(job *river.Job[store.DeliverArgs]) time.Time {
	return time.Now().Add(retryDelay(job.Attempt))
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
	return sleep(ctx, wait)
}

func (d *Deliverer) cancel(ctx context.Context, dl *store.Delivery, now time.Time, why string) error {
	if _, err := d.store.DeliveryCancel(ctx, dl.ID, now); err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	d.logger.InfoContext(ctx, "delivery cancelled", slog.String("delivery_id", dl.ID), slog.String("reason", why))
	d.notify(dl.ID, store.DeliveryCancelled)
	return nil
}

func (d *Deliverer) notify(deliveryID string, state store.DeliveryState) {
	if d.onAttempt != nil {
		d.onAttempt(deliveryID, string(state))
	}
}
