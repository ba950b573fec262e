package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/standin-dev/standin/store/backend"
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
	logger := slog.New(slog.DiscardHandler)
	st, err := backend.Open(ctx, backend.Config{URL: dbURL, Logger: logger})
	if err != nil {
		return res, err
	}
	defer st.Close()

	cfg, err := worker.RiverConfig(worker.Config{Store: noStore{}, Logger: logger})
	if err != nil {
		return res, err
	}
	w := &noopWorker{n: int64(n), done: make(chan struct{})}
	cfg.Workers = river.NewWorkers()
	river.AddWorker(cfg.Workers, w)
	poll := "the store's default"
	if cfg.FetchPollInterval > 0 {
		poll = cfg.FetchPollInterval.String()
	}
	res.Notes = fmt.Sprintf("standin's River settings: MaxWorkers %d, FetchPollInterval %s, FetchCooldown %v",
		cfg.Queues[river.QueueDefault].MaxWorkers, poll, cfg.FetchCooldown)
	q, err := st.Queue(cfg)
	if err != nil {
		return res, err
	}
	ins, ok := q.(inserter)
	if !ok {
		return res, fmt.Errorf("queue %T cannot insert", q)
	}

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

// noStore satisfies worker.Config.Store for building the River config; the
// bare-River run never calls it (its methods would panic).
type noStore struct{ worker.Store }
