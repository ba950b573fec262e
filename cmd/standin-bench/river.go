package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/standin-dev/standin/server/app"
	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/worker"
)

// noopArgs is the bare-River job: no work at all.
type noopArgs struct {
	Seq int `json:"seq"`
}

func (noopArgs) Kind() string { return "standin_bench_noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
	n      int64
	worked atomic.Int64
	last   atomic.Int64 // unix ns of the n-th Work
	done   chan struct{}
}

func (w *noopWorker) Work(context.Context, *river.Job[noopArgs]) error {
	if w.worked.Add(1) == w.n {
		w.last.Store(time.Now().UnixNano())
		close(w.done)
	}
	return nil
}

// inserter is the part of *river.Client the benchmark inserts with; both
// store backends' Queue return such a client.
type inserter interface {
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
}

// riverInsertBatch is how many jobs one InsertMany call inserts.
const riverInsertBatch = 1000

// runBareRiver pushes n no-op jobs through River on dbURL: opened with
// standin's own store (same connection pool or single SQLite connection,
// same pragmas) and run with standin's River settings (worker.RiverConfig:
// MaxWorkers, fetch poll interval and cooldown), so the difference from the
// throughput scenario is standin's own work. Jobs are inserted first with
// InsertMany in batches, then worked; the rate is over the working phase.
func runBareRiver(ctx context.Context, dbURL string, n int) (Result, error) {
	res := Result{Scenario: "bare_river", Count: n}
	w := &noopWorker{n: int64(n), done: make(chan struct{})}
	r, err := openRiver(ctx, dbURL, func(ws *river.Workers) { river.AddWorker(ws, w) })
	if err != nil {
		return res, err
	}
	defer r.close()
	q, ins, cfg := r.queue, r.ins, r.cfg
	poll := "the store's default"
	if cfg.FetchPollInterval > 0 {
		poll = cfg.FetchPollInterval.String()
	}
	res.Notes = fmt.Sprintf("standin's River settings: MaxWorkers %d, FetchPollInterval %s, FetchCooldown %v",
		cfg.Queues[river.QueueDefault].MaxWorkers, poll, cfg.FetchCooldown)

	t0 := time.Now()
	params := make([]river.InsertManyParams, 0, riverInsertBatch)
	for i := 0; i < n; i += riverInsertBatch {
		params = params[:0]
		for j := i; j < min(i+riverInsertBatch, n); j++ {
			params = append(params, river.InsertManyParams{Args: noopArgs{Seq: j}})
		}
		if _, err := ins.InsertMany(ctx, params); err != nil {
			return res, fmt.Errorf("insert jobs: %w", err)
		}
	}
	res.InsertSeconds = time.Since(t0).Seconds()
	res.InsertPerSecond = float64(n) / res.InsertSeconds

	start := time.Now()
	if err := q.Start(ctx); err != nil {
		return res, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	select {
	case <-w.done:
	case <-waitCtx.Done():
	}
	stopCtx, stopCancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer stopCancel()
	stopErr := q.Stop(stopCtx)
	res.Received = int(w.worked.Load())
	if res.Received < n {
		return res, fmt.Errorf("only %d of %d jobs worked: %w", res.Received, n, waitCtx.Err())
	}
	res.DurationSeconds = time.Unix(0, w.last.Load()).Sub(start).Seconds()
	res.PerSecond = float64(n) / res.DurationSeconds
	res.OK = true
	return res, stopErr
}

// benchRiver is a River client on a store opened as standin opens it.
type benchRiver struct {
	queue store.Queue
	ins   inserter
	cfg   *river.Config
	close func()
}

// openRiver opens the store at dbURL (standin's connection pool or single
// SQLite connection, same pragmas) and a River client on it with standin's
// River settings (worker.RiverConfig) and the workers add registers.
func openRiver(ctx context.Context, dbURL string, add func(*river.Workers)) (*benchRiver, error) {
	logger := slog.New(slog.DiscardHandler)
	st, err := app.OpenStore(ctx, dbURL, false, logger)
	if err != nil {
		return nil, err
	}
	cfg, err := worker.RiverConfig(worker.Config{Store: noStore{}, Logger: logger})
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	cfg.Workers = river.NewWorkers()
	add(cfg.Workers)
	// Bare River runs one kind of job in one queue, with all of the
	// workers standin shares between its two queues.
	cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: worker.DefaultMaxWorkers}}
	q, err := st.Queue(cfg)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	ins, ok := q.(inserter)
	if !ok {
		_ = st.Close()
		return nil, fmt.Errorf("queue %T cannot insert", q)
	}
	return &benchRiver{queue: q, ins: ins, cfg: cfg, close: func() { _ = st.Close() }}, nil
}

// noStore satisfies worker.Config.Store for building the River config; the
// bare-River run never calls it (its methods would panic).
type noStore struct{ worker.Store }

// latencyArgs is the bare-River latency job: it carries its insert time.
type latencyArgs struct {
	Seq  int   `json:"seq"`
	Sent int64 `json:"sent"` // unix ns when the insert began
}

func (latencyArgs) Kind() string { return "standin_bench_latency" }

type latencyWorker struct {
	river.WorkerDefaults[latencyArgs]
	lat    []atomic.Int64 // per seq: ns from insert to Work; 0 = not yet
	worked atomic.Int64
	done   chan struct{}
}

func (w *latencyWorker) Work(_ context.Context, j *river.Job[latencyArgs]) error {
	if j.Args.Seq >= 0 && j.Args.Seq < len(w.lat) && w.lat[j.Args.Seq].CompareAndSwap(0, max(time.Now().UnixNano()-j.Args.Sent, 1)) {
		if w.worked.Add(1) == int64(len(w.lat)) {
			close(w.done)
		}
	}
	return nil
}

// runRiverLatency inserts jobs one per transaction (River's InsertMany of
// one) on a fixed schedule at rate per second for warm+n jobs, from
// emitters goroutines, and returns each measured job's time from the start
// of its insert to the start of its Work, sorted. It is the floor under the
// latency scenario: standin's emit inserts a River job too, and its workers
// start from River's fetch.
func runRiverLatency(ctx context.Context, dbURL string, rate float64, warm, n, emitters int) ([]int64, error) {
	total := warm + n
	w := &latencyWorker{lat: make([]atomic.Int64, total), done: make(chan struct{})}
	r, err := openRiver(ctx, dbURL, func(ws *river.Workers) { river.AddWorker(ws, w) })
	if err != nil {
		return nil, err
	}
	defer r.close()
	q, ins := r.queue, r.ins
	if err := q.Start(ctx); err != nil {
		return nil, err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = q.Stop(stopCtx)
	}()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	seqs := make(chan int, 4096)
	var wg sync.WaitGroup
	for range emitters {
		wg.Go(func() {
			for i := range seqs {
				if ctx.Err() != nil {
					continue
				}
				args := latencyArgs{Seq: i, Sent: time.Now().UnixNano()}
				if _, err := ins.InsertMany(ctx, []river.InsertManyParams{{Args: args}}); err != nil {
					cancel(fmt.Errorf("insert job %d: %w", i, err))
				}
			}
		})
	}
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for i := range total {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		seqs <- i
	}
	close(seqs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	waitCtx, waitCancel := context.WithTimeout(ctx, 2*time.Minute)
	defer waitCancel()
	select {
	case <-w.done:
	case <-waitCtx.Done():
		return nil, fmt.Errorf("only %d of %d jobs worked: %w", w.worked.Load(), total, waitCtx.Err())
	}
	lat := make([]int64, 0, n)
	for i := warm; i < total; i++ {
		lat = append(lat, w.lat[i].Load())
	}
	slices.Sort(lat)
	return lat, nil
}
