package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/store"
)

// emitMany creates n events of one delivery each in one call, as the API
// writes concurrent emits, so that their deliveries share a batch job.
func (h *harness) emitMany(t *testing.T, prefix string, n int) []*store.Delivery {
	t.Helper()
	var params []store.EventCreateParams
	for i := range n {
		id := fmt.Sprintf("%s_%d", prefix, i)
		params = append(params, store.EventCreateParams{
			Event: store.Event{ID: id, Name: "sync_end", GroupID: "group_1", Source: json.RawMessage(`{}`), CreatedAt: time.Now()},
			Deliveries: []store.DeliveryNew{{
				ID: id + "_d", WebhookID: h.wh.ID, Profile: delivery.ProfileFivetran,
				Body: []byte(`{"event":"sync_end","id":"` + id + `"}`),
			}},
		})
	}
	ds, err := h.st.EventCreateMany(t.Context(), params)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// bodyCounts returns how many requests the receiver got per body.
func (r *receiver) bodyCounts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, b := range r.bodies {
		out[string(b)]++
	}
	return out
}

// TestBatchJob runs the first attempts of five deliveries emitted together
// in a real River client on each backend: they share one batch job; each is
// sent once, signed; the one the receiver fails gets a job of its own and
// its retry at the schedule's time (6 emulated minutes, 100 ms at 3600).
func TestBatchJob(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, b.open(t), Config{TimeScale: 3600}, 200)
			var failedOnce sync.Once
			h.recv.status = func(body []byte) (int, bool) {
				if !bytes.Contains(body, []byte(`"ev_2"`)) {
					return 0, false
				}
				status, first := 200, false
				failedOnce.Do(func() { first = true })
				if first {
					status = 503
				}
				return status, true
			}
			ds := h.emitMany(t, "ev", 5)
			jobs := h.jobs(t)
			if len(jobs) != 1 || jobs[0].Kind != (store.DeliverBatchArgs{}).Kind() || jobs[0].Queue != store.QueueBatch {
				t.Fatalf("jobs after the emit: %v, want one batch job", jobKinds(jobs))
			}
			h.start(t)
			counts := map[store.DeliveryState]int{}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			for range 6 {
				select {
				case st := <-h.states:
					counts[st]++
				case <-ctx.Done():
					t.Fatalf("attempts recorded: %v, want 6: %v", counts, ctx.Err())
				}
			}
			if counts[store.DeliverySucceeded] != 5 || counts[store.DeliveryRetrying] != 1 {
				t.Fatalf("attempt outcomes %v, want 5 succeeded, 1 retrying", counts)
			}

			bodies := h.recv.bodyCounts()
			for i, dl := range ds {
				want := 1
				if i == 2 {
					want = 2
				}
				if bodies[string(dl.Body)] != want {
					t.Errorf("delivery %d: receiver got its body %d times, want %d", i, bodies[string(dl.Body)], want)
				}
				as := h.attempts(t, dl.ID)
				if len(as) != want {
					t.Fatalf("delivery %d: %d attempts, want %d", i, len(as), want)
				}
				if sig := as[0].RequestHeaders.Get("X-Fivetran-Signature-256"); !delivery.VerifyFivetran(h.wh.Secret, dl.Body, sig) {
					t.Errorf("delivery %d: signature %q does not verify", i, sig)
				}
			}
			as := h.attempts(t, ds[2].ID)
			if as[0].StatusCode != 503 || as[1].StatusCode != 200 || as[1].EmulatedDelay != 6*time.Minute {
				t.Fatalf("failed delivery's attempts %+v, want 503 then 200 at 6m", as)
			}
			if gap := as[1].StartedAt.Sub(as[0].StartedAt); gap < 99*time.Millisecond {
				t.Errorf("retry %v after the first attempt, want 100ms (6 emulated minutes at 3600)", gap)
			}
			if own := h.ownJobs(t); len(own) != 1 || own[0] != ds[2].ID {
				t.Errorf("jobs of their own: %v, want one, for the delivery that failed (%s)", own, ds[2].ID)
			}
		})
	}
}

// jobs lists the River jobs in the harness's database, oldest first.
func (h *harness) jobs(t *testing.T) []*rivertype.JobRow {
	t.Helper()
	q, err := h.st.Queue(&river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	lister, ok := q.(interface {
		JobList(context.Context, *river.JobListParams) (*river.JobListResult, error)
	})
	if !ok {
		t.Fatalf("queue %T cannot list jobs", q)
	}
	res, err := lister.JobList(t.Context(), river.NewJobListParams().First(1000))
	if err != nil {
		t.Fatal(err)
	}
	return res.Jobs
}

// ownJobs returns the delivery ids of the jobs of single deliveries
// (store.DeliverArgs) in the harness's database, oldest first.
func (h *harness) ownJobs(t *testing.T) []string {
	t.Helper()
	var ids []string
	for _, j := range h.jobs(t) {
		if j.Kind == (store.DeliverArgs{}).Kind() {
			var args store.DeliverArgs
			if err := json.Unmarshal(j.EncodedArgs, &args); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, args.DeliveryID)
		}
	}
	return ids
}

func jobKinds(jobs []*rivertype.JobRow) string {
	var kinds []string
	for _, j := range jobs {
		kinds = append(kinds, j.Kind+"@"+j.Queue)
	}
	return strings.Join(kinds, ", ")
}

// TestBatchJobRunAgain runs one batch job's Work directly, as River runs a
// job again after a crash, a shutdown or a failed completion: a run sends
// only the deliveries with no scheduled attempt yet. A manual attempt made
// before the batch ran does not count as the first scheduled one; a
// delivery whose webhook was deactivated is cancelled; attempts a run
// could not record are recorded by the next run, not sent again.
func TestBatchJobRunAgain(t *testing.T) {
	t.Parallel()
	h := newHarness(t, openSQLite(t), Config{TimeScale: 3600}, 503, 200)
	b := &batchDeliverer{d: h.d, sends: 2}
	ds := h.emitMany(t, "ev", 4)
	ids := make([]string, len(ds))
	for i, dl := range ds {
		ids[i] = dl.ID
	}
	run := func(ctx context.Context, attempt int) error {
		t.Helper()
		return b.Work(ctx, &river.Job[store.DeliverBatchArgs]{
			JobRow: &rivertype.JobRow{ID: 1, Attempt: attempt},
			Args:   store.DeliverBatchArgs{DeliveryIDs: ids},
		})
	}

	// A redelivery of ds[0] before the batch runs, which fails (503): the
	// delivery stays pending, its schedule not started.
	manual := &river.Job[store.DeliverArgs]{JobRow: &rivertype.JobRow{ID: 2, Attempt: 1}, Args: store.DeliverArgs{DeliveryID: ds[0].ID, Manual: true}}
	if err := h.d.Work(t.Context(), manual); err != nil {
		t.Fatal(err)
	}

	// The receiver fails ds[3]'s first attempt: it is left retrying.
	h.recv.status = func(body []byte) (int, bool) {
		return 500, bytes.Equal(body, ds[3].Body)
	}

	// The first run's recordings all fail, until it gives up.
	h.st.recordFails.Store(-1)
	h.d.recordBackOff = func() backoff.BackOff {
		return backoff.WithMaxRetries(backoff.NewConstantBackOff(10*time.Millisecond), 3)
	}
	err := run(t.Context(), 1)
	if err == nil || !strings.Contains(err.Error(), keptMarker+h.d.token) {
		t.Fatalf("first run: %v, want the error of a run that keeps its attempts", err)
	}
	if n := h.recv.requests(); n != 1+4 {
		t.Fatalf("after the first run the receiver got %d requests, want 5 (a redelivery, four first attempts)", n)
	}
	h.st.recordFails.Store(0)

	if err := run(t.Context(), 2); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if err := run(t.Context(), 3); err != nil {
		t.Fatalf("third run: %v", err)
	}
	if n := h.recv.requests(); n != 5 {
		t.Fatalf("after runs again the receiver got %d requests, want still 5", n)
	}
	for i, dl := range ds {
		got, err := h.st.DeliveryGetByID(t.Context(), dl.ID)
		if err != nil {
			t.Fatal(err)
		}
		want, state := 1, store.DeliverySucceeded
		switch i {
		case 0:
			want = 2 // the redelivery and the batch's scheduled attempt
		case 3:
			state = store.DeliveryRetrying // its retry is its own job's
		}
		if got.State != state || got.Attempts != want {
			t.Errorf("delivery %d: %s after %d attempts, want %s after %d", i, got.State, got.Attempts, state, want)
		}
	}
	if own := h.ownJobs(t); len(own) != 1 || own[0] != ds[3].ID {
		t.Errorf("jobs of their own: %v, want one, for the delivery left retrying (%s)", own, ds[3].ID)
	}
	h.recv.status = nil

	// A batch whose webhook was deactivated meanwhile cancels its
	// deliveries instead of sending them.
	more := h.emitMany(t, "late", 2)
	active := false
	if _, err := h.st.WebhookUpdate(t.Context(), store.WebhookUpdateParams{ID: h.wh.ID, Active: &active, UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	ids = []string{more[0].ID, more[1].ID}
	if err := run(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	for _, dl := range more {
		got, err := h.st.DeliveryGetByID(t.Context(), dl.ID)
		if err != nil || got.State != store.DeliveryCancelled || got.Attempts != 0 {
			t.Errorf("delivery of an inactive webhook: %+v, %v; want cancelled without an attempt", got, err)
		}
	}
	if n := h.recv.requests(); n != 5 {
		t.Errorf("receiver got %d requests, want still 5", n)
	}
}

// TestBatchJobSlowReceiver runs a batch job against a receiver that takes
// 300 ms to answer, one request at a time, with runs of 2 s (a 1 s send
// timeout, a 2 s rescue horizon): a run starts only the requests that can
// finish with half of the run's storage time left, then snoozes, and the
// next runs send the rest. No request is cut off, and each delivery is sent
// once.
func TestBatchJobSlowReceiver(t *testing.T) {
	t.Parallel()
	h := newHarness(t, openSQLite(t), Config{
		Sender: &delivery.Sender{Timeout: time.Second}, RescueStuckJobsAfter: 2 * time.Second,
	}, 200)
	h.recv.delay = 300 * time.Millisecond
	b := &batchDeliverer{d: h.d, sends: 1}
	ds := h.emitMany(t, "ev", 6)
	job := &river.Job[store.DeliverBatchArgs]{JobRow: &rivertype.JobRow{ID: 1}, Args: store.DeliverBatchArgs{}}
	for _, dl := range ds {
		job.Args.DeliveryIDs = append(job.Args.DeliveryIDs, dl.ID)
	}
	var perRun []int
	for run := 1; h.recv.requests() < len(ds); run++ {
		if run > len(ds) {
			t.Fatalf("after %d runs the receiver got %d requests, want %d", run-1, h.recv.requests(), len(ds))
		}
		before := h.recv.requests()
		job.Attempt = run
		ctx, cancel := context.WithTimeout(t.Context(), h.d.Timeout(nil))
		err := b.Work(ctx, &river.Job[store.DeliverBatchArgs]{JobRow: job.JobRow, Args: job.Args})
		cancel()
		var snooze *rivertype.JobSnoozeError
		switch {
		case h.recv.requests() < len(ds) && !errors.As(err, &snooze):
			t.Fatalf("run %d, with deliveries left: %v, want a snooze", run, err)
		case h.recv.requests() == len(ds) && err != nil:
			t.Fatalf("last run %d: %v", run, err)
		}
		perRun = append(perRun, h.recv.requests()-before)
	}
	if n := h.recv.cut.Load(); n != 0 {
		t.Errorf("%d requests were cut off", n)
	}
	// 300 ms each, started while 1.5 s of the 2 s run is left: two a run.
	if perRun[0] != 2 {
		t.Errorf("requests per run %v, want 2 in the first", perRun)
	}
	for i, dl := range ds {
		if got, err := h.st.DeliveryGetByID(t.Context(), dl.ID); err != nil || got.Attempts != 1 || got.State != store.DeliverySucceeded {
			t.Errorf("delivery %d: %+v, %v; want succeeded after 1 attempt", i, got, err)
		}
	}
}
