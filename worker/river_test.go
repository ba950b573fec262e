package worker

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/postgres"
	"github.com/standin-dev/standin/store/sqlite"
	"github.com/standin-dev/standin/store/storetest"
)

// backends are the stores the worker's River tests run on: SQLite always,
// PostgreSQL when STANDIN_TEST_DATABASE_URL is set.
var backends = []struct {
	name string
	open func(t *testing.T) store.Store
}{
	{"sqlite", openSQLite},
	{"postgres", openPostgres},
}

func openSQLite(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), sqlite.Config{
		Path:   filepath.Join(t.TempDir(), "standin.db"),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// openPostgres opens a store in a fresh schema, dropped when the test ends.
func openPostgres(t *testing.T) store.Store {
	t.Helper()
	url := storetest.PostgresURL(t)
	schema := storetest.PostgresSchema(t, url, "standin_worker_")
	st, err := postgres.Open(t.Context(), postgres.Config{URL: url, Schema: schema, Logger: slog.New(slog.DiscardHandler), MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// errInjected is the failure faultStore injects.
var errInjected = errors.New("database or disk is full (injected)")

// faultStore is a real store whose attempt recording and webhook health
// recording fail on demand, as while a database restarts or a disk is full.
type faultStore struct {
	store.Store
	// recordFails and healthFails are how many more calls of
	// AttemptRecordMany and WebhookHealthRecord fail; a negative value
	// fails every call until it is set to 0.
	recordFails, healthFails atomic.Int64
	// failed counts the injected failures.
	failed atomic.Int64
}

func (f *faultStore) fail(n *atomic.Int64) bool {
	for {
		v := n.Load()
		if v == 0 {
			return false
		}
		if v < 0 || n.CompareAndSwap(v, v-1) {
			f.failed.Add(1)
			return true
		}
	}
}

func (f *faultStore) AttemptRecordMany(ctx context.Context, params []store.AttemptRecordParams) ([]*store.Attempt, error) {
	if f.fail(&f.recordFails) {
		return nil, errInjected
	}
	return f.Store.AttemptRecordMany(ctx, params)
}

func (f *faultStore) WebhookHealthRecord(ctx context.Context, params store.WebhookHealthParams) (*store.Webhook, error) {
	if f.fail(&f.healthFails) {
		return nil, errInjected
	}
	return f.Store.WebhookHealthRecord(ctx, params)
}

// receiver answers each request with the next of its statuses (the last
// one repeats) and keeps what it received.
type receiver struct {
	srv      *httptest.Server
	statuses []int
	// status, when set, answers instead of statuses where it returns true.
	status func(body []byte) (int, bool)
	// delay is how long each answer takes; cut counts the requests whose
	// sender gave up meanwhile.
	delay time.Duration
	cut   atomic.Int64
	got   chan struct{}

	mu     sync.Mutex
	bodies [][]byte
	heads  []http.Header
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	r := &receiver{statuses: statuses, got: make(chan struct{}, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if r.delay > 0 {
			select {
			case <-time.After(r.delay):
			case <-req.Context().Done():
				r.cut.Add(1)
				return
			}
		}
		r.mu.Lock()
		n := len(r.bodies)
		r.bodies = append(r.bodies, body)
		r.heads = append(r.heads, req.Header.Clone())
		r.mu.Unlock()
		status := r.statuses[min(n, len(r.statuses)-1)]
		if r.status != nil {
			if st, ok := r.status(body); ok {
				status = st
			}
		}
		w.WriteHeader(status)
		r.got <- struct{}{}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

// signal is a slog handler that signals ch on every record with message
// msg and drops all records.
type signal struct {
	msg string
	ch  chan struct{}
}

func (s signal) Enabled(context.Context, slog.Level) bool { return true }
func (s signal) WithAttrs([]slog.Attr) slog.Handler       { return s }
func (s signal) WithGroup(string) slog.Handler            { return s }
func (s signal) Handle(_ context.Context, r slog.Record) error {
	if r.Message == s.msg {
		select {
		case s.ch <- struct{}{}:
		default:
		}
	}
	return nil
}

// harness is a store with a webhook, a receiver, and the delivery worker
// configured for them.
type harness struct {
	st     *faultStore
	recv   *receiver
	wh     *store.Webhook
	states chan store.DeliveryState // from OnAttempt
	kept   chan struct{}            // a run kept an attempt it could not record
	river  *river.Config
	d      *Deliverer
	cfg    Config // d's
}

func newHarness(t *testing.T, st store.Store, cfg Config, statuses ...int) *harness {
	t.Helper()
	h := &harness{
		st:     &faultStore{Store: st},
		recv:   newReceiver(t, statuses...),
		states: make(chan store.DeliveryState, 100),
		kept:   make(chan struct{}, 10),
	}
	h.wh = &store.Webhook{
		ID: "wh_1", Type: store.WebhookTypeAccount, URL: h.recv.srv.URL + "/hook", Events: []string{"sync_end"},
		Active: true, Secret: "s3cret", CreatedAt: time.Now(), UpdatedAt: time.Now(), Profile: delivery.ProfileFivetran,
	}
	if err := st.WebhookCreate(t.Context(), h.wh); err != nil {
		t.Fatal(err)
	}
	cfg.Store = h.st
	cfg.Logger = slog.New(signal{msg: "attempt made but not recorded; kept for the job's next run", ch: h.kept})
	cfg.OnAttempt = func(_, state string) { h.states <- store.DeliveryState(state) }
	h.cfg = cfg
	h.river, h.d = h.deliverer(t)
	return h
}

// deliverer builds a worker for the harness's store, as another process
// would.
func (h *harness) deliverer(t *testing.T) (*river.Config, *Deliverer) {
	t.Helper()
	rc, d, err := riverConfig(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	d.recordBackOff = fastBackOff
	return rc, d
}

// emit creates an event with one delivery to the webhook, and its River job.
func (h *harness) emit(t *testing.T, id string) *store.Delivery {
	t.Helper()
	ds, err := h.st.EventCreate(t.Context(), store.EventCreateParams{
		Event: store.Event{ID: id, Name: "sync_end", GroupID: "group_1", Source: json.RawMessage(`{}`), CreatedAt: time.Now()},
		Deliveries: []store.DeliveryNew{{
			ID: id + "_d", WebhookID: h.wh.ID, Profile: delivery.ProfileFivetran,
			Body: []byte(`{"event":"sync_end","id":"` + id + `"}`),
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ds[0]
}

// start runs the worker in a River client until the test ends.
func (h *harness) start(t *testing.T) {
	t.Helper()
	q, err := h.st.Queue(h.river)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.WithoutCancel(t.Context())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := q.Stop(ctx); err != nil {
			t.Errorf("stop river: %v", err)
		}
	})
}

// await waits for the worker to report the given states, in order.
func (h *harness) await(t *testing.T, want ...store.DeliveryState) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for _, w := range want {
		select {
		case got := <-h.states:
			if got != w {
				t.Fatalf("delivery went %s, want %s", got, w)
			}
		case <-ctx.Done():
			t.Fatalf("no attempt recorded with state %s: %v", w, ctx.Err())
		}
	}
}

func (h *harness) attempts(t *testing.T, id string) []*store.Attempt {
	t.Helper()
	as, err := h.st.AttemptListByDelivery(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// TestRiverJob runs delivery jobs in a real River client on each backend:
// a failed first attempt, its retry at the schedule's time (6 emulated
// minutes, 100 ms at scale 3600) and the success, with the signed body on
// the wire.
func TestRiverJob(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, b.open(t), Config{TimeScale: 3600}, 503, 200)
			dl := h.emit(t, "ev_1")
			h.start(t)
			h.await(t, store.DeliveryRetrying, store.DeliverySucceeded)

			if n := h.recv.requests(); n != 2 {
				t.Fatalf("receiver got %d requests, want 2", n)
			}
			for i, body := range h.recv.bodies {
				if string(body) != string(dl.Body) {
					t.Errorf("request %d body %s, want %s", i+1, body, dl.Body)
				}
				if sig := h.recv.heads[i].Get("X-Fivetran-Signature-256"); !delivery.VerifyFivetran(h.wh.Secret, body, sig) {
					t.Errorf("request %d signature %q does not verify", i+1, sig)
				}
			}
			as := h.attempts(t, dl.ID)
			if len(as) != 2 || as[0].StatusCode != 503 || as[1].StatusCode != 200 || as[1].EmulatedDelay != 6*time.Minute {
				t.Fatalf("attempts %+v, want 503 then 200 at 6m", as)
			}
			// The worker runs a retry up to 1 ms before it is due.
			if gap := as[1].StartedAt.Sub(as[0].StartedAt); gap < 99*time.Millisecond {
				t.Errorf("retry %v after the first attempt, want 100ms (6 emulated minutes at 3600)", gap)
			}
			got, err := h.st.DeliveryGetByID(t.Context(), dl.ID)
			if err != nil || got.State != store.DeliverySucceeded || got.Attempts != 2 {
				t.Fatalf("delivery %+v, %v; want succeeded after 2 attempts", got, err)
			}
		})
	}
}

// TestRecordingFails checks that an attempt whose recording fails is
// recorded later, not sent again: the receiver gets each request once and
// the log has each attempt once, whether the store recovers within the job
// run (the worker retries the recording) or after it (the job's next run
// records the kept outcome).
func TestRecordingFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		statuses []int
		fail     func(f *faultStore)
		// release ends an outage that outlasts the job run, once the run
		// has kept its attempt; nil when the store recovers by itself.
		release func(f *faultStore)
		states  []store.DeliveryState
	}{
		{
			name: "attempt recording fails three times", statuses: []int{200},
			fail:   func(f *faultStore) { f.recordFails.Store(3) },
			states: []store.DeliveryState{store.DeliverySucceeded},
		},
		{
			name: "health recording of a failure fails twice", statuses: []int{500, 200},
			fail:   func(f *faultStore) { f.healthFails.Store(2) },
			states: []store.DeliveryState{store.DeliveryRetrying, store.DeliverySucceeded},
		},
		{
			name: "attempt recording fails beyond the job run", statuses: []int{200},
			fail:    func(f *faultStore) { f.recordFails.Store(-1) },
			release: func(f *faultStore) { f.recordFails.Store(0) },
			states:  []store.DeliveryState{store.DeliverySucceeded},
		},
	}
	for _, b := range backends {
		for _, tt := range tests {
			t.Run(b.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				// A 1 s send timeout and 2 s rescue horizon make a 2 s job run.
				h := newHarness(t, b.open(t), Config{
					TimeScale: 3600, Sender: &delivery.Sender{Timeout: time.Second}, RescueStuckJobsAfter: 2 * time.Second,
				}, tt.statuses...)
				dl := h.emit(t, "ev_1")
				tt.fail(h.st)
				h.start(t)
				if tt.release != nil {
					select {
					case <-h.kept:
					case <-time.After(30 * time.Second):
						t.Fatal("the job run did not give up recording")
					}
					tt.release(h.st)
				}
				h.await(t, tt.states...)
				if h.st.failed.Load() == 0 {
					t.Fatal("no failure was injected")
				}
				if n := h.recv.requests(); n != len(tt.states) {
					t.Errorf("receiver got %d requests, want %d", n, len(tt.states))
				}
				if as := h.attempts(t, dl.ID); len(as) != len(tt.states) {
					t.Errorf("log has %d attempts, want %d", len(as), len(tt.states))
				}
			})
		}
	}
}

// TestRunAfterRecordedAttempt checks that a job run again after its attempt
// was recorded (River could not mark the job completed: the database went
// away after the recording) does not send again, for a scheduled and a
// manual attempt.
func TestRunAfterRecordedAttempt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, openSQLite(t), Config{}, 200)
	dl := h.emit(t, "ev_1")
	run := func(id int64, attempt int, manual bool) {
		t.Helper()
		job := &river.Job[store.DeliverArgs]{
			JobRow: &rivertype.JobRow{ID: id, Attempt: attempt},
			Args:   store.DeliverArgs{DeliveryID: dl.ID, Manual: manual},
		}
		if err := h.d.Work(t.Context(), job); err != nil {
			t.Fatalf("job %d run %d: %v", id, attempt, err)
		}
	}
	run(1, 1, false)
	run(1, 2, false) // River could not complete job 1
	if n, as := h.recv.requests(), h.attempts(t, dl.ID); n != 1 || len(as) != 1 {
		t.Fatalf("scheduled job run twice: %d requests, %d attempts; want 1, 1", n, len(as))
	}
	run(2, 1, true) // a redelivery
	run(2, 2, true) // River could not complete job 2
	if n, as := h.recv.requests(), h.attempts(t, dl.ID); n != 2 || len(as) != 2 || !as[1].Manual {
		t.Fatalf("manual job run twice: %d requests, %d attempts; want 2, 2 (the second manual)", n, len(as))
	}
	run(3, 1, true) // another redelivery is sent
	if n := h.recv.requests(); n != 3 {
		t.Fatalf("a new redelivery: %d requests, want 3", n)
	}
}

// fastBackOff retries a recording every 20 ms, as long as the run lasts.
func fastBackOff() backoff.BackOff {
	return backoff.NewConstantBackOff(20 * time.Millisecond)
}

// TestKeptAttemptLeftToItsKeeper checks that when a run could not record
// its attempt, another worker process that River hands the job to leaves
// it to the process that keeps the attempt instead of sending it again.
func TestKeptAttemptLeftToItsKeeper(t *testing.T) {
	t.Parallel()
	h := newHarness(t, openSQLite(t), Config{}, 200)
	_, other := h.deliverer(t)
	dl := h.emit(t, "ev_1")
	job := &river.Job[store.DeliverArgs]{JobRow: &rivertype.JobRow{ID: 1, Attempt: 1}, Args: store.DeliverArgs{DeliveryID: dl.ID}}

	h.st.recordFails.Store(-1)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	err := h.d.Work(ctx, job)
	cancel()
	if err == nil || h.recv.requests() != 1 {
		t.Fatalf("run 1 with the store failing: %v, %d requests; want an error after 1 request", err, h.recv.requests())
	}
	h.st.recordFails.Store(0)
	// River records the run's error and hands the job to the other process.
	job.Attempt, job.Errors = 2, []rivertype.AttemptError{{At: time.Now(), Attempt: 1, Error: err.Error()}}
	var snooze *rivertype.JobSnoozeError
	if err := other.Work(t.Context(), job); !errors.As(err, &snooze) {
		t.Fatalf("run 2 in another process: %v, want a snooze", err)
	}
	if n := h.recv.requests(); n != 1 {
		t.Fatalf("run 2 in another process sent again: %d requests", n)
	}
	job.Attempt = 3
	if err := h.d.Work(t.Context(), job); err != nil {
		t.Fatalf("run 3 in the keeper: %v", err)
	}
	if n, as := h.recv.requests(), h.attempts(t, dl.ID); n != 1 || len(as) != 1 || as[0].StatusCode != 200 {
		t.Fatalf("%d requests, attempts %+v; want 1 request and its attempt", n, as)
	}
}
