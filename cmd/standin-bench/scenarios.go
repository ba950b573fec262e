package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// bench runs the scenarios of one backend.
type bench struct {
	cfg  *config
	db   database
	recv *receiver
	log  func(format string, args ...any)
}

type scenarioFunc func(ctx context.Context, p *standinProc, c *apiClient) (Result, error)

// withStandin runs fn against a new standin process on a fresh database and
// fills in the process's peak RSS. Failures are reported in the Result.
func (b *bench) withStandin(ctx context.Context, scenario string, extra []string, fn scenarioFunc) Result {
	res := Result{Backend: b.db.Name(), Scenario: scenario}
	fail := func(err error) Result {
		res.Error = err.Error()
		return res
	}
	dbURL, cleanup, err := b.db.Fresh(ctx, scenario)
	if err != nil {
		return fail(err)
	}
	defer cleanup()
	logPath := filepath.Join(b.cfg.workDir, b.db.Name()+"-"+scenario+".log")
	p, err := startStandin(ctx, b.cfg.standinBin, dbURL, logPath, b.cfg.profileDir != "", append(extra, b.cfg.serveArgs...)...)
	if err != nil {
		return fail(err)
	}
	c := newAPIClient(p.URL, 64)
	defer c.close()

	var profiled sync.WaitGroup
	if b.cfg.profileDir != "" {
		profiled.Go(func() { b.profile(ctx, p, scenario) })
	}
	conns := b.recv.conns.Load()
	benchCPU, dbCPU := selfCPUSeconds(), b.dbTicks()
	startCPU, _ := p.cpuSeconds()
	r, err := fn(ctx, p, c)
	r.Backend, r.Scenario = res.Backend, res.Scenario
	if err == nil && scenario == "latency" && b.db.Name() == "postgres" {
		// Deliveries are numbered from 0, warm-up first.
		firstSeq := int(b.cfg.latencyRatePG * latencyWarmup.Seconds())
		if r.Stages, err = latencyStages(ctx, dbURL, firstSeq); err != nil {
			r.Notes, err = err.Error(), nil // the figures stand without it
		}
	}
	r.ReceiverConns = int(b.recv.conns.Load() - conns)
	r.BenchCPUSeconds = selfCPUSeconds() - benchCPU
	r.DBCPUSeconds = b.dbCPUSince(dbCPU)
	if cpu, err := p.cpuSeconds(); err == nil {
		cpu -= startCPU
		r.StandinCPUSeconds = cpu
		if r.Received > 0 {
			r.CPUMsPerDelivery = cpu * 1000 / float64(r.Received)
		}
	}
	if err != nil {
		r.Error = err.Error()
	}
	profiled.Wait()
	if rss, err := p.peakRSS(); err == nil {
		r.PeakRSSMB = float64(rss) / (1 << 20)
	} else if r.Error == "" {
		r.Error = "read peak RSS: " + err.Error()
	}
	if err := p.stop(); err != nil && r.Error == "" {
		r.Error = fmt.Sprintf("stop standin: %v; log: %s", err, logPath)
	}
	if r.Error != "" {
		r.OK = false
	}
	return r
}

// profile saves a CPU profile of the standin process's first
// --profile-seconds in the scenario.
func (b *bench) profile(ctx context.Context, p *standinProc, scenario string) {
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.PprofAddr, b.cfg.profileSeconds)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.log("profile %s: %v", scenario, err)
		return
	}
	defer resp.Body.Close()
	path := filepath.Join(b.cfg.profileDir, b.db.Name()+"-"+scenario+".pprof")
	f, err := os.Create(path)
	if err != nil {
		b.log("profile %s: %v", scenario, err)
		return
	}
	defer f.Close()
	if _, err := f.ReadFrom(resp.Body); err != nil {
		b.log("profile %s: %v", scenario, err)
		return
	}
	b.log("cpu profile: %s", path)
}

// useSink makes s the receiver's sink until the returned func is called.
func (b *bench) useSink(s *sink) func() {
	b.recv.sink.Store(s)
	return func() { b.recv.sink.Store(nil) }
}

// emitAll emits events 0..n-1 from workers goroutines, as fast as standin
// accepts them, batch events per request (POST /standin/v1/events:batch; a
// batch of 1 is POST /standin/v1/events), and returns how long that took.
func emitAll(ctx context.Context, c *apiClient, n, workers, batch int) (time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batch = max(batch, 1)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(int64(batch)) - int64(batch))
				if i >= n || ctx.Err() != nil {
					return
				}
				count := min(batch, n-i)
				var err error
				if batch == 1 {
					err = c.emit(ctx, i)
				} else {
					err = c.emitBatch(ctx, i, count)
				}
				if err != nil {
					cancel(fmt.Errorf("emit %d to %d: %w", i, i+count-1, err))
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), context.Cause(ctx)
}

// await waits for s to be complete, up to the scenario timeout.
func (b *bench) await(ctx context.Context, s *sink) error {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.scenarioTimeout)
	defer cancel()
	if err := s.wait(ctx); err != nil {
		return fmt.Errorf("%d of %d received after %v: %w", s.ok.Load(), s.n, b.cfg.scenarioTimeout, err)
	}
	return nil
}

// throughput: n events to one active webhook, as fast as possible, from
// emitters goroutines with batch events per request; deliveries per second
// from the first emit to the last receipt. The throughput scenario runs it
// with --emitters and --emit-batch, throughput_single with
// --single-emitters and one event per request (POST /standin/v1/events).
func (b *bench) throughput(emitters, batch int) scenarioFunc {
	return func(ctx context.Context, p *standinProc, c *apiClient) (Result, error) {
		return b.throughputRun(ctx, c, emitters, batch)
	}
}

func (b *bench) throughputRun(ctx context.Context, c *apiClient, emitters, batch int) (Result, error) {
	n := b.cfg.events
	res := Result{Count: n, Emitters: emitters, EmitBatch: batch}
	if err := c.createWebhook(ctx, b.recv.URL+"/s/throughput"); err != nil {
		return res, err
	}
	s := newSink(n, false, false)
	defer b.useSink(s)()
	start := time.Now()
	emitDur, err := emitAll(ctx, c, n, emitters, batch)
	res.EmitPerSecond = float64(n) / emitDur.Seconds()
	if err != nil {
		return res, err
	}
	err = b.await(ctx, s)
	res.Received, res.Duplicates, res.Requests = int(s.ok.Load()), s.duplicates(), int(s.requests.Load())
	if err != nil {
		return res, err
	}
	res.DurationSeconds = time.Unix(0, s.last.Load()).Sub(start).Seconds()
	res.PerSecond = float64(n) / res.DurationSeconds
	res.OK = true
	return res, nil
}

// latencyWarmup is emitted at the offered rate before the measured window;
// its events are delivered but not counted.
const latencyWarmup = time.Second

// latency: a steady offered load (open loop: events are emitted on a fixed
// schedule whatever the answers' pace); emit-to-receipt latency measured by
// the receiver from the send time the emitter put in the event's data.
func (b *bench) latency(rate float64) scenarioFunc {
	return func(ctx context.Context, _ *standinProc, c *apiClient) (Result, error) {
		warm := int(rate * latencyWarmup.Seconds())
		n := int(rate * b.cfg.latencyDuration.Seconds())
		total := warm + n
		res := Result{Count: n, OfferedRate: rate}
		if err := c.createWebhook(ctx, b.recv.URL+"/s/latency"); err != nil {
			return res, err
		}
		s := newSink(total, false, false)
		defer b.useSink(s)()

		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		jobs := make(chan int, 4096)
		var wg sync.WaitGroup
		for range b.cfg.latencyEmitters {
			wg.Go(func() {
				for i := range jobs {
					if ctx.Err() != nil {
						continue
					}
					if err := c.emit(ctx, i); err != nil {
						cancel(fmt.Errorf("emit %d: %w", i, err))
					}
				}
			})
		}
		interval := time.Duration(float64(time.Second) / rate)
		start := time.Now()
		var measuredStart time.Time
		for i := range total {
			if i == warm {
				measuredStart = time.Now()
			}
			if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
				time.Sleep(d)
			}
			jobs <- i
		}
		close(jobs)
		res.AchievedRate = float64(n) / time.Since(measuredStart).Seconds()
		wg.Wait()
		if err := context.Cause(ctx); err != nil {
			return res, err
		}
		err := b.await(ctx, s)
		res.Received, res.Duplicates = int(s.ok.Load())-min(int(s.ok.Load()), warm), s.duplicates()
		if err != nil {
			return res, err
		}
		lat := slices.Clone(s.lat[warm:])
		slices.Sort(lat)
		res.P50Ms, res.P95Ms, res.P99Ms = ms(pct(lat, 50)), ms(pct(lat, 95)), ms(pct(lat, 99))
		res.MaxMs = ms(lat[len(lat)-1])
		var sum int64
		for _, l := range lat {
			sum += l
		}
		res.MeanMs = ms(sum / int64(len(lat)))
		res.DurationSeconds = b.cfg.latencyDuration.Seconds()
		res.OK = true
		return res, nil
	}
}

// pct is the nearest-rank percentile of sorted values.
func pct(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

// fanout: one event to m active webhooks (distinct receiver paths); time
// from the emit until all m are received.
func (b *bench) fanout(ctx context.Context, _ *standinProc, c *apiClient) (Result, error) {
	m := b.cfg.fanout
	res := Result{Count: m}
	var next atomic.Int64
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= m {
					return
				}
				if err := c.createWebhook(ctx, b.recv.URL+"/fan/"+strconv.Itoa(i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return res, fmt.Errorf("create webhooks: %w", err)
	}
	s := newSink(m, true, false)
	defer b.useSink(s)()
	start := time.Now()
	if err := c.emit(ctx, 0); err != nil {
		return res, err
	}
	res.EmitSeconds = time.Since(start).Seconds()
	err := b.await(ctx, s)
	res.Received, res.Duplicates = int(s.ok.Load()), s.duplicates()
	if err != nil {
		return res, err
	}
	res.DurationSeconds = time.Unix(0, s.last.Load()).Sub(start).Seconds()
	res.PerSecond = float64(m) / res.DurationSeconds
	res.OK = true
	return res, nil
}

// retry: n deliveries whose first attempt fails (HTTP 500) and whose first
// retry succeeds, at a large time scale; time from the first emit until all
// have succeeded.
func (b *bench) retry(ctx context.Context, _ *standinProc, c *apiClient) (Result, error) {
	n := b.cfg.retryDeliveries
	res := Result{Count: n, Emitters: b.cfg.emitters, EmitBatch: b.cfg.emitBatch, TimeScale: b.cfg.retryTimeScale}
	if err := c.createWebhook(ctx, b.recv.URL+"/s/retry"); err != nil {
		return res, err
	}
	s := newSink(n, false, true)
	defer b.useSink(s)()
	start := time.Now()
	emitDur, err := emitAll(ctx, c, n, b.cfg.emitters, b.cfg.emitBatch)
	res.EmitPerSecond = float64(n) / emitDur.Seconds()
	if err != nil {
		return res, err
	}
	err = b.await(ctx, s)
	res.Received, res.Duplicates, res.Requests = int(s.ok.Load()), s.duplicates(), int(s.requests.Load())
	if err != nil {
		return res, err
	}
	res.DurationSeconds = time.Unix(0, s.last.Load()).Sub(start).Seconds()
	res.PerSecond = float64(n) / res.DurationSeconds
	res.OK = true
	return res, nil
}

// dbTicks snapshots the local PostgreSQL server's CPU time when the
// backend is PostgreSQL on this machine (see postgresTicks), nil otherwise.
func (b *bench) dbTicks() procTicks {
	if pg, ok := b.db.(*postgresDB); !ok || !pg.local() {
		return nil
	}
	return postgresTicks()
}

// dbCPUSince is the local PostgreSQL server's CPU seconds since before, 0
// when before is nil.
func (b *bench) dbCPUSince(before procTicks) float64 {
	if before == nil {
		return 0
	}
	return postgresTicks().since(before)
}

// selfCPUSeconds is the benchmark process's CPU time so far.
func selfCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// bareRiver runs the bare-River comparison on a fresh database.
func (b *bench) bareRiver(ctx context.Context) Result {
	res := Result{Backend: b.db.Name(), Scenario: "bare_river", Count: b.cfg.events}
	dbURL, cleanup, err := b.db.Fresh(ctx, "bare_river")
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer cleanup()
	benchCPU, dbCPU := selfCPUSeconds(), b.dbTicks()
	r, err := runBareRiver(ctx, dbURL, b.cfg.events)
	r.Backend = res.Backend
	r.BenchCPUSeconds = selfCPUSeconds() - benchCPU
	r.DBCPUSeconds = b.dbCPUSince(dbCPU)
	if err != nil {
		r.Error = err.Error()
		r.OK = false
	}
	return r
}

// drain: n events emitted to one webhook by an API-only process, then
// delivered by a worker-only process on the same database: deliveries per
// second from the workers' start to the last receipt. It isolates the
// delivery side, the part directly comparable to bare River (whose jobs are
// also inserted first, then worked). Its peak RSS is the worker process's.
func (b *bench) drain(ctx context.Context) Result {
	n := b.cfg.events
	res := Result{Backend: b.db.Name(), Scenario: "drain", Count: n, Emitters: b.cfg.emitters, EmitBatch: b.cfg.emitBatch}
	fail := func(err error) Result {
		res.Error = err.Error()
		return res
	}
	dbURL, cleanup, err := b.db.Fresh(ctx, "drain")
	if err != nil {
		return fail(err)
	}
	defer cleanup()
	api, err := startStandin(ctx, b.cfg.standinBin, dbURL, filepath.Join(b.cfg.workDir, b.db.Name()+"-drain-api.log"), false,
		append([]string{"--role", "api"}, b.cfg.serveArgs...)...)
	if err != nil {
		return fail(err)
	}
	c := newAPIClient(api.URL, 64)
	err = c.createWebhook(ctx, b.recv.URL+"/s/drain")
	if err == nil {
		var emitDur time.Duration
		emitDur, err = emitAll(ctx, c, n, b.cfg.emitters, b.cfg.emitBatch)
		res.EmitPerSecond = float64(n) / emitDur.Seconds()
	}
	c.close()
	if stopErr := api.stop(); err == nil && stopErr != nil {
		err = fmt.Errorf("stop api process: %w", stopErr)
	}
	if err != nil {
		return fail(err)
	}

	s := newSink(n, false, false)
	defer b.useSink(s)()
	logPath := filepath.Join(b.cfg.workDir, b.db.Name()+"-drain-worker.log")
	w, err := startStandin(ctx, b.cfg.standinBin, dbURL, logPath, b.cfg.profileDir != "",
		append([]string{"--role", "worker"}, b.cfg.serveArgs...)...)
	if err != nil {
		return fail(err)
	}
	var profiled sync.WaitGroup
	if b.cfg.profileDir != "" {
		profiled.Go(func() { b.profile(ctx, w, "drain") })
	}
	conns := b.recv.conns.Load()
	benchCPU, dbCPU := selfCPUSeconds(), b.dbTicks()
	startCPU, _ := w.cpuSeconds()
	err = b.await(ctx, s)
	res.ReceiverConns = int(b.recv.conns.Load() - conns)
	res.BenchCPUSeconds = selfCPUSeconds() - benchCPU
	res.DBCPUSeconds = b.dbCPUSince(dbCPU)
	res.Received, res.Duplicates, res.Requests = int(s.ok.Load()), s.duplicates(), int(s.requests.Load())
	if cpu, cpuErr := w.cpuSeconds(); cpuErr == nil {
		cpu -= startCPU
		res.StandinCPUSeconds = cpu
		if res.Received > 0 {
			res.CPUMsPerDelivery = cpu * 1000 / float64(res.Received)
		}
	}
	profiled.Wait()
	if rss, rssErr := w.peakRSS(); rssErr == nil {
		res.PeakRSSMB = float64(rss) / (1 << 20)
	}
	if stopErr := w.stop(); err == nil && stopErr != nil {
		err = fmt.Errorf("stop worker process: %w; log: %s", stopErr, logPath)
	}
	if err != nil {
		return fail(err)
	}
	res.DurationSeconds = time.Unix(0, s.last.Load()).Sub(w.WorkersStarted).Seconds()
	res.PerSecond = float64(n) / res.DurationSeconds
	res.OK = true
	return res
}

// riverLatency is bare River at the latency scenario's offered load: jobs
// inserted one per transaction on the same schedule, latency from the start
// of each insert to the start of its Work, on a fresh database with
// standin's store and River settings. It is the floor under standin's
// emit-to-receipt latency, which adds the event and delivery rows, the
// delivery read, signing and the HTTP request.
func (b *bench) riverLatency(ctx context.Context, rate float64) Result {
	warm := int(rate * latencyWarmup.Seconds())
	n := int(rate * b.cfg.latencyDuration.Seconds())
	res := Result{Backend: b.db.Name(), Scenario: "river_latency", Count: n, OfferedRate: rate}
	dbURL, cleanup, err := b.db.Fresh(ctx, "river_latency")
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer cleanup()
	benchCPU := selfCPUSeconds()
	lat, err := runRiverLatency(ctx, dbURL, rate, warm, n, b.cfg.latencyEmitters)
	res.BenchCPUSeconds = selfCPUSeconds() - benchCPU
	if err != nil {
		res.Error = err.Error()
		return res
	}
	res.Received = len(lat)
	res.P50Ms, res.P95Ms, res.P99Ms = ms(pct(lat, 50)), ms(pct(lat, 95)), ms(pct(lat, 99))
	res.MaxMs = ms(lat[len(lat)-1])
	res.DurationSeconds = b.cfg.latencyDuration.Seconds()
	res.Notes = "jobs inserted one per transaction; insert start to Work start"
	res.OK = true
	return res
}
