package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"github.com/standin-dev/standin/store"
)

// batchDeliverer is the River worker of batch jobs (store.DeliverBatchArgs):
// the first attempts of deliveries emitted together. A run reads them in one
// statement, sends them from sends goroutines, one request at a time each,
// and records each attempt in the background with the attempts of other
// runs (the Deliverer's write batch); it ends once every recording has. A
// delivery whose first attempt fails gets a job of its own, inserted in the
// transaction that records the attempt, and follows its schedule there as
// any other delivery; one that already had its first scheduled attempt (a
// run of the batch that was interrupted, say) is left alone.
//
// A run that ends early (a shutdown, a crash, a store that fails) is run
// again by River, and sends only the deliveries that still have no
// scheduled attempt: as with a job per delivery, an attempt whose answer was
// not recorded is made again. A run starts no request that its deadline
// could cut off: when a slow receiver has used its time, it snoozes, and
// the next run sends the rest.
type batchDeliverer struct {
	river.WorkerDefaults[store.DeliverBatchArgs]
	d *Deliverer
	// sends is how many of a run's requests are in flight at once.
	sends int
}

// Timeout implements river.Worker: a run's requests go at once (up to
// sends), so a run gets what a job of one delivery gets.
func (b *batchDeliverer) Timeout(*river.Job[store.DeliverBatchArgs]) time.Duration {
	return b.d.Timeout(nil)
}

// NextRetry implements river.Worker, as Deliverer.NextRetry.
func (b *batchDeliverer) NextRetry(job *river.Job[store.DeliverBatchArgs]) time.Time {
	return time.Now().Add(retryDelay(job.Attempt))
}

// Work implements river.Worker.
func (b *batchDeliverer) Work(ctx context.Context, job *river.Job[store.DeliverBatchArgs]) error {
	d := b.d
	if kept, ok := d.unrecordedBatch.take(job.ID); ok {
		// A previous run made these attempts but could not record them:
		// record them now instead of sending them again.
		if err := b.recordKept(ctx, job, kept); err != nil {
			return err
		}
	} else if deferToOwner(job.Errors, d.token, d.now()) {
		return river.JobSnooze(ownerSnooze)
	}
	found, err := d.store.DeliveryGetManyWithWebhook(ctx, job.Args.DeliveryIDs)
	if err != nil {
		return err
	}
	var pending []store.DeliveryWithWebhook
	for _, id := range job.Args.DeliveryIDs {
		dw := found[id]
		if dw.Delivery == nil || dw.Delivery.Attempts > dw.Delivery.ManualAttempts {
			// Deleted, or its first scheduled attempt was made and recorded
			// with its own job: the schedule goes on there.
			continue
		}
		pending = append(pending, dw)
	}
	var (
		mu   sync.Mutex
		kept []*sent
		errs []error
		wg   sync.WaitGroup
		// next is the index in pending of the next delivery to send;
		// stopped says the run ran out of time for the rest (snooze, and
		// go on in the next run).
		next    atomic.Int64
		stopped atomic.Bool
		// interrupted says ctx ended before every delivery was taken.
		interrupted atomic.Bool
		// records are the recordings in flight: the run ends once they
		// have, whatever their outcome.
		records sync.WaitGroup
	)
	fail := func(s *sent, err error) {
		mu.Lock()
		defer mu.Unlock()
		if s != nil {
			kept = append(kept, s)
		}
		errs = append(errs, err)
	}
	// b.sends goroutines take the deliveries in order, each sending one at
	// a time: a few long-lived goroutines rather than one per delivery,
	// whose stacks would each grow from scratch.
	for range min(max(b.sends, 1), len(pending)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(pending) {
					return
				}
				if ctx.Err() != nil {
					interrupted.Store(true) // the run's error says so, below
					return
				}
				if i > 0 && !b.timeToSend(ctx) {
					// A slow receiver has used the run's time: the rest
					// wait for the next run rather than have their
					// requests cut off by the run's deadline.
					stopped.Store(true)
					return
				}
				b.attempt(ctx, pending[i], &records, fail)
			}
		})
	}
	wg.Wait()
	records.Wait()
	if len(kept) > 0 {
		d.unrecordedBatch.put(job.ID, kept)
		d.logger.WarnContext(ctx, "attempts made but not recorded; kept for the job's next run",
			slog.Int("attempts", len(kept)), slog.Int64("job_id", job.ID), slog.String("err", errors.Join(errs...).Error()))
		return fmt.Errorf("batch job %d: %d attempts made, %s%s for the job's next run: %w",
			job.ID, len(kept), keptMarker, d.token, errors.Join(errs...))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if interrupted.Load() {
		return fmt.Errorf("batch job %d: %w", job.ID, ctx.Err())
	}
	if stopped.Load() {
		return river.JobSnooze(0)
	}
	return nil
}

// timeToSend reports whether a request started now, with the longest
// answer the sender waits for, still leaves the run half of its time for
// storage (Deliverer.Timeout) before its deadline.
func (b *batchDeliverer) timeToSend(ctx context.Context) bool {
	deadline, ok := ctx.Deadline()
	if !ok {
		return true
	}
	send := senderTimeout(b.d.sender)
	return time.Until(deadline) >= send+(b.d.Timeout(nil)-send)/2
}

// attempt makes the first scheduled attempt of dw's delivery and records
// it in a goroutine of records, so that the sending goroutine goes on to the
// next delivery while the attempt waits for its write batch: the write
// batch's round trip and commit then overlap the next requests. (Under a
// manual clock the recording is made before the delivery leaves the
// in-flight set; see inflight.) fail gets an attempt that was made but
// could not be recorded, or nil, with the error.
func (b *batchDeliverer) attempt(ctx context.Context, dw store.DeliveryWithWebhook, records *sync.WaitGroup, fail func(*sent, error)) {
	d := b.d
	if d.manualClock {
		if !d.inflight.add(dw.Delivery.ID) {
			return // a job of the delivery's own is making the attempt
		}
		defer d.inflight.remove(dw.Delivery.ID)
	}
	s, err := b.send(ctx, dw)
	switch {
	case err != nil:
		fail(nil, err)
	case s == nil:
	case d.manualClock:
		if err := b.record(ctx, s); err != nil {
			fail(s, err)
		}
	default:
		records.Go(func() {
			if err := b.record(ctx, s); err != nil {
				fail(s, err)
			}
		})
	}
}

// send makes the first scheduled attempt of dw's delivery and returns it,
// or nil when none was due (the delivery finished, or its webhook is gone
// or inactive: then it is cancelled).
func (b *batchDeliverer) send(ctx context.Context, dw store.DeliveryWithWebhook) (*sent, error) {
	d := b.d
	dl, wh := dw.Delivery, dw.Webhook
	now := d.now().UTC()
	st := decideStart(dl, wh, false, now)
	if st.action == actWait {
		// Due a little later than this process's clock says (another
		// process emitted it, with a clock ahead of this one's): wait for
		// it when that is short, or hand it to a job of its own.
		if !d.waitInline(ctx, st.wait) {
			if d.manualClock {
				return nil, nil // enqueued again when the clock reaches it
			}
			return nil, d.store.DeliveryEnqueue(ctx, store.DeliverArgs{DeliveryID: dl.ID})
		}
		now = d.now().UTC()
		st = decideStart(dl, wh, false, now)
	}
	switch st.action {
	case actSkip, actCancelJob, actWait:
		return nil, nil
	case actCancelDelivery:
		return nil, d.cancel(ctx, dl, now, st.why)
	}
	s, err := d.send(ctx, dl, wh, false, now)
	if errors.Is(err, errSign) {
		// Never sendable: as a job of its own would be, it is left pending.
		d.logger.ErrorContext(ctx, "delivery not sent", slog.String("delivery_id", dl.ID), slog.String("err", err.Error()))
		return nil, nil
	}
	return s, err
}

// record records attempt s, handing the delivery's schedule to a job of its
// own when it is left retrying.
func (b *batchDeliverer) record(ctx context.Context, s *sent) error {
	if _, err := b.d.record(ctx, s, true); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delivery %s: record attempt: %w", s.dl.ID, err)
	}
	return nil // recorded, or deleted meanwhile: nothing to record it on
}

// recordKept records the attempts a previous run of job made but could not
// record. When it fails again it keeps them for the next run.
func (b *batchDeliverer) recordKept(ctx context.Context, job *river.Job[store.DeliverBatchArgs], kept []*sent) error {
	d := b.d
	var (
		mu    sync.Mutex
		again []*sent
		errs  []error
		wg    sync.WaitGroup
	)
	for _, s := range kept {
		wg.Go(func() {
			err := b.record(ctx, s)
			if err == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			again, errs = append(again, s), append(errs, err)
		})
	}
	wg.Wait()
	if len(again) == 0 {
		return nil
	}
	d.unrecordedBatch.put(job.ID, again)
	return fmt.Errorf("batch job %d: %d attempts made, %s%s for the job's next run: %w",
		job.ID, len(again), keptMarker, d.token, errors.Join(errs...))
}
